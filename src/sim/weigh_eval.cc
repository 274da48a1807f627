#include "sim/weigh_eval.h"

#include <algorithm>
#include <cmath>
#include <set>

#include "core/stats.h"

namespace cartsense::sim {
namespace {

struct BasketItem {
  PointMm at;
  double mass_g = 0;
};

class Draw {
 public:
  explicit Draw(uint64_t seed) : rng_(seed) {}
  double Uniform(double lo, double hi) { return lo + (hi - lo) * unit_(rng_); }
  double LogUniform(double lo, double hi) { return lo * std::exp(std::log(hi / lo) * unit_(rng_)); }
  bool Chance(double p) { return unit_(rng_) < p; }
  double Sign() { return Chance(0.5) ? 1.0 : -1.0; }
  uint64_t Seed() { return rng_(); }
  std::size_t Index(std::size_t n) {
    return std::min(n - 1, static_cast<std::size_t>(unit_(rng_) * static_cast<double>(n)));
  }

 private:
  std::mt19937_64 rng_;
  std::uniform_real_distribution<double> unit_{0.0, 1.0};
};

PointMm RandomSpot(Draw& draw, const ScaleGeometry& geometry) {
  return {draw.Uniform(-0.45, 0.45) * geometry.cell_spacing_x_mm,
          draw.Uniform(-0.45, 0.45) * geometry.cell_spacing_y_mm};
}

LoadChange MakeChange(Draw& draw, double t0_s, double mass_g, PointMm at, double hand_press_max_g) {
  LoadChange change;
  change.t0_s = t0_s;
  change.mass_g = mass_g;
  change.at = at;
  const double m = std::abs(mass_g);
  if (mass_g > 0) {
    change.contact_s = draw.Uniform(0.1, 0.4);
    change.hand_g = draw.Uniform(-0.2, 0.2) * m + draw.Uniform(-0.5, 1.0) * hand_press_max_g;
    change.ring_g = draw.Sign() * (draw.Uniform(0.05, 0.3) * m + draw.Uniform(0, 5));
  } else {
    change.contact_s = draw.Uniform(0.15, 0.4);
    change.hand_g = draw.Uniform(-0.15, 0.15) * m + draw.Uniform(-0.5, 0.75) * hand_press_max_g;
    change.ring_g = draw.Sign() * (draw.Uniform(0.02, 0.15) * m + draw.Uniform(0, 3));
  }
  change.ring_hz = draw.Uniform(8, 15);
  // The hand guiding the item trembles: force tremor grows with the force (1 g + 4 % of what it
  // holds or presses), 8-12 Hz.
  change.tremor_g = 1 + 0.04 * (m + std::abs(change.hand_g));
  change.tremor_hz = draw.Uniform(8, 12);
  // Settling time 150-400 ms after the hand lets go (see RingDecayPerS).
  change.decay_per_s = RingDecayPerS(change.ring_g, draw.Uniform(0.15, 0.4));
  return change;
}

}  // namespace

double ClassThreeLimitG(double load_g) {
  const double e = 5.0;
  const double load = std::abs(load_g);
  if (load <= 500 * e) return 0.5 * e;
  if (load <= 2000 * e) return 1.0 * e;
  return 1.5 * e;
}

WeighScenario GenerateWeighScenario(const WeighScenarioOptions& options,
                                    const LoadCellModelParams& model, uint64_t seed) {
  Draw draw(seed);
  WeighScenario scenario;
  Schedule& schedule = scenario.schedule;
  std::vector<BasketItem> basket;
  double basket_g = 0;
  double t = 1.5;  // a quiet start: the chain finds its first stable state
  const auto gap = [&] {
    return draw.Chance(options.short_gap_share) ? draw.Uniform(0.2, 0.5) : draw.Uniform(0.5, 3.0);
  };
  while (static_cast<int>(scenario.truth.size()) < options.true_events) {
    if (options.fail_cell >= 0 && scenario.failure_s < 0 &&
        static_cast<int>(scenario.truth.size()) >= options.fail_at_event) {
      CellFailure failure;
      failure.t_s = t;
      failure.cell = options.fail_cell;
      failure.kind = options.fail_kind;
      schedule.failures.push_back(failure);
      scenario.failure_s = t;
      t += 0.5;
    }
    if (draw.Chance(options.distractor_share)) {
      Distractor distractor;
      distractor.t_start_s = t;
      const double kind = draw.Uniform(0, 1);
      if (kind < 0.5) {
        Vibration push;
        push.t0_s = t;
        push.duration_s = draw.Uniform(1, 4);
        push.rms_mps2 = draw.Uniform(0.3, 1.0);
        const int bumps = static_cast<int>(draw.Uniform(0, 3.99));
        for (int b = 0; b < bumps; ++b) {
          push.bump_times_s.push_back(t + draw.Uniform(0.1, push.duration_s - 0.1));
          push.bump_peak_mps2.push_back(draw.Sign() * draw.Uniform(1, 3));
        }
        std::sort(push.bump_times_s.begin(), push.bump_times_s.end());
        push.seed = draw.Seed();
        distractor.kind = Distractor::Kind::kPush;
        distractor.t_end_s = push.t0_s + push.duration_s + 0.8;
        schedule.vibrations.push_back(push);
      } else if (kind < 0.7) {
        Vibration bump;
        bump.t0_s = t;
        bump.duration_s = 0.1;
        bump.rms_mps2 = 0;
        bump.bump_times_s.push_back(t + 0.05);
        bump.bump_peak_mps2.push_back(draw.Sign() * draw.Uniform(1, 4));
        bump.seed = draw.Seed();
        distractor.kind = Distractor::Kind::kBump;
        distractor.t_end_s = t + 0.85;
        schedule.vibrations.push_back(bump);
      } else {
        HandPress hand;
        hand.t0_s = t;
        hand.duration_s = draw.Uniform(0.3, 2.0);
        hand.force_g = draw.LogUniform(50, 3000);
        hand.at = RandomSpot(draw, model.geometry);
        hand.tremor_g = 3 + 0.04 * hand.force_g;
        hand.tremor_hz = draw.Uniform(8, 12);
        distractor.kind = Distractor::Kind::kHand;
        distractor.t_end_s = t + hand.duration_s;
        schedule.hands.push_back(hand);
      }
      scenario.distractors.push_back(distractor);
      t = distractor.t_end_s + gap();
      continue;
    }

    const bool remove = !basket.empty() && (draw.Chance(0.4) || basket_g > options.max_basket_g ||
                                            basket.size() >= 30);
    std::vector<LoadChange> changes;
    TrueWeightEvent truth;
    truth.t_start_s = t;
    if (remove) {
      const std::size_t index = draw.Index(basket.size());
      const BasketItem item = basket[index];
      basket.erase(basket.begin() + static_cast<std::ptrdiff_t>(index));
      basket_g -= item.mass_g;
      changes.push_back(MakeChange(draw, t, -item.mass_g, item.at, options.hand_press_max_g));
      truth.delta_g = -item.mass_g;
      truth.at = item.at;
    } else {
      const int count = draw.Chance(options.multi_item_share) ? (draw.Chance(0.5) ? 2 : 3) : 1;
      double moment_x = 0, moment_y = 0;
      for (int k = 0; k < count; ++k) {
        BasketItem item;
        item.mass_g = draw.LogUniform(options.mass_min_g, options.mass_max_g);
        item.at = RandomSpot(draw, model.geometry);
        changes.push_back(MakeChange(draw, t + (k == 0 ? 0.0 : draw.Uniform(0, 0.08)), item.mass_g,
                                     item.at, options.hand_press_max_g));
        basket.push_back(item);
        basket_g += item.mass_g;
        truth.delta_g += item.mass_g;
        moment_x += item.mass_g * item.at.x_mm;
        moment_y += item.mass_g * item.at.y_mm;
      }
      truth.at = {moment_x / truth.delta_g, moment_y / truth.delta_g};
      truth.items = count;
    }
    truth.t_settle_s = PhysicalSettleS(changes);
    for (LoadChange& change : changes) schedule.changes.push_back(change);
    scenario.truth.push_back(truth);
    t = truth.t_settle_s + gap();
  }
  std::sort(schedule.changes.begin(), schedule.changes.end(),
            [](const LoadChange& a, const LoadChange& b) { return a.t0_s < b.t0_s; });
  scenario.end_s = t + 1.0;
  return scenario;
}

Result<WeighEvalResult> RunWeighEval(const WeighEvalOptions& options) {
  if (options.true_events < 1) return InvalidArgumentError("need at least 1 true event");
  if (options.sample_rate_hz != 80 && options.sample_rate_hz != 10) {
    return InvalidArgumentError("the ADC rate must be 80 or 10 samples/s");
  }
  WeighEvalResult result;
  LoadCellModelParams model = LoadCellModelParams::RandomCart(options.seed, options.sample_rate_hz);
  model.imu = options.imu;
  model.temperature_sensor = options.temperature_sensor;

  // --- calibration: the two-point routine on a simulated calibration session -----------------
  sensors::ScaleCalibration calibration;
  if (options.calibrate) {
    Draw draw(options.seed ^ 0xca11b7a7e5ULL);
    const double known_mass_g = 2000;
    const ScaleGeometry& g = model.geometry;
    Schedule session;
    const PointMm front_left = {-g.cell_spacing_x_mm / 4, -g.cell_spacing_y_mm / 4};
    const PointMm front_right = {g.cell_spacing_x_mm / 4, -g.cell_spacing_y_mm / 4};
    session.changes.push_back(MakeChange(draw, 3.0, known_mass_g, front_left, 10));
    session.changes.push_back(MakeChange(draw, 8.0, -known_mass_g, front_left, 10));
    session.changes.push_back(MakeChange(draw, 11.0, known_mass_g, front_right, 10));
    std::vector<LoadCellSample> samples;
    LoadCellModel calibration_model(model, options.seed ^ 0x5eed0ca1ULL);
    calibration_model.Run(session, 16.0, [&](const LoadCellSample& s) { samples.push_back(s); },
                          {});
    sensors::TwoPointOptions two_point;
    two_point.known_mass_g = known_mass_g;
    two_point.geometry = g;
    CS_ASSIGN_OR_RETURN(calibration,
                        sensors::CalibrateTwoPoint(samples, two_point, &result.calibration_report)
                            .WithContext("simulated calibration"));
    // Temperature coefficients come from the cell maker's characterisation, within 10 %.
    std::normal_distribution<double> error(1.0, 0.1);
    std::mt19937_64 rng(options.seed ^ 0x7e3c0ULL);
    for (std::size_t c = 0; c < kCellCount; ++c) {
      calibration.cells[c].zero_shift_per_c_g = model.cells[c].zero_shift_per_c_g * error(rng);
      calibration.cells[c].span_shift_per_c_pct = model.cells[c].span_shift_per_c_pct * error(rng);
    }
  } else {
    calibration = LoadCellModel(model, 0).TrueCalibration();
  }

  // --- the shopping session --------------------------------------------------------------------
  WeighScenarioOptions scenario_options;
  scenario_options.true_events = options.true_events;
  scenario_options.fail_cell = options.fail_cell;
  scenario_options.fail_kind = options.fail_kind;
  scenario_options.hand_press_max_g = options.hand_press_max_g;
  scenario_options.fail_at_event =
      static_cast<int>(options.fail_at_fraction * static_cast<double>(options.true_events));
  const WeighScenario scenario = GenerateWeighScenario(scenario_options, model, options.seed);

  CS_ASSIGN_OR_RETURN(sensors::WeighChain chain,
                      sensors::WeighChain::Create(
                          options.chain_params.value_or(
                              sensors::WeighChainParams::ForSampleRate(options.sample_rate_hz)),
                          calibration));
  std::vector<sensors::WeightEvent> detected;
  std::set<std::string> messages;
  const auto collect = [&](const sensors::WeighOutput& out) {
    if (out.event.has_value()) detected.push_back(*out.event);
    if (out.status.has_value() && messages.size() < 20) messages.insert(out.status->message);
  };
  LoadCellModel session_model(model, options.seed ^ 0x9e3779b97f4a7c15ULL);
  session_model.Run(
      scenario.schedule, scenario.end_s,
      [&](const LoadCellSample& s) {
        ++result.samples;
        collect(chain.ProcessSample(s));
      },
      [&](const ImuSample& s) { collect(chain.ProcessImu(s)); });
  result.simulated_s = scenario.end_s;
  result.fault_messages.assign(messages.begin(), messages.end());

  // --- matching and figures --------------------------------------------------------------------
  result.true_events = static_cast<int>(scenario.truth.size());
  result.detected_events = static_cast<int>(detected.size());
  result.distractors = static_cast<int>(scenario.distractors.size());
  std::vector<bool> truth_matched(scenario.truth.size(), false);
  result.outcomes.resize(scenario.truth.size());
  for (std::size_t i = 0; i < scenario.truth.size(); ++i)
    result.outcomes[i].truth = scenario.truth[i];
  std::vector<double> latencies_ms, cop_errors_cm, abs_errors_g, latencies_above_min_ms;
  int within = 0, within_sigma = 0, within_above_min = 0;
  constexpr double kMinCapacityG = 100;  // OIML R76 class III, e = 5 g: 20 e
  std::size_t first_candidate = 0;
  for (const sensors::WeightEvent& event : detected) {
    const double t = event.t_settle.seconds();
    if (event.cells_used < kCellCount) ++result.degraded_events;
    while (first_candidate < scenario.truth.size() &&
           scenario.truth[first_candidate].t_settle_s < t - 1.0) {
      ++first_candidate;
    }
    std::optional<std::size_t> best;
    for (std::size_t i = first_candidate; i < scenario.truth.size(); ++i) {
      const TrueWeightEvent& truth = scenario.truth[i];
      if (truth.t_settle_s > t + 1.0) break;
      if (truth_matched[i] || (truth.delta_g > 0) != event.added) continue;
      if (!best.has_value() ||
          std::abs(truth.t_settle_s - t) < std::abs(scenario.truth[*best].t_settle_s - t)) {
        best = i;
      }
    }
    if (!best.has_value()) {
      ++result.false_positives;
      FalseEventRecord record{t, event.delta_g, false};
      for (const Distractor& d : scenario.distractors) {
        if (t >= d.t_start_s && t <= d.t_end_s + 1.0) {
          ++result.false_positives_during_distractors;
          record.during_distractor = true;
          break;
        }
      }
      result.false_events.push_back(record);
      continue;
    }
    truth_matched[*best] = true;
    TrueEventOutcome& outcome = result.outcomes[*best];
    outcome.matched = true;
    outcome.detected_delta_g = event.delta_g;
    outcome.sigma_g = event.sigma_g;
    outcome.event_s = t;
    ++result.matched;
    const TrueWeightEvent& truth = scenario.truth[*best];
    const double error = event.delta_g - truth.delta_g;
    abs_errors_g.push_back(std::abs(error));
    const bool inside = std::abs(error) <= ClassThreeLimitG(truth.delta_g);
    if (inside) ++within;
    if (std::abs(truth.delta_g) >= kMinCapacityG) {
      ++result.matched_above_min;
      if (inside) ++within_above_min;
      latencies_above_min_ms.push_back((t - truth.t_settle_s) * 1e3);
    }
    if (std::abs(error) <= 2 * event.sigma_g) ++within_sigma;
    latencies_ms.push_back((t - truth.t_settle_s) * 1e3);
    if (event.item_position.has_value()) {
      cop_errors_cm.push_back(std::hypot(event.item_position->x_mm - truth.at.x_mm,
                                         event.item_position->y_mm - truth.at.y_mm) /
                              10.0);
    } else {
      cop_errors_cm.push_back(1000.0);
    }
  }
  result.missed = result.true_events - result.matched;
  result.precision = result.detected_events > 0
                         ? static_cast<double>(result.matched) / result.detected_events
                         : 0.0;
  result.recall = static_cast<double>(result.matched) / result.true_events;
  if (result.matched > 0) {
    result.within_mpe = static_cast<double>(within) / result.matched;
    result.within_2_sigma = static_cast<double>(within_sigma) / result.matched;
  }
  if (result.matched_above_min > 0) {
    result.within_mpe_above_min = static_cast<double>(within_above_min) / result.matched_above_min;
  }
  result.settle_to_event_ms_p50_above_min = NearestRankPercentile(latencies_above_min_ms, 50);
  result.settle_to_event_ms_p95_above_min = NearestRankPercentile(latencies_above_min_ms, 95);
  result.abs_error_g_p50 = NearestRankPercentile(abs_errors_g, 50);
  result.abs_error_g_p95 = NearestRankPercentile(abs_errors_g, 95);
  result.settle_to_event_ms_p50 = NearestRankPercentile(latencies_ms, 50);
  result.settle_to_event_ms_p95 = NearestRankPercentile(latencies_ms, 95);
  result.cop_error_cm_p50 = NearestRankPercentile(cop_errors_cm, 50);
  result.cop_error_cm_p95 = NearestRankPercentile(cop_errors_cm, 95);
  return result;
}

}  // namespace cartsense::sim
