#include "sensors/scale_calibration.h"

#include <cmath>
#include <cstdio>
#include <filesystem>
#include <random>

#include <gtest/gtest.h>

namespace cartsense::sensors {
namespace {

ScaleCalibration Example() {
  ScaleCalibration c;
  c.cart_id = "cart-0007";
  c.reference_temperature_c = 21.5;
  c.geometry.cell_spacing_x_mm = 520;
  c.geometry.cell_spacing_y_mm = 340;
  for (int i = 0; i < kCellCount; ++i) {
    c.cells[static_cast<std::size_t>(i)].offset_counts = 150000 + 1000 * i;
    c.cells[static_cast<std::size_t>(i)].span_per_kg_counts = 200000 + 5000 * i;
    c.cells[static_cast<std::size_t>(i)].zero_shift_per_c_g = 0.1 * i;
    c.cells[static_cast<std::size_t>(i)].span_shift_per_c_pct = 0.001 * i;
  }
  return c;
}

TEST(ScaleCalibrationTest, FileRoundTrip) {
  const std::string path = ::testing::TempDir() + "/calibration_round_trip.yaml";
  const ScaleCalibration c = Example();
  ASSERT_TRUE(c.SaveFile(path).ok());
  Result<ScaleCalibration> back = ScaleCalibration::LoadFile(path);
  ASSERT_TRUE(back.ok()) << back.status().message();
  EXPECT_EQ(back->cart_id, "cart-0007");
  EXPECT_DOUBLE_EQ(back->reference_temperature_c, 21.5);
  EXPECT_DOUBLE_EQ(back->geometry.cell_spacing_x_mm, 520);
  for (std::size_t i = 0; i < kCellCount; ++i) {
    EXPECT_DOUBLE_EQ(back->cells[i].offset_counts, c.cells[i].offset_counts);
    EXPECT_DOUBLE_EQ(back->cells[i].span_per_kg_counts, c.cells[i].span_per_kg_counts);
    EXPECT_DOUBLE_EQ(back->cells[i].zero_shift_per_c_g, c.cells[i].zero_shift_per_c_g);
  }
  std::filesystem::remove(path);
}

Status ParseError(const std::string& yaml) {
  Result<Config> config = Config::Parse(yaml, "cal.yaml");
  if (!config.ok()) return config.status();
  return ScaleCalibration::FromConfig(*config).status();
}

TEST(ScaleCalibrationTest, SchemaErrorsNameTheKey) {
  const std::string geometry = "geometry: {cell_spacing_x_mm: 500, cell_spacing_y_mm: 350}\n";
  const std::string cell = "{offset_counts: 1, span_per_kg_counts: 200000}";
  const std::string four =
      "cells:\n  - {name: front_left, offset_counts: 1, span_per_kg_counts: 200000}\n"
      "  - {name: front_right, offset_counts: 1, span_per_kg_counts: 200000}\n"
      "  - {name: back_left, offset_counts: 1, span_per_kg_counts: 200000}\n"
      "  - {name: back_right, offset_counts: 1, span_per_kg_counts: 200000}\n";
  EXPECT_TRUE(ParseError("cart_id: a\n" + geometry + four).ok());
  EXPECT_NE(ParseError("cart_id: a\n" + four).message().find("geometry"), std::string::npos);
  EXPECT_NE(
      ParseError("cart_id: a\ngeometry: {cell_spacing_x: 500, cell_spacing_y_mm: 350}\n" + four)
          .message()
          .find("cell_spacing_x"),
      std::string::npos);
  const std::string three = four.substr(0, four.rfind("  - "));
  EXPECT_NE(ParseError("cart_id: a\n" + geometry + three).message().find("expected 4 cells"),
            std::string::npos);
  std::string twice = four;
  twice.replace(twice.find("back_right"), 10, "back_left");
  EXPECT_NE(ParseError("cart_id: a\n" + geometry + twice).message().find("appears twice"),
            std::string::npos);
  std::string negative = four;
  negative.replace(negative.find("200000"), 6, "-20000");
  EXPECT_NE(ParseError("cart_id: a\n" + geometry + negative).message().find("span_per_kg_counts"),
            std::string::npos);
  (void)cell;
}

// Samples of a basket on ideal cells: per-cell loads in g -> counts, with seeded noise.
class Recorder {
 public:
  explicit Recorder(const ScaleCalibration& truth) : truth_(truth), rng_(5) {}
  void Hold(double seconds, const std::array<double, kCellCount>& loads_g) {
    std::normal_distribution<double> noise(0.0, 1.0);
    for (int i = 0; i < static_cast<int>(seconds * 80); ++i) {
      LoadCellSample s;
      s.t = Timestamp::FromNanoseconds(t_ns_);
      t_ns_ += 12'500'000;
      for (std::size_t c = 0; c < kCellCount; ++c) {
        const double g = loads_g[c] + noise(rng_);
        s.raw_counts[c] = static_cast<int32_t>(std::lround(
            truth_.cells[c].offset_counts + truth_.cells[c].span_per_kg_counts * g / 1000));
      }
      samples.push_back(s);
    }
  }
  std::vector<LoadCellSample> samples;

 private:
  ScaleCalibration truth_;
  std::mt19937_64 rng_;
  int64_t t_ns_ = 0;
};

std::array<double, kCellCount> Split(const ScaleGeometry& g, double mass, double x, double y) {
  std::array<double, kCellCount> loads{};
  for (int c = 0; c < kCellCount; ++c) {
    const PointMm at = g.CellPosition(c);
    loads[static_cast<std::size_t>(c)] =
        mass / 4 *
        (1 + (at.x_mm > 0 ? 1 : -1) * x / (g.cell_spacing_x_mm / 2) +
         (at.y_mm > 0 ? 1 : -1) * y / (g.cell_spacing_y_mm / 2));
  }
  return loads;
}

TEST(CalibrateTwoPointTest, OnePlacementAtTheCentre) {
  const ScaleCalibration truth = Example();
  Recorder r(truth);
  r.Hold(2, {0, 0, 0, 0});
  r.Hold(2, Split(truth.geometry, 2000, 0, 0));
  TwoPointOptions options;
  options.known_mass_g = 2000;
  options.geometry = truth.geometry;
  std::string report;
  Result<ScaleCalibration> c = CalibrateTwoPoint(r.samples, options, &report);
  ASSERT_TRUE(c.ok()) << c.status().message();
  EXPECT_NE(report.find("centre"), std::string::npos);
  for (std::size_t i = 0; i < kCellCount; ++i) {
    EXPECT_NEAR(c->cells[i].offset_counts, truth.cells[i].offset_counts, 60);
    EXPECT_NEAR(c->cells[i].span_per_kg_counts / truth.cells[i].span_per_kg_counts, 1.0, 1e-3);
  }
}

TEST(CalibrateTwoPointTest, TwoPlacementsAnywhereFollowTheDiagonalRule) {
  const ScaleCalibration truth = Example();
  Recorder r(truth);
  r.Hold(2, {0, 0, 0, 0});
  r.Hold(2, Split(truth.geometry, 2000, -140, -70));
  r.Hold(1, {0, 0, 0, 0});
  r.Hold(2, Split(truth.geometry, 2000, 120, -90));
  TwoPointOptions options;
  options.known_mass_g = 2000;
  options.geometry = truth.geometry;
  Result<ScaleCalibration> c = CalibrateTwoPoint(r.samples, options);
  ASSERT_TRUE(c.ok()) << c.status().message();
  for (std::size_t i = 0; i < kCellCount; ++i) {
    EXPECT_NEAR(c->cells[i].span_per_kg_counts / truth.cells[i].span_per_kg_counts, 1.0, 2e-3)
        << CellName(static_cast<int>(i));
  }
}

TEST(CalibrateTwoPointTest, ClearErrors) {
  const ScaleCalibration truth = Example();
  TwoPointOptions options;
  options.known_mass_g = 2000;
  Recorder empty_only(truth);
  empty_only.Hold(3, {0, 0, 0, 0});
  Result<ScaleCalibration> c = CalibrateTwoPoint(empty_only.samples, options);
  ASSERT_FALSE(c.ok());
  EXPECT_NE(c.status().message().find("no stable stretch with the known mass"), std::string::npos);

  Recorder alike(truth);
  alike.Hold(2, {0, 0, 0, 0});
  alike.Hold(2, Split(truth.geometry, 2000, 0, 0));
  alike.Hold(1, {0, 0, 0, 0});
  alike.Hold(2, Split(truth.geometry, 2000, 0, 0));
  c = CalibrateTwoPoint(alike.samples, options);
  ASSERT_FALSE(c.ok());
  EXPECT_NE(c.status().message().find("too alike"), std::string::npos);

  EXPECT_FALSE(CalibrateTwoPoint({}, options).ok());
  options.known_mass_g = 0;
  EXPECT_FALSE(CalibrateTwoPoint(alike.samples, options).ok());
}

}  // namespace
}  // namespace cartsense::sensors
