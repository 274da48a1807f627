// Fixed-seed simulations of the weigh chain against the load-cell physics model (label
// 'scenario'). The figures asserted are the goals where the chain meets them, and the
// measured level (a regression guard) where it does not yet: see docs/benchmarks.md.
#include "sim/weigh_eval.h"

#include <gtest/gtest.h>

#include "sensors/scale_calibration.h"

namespace cartsense::sim {
namespace {

WeighEvalResult Eval(int events, uint64_t seed, double rate = 80) {
  WeighEvalOptions options;
  options.true_events = events;
  options.seed = seed;
  options.sample_rate_hz = rate;
  Result<WeighEvalResult> result = RunWeighEval(options);
  EXPECT_TRUE(result.ok()) << result.status().message();
  return result.ok() ? *result : WeighEvalResult{};
}

TEST(WeighEvalTest, AccuracyOnAFixedSeedAt80SamplesPerSecond) {
  const WeighEvalResult r = Eval(600, 11);
  EXPECT_EQ(r.true_events, 600);
  EXPECT_GT(r.distractors, 150);
  // Goals met on this seed: recall, precision, centre of pressure (measured 1.0, 1.0, 1.73 cm).
  EXPECT_GE(r.recall, 0.999);
  EXPECT_GE(r.precision, 0.999);
  EXPECT_LE(r.cop_error_cm_p95, 3.0);
  // Goals not met over all events (0.995 and 150 ms; measured 0.9900 and 183 ms): items under
  // 100 g wait out the hand's last grams. Guard the measured level.
  EXPECT_GE(r.within_mpe, 0.98);
  EXPECT_LE(r.settle_to_event_ms_p95, 195);
  EXPECT_GE(r.settle_to_event_ms_p50, 0);
  EXPECT_LE(r.settle_to_event_ms_p50, 75);
  // From the class III minimum capacity (100 g) up, both goals are met (0.9950, 122 ms): the
  // damped-mode fit weighs large steps while the plate still rings.
  EXPECT_GT(r.matched_above_min, 350);
  EXPECT_GE(r.within_mpe_above_min, 0.995);
  EXPECT_LE(r.settle_to_event_ms_p95_above_min, 150);
}

TEST(WeighEvalTest, AnotherSeedWithoutTheAccelerometer) {
  WeighEvalOptions options;
  options.true_events = 400;
  options.seed = 12;
  options.imu = false;
  Result<WeighEvalResult> r = RunWeighEval(options);
  ASSERT_TRUE(r.ok()) << r.status().message();
  EXPECT_GE(r->recall, 0.999);      // measured 1.0
  EXPECT_GE(r->precision, 0.999);   // measured 1.0
  EXPECT_GE(r->within_mpe, 0.985);  // measured 0.9875
  EXPECT_LE(r->cop_error_cm_p95, 3.0);
}

TEST(WeighEvalTest, OneCellLostHalfwayKeepsWeighingFromThree) {
  WeighEvalOptions options;
  options.true_events = 600;
  options.seed = 11;
  options.fail_cell = 2;
  options.fail_kind = CellFailure::Kind::kStuck;
  Result<WeighEvalResult> r = RunWeighEval(options);
  ASSERT_TRUE(r.ok()) << r.status().message();
  EXPECT_GT(r->degraded_events, 250);
  EXPECT_GE(r->recall, 0.995);     // measured 0.9983
  EXPECT_GE(r->precision, 0.99);   // measured 0.9934
  EXPECT_GE(r->within_mpe, 0.98);  // measured 0.9850
  EXPECT_LE(r->cop_error_cm_p95, 3.0);
  bool said_so = false;
  for (const std::string& m : r->fault_messages) {
    said_so |= m.find("back_left stuck; weighing from 3 cells") != std::string::npos;
  }
  EXPECT_TRUE(said_so);
}

TEST(WeighEvalTest, SameSeedSameFigures) {
  const WeighEvalResult a = Eval(150, 21);
  const WeighEvalResult b = Eval(150, 21);
  EXPECT_EQ(a.samples, b.samples);
  EXPECT_EQ(a.detected_events, b.detected_events);
  EXPECT_EQ(a.matched, b.matched);
  EXPECT_DOUBLE_EQ(a.within_mpe, b.within_mpe);
  EXPECT_DOUBLE_EQ(a.settle_to_event_ms_p95, b.settle_to_event_ms_p95);
  EXPECT_DOUBLE_EQ(a.cop_error_cm_p95, b.cop_error_cm_p95);
}

TEST(WeighEvalTest, TwoPointCalibrationOnTheModelFindsTheTrueSpans) {
  const LoadCellModelParams params = LoadCellModelParams::RandomCart(31, 80);
  Schedule session;
  LoadChange change;
  change.mass_g = 2000;
  change.ring_g = 150;
  change.decay_per_s = 15;
  change.t0_s = 3;
  change.at = {-125, -87.5};
  session.changes.push_back(change);
  change.t0_s = 8;
  change.mass_g = -2000;
  session.changes.push_back(change);
  change.t0_s = 11;
  change.mass_g = 2000;
  change.at = {125, -87.5};
  session.changes.push_back(change);
  std::vector<LoadCellSample> samples;
  LoadCellModel model(params, 7);
  model.Run(session, 16, [&](const LoadCellSample& s) { samples.push_back(s); }, {});
  sensors::TwoPointOptions options;
  options.known_mass_g = 2000;
  Result<sensors::ScaleCalibration> c = sensors::CalibrateTwoPoint(samples, options);
  ASSERT_TRUE(c.ok()) << c.status().message();
  for (std::size_t i = 0; i < kCellCount; ++i) {
    // Spans within 0.15 % (the temperature of the session and creep are not calibrated away).
    EXPECT_NEAR(c->cells[i].span_per_kg_counts / params.cells[i].span_per_kg_counts, 1.0, 1.5e-3);
  }
}

TEST(WeighEvalTest, TenSamplesPerSecondIsSupportedButSlower) {
  const WeighEvalResult r = Eval(200, 11, 10);
  EXPECT_GT(r.matched, 0);
  // At 10 samples/s the settle window is 300 ms: items placed within ~0.4 s of the previous
  // settle merge into one event, so recall and precision drop on this scenario (documented).
  EXPECT_GE(r.recall, 0.5);
  EXPECT_GE(r.settle_to_event_ms_p50, 0);
}

TEST(WeighEvalTest, ClassThreeLimits) {
  EXPECT_DOUBLE_EQ(ClassThreeLimitG(10), 2.5);
  EXPECT_DOUBLE_EQ(ClassThreeLimitG(-2500), 2.5);
  EXPECT_DOUBLE_EQ(ClassThreeLimitG(2500.1), 5);
  EXPECT_DOUBLE_EQ(ClassThreeLimitG(10000), 5);
  EXPECT_DOUBLE_EQ(ClassThreeLimitG(12000), 7.5);
}

}  // namespace
}  // namespace cartsense::sim
