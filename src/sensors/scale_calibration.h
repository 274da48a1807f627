// Per-cart load-cell calibration: zero offset and span of each of the four cells, their
// temperature coefficients, and the basket geometry (where the cells sit), read from and written
// to a YAML file validated by a ConfigSchema. Example (calibration/cart-0001.yaml):
//
//   cart_id: cart-0001
//   reference_temperature_c: 20
//   geometry:
//     cell_spacing_x_mm: 500     # front-left to front-right, centre to centre
//     cell_spacing_y_mm: 350     # front-left to back-left
//   cells:                       # order: front_left, front_right, back_left, back_right
//     - {name: front_left, offset_counts: 157211, span_per_kg_counts: 209870,
//        zero_shift_per_c_g: 0.3, span_shift_per_c_pct: 0.001}
//     - ...
//
// Coordinates: origin at the basket floor's centre (midway between the four cells), x to the
// right (front-left -> front-right), y to the back (front-left -> back-left), in mm.
//
// CalibrateTwoPoint is the two-point routine: a zero point (the empty basket) and a span point (a
// known mass), from a recorded stream of samples. See docs/weighing.md.
#pragma once

#include <array>
#include <string>
#include <vector>

#include "core/config.h"
#include "core/packets.h"
#include "core/status.h"

namespace cartsense::sensors {

inline constexpr int kCellCount = 4;
enum CellIndex : int { kFrontLeft = 0, kFrontRight = 1, kBackLeft = 2, kBackRight = 3 };
const char* CellName(int cell);

struct PointMm {
  double x_mm = 0;
  double y_mm = 0;
};

struct ScaleGeometry {
  double cell_spacing_x_mm = 500;
  double cell_spacing_y_mm = 350;
  // Where cell `cell` sits: (+-spacing_x/2, +-spacing_y/2).
  PointMm CellPosition(int cell) const;
};

struct CellCalibration {
  double offset_counts = 0;            // counts with no load on the cell (empty basket)
  double span_per_kg_counts = 210000;  // counts per kg of load on the cell
  double zero_shift_per_c_g = 0;       // zero drift, g per degree C away from the reference
  double span_shift_per_c_pct = 0;     // span drift, percent per degree C
};

struct ScaleCalibration {
  std::string cart_id = "uncalibrated";
  double reference_temperature_c = 20;
  ScaleGeometry geometry;
  std::array<CellCalibration, kCellCount> cells{};

  // Grams on `cell` for `raw_counts`, corrected for temperature when given.
  double CellGrams(int cell, double raw_counts, const double* temperature_c) const;

  static ConfigSchema Schema();
  static ConfigSchema CellSchema();
  static ConfigSchema GeometrySchema();
  static Result<ScaleCalibration> FromConfig(const Config& config);
  static Result<ScaleCalibration> LoadFile(const std::string& path);
  std::string ToYaml() const;
  Status SaveFile(const std::string& path) const;
};

struct TwoPointOptions {
  double known_mass_g = 0;          // the reference mass; required (> 0)
  ScaleGeometry geometry;           // written into the result
  double stable_window_s = 0.5;     // a plateau is at least this long
  double stable_tolerance_g = 3.0;  // and its total varies by at most this (peak to peak / 2)
  double nominal_span_per_kg_counts = 210000;  // to judge stability before the span is known
};

// Finds the plateaus (stable stretches) in `samples`: the first is the empty basket (zero point),
// the later ones whose total is near the known mass are the mass at rest (span points). With one
// span point the mass must be at the basket's centre (each cell then carries a quarter). With two
// or more placements in different spots, the spans follow from the rigid-plate rule (the two
// diagonals carry half the load each, wherever it is) by least squares, and the placement need not
// be centred. Errors name what is missing (no empty plateau, no loaded plateau, unstable data).
Result<ScaleCalibration> CalibrateTwoPoint(const std::vector<LoadCellSample>& samples,
                                           const TwoPointOptions& options,
                                           std::string* report = nullptr);

}  // namespace cartsense::sensors
