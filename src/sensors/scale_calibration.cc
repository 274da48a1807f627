#include "sensors/scale_calibration.h"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <fstream>
#include <sstream>

namespace cartsense::sensors {
namespace {

constexpr std::array<const char*, kCellCount> kCellNames = {"front_left", "front_right",
                                                            "back_left", "back_right"};

struct Plateau {
  std::size_t first = 0;  // sample indices, inclusive
  std::size_t last = 0;
  double start_s = 0;
  double end_s = 0;
  std::array<double, kCellCount> mean_counts{};
  double approx_total_g = 0;
  bool has_temperature = false;
  double temperature_c = 0;
};

std::string Fixed(double value, int decimals) {
  std::array<char, 64> buffer{};
  std::snprintf(buffer.data(), buffer.size(), "%.*f", decimals, value);
  return buffer.data();
}

std::string Span(double start_s, double end_s) {
  return Fixed(start_s, 2) + "-" + Fixed(end_s, 2) + " s";
}

}  // namespace

const char* CellName(int cell) {
  return cell >= 0 && cell < kCellCount ? kCellNames[static_cast<std::size_t>(cell)] : "unknown";
}

PointMm ScaleGeometry::CellPosition(int cell) const {
  const double half_x = cell_spacing_x_mm / 2;
  const double half_y = cell_spacing_y_mm / 2;
  const bool right = cell == kFrontRight || cell == kBackRight;
  const bool back = cell == kBackLeft || cell == kBackRight;
  return {right ? half_x : -half_x, back ? half_y : -half_y};
}

double ScaleCalibration::CellGrams(int cell, double raw_counts, const double* temperature_c) const {
  const CellCalibration& c = cells[static_cast<std::size_t>(cell)];
  double grams = (raw_counts - c.offset_counts) * 1000.0 / c.span_per_kg_counts;
  if (temperature_c != nullptr) {
    const double delta_c = *temperature_c - reference_temperature_c;
    grams =
        grams / (1.0 + c.span_shift_per_c_pct / 100.0 * delta_c) - c.zero_shift_per_c_g * delta_c;
  }
  return grams;
}

ConfigSchema ScaleCalibration::Schema() {
  ConfigSchema schema;
  schema.String("cart_id").Required().Describe("the cart this calibration belongs to");
  schema.Number("reference_temperature_c", "c")
      .Range(-40, 85)
      .Default(20)
      .Describe("temperature at which offsets and spans were measured");
  schema.Section("geometry").Required().Describe("where the four cells sit");
  schema.SectionList("cells").Required().Describe(
      "four cells: front_left, front_right, back_left, back_right");
  return schema;
}

ConfigSchema ScaleCalibration::GeometrySchema() {
  ConfigSchema schema;
  schema.Number("cell_spacing_x_mm", "mm")
      .Range(100, 2000)
      .Required()
      .Describe("front-left to front-right cell, centre to centre");
  schema.Number("cell_spacing_y_mm", "mm")
      .Range(100, 2000)
      .Required()
      .Describe("front-left to back-left cell, centre to centre");
  return schema;
}

ConfigSchema ScaleCalibration::CellSchema() {
  ConfigSchema schema;
  schema.String("name").Required().OneOf({"front_left", "front_right", "back_left", "back_right"});
  schema.Number("offset_counts", "counts")
      .Range(-8388608.0, 8388607.0)
      .Required()
      .Describe("ADC counts with the basket empty");
  schema.Number("span_per_kg_counts", "counts")
      .Range(1000, 1e7)
      .Required()
      .Describe("ADC counts per kg on the cell (sign: counts rise with load)");
  schema.Number("zero_shift_per_c_g", "g")
      .Range(-50, 50)
      .Default(0.0)
      .Describe("zero drift in g per degree C from the reference temperature");
  schema.Number("span_shift_per_c_pct", "pct")
      .Range(-1, 1)
      .Default(0.0)
      .Describe("span drift in percent per degree C");
  return schema;
}

Result<ScaleCalibration> ScaleCalibration::FromConfig(const Config& config) {
  Config root = config;
  CS_RETURN_IF_ERROR(Schema().Validate(root));
  ScaleCalibration calibration;
  CS_ASSIGN_OR_RETURN(calibration.cart_id, root.GetString("cart_id"));
  CS_ASSIGN_OR_RETURN(calibration.reference_temperature_c,
                      root.GetDouble("reference_temperature_c"));
  CS_ASSIGN_OR_RETURN(Config geometry, root.Section("geometry"));
  CS_RETURN_IF_ERROR(GeometrySchema().Validate(geometry));
  CS_ASSIGN_OR_RETURN(calibration.geometry.cell_spacing_x_mm,
                      geometry.GetDouble("cell_spacing_x_mm"));
  CS_ASSIGN_OR_RETURN(calibration.geometry.cell_spacing_y_mm,
                      geometry.GetDouble("cell_spacing_y_mm"));
  CS_ASSIGN_OR_RETURN(std::vector<Config> cells, root.SectionList("cells"));
  if (cells.size() != kCellCount) {
    return InvalidArgumentError(root.Where("cells") + ": expected 4 cells, found " +
                                std::to_string(cells.size()));
  }
  std::array<bool, kCellCount> seen{};
  for (Config& cell : cells) {
    const ConfigSchema cell_schema = CellSchema();
    CS_RETURN_IF_ERROR(cell_schema.Validate(cell));
    CS_ASSIGN_OR_RETURN(std::string name, cell.GetString("name"));
    const auto found = std::find(kCellNames.begin(), kCellNames.end(), name);
    const auto index = static_cast<std::size_t>(found - kCellNames.begin());
    if (seen[index]) {
      return InvalidArgumentError(cell.Where("name") + ": cell '" + name + "' appears twice");
    }
    seen[index] = true;
    CellCalibration& c = calibration.cells[index];
    CS_ASSIGN_OR_RETURN(c.offset_counts, cell.GetDouble("offset_counts"));
    CS_ASSIGN_OR_RETURN(c.span_per_kg_counts, cell.GetDouble("span_per_kg_counts"));
    CS_ASSIGN_OR_RETURN(c.zero_shift_per_c_g, cell.GetDouble("zero_shift_per_c_g"));
    CS_ASSIGN_OR_RETURN(c.span_shift_per_c_pct, cell.GetDouble("span_shift_per_c_pct"));
  }
  return calibration;
}

Result<ScaleCalibration> ScaleCalibration::LoadFile(const std::string& path) {
  CS_ASSIGN_OR_RETURN(Config config, Config::LoadFile(path));
  return FromConfig(config).WithContext("calibration " + path);
}

std::string ScaleCalibration::ToYaml() const {
  std::ostringstream out;
  out.precision(12);
  out << "# cartsense load-cell calibration (see docs/weighing.md)\n";
  out << "cart_id: \"" << cart_id << "\"\n";
  out << "reference_temperature_c: " << reference_temperature_c << "\n";
  out << "geometry:\n";
  out << "  cell_spacing_x_mm: " << geometry.cell_spacing_x_mm << "\n";
  out << "  cell_spacing_y_mm: " << geometry.cell_spacing_y_mm << "\n";
  out << "cells:\n";
  for (int i = 0; i < kCellCount; ++i) {
    const CellCalibration& c = cells[static_cast<std::size_t>(i)];
    out << "  - name: " << CellName(i) << "\n";
    out << "    offset_counts: " << c.offset_counts << "\n";
    out << "    span_per_kg_counts: " << c.span_per_kg_counts << "\n";
    out << "    zero_shift_per_c_g: " << c.zero_shift_per_c_g << "\n";
    out << "    span_shift_per_c_pct: " << c.span_shift_per_c_pct << "\n";
  }
  return out.str();
}

Status ScaleCalibration::SaveFile(const std::string& path) const {
  const std::string temporary = path + ".tmp";
  {
    std::ofstream out(temporary, std::ios::binary | std::ios::trunc);
    if (!out) return UnavailableError("cannot write " + temporary);
    out << ToYaml();
    out.flush();
    if (!out) return UnavailableError("cannot write " + temporary);
  }
  if (std::rename(temporary.c_str(), path.c_str()) != 0) {
    return UnavailableError("cannot rename " + temporary + " to " + path);
  }
  return Status::Ok();
}

Result<ScaleCalibration> CalibrateTwoPoint(const std::vector<LoadCellSample>& samples,
                                           const TwoPointOptions& options, std::string* report) {
  if (!(options.known_mass_g > 0)) {
    return InvalidArgumentError("the known mass must be > 0 g");
  }
  if (samples.size() < 20) {
    return InvalidArgumentError("only " + std::to_string(samples.size()) +
                                " samples; record the empty basket and the known mass at rest");
  }
  for (const LoadCellSample& s : samples) {
    if (s.cell_count != kCellCount) {
      return InvalidArgumentError("calibration needs all 4 cells; a sample has " +
                                  std::to_string(s.cell_count));
    }
  }
  const double duration_s = (samples.back().t - samples.front().t).seconds();
  if (!(duration_s > 0)) return InvalidArgumentError("sample timestamps do not advance");
  const double rate_hz = static_cast<double>(samples.size() - 1) / duration_s;

  // Approximate total in grams, relative to the first sample, with the nominal span.
  std::vector<double> total(samples.size());
  for (std::size_t i = 0; i < samples.size(); ++i) {
    double sum = 0;
    for (std::size_t c = 0; c < kCellCount; ++c) {
      sum += static_cast<double>(samples[i].raw_counts[c] - samples[0].raw_counts[c]);
    }
    total[i] = sum * 1000.0 / options.nominal_span_per_kg_counts;
  }
  // Median of 3 drops single-sample spikes; then a moving average over ~0.1 s so the tolerance
  // applies to the level, not to sample noise.
  {
    std::vector<double> despiked = total;
    for (std::size_t i = 1; i + 1 < total.size(); ++i) {
      despiked[i] = std::max(std::min(total[i - 1], total[i]),
                             std::min(std::max(total[i - 1], total[i]), total[i + 1]));
    }
    total = std::move(despiked);
  }
  // Moving average over ~0.1 s so the tolerance applies to the level, not to sample noise.
  const std::size_t smooth = std::max<std::size_t>(3, static_cast<std::size_t>(rate_hz * 0.1));
  std::vector<double> level(samples.size());
  double running = 0;
  for (std::size_t i = 0; i < samples.size(); ++i) {
    running += total[i];
    if (i >= smooth) running -= total[i - smooth];
    level[i] = running / static_cast<double>(std::min(i + 1, smooth));
  }

  const auto temperature_sum_count = [&](std::size_t first, std::size_t last, double* mean) {
    double sum = 0;
    int count = 0;
    for (std::size_t i = first; i <= last; ++i) {
      if (!samples[i].temperature_c.has_value()) continue;
      sum += *samples[i].temperature_c;
      ++count;
    }
    if (count > 0) *mean = sum / count;
    return count > 0;
  };
  // Segments where the level stays within the tolerance of where it started.
  std::vector<Plateau> plateaus;
  const auto close_segment = [&](std::size_t first, std::size_t last) {
    // Skip the first quarter (the tail of a transient may still be in it) and the smoothing lag.
    const std::size_t skip = std::max(smooth, (last - first + 1) / 4);
    const std::size_t use_first = first + skip;
    if (last < use_first ||
        (samples[last].t - samples[first].t).seconds() < options.stable_window_s) {
      return;
    }
    Plateau p;
    p.first = use_first;
    p.last = last;
    p.start_s = samples[first].t.seconds();
    p.end_s = samples[last].t.seconds();
    const double n = static_cast<double>(last - use_first + 1);
    for (std::size_t i = use_first; i <= last; ++i) p.approx_total_g += total[i] / n;
    // Per cell: the mean of the readings near the median (a spike must not move the mean).
    const double near_counts = 30.0 * options.nominal_span_per_kg_counts / 1000.0;
    std::vector<double> values;
    for (std::size_t c = 0; c < kCellCount; ++c) {
      values.clear();
      for (std::size_t i = use_first; i <= last; ++i) {
        values.push_back(static_cast<double>(samples[i].raw_counts[c]));
      }
      std::nth_element(values.begin(),
                       values.begin() + static_cast<std::ptrdiff_t>(values.size() / 2),
                       values.end());
      const double median = values[values.size() / 2];
      double sum = 0;
      int used = 0;
      for (const double v : values) {
        if (std::abs(v - median) > near_counts) continue;
        sum += v;
        ++used;
      }
      p.mean_counts[c] = used > 0 ? sum / used : median;
    }
    if (temperature_sum_count(use_first, last, &p.temperature_c)) p.has_temperature = true;
    // A resting load that the segmentation cut in two (a slow tail, a tolerance crossing) is one
    // plateau: merge it with the previous one when no cell differs by more than the tolerance.
    if (!plateaus.empty()) {
      Plateau& previous = plateaus.back();
      bool same = true;
      for (std::size_t c = 0; c < kCellCount; ++c) {
        same &= std::abs(previous.mean_counts[c] - p.mean_counts[c]) <=
                options.stable_tolerance_g * options.nominal_span_per_kg_counts / 1000.0;
      }
      if (same) {
        const auto n_previous = static_cast<double>(previous.last - previous.first + 1);
        const auto n_this = static_cast<double>(p.last - p.first + 1);
        for (std::size_t c = 0; c < kCellCount; ++c) {
          previous.mean_counts[c] =
              (previous.mean_counts[c] * n_previous + p.mean_counts[c] * n_this) /
              (n_previous + n_this);
        }
        previous.approx_total_g =
            (previous.approx_total_g * n_previous + p.approx_total_g * n_this) /
            (n_previous + n_this);
        previous.end_s = p.end_s;
        previous.last = p.last;
        previous.first = previous.last + 1 - static_cast<std::size_t>(n_previous + n_this);
        return;
      }
    }
    plateaus.push_back(p);
  };
  std::size_t start = smooth;
  for (std::size_t i = smooth; i < samples.size(); ++i) {
    if (std::abs(level[i] - level[start]) > options.stable_tolerance_g) {
      close_segment(start, i - 1);
      start = i;
    }
  }
  close_segment(start, samples.size() - 1);
  if (plateaus.empty()) {
    return InvalidArgumentError(
        "no stable stretch of at least " + Fixed(options.stable_window_s, 2) +
        " s found; keep the basket still, empty, then with the known mass at rest");
  }

  const Plateau& empty = plateaus.front();
  std::vector<const Plateau*> loaded;
  for (const Plateau& p : plateaus) {
    const double rise = p.approx_total_g - empty.approx_total_g;
    if (std::abs(rise - options.known_mass_g) <= 0.25 * options.known_mass_g) loaded.push_back(&p);
  }
  if (loaded.empty()) {
    return InvalidArgumentError(
        "found the empty basket (" + Span(empty.start_s, empty.end_s) +
        ") but no stable stretch with the known mass of " + Fixed(options.known_mass_g, 1) + " g" +
        " on it (within 25% by nominal span); is the first stretch really empty?");
  }

  ScaleCalibration calibration;
  calibration.geometry = options.geometry;
  // Offsets hold at the temperature they were measured at.
  if (empty.has_temperature) {
    calibration.reference_temperature_c = std::round(empty.temperature_c * 100) / 100;
  }
  for (std::size_t c = 0; c < kCellCount; ++c) {
    calibration.cells[c].offset_counts = std::round(empty.mean_counts[c] * 100) / 100;
  }
  const double mass_kg = options.known_mass_g / 1000.0;
  std::string method;
  if (loaded.size() == 1) {
    // One placement: at the centre each cell carries a quarter of the mass.
    for (std::size_t c = 0; c < kCellCount; ++c) {
      calibration.cells[c].span_per_kg_counts =
          (loaded[0]->mean_counts[c] - empty.mean_counts[c]) / (mass_kg / 4);
    }
    method = "one placement, assumed at the basket centre (each cell carries a quarter)";
  } else {
    // Rigid plate on equal springs: each diagonal pair carries half the load wherever it sits.
    // For pair (a, b): c_a,k * g_a + c_b,k * g_b = m/2 for every placement k; least squares.
    const std::array<std::array<std::size_t, 2>, 2> pairs = {{{0, 3}, {1, 2}}};
    for (const auto& pair : pairs) {
      double saa = 0, sab = 0, sbb = 0, sam = 0, sbm = 0;
      for (const Plateau* p : loaded) {
        const double ca = p->mean_counts[pair[0]] - empty.mean_counts[pair[0]];
        const double cb = p->mean_counts[pair[1]] - empty.mean_counts[pair[1]];
        saa += ca * ca;
        sab += ca * cb;
        sbb += cb * cb;
        sam += ca * mass_kg / 2;
        sbm += cb * mass_kg / 2;
      }
      const double det = saa * sbb - sab * sab;
      if (!(saa > 0 && sbb > 0) || det / (saa * sbb) < 1e-3) {
        return InvalidArgumentError(
            std::string("the placements of the known mass are too alike to separate cells ") +
            CellName(static_cast<int>(pair[0])) + " and " + CellName(static_cast<int>(pair[1])) +
            "; place it once at the centre, or in spots such as the front-left and the "
            "front-right quarters");
      }
      const double ga = (sam * sbb - sbm * sab) / det;  // kg per count
      const double gb = (sbm * saa - sam * sab) / det;
      calibration.cells[pair[0]].span_per_kg_counts = 1.0 / ga;
      calibration.cells[pair[1]].span_per_kg_counts = 1.0 / gb;
    }
    method =
        std::to_string(loaded.size()) + " placements, spans by least squares on the diagonal rule";
  }
  for (std::size_t c = 0; c < kCellCount; ++c) {
    const double span = calibration.cells[c].span_per_kg_counts;
    if (!std::isfinite(span) || span < 1000 || span > 1e7) {
      return InvalidArgumentError(std::string("cell ") + CellName(static_cast<int>(c)) + " span " +
                                  Fixed(span, 1) +
                                  " counts/kg is implausible (wired backwards, or not loaded?)");
    }
    calibration.cells[c].span_per_kg_counts = std::round(span * 1000) / 1000;
  }
  if (report != nullptr) {
    *report = "empty basket: " + Span(empty.start_s, empty.end_s) + "\n";
    for (const Plateau* p : loaded) {
      *report += "known mass at rest: " + Span(p->start_s, p->end_s) + "\n";
    }
    *report += "method: " + method + "\n";
  }
  return calibration;
}

}  // namespace cartsense::sensors
