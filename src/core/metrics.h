// Metrics registry: counters, gauges and histograms with labels, exposed in the Prometheus text
// format (version 0.0.4). Every stage exports its latency histogram, counts and faults here.
//
//   MetricsRegistry& registry = MetricsRegistry::Global();
//   Counter& faults = registry.GetCounter("cartsense_weigh_faults_total",
//                                         "Load-cell faults seen", {{"kind", "stuck"}});
//   faults.Increment();
//   std::string text = registry.ExposePrometheus();
//
// Updates are lock-free (atomics); registration and exposition take a mutex.
#pragma once

#include <atomic>
#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "core/status.h"

namespace cartsense {

using MetricLabels = std::map<std::string, std::string>;

class Counter {
 public:
  void Increment(uint64_t by = 1) { value_.fetch_add(by, std::memory_order_relaxed); }
  uint64_t value() const { return value_.load(std::memory_order_relaxed); }

 private:
  std::atomic<uint64_t> value_{0};
};

class Gauge {
 public:
  void Set(double v) { value_.store(v, std::memory_order_relaxed); }
  void Add(double delta);
  double value() const { return value_.load(std::memory_order_relaxed); }

 private:
  std::atomic<double> value_{0.0};
};

// Cumulative histogram with fixed upper bounds (plus +Inf).
class Histogram {
 public:
  explicit Histogram(std::vector<double> upper_bounds);
  void Observe(double value);

  const std::vector<double>& upper_bounds() const { return upper_bounds_; }
  // Count of observations <= upper_bounds()[i]; the last entry is the +Inf bucket (all).
  std::vector<uint64_t> CumulativeCounts() const;
  uint64_t count() const { return count_.load(std::memory_order_relaxed); }
  double sum() const { return sum_.load(std::memory_order_relaxed); }

  // Bucket bounds for latencies in milliseconds: 0.05 ms .. 5 s.
  static std::vector<double> LatencyBucketsMs();

 private:
  std::vector<double> upper_bounds_;
  std::unique_ptr<std::atomic<uint64_t>[]> buckets_;  // per bucket (not cumulative), +Inf last
  std::atomic<uint64_t> count_{0};
  std::atomic<double> sum_{0.0};
};

class MetricsRegistry {
 public:
  // The process-wide registry the service exposes on /metrics.
  static MetricsRegistry& Global();

  // Returns the metric with this name and labels, making it on first use. Names must match
  // [a-zA-Z_:][a-zA-Z0-9_:]*; a name already used for another type, or with another help text,
  // is a programming error reported by Check().
  Counter& GetCounter(const std::string& name, const std::string& help,
                      const MetricLabels& labels = {});
  Gauge& GetGauge(const std::string& name, const std::string& help,
                  const MetricLabels& labels = {});
  Histogram& GetHistogram(const std::string& name, const std::string& help,
                          const MetricLabels& labels = {},
                          std::vector<double> upper_bounds = Histogram::LatencyBucketsMs());

  // OK, or the first misuse seen (bad name, type clash).
  Status Check() const;

  // Prometheus text exposition format 0.0.4, families sorted by name, series by labels.
  std::string ExposePrometheus() const;

 private:
  enum class Type { kCounter, kGauge, kHistogram };
  struct Family {
    Type type;
    std::string help;
    std::map<MetricLabels, std::unique_ptr<Counter>> counters;
    std::map<MetricLabels, std::unique_ptr<Gauge>> gauges;
    std::map<MetricLabels, std::unique_ptr<Histogram>> histograms;
  };
  Family& FamilyFor(const std::string& name, const std::string& help, Type type);

  mutable std::mutex mutex_;
  std::map<std::string, Family> families_;
  std::vector<std::string> misuse_;
};

// Escapes a label value for the exposition format (backslash, quote, newline).
std::string EscapePrometheusLabelValue(const std::string& value);

}  // namespace cartsense
