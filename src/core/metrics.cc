#include "core/metrics.h"

#include <algorithm>
#include <array>
#include <cctype>
#include <charconv>
#include <cmath>
#include <sstream>

namespace cartsense {
namespace {

// [a-zA-Z_:][a-zA-Z0-9_:]* for metric names, [a-zA-Z_][a-zA-Z0-9_]* for label names.
bool ValidName(const std::string& name, bool allow_colon) {
  if (name.empty()) return false;
  for (std::size_t i = 0; i < name.size(); ++i) {
    const auto c = static_cast<unsigned char>(name[i]);
    const bool ok = std::isalpha(c) != 0 || c == '_' || (allow_colon && c == ':') ||
                    (i > 0 && std::isdigit(c) != 0);
    if (!ok) return false;
  }
  return true;
}

bool ValidMetricName(const std::string& name) { return ValidName(name, true); }

bool ValidLabelName(const std::string& name) {
  return ValidName(name, false) && !name.starts_with("__");
}

// Prometheus float formatting: shortest text that round-trips, +Inf/-Inf/NaN spelled its way.
std::string FormatValue(double v) {
  if (std::isnan(v)) return "NaN";
  if (std::isinf(v)) return v > 0 ? "+Inf" : "-Inf";
  // Shortest text that reads back as the same double (10 -> "10", 0.1 -> "0.1").
  std::array<char, 64> buffer{};
  const auto [end, error] = std::to_chars(buffer.data(), buffer.data() + buffer.size(), v);
  if (error != std::errc()) return "NaN";
  return std::string(buffer.data(), end);
}

std::string FormatLabels(const MetricLabels& labels, const std::string& extra_name = "",
                         const std::string& extra_value = "") {
  if (labels.empty() && extra_name.empty()) return "";
  std::string out = "{";
  bool first = true;
  for (const auto& [name, value] : labels) {
    if (!first) out += ",";
    out += name + "=\"" + EscapePrometheusLabelValue(value) + "\"";
    first = false;
  }
  if (!extra_name.empty()) {
    if (!first) out += ",";
    out += extra_name + "=\"" + extra_value + "\"";
  }
  return out + "}";
}

std::string EscapeHelp(const std::string& help) {
  std::string out;
  for (char c : help) {
    if (c == '\\')
      out += "\\\\";
    else if (c == '\n')
      out += "\\n";
    else
      out += c;
  }
  return out;
}

}  // namespace

std::string EscapePrometheusLabelValue(const std::string& value) {
  std::string out;
  for (char c : value) {
    if (c == '\\')
      out += "\\\\";
    else if (c == '"')
      out += "\\\"";
    else if (c == '\n')
      out += "\\n";
    else
      out += c;
  }
  return out;
}

void Gauge::Add(double delta) {
  double current = value_.load(std::memory_order_relaxed);
  while (!value_.compare_exchange_weak(current, current + delta, std::memory_order_relaxed)) {
  }
}

Histogram::Histogram(std::vector<double> upper_bounds) : upper_bounds_(std::move(upper_bounds)) {
  std::sort(upper_bounds_.begin(), upper_bounds_.end());
  upper_bounds_.erase(std::unique(upper_bounds_.begin(), upper_bounds_.end()), upper_bounds_.end());
  buckets_ = std::make_unique<std::atomic<uint64_t>[]>(upper_bounds_.size() + 1);
  for (std::size_t i = 0; i <= upper_bounds_.size(); ++i) buckets_[i].store(0);
}

void Histogram::Observe(double value) {
  const auto it = std::lower_bound(upper_bounds_.begin(), upper_bounds_.end(), value);
  const auto index = static_cast<std::size_t>(it - upper_bounds_.begin());
  buckets_[index].fetch_add(1, std::memory_order_relaxed);
  count_.fetch_add(1, std::memory_order_relaxed);
  double current = sum_.load(std::memory_order_relaxed);
  while (!sum_.compare_exchange_weak(current, current + value, std::memory_order_relaxed)) {
  }
}

std::vector<uint64_t> Histogram::CumulativeCounts() const {
  std::vector<uint64_t> counts(upper_bounds_.size() + 1);
  uint64_t running = 0;
  for (std::size_t i = 0; i <= upper_bounds_.size(); ++i) {
    running += buckets_[i].load(std::memory_order_relaxed);
    counts[i] = running;
  }
  return counts;
}

std::vector<double> Histogram::LatencyBucketsMs() {
  return {0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 25, 50, 100, 250, 500, 1000, 2500, 5000};
}

MetricsRegistry& MetricsRegistry::Global() {
  static MetricsRegistry registry;
  return registry;
}

MetricsRegistry::Family& MetricsRegistry::FamilyFor(const std::string& name,
                                                    const std::string& help, Type type) {
  if (!ValidMetricName(name)) misuse_.push_back("invalid metric name '" + name + "'");
  auto [it, inserted] = families_.try_emplace(name);
  Family& family = it->second;
  if (inserted) {
    family.type = type;
    family.help = help;
  } else if (family.type != type) {
    misuse_.push_back("metric '" + name + "' registered with two types");
  }
  return family;
}

Counter& MetricsRegistry::GetCounter(const std::string& name, const std::string& help,
                                     const MetricLabels& labels) {
  std::lock_guard lock(mutex_);
  for (const auto& [label, value] : labels) {
    if (!ValidLabelName(label)) misuse_.push_back("invalid label name '" + label + "'");
  }
  auto& slot = FamilyFor(name, help, Type::kCounter).counters[labels];
  if (!slot) slot = std::make_unique<Counter>();
  return *slot;
}

Gauge& MetricsRegistry::GetGauge(const std::string& name, const std::string& help,
                                 const MetricLabels& labels) {
  std::lock_guard lock(mutex_);
  for (const auto& [label, value] : labels) {
    if (!ValidLabelName(label)) misuse_.push_back("invalid label name '" + label + "'");
  }
  auto& slot = FamilyFor(name, help, Type::kGauge).gauges[labels];
  if (!slot) slot = std::make_unique<Gauge>();
  return *slot;
}

Histogram& MetricsRegistry::GetHistogram(const std::string& name, const std::string& help,
                                         const MetricLabels& labels,
                                         std::vector<double> upper_bounds) {
  std::lock_guard lock(mutex_);
  for (const auto& [label, value] : labels) {
    if (!ValidLabelName(label) || label == "le") {
      misuse_.push_back("invalid label name '" + label + "' for histogram '" + name + "'");
    }
  }
  auto& slot = FamilyFor(name, help, Type::kHistogram).histograms[labels];
  if (!slot) slot = std::make_unique<Histogram>(std::move(upper_bounds));
  return *slot;
}

Status MetricsRegistry::Check() const {
  std::lock_guard lock(mutex_);
  if (misuse_.empty()) return Status::Ok();
  return InternalError("metrics registry misuse: " + misuse_.front());
}

std::string MetricsRegistry::ExposePrometheus() const {
  std::lock_guard lock(mutex_);
  std::ostringstream out;
  for (const auto& [name, family] : families_) {
    out << "# HELP " << name << " " << EscapeHelp(family.help) << "\n";
    switch (family.type) {
      case Type::kCounter:
        out << "# TYPE " << name << " counter\n";
        for (const auto& [labels, counter] : family.counters) {
          out << name << FormatLabels(labels) << " " << counter->value() << "\n";
        }
        break;
      case Type::kGauge:
        out << "# TYPE " << name << " gauge\n";
        for (const auto& [labels, gauge] : family.gauges) {
          out << name << FormatLabels(labels) << " " << FormatValue(gauge->value()) << "\n";
        }
        break;
      case Type::kHistogram:
        out << "# TYPE " << name << " histogram\n";
        for (const auto& [labels, histogram] : family.histograms) {
          const std::vector<uint64_t> cumulative = histogram->CumulativeCounts();
          const auto& bounds = histogram->upper_bounds();
          for (std::size_t i = 0; i < bounds.size(); ++i) {
            out << name << "_bucket" << FormatLabels(labels, "le", FormatValue(bounds[i])) << " "
                << cumulative[i] << "\n";
          }
          out << name << "_bucket" << FormatLabels(labels, "le", "+Inf") << " " << cumulative.back()
              << "\n";
          out << name << "_sum" << FormatLabels(labels) << " " << FormatValue(histogram->sum())
              << "\n";
          out << name << "_count" << FormatLabels(labels) << " " << cumulative.back() << "\n";
        }
        break;
    }
  }
  return out.str();
}

}  // namespace cartsense
