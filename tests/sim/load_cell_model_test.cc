#include "sim/load_cell_model.h"

#include <cmath>
#include <numeric>

#include <gtest/gtest.h>

#include "sensors/serial_protocol.h"

namespace cartsense::sim {
namespace {

TEST(RigidPlateTest, SharesSumToOneAndReproduceThePosition) {
  ScaleGeometry g;
  for (const PointMm at :
       {PointMm{0, 0}, PointMm{120, -80}, PointMm{-240, 170}, PointMm{200, 160}}) {
    const auto shares = RigidPlateShares(g, at);
    EXPECT_NEAR(std::accumulate(shares.begin(), shares.end(), 0.0), 1.0, 1e-12);
    double x = 0, y = 0;
    for (int c = 0; c < kCellCount; ++c) {
      x += shares[static_cast<std::size_t>(c)] * g.CellPosition(c).x_mm;
      y += shares[static_cast<std::size_t>(c)] * g.CellPosition(c).y_mm;
    }
    EXPECT_NEAR(x, at.x_mm, 1e-9);
    EXPECT_NEAR(y, at.y_mm, 1e-9);
    // Each diagonal carries half, which is what lets three cells stand in for four.
    EXPECT_NEAR(shares[sensors::kFrontLeft] + shares[sensors::kBackRight], 0.5, 1e-12);
    EXPECT_NEAR(shares[sensors::kFrontRight] + shares[sensors::kBackLeft], 0.5, 1e-12);
  }
}

TEST(LoadChangeTest, PlacementRingsAndSettles) {
  LoadChange change;
  change.t0_s = 1;
  change.mass_g = 1000;
  change.contact_s = 0.2;
  change.ring_g = 200;
  change.ring_hz = 12;
  change.decay_per_s = std::log(200 / 2.5) / 0.3;  // within 2.5 g 300 ms after release
  EXPECT_EQ(change.ForceAt(0.5), 0);
  EXPECT_NEAR(change.ForceAt(10), 1000, 1e-6);
  const double settle = PhysicalSettleS({change});
  EXPECT_GT(settle, 1.2 + 0.25);
  EXPECT_LT(settle, 1.2 + 0.31);
  // Zero crossings of the ringing: 12 Hz.
  int crossings = 0;
  double previous = change.ForceAt(1.2001) - 1000;
  for (double t = 1.2002; t < 1.7; t += 0.0001) {
    const double now = change.ForceAt(t) - 1000;
    if ((now > 0) != (previous > 0)) ++crossings;
    previous = now;
  }
  EXPECT_NEAR(crossings / 2.0 / 0.5, 12, 1);
}

struct Capture {
  std::vector<LoadCellSample> samples;
  std::vector<ImuSample> imu;
};

Capture RunModel(const LoadCellModelParams& params, const Schedule& schedule, double end_s,
                 uint64_t seed) {
  Capture capture;
  LoadCellModel model(params, seed);
  model.Run(
      schedule, end_s, [&](const LoadCellSample& s) { capture.samples.push_back(s); },
      [&](const ImuSample& s) { capture.imu.push_back(s); });
  return capture;
}

double CellGrams(const LoadCellModelParams& p, const LoadCellSample& s, std::size_t c) {
  return (s.raw_counts[c] - p.cells[c].offset_counts) * 1000.0 / p.cells[c].span_per_kg_counts;
}

TEST(LoadCellModelTest, NoiseIsAboutOneGramAt80AndHalfAt10) {
  for (const double rate : {80.0, 10.0}) {
    LoadCellModelParams p = LoadCellModelParams::RandomCart(3, rate);
    p.spike_probability = 0;
    p.temperature_swing_c = 0;
    p.start_temperature_c = p.reference_temperature_c;
    const Capture c = RunModel(p, {}, 60, 1);
    EXPECT_EQ(c.samples.size(), static_cast<std::size_t>(60 * rate + 1));
    double sum2 = 0;
    for (const LoadCellSample& s : c.samples) sum2 += std::pow(CellGrams(p, s, 0), 2);
    const double rms = std::sqrt(sum2 / static_cast<double>(c.samples.size()));
    EXPECT_NEAR(rms, rate > 40 ? 1.0 : 0.5, rate > 40 ? 0.08 : 0.06) << rate;
  }
}

TEST(LoadCellModelTest, SameSeedSameSamplesAndImuInterleaved) {
  const LoadCellModelParams p = LoadCellModelParams::RandomCart(9, 80);
  Schedule schedule;
  LoadChange change;
  change.t0_s = 1;
  change.mass_g = 700;
  change.at = {50, 20};
  schedule.changes.push_back(change);
  Vibration push;
  push.t0_s = 3;
  push.duration_s = 1;
  push.rms_mps2 = 0.8;
  schedule.vibrations.push_back(push);
  const Capture a = RunModel(p, schedule, 5, 42);
  const Capture b = RunModel(p, schedule, 5, 42);
  const Capture other = RunModel(p, schedule, 5, 43);
  ASSERT_EQ(a.samples.size(), b.samples.size());
  for (std::size_t i = 0; i < a.samples.size(); ++i) {
    ASSERT_EQ(a.samples[i].raw_counts, b.samples[i].raw_counts);
  }
  EXPECT_NE(a.samples[100].raw_counts, other.samples[100].raw_counts);
  EXPECT_EQ(a.imu.size(), 500u);  // 100 Hz, up to the last load-cell sample
  // The push shows in the accelerometer and in the load.
  double quiet = 0, pushed = 0;
  for (const ImuSample& s : a.imu) {
    const double dev = std::abs(s.az_mps2 - 9.80665);
    if (s.t.seconds() > 2 && s.t.seconds() < 2.9) quiet = std::max(quiet, dev);
    if (s.t.seconds() > 3.2 && s.t.seconds() < 3.8) pushed = std::max(pushed, dev);
  }
  EXPECT_LT(quiet, 0.15);
  EXPECT_GT(pushed, 0.5);
}

TEST(LoadCellModelTest, CreepIsThreeHundredthsOfAPercentOverHalfAnHour) {
  LoadCellModelParams p = LoadCellModelParams::RandomCart(4, 10);
  p.spike_probability = 0;
  p.noise_per_cell_g = 0.01;
  p.temperature_swing_c = 0;
  p.start_temperature_c = p.reference_temperature_c;
  Schedule schedule;
  schedule.initial_items.push_back({{0, 0}, 5000});
  const Capture c = RunModel(p, schedule, 1800, 1);
  double first = 0, last = 0;
  for (std::size_t cell = 0; cell < kCellCount; ++cell) {
    first += CellGrams(p, c.samples.front(), cell);
    last += CellGrams(p, c.samples.back(), cell);
  }
  EXPECT_NEAR(first, 5000, 0.2);
  // 0.03 % of 5 kg = 1.5 g at equilibrium; after 30 min with a 10 min constant, 95 % of it.
  EXPECT_NEAR(last - first, 1.5 * (1 - std::exp(-3.0)), 0.1);
}

TEST(LoadCellModelTest, CellFailures) {
  LoadCellModelParams p = LoadCellModelParams::RandomCart(5, 80);
  Schedule schedule;
  schedule.failures.push_back({1.0, 2, CellFailure::Kind::kStuck, 2.0});
  schedule.failures.push_back({3.0, 1, CellFailure::Kind::kDisconnected, 1e18});
  const Capture c = RunModel(p, schedule, 4, 1);
  const auto at = [&](double t) { return c.samples[static_cast<std::size_t>(t * 80)]; };
  EXPECT_EQ(at(1.2).raw_counts[2], at(1.9).raw_counts[2]);
  EXPECT_NE(at(2.2).raw_counts[2], at(2.3).raw_counts[2]);
  EXPECT_EQ(at(3.5).raw_counts[1], sensors::kAdcMaxCounts);
}

}  // namespace
}  // namespace cartsense::sim
