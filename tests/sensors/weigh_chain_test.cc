#include "sensors/weigh_chain.h"

#include <cmath>
#include <numbers>
#include <optional>
#include <random>
#include <utility>

#include <gtest/gtest.h>

#include "core/pipeline.h"
#include "core/text.h"
#include "sensors/serial_protocol.h"
#include "sensors/weigh_stage.h"

namespace cartsense::sensors {
namespace {

ScaleCalibration Calibration() {
  ScaleCalibration c;
  c.cart_id = "test";
  for (std::size_t i = 0; i < kCellCount; ++i) {
    c.cells[i].offset_counts = 100000 + 20000.0 * static_cast<double>(i);
    c.cells[i].span_per_kg_counts = 200000 + 4000.0 * static_cast<double>(i);
  }
  return c;
}

// Feeds a chain with samples made from per-cell loads (g), 80 samples/s, 1 g noise per cell.
class Rig {
 public:
  explicit Rig(WeighChainParams params = {}, ScaleCalibration calibration = Calibration())
      : calibration_(calibration),
        chain_(WeighChain::Create(params, calibration).value()),
        rng_(11) {}

  // Steps the basket to `total_g` at (x, y) relative to the current load (rigid-plate split).
  void Place(double mass_g, double x_mm, double y_mm) {
    for (int c = 0; c < kCellCount; ++c) {
      const PointMm at = calibration_.geometry.CellPosition(c);
      loads_[static_cast<std::size_t>(c)] +=
          mass_g / 4 *
          (1 + (at.x_mm > 0 ? 1 : -1) * x_mm / (calibration_.geometry.cell_spacing_x_mm / 2) +
           (at.y_mm > 0 ? 1 : -1) * y_mm / (calibration_.geometry.cell_spacing_y_mm / 2));
    }
  }

  LoadCellSample MakeSample() {
    std::normal_distribution<double> noise(0.0, 1.0);
    LoadCellSample s;
    s.t = Timestamp::FromNanoseconds(t_ns_);
    t_ns_ += 12'500'000;
    for (std::size_t c = 0; c < kCellCount; ++c) {
      double g = loads_[c] + noise(rng_) + drift_g_[c];
      if (temperature_c_.has_value()) g += zero_shift_g_per_c_ * (*temperature_c_ - 20);
      s.raw_counts[c] =
          static_cast<int32_t>(std::lround(calibration_.cells[c].offset_counts +
                                           calibration_.cells[c].span_per_kg_counts * g / 1000));
      if (stuck_[c].has_value()) s.raw_counts[c] = *stuck_[c];
    }
    s.temperature_c = temperature_c_;
    return s;
  }

  // Runs for `seconds`; returns the events.
  std::vector<WeightEvent> Run(double seconds) {
    std::vector<WeightEvent> events;
    for (int i = 0; i < static_cast<int>(seconds * 80); ++i) {
      WeighOutput out = chain_.ProcessSample(MakeSample());
      if (out.event.has_value()) events.push_back(*out.event);
      if (out.status.has_value()) statuses.push_back(*out.status);
    }
    return events;
  }

  WeighChain& chain() { return chain_; }
  int64_t t_ns() const { return t_ns_; }
  std::array<std::optional<int32_t>, kCellCount> stuck_{};
  std::array<double, kCellCount> drift_g_{};
  std::optional<double> temperature_c_;
  double zero_shift_g_per_c_ = 0;
  std::vector<ScaleStatus> statuses;

 private:
  ScaleCalibration calibration_;
  WeighChain chain_;
  std::mt19937_64 rng_;
  std::array<double, kCellCount> loads_{};
  int64_t t_ns_ = 0;
};

TEST(WeighChainTest, PlacementAndRemovalAreEventsWithPositionAndSigma) {
  Rig rig;
  ASSERT_TRUE(rig.Run(1).empty());
  rig.Place(500, 100, 50);
  std::vector<WeightEvent> events = rig.Run(1);
  ASSERT_EQ(events.size(), 1u);
  const WeightEvent& added = events[0];
  EXPECT_TRUE(added.added);
  EXPECT_NEAR(added.delta_g, 500, 2.5);
  EXPECT_GT(added.sigma_g, 0.3);
  EXPECT_LT(added.sigma_g, 1.5);
  ASSERT_TRUE(added.item_position.has_value());
  EXPECT_NEAR(added.item_position->x_mm, 100, 10);
  EXPECT_NEAR(added.item_position->y_mm, 50, 10);
  EXPECT_FALSE(added.cop_before.has_value());  // empty basket: no centre of pressure
  ASSERT_TRUE(added.cop_after.has_value());
  EXPECT_FALSE(added.below_min_capacity);
  EXPECT_EQ(added.cells_used, 4);
  EXPECT_LE(added.t_start, added.t_settle);

  rig.Place(50, -200, -100);
  events = rig.Run(1);
  ASSERT_EQ(events.size(), 1u);
  EXPECT_NEAR(events[0].delta_g, 50, 2.5);
  EXPECT_TRUE(events[0].below_min_capacity);  // under 20 e = 100 g
  EXPECT_DOUBLE_EQ(events[0].min_capacity_g, 100);

  rig.Place(-500, 100, 50);
  events = rig.Run(1);
  ASSERT_EQ(events.size(), 1u);
  EXPECT_FALSE(events[0].added);
  EXPECT_NEAR(events[0].delta_g, -500, 2.5);
  EXPECT_NEAR(events[0].item_position->x_mm, 100, 10);
}

// A small item set down by a hand that presses a few grams more for a while (the end of the
// contact phase): within one window that plateau looks settled. The small-step path waits longer
// and leaves the first samples of the new state out of its level.
int SmallStepsWithinLimit(const WeighChainParams& params, int placements) {
  constexpr double kHandG = 3, kPlateauS = 0.1;
  Rig rig(params);
  rig.Run(1);
  int within = 0;
  for (int i = 0; i < placements; ++i) {
    const double item_g = 15;
    rig.Place(item_g + kHandG, 0, 0);
    std::vector<WeightEvent> events = rig.Run(kPlateauS);
    rig.Place(-kHandG, 0, 0);
    for (const WeightEvent& e : rig.Run(0.9)) events.push_back(e);
    if (events.size() == 1 && std::abs(events[0].delta_g - item_g) <= 2.5) ++within;
  }
  return within;
}

TEST(WeighChainTest, SmallStepIsWeighedAfterTheHandsLastGrams) {
  // Seeded noise: 93 of 100 within the class III limit with the small-step path, 84 without.
  EXPECT_GE(SmallStepsWithinLimit(WeighChainParams{}, 100), 91);
  WeighChainParams without;
  without.small_step_g = 0;  // every step takes the large-step path
  EXPECT_LE(SmallStepsWithinLimit(without, 100), 87);
}

// A 1 kg item at the centre sets the plate ringing: 200 g at 11 Hz, decaying at 12/s, so the
// force is within +-2.5 g of its final value only 365 ms after the step. Returns the event and
// how long after the step it came.
std::optional<std::pair<WeightEvent, double>> RingingPlacement(const WeighChainParams& params) {
  Rig rig(params);
  rig.Run(1);
  const int64_t step_ns = rig.t_ns();
  rig.Place(1000, 0, 0);
  for (int i = 0; i < 80; ++i) {
    const double t = static_cast<double>(rig.t_ns() - step_ns) * 1e-9;
    const double ring = 200 * std::exp(-12 * t) * std::sin(2 * std::numbers::pi * 11 * t);
    rig.drift_g_.fill(ring / 4);
    WeighOutput out = rig.chain().ProcessSample(rig.MakeSample());
    if (out.event.has_value()) return std::make_pair(*out.event, t);
  }
  return std::nullopt;
}

TEST(WeighChainTest, LargeStepIsWeighedUnderItsRingingFromADampedModeFit) {
  const auto fitted = RingingPlacement(WeighChainParams{});
  ASSERT_TRUE(fitted.has_value());
  EXPECT_NEAR(fitted->first.delta_g, 1000, 2.5);
  EXPECT_LT(fitted->second, 0.3);  // before the ring is inside +-2.5 g (0.365 s)
  ASSERT_TRUE(fitted->first.item_position.has_value());
  EXPECT_NEAR(fitted->first.item_position->x_mm, 0, 10);

  WeighChainParams without;
  without.ring_fit_window_ms = 0;  // wait for a quiet window
  const auto quiet = RingingPlacement(without);
  ASSERT_TRUE(quiet.has_value());
  EXPECT_NEAR(quiet->first.delta_g, 1000, 2.5);
  EXPECT_GT(quiet->second, 0.4);
}

TEST(WeighChainTest, NoiseAloneMakesNoEvents) {
  Rig rig;
  rig.Place(3000, 30, -40);
  rig.Run(1);
  EXPECT_TRUE(rig.Run(120).empty());
  EXPECT_EQ(rig.chain().status().health, ScaleHealth::kOk);
}

TEST(WeighChainTest, OutOfOrderSampleIsAFaultNotAnEvent) {
  Rig rig;
  rig.Run(1);
  LoadCellSample late = rig.MakeSample();
  late.t = Timestamp::FromNanoseconds(rig.t_ns() - 500'000'000);
  WeighOutput out = rig.chain().ProcessSample(late);
  EXPECT_FALSE(out.event.has_value());
  ASSERT_TRUE(out.status.has_value());
  EXPECT_EQ(out.status->health, ScaleHealth::kFault);
  EXPECT_NE(out.status->message.find("out-of-order"), std::string::npos);
  EXPECT_EQ(rig.chain().counters().out_of_order, 1);
  rig.Run(1);  // clean input for longer than input_fault_hold_ms
  EXPECT_EQ(rig.chain().status().health, ScaleHealth::kOk);
}

TEST(WeighChainTest, ChangeDuringAnInputFaultIsReportedAfterIt) {
  Rig rig;
  rig.Run(1);
  rig.chain().ReportBadInput(Timestamp::FromNanoseconds(rig.t_ns()), "line 7: garbage");
  EXPECT_EQ(rig.chain().status().health, ScaleHealth::kFault);
  EXPECT_NE(rig.chain().status().message.find("garbage"), std::string::npos);
  rig.Place(800, 0, 0);
  const std::vector<WeightEvent> events = rig.Run(2);
  ASSERT_EQ(events.size(), 1u);
  EXPECT_NEAR(events[0].delta_g, 800, 2.5);
  // Emitted only once the input had been clean for the hold time.
  EXPECT_GE(events[0].t_settle.ns, 1'500'000'000);
}

TEST(WeighChainTest, SaturatedCellMeansThreeCellWeighingWithWiderSigma) {
  Rig rig;
  rig.Place(1000, 50, 50);
  rig.Run(1);
  rig.Place(700, -120, 60);
  const double sigma_four = rig.Run(1).at(0).sigma_g;
  rig.stuck_[kBackLeft] = kAdcMaxCounts;  // disconnected: the ADC reads its rail
  rig.Run(0.5);
  EXPECT_EQ(rig.chain().status().health, ScaleHealth::kDegraded);
  EXPECT_NE(rig.chain().status().message.find("back_left"), std::string::npos);
  EXPECT_NE(rig.chain().status().message.find("3 cells"), std::string::npos);
  rig.Place(400, 150, -80);
  const std::vector<WeightEvent> events = rig.Run(1);
  ASSERT_EQ(events.size(), 1u);
  EXPECT_EQ(events[0].cells_used, 3);
  EXPECT_NEAR(events[0].delta_g, 400, 3.5);
  EXPECT_GT(events[0].sigma_g, sigma_four);
  EXPECT_NE(events[0].note.find("3 cells"), std::string::npos);
  ASSERT_TRUE(events[0].item_position.has_value());
  EXPECT_NEAR(events[0].item_position->x_mm, 150, 15);
  EXPECT_NEAR(events[0].item_position->y_mm, -80, 15);
}

TEST(WeighChainTest, StuckCellIsDetectedAndTwoLostCellsStopWeighing) {
  Rig rig;
  rig.Run(1);
  rig.stuck_[kFrontRight] = 123456;
  rig.Run(0.2);
  EXPECT_EQ(rig.chain().status().cells[kFrontRight], CellFault::kStuck);
  EXPECT_EQ(rig.chain().status().health, ScaleHealth::kDegraded);
  rig.stuck_[kFrontLeft] = kAdcMinCounts;
  rig.Run(0.2);
  EXPECT_EQ(rig.chain().status().health, ScaleHealth::kFault);
  EXPECT_NE(rig.chain().status().message.find("cannot weigh"), std::string::npos);
  EXPECT_FALSE(rig.chain().total_g().has_value());
  rig.Place(900, 0, 0);
  EXPECT_TRUE(rig.Run(2).empty());  // never a silent wrong event
  // Both cells come back: after cell_recovery_ms the change made meanwhile is reported.
  rig.stuck_ = {};
  const std::vector<WeightEvent> events = rig.Run(3);
  ASSERT_EQ(events.size(), 1u);
  EXPECT_NEAR(events[0].delta_g, 900, 3);
  EXPECT_EQ(rig.chain().status().health, ScaleHealth::kOk);
}

TEST(WeighChainTest, TemperatureCompensationUsesTheCalibration) {
  ScaleCalibration calibration = Calibration();
  for (CellCalibration& c : calibration.cells) c.zero_shift_per_c_g = 0.5;
  calibration.reference_temperature_c = 20;
  Rig rig({}, calibration);
  rig.zero_shift_g_per_c_ = 0.5;
  rig.temperature_c_ = 20;
  rig.Place(2000, 0, 0);
  rig.Run(1);
  rig.temperature_c_ = 30;  // 5 g per cell of zero drift if uncompensated
  rig.Run(1);
  EXPECT_NEAR(*rig.chain().total_g(), 2000, 5);
}

TEST(WeighChainTest, AutoZeroTracksSlowDriftOfTheEmptyBasket) {
  WeighChainParams params;
  Rig rig(params);
  rig.Run(1);
  for (int step = 0; step < 60; ++step) {  // 0.05 g per cell per second for a minute
    for (double& d : rig.drift_g_) d += 0.05;
    EXPECT_TRUE(rig.Run(1).empty());
  }
  EXPECT_NEAR(*rig.chain().total_g(), 0, 4);
  rig.Place(20, 0, 0);
  const std::vector<WeightEvent> events = rig.Run(1);
  ASSERT_EQ(events.size(), 1u);
  EXPECT_NEAR(events[0].delta_g, 20, 2.5);
}

TEST(WeighChainTest, CreepCompensationHoldsALoadForHalfAnHour) {
  WeighChainParams params;
  Rig compensated(params);
  params.creep_pct = 0;
  Rig plain(params);
  for (Rig* rig : {&compensated, &plain}) rig->Place(5000, 0, 0);
  // The cells creep by 0.03 % of the load with a 600 s time constant, as the model does.
  const double creep_g = 5000 * 0.0003;
  for (int second = 0; second < 1800; ++second) {
    const double creep_now = creep_g * (1 - std::exp(-(second + 1) / 600.0));
    for (Rig* rig : {&compensated, &plain}) {
      for (double& d : rig->drift_g_) d = creep_now / 4;
      rig->Run(1);
    }
  }
  const auto mean_total = [](Rig& rig) {
    double sum = 0;
    for (int i = 0; i < 800; ++i) {
      rig.chain().ProcessSample(rig.MakeSample());
      sum += *rig.chain().total_g() / 800;
    }
    return sum;
  };
  EXPECT_NEAR(mean_total(plain) - 5000, creep_g * (1 - std::exp(-3.0)), 0.3);
  EXPECT_LT(std::abs(mean_total(compensated) - 5000), 0.3);
}

TEST(WeighChainTest, ParamsFromConfigValidateKeys) {
  Result<Config> config = Config::Parse("settle_window_ms: 150\nmin_event_g: 4\n");
  ASSERT_TRUE(config.ok());
  Result<WeighChainParams> params = WeighChainParams::FromConfig(*config);
  ASSERT_TRUE(params.ok()) << params.status().message();
  EXPECT_DOUBLE_EQ(params->settle_window_ms, 150);
  EXPECT_DOUBLE_EQ(params->min_event_g, 4);
  EXPECT_DOUBLE_EQ(params->noise_per_cell_g, 1.0);
  Result<Config> typo = Config::Parse("settle_window: 150\n");
  ASSERT_TRUE(typo.ok());
  Result<WeighChainParams> bad = WeighChainParams::FromConfig(*typo);
  ASSERT_FALSE(bad.ok());
  EXPECT_NE(bad.status().message().find("settle_window"), std::string::npos);
}

TEST(WeighStageTest, RunsInAPipelineFromConfig) {
  StageRegistry registry;
  ASSERT_TRUE(RegisterSensorStages(registry).ok());
  EXPECT_TRUE(registry.Has("WeighStage"));
  EXPECT_TRUE(registry.Has("WeighStageImu"));
  EXPECT_TRUE(registry.Has("SerialDecodeStage"));
  const std::string indented = IndentLines(Calibration().ToYaml(), "        ");
  Result<Config> config = Config::Parse(
      "sources: [lines]\n"
      "stages:\n"
      "  - name: decode\n"
      "    type: SerialDecodeStage\n"
      "    inputs: {lines: lines}\n"
      "    outputs: {samples: loadcell, imu: imu, bad_lines: bad}\n"
      "  - name: weigh\n"
      "    type: WeighStageImu\n"
      "    inputs: {samples: loadcell, imu: imu}\n"
      "    outputs: {events: weight_events, status: scale_status}\n"
      "    config:\n"
      "      settle_window_ms: 100\n"
      "      calibration:\n" +
      indented);
  ASSERT_TRUE(config.ok()) << config.status().message();
  VirtualClock clock;
  MetricsRegistry metrics;
  Result<std::unique_ptr<Pipeline>> pipeline =
      Pipeline::FromConfig(*config, registry, &clock, &metrics);
  ASSERT_TRUE(pipeline.ok()) << pipeline.status().message();
  std::vector<WeightEvent> events;
  std::vector<std::string> bad;
  ASSERT_TRUE((*pipeline)
                  ->AddSink("weight_events",
                            [&](const std::string&, const Packet& p) {
                              events.push_back(p.Value<WeightEvent>());
                            })
                  .ok());
  ASSERT_TRUE((*pipeline)
                  ->AddSink("bad", [&](const std::string&,
                                       const Packet& p) { bad.push_back(p.Value<std::string>()); })
                  .ok());
  ASSERT_TRUE((*pipeline)->Start().ok());
  Rig rig;
  for (int i = 0; i < 160; ++i) {
    if (i == 80) rig.Place(1234, 0, 0);
    const LoadCellSample s = rig.MakeSample();
    ASSERT_TRUE((*pipeline)->Push("lines", Packet::Make(s.t, FormatLoadCellLine(s))).ok());
    if (i == 100) {
      ASSERT_TRUE((*pipeline)->Push("lines", Packet::Make(s.t, std::string("L,garbage"))).ok());
    }
  }
  (*pipeline)->CloseSources();
  ASSERT_TRUE((*pipeline)->Wait().ok());
  ASSERT_EQ(bad.size(), 1u);
  ASSERT_EQ(events.size(), 1u);
  EXPECT_NEAR(events[0].delta_g, 1234, 2.5);
}

}  // namespace
}  // namespace cartsense::sensors
