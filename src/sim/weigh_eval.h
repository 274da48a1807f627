// Weighing evaluation: a seeded shopping scenario on the load-cell physics model, the weigh chain
// run over it, and the figures of issue 3 (definitions in docs/benchmarks.md). Simulation only.
//
//   WeighEvalOptions options;
//   options.true_events = 5000;
//   options.seed = 7;
//   CS_ASSIGN_OR_RETURN(WeighEvalResult result, RunWeighEval(options));
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "core/status.h"
#include "sensors/weigh_chain.h"
#include "sim/load_cell_model.h"

namespace cartsense::sim {

struct TrueWeightEvent {
  double t_start_s = 0;
  double t_settle_s = 0;  // physical settle: the transient stays within +-2.5 g from here on
  double delta_g = 0;     // summed signed mass of the items placed or removed together
  PointMm at;             // mass-weighted position of those items
  int items = 1;
};

struct Distractor {
  enum class Kind { kPush, kBump, kHand };
  Kind kind = Kind::kPush;
  double t_start_s = 0;
  double t_end_s = 0;
};

struct WeighScenarioOptions {
  int true_events = 1000;
  double mass_min_g = 10;
  double mass_max_g = 5000;
  double distractor_share = 0.25;  // of all episodes
  double multi_item_share = 0.10;  // of placements: 2-3 items within one settle window
  double short_gap_share = 0.30;   // gaps of 0.2-0.5 s after settle (else 0.5-3 s)
  double max_basket_g = 25000;
  // The hand's own push on the item while setting it down or picking it up, beyond a share of
  // the item's weight: drawn from [-0.5, 1] x this (g).
  double hand_press_max_g = 10;
  // A cell failure during the run (cell < 0: none): at true event `fail_at_event`.
  int fail_cell = -1;
  CellFailure::Kind fail_kind = CellFailure::Kind::kStuck;
  int fail_at_event = 0;
};

struct WeighScenario {
  Schedule schedule;
  std::vector<TrueWeightEvent> truth;
  std::vector<Distractor> distractors;
  double end_s = 0;
  double failure_s = -1;  // when the cell failure starts, if any
};

WeighScenario GenerateWeighScenario(const WeighScenarioOptions& options,
                                    const LoadCellModelParams& model, uint64_t seed);

struct WeighEvalOptions {
  int true_events = 1000;
  uint64_t seed = 1;
  double sample_rate_hz = 80;
  bool imu = true;
  bool temperature_sensor = true;
  // Calibrate with the two-point routine on a simulated calibration session (else: the model's
  // exact calibration).
  bool calibrate = true;
  double hand_press_max_g = 10;  // see WeighScenarioOptions
  int fail_cell = -1;
  CellFailure::Kind fail_kind = CellFailure::Kind::kStuck;
  double fail_at_fraction = 0.5;  // of the true events
  // The chain's parameters; default WeighChainParams::ForSampleRate(sample_rate_hz).
  std::optional<sensors::WeighChainParams> chain_params;
};

// One true event and what the chain reported for it (for analysis: `weigh-eval --events-csv`).
struct TrueEventOutcome {
  TrueWeightEvent truth;
  bool matched = false;
  double detected_delta_g = 0;
  double sigma_g = 0;
  double event_s = 0;  // when the chain emitted the matching event
};

// An event that matched no true one.
struct FalseEventRecord {
  double event_s = 0;
  double delta_g = 0;
  bool during_distractor = false;
};

// Latencies, errors: all figures from matched events. Rates are fractions 0-1.
struct WeighEvalResult {
  int true_events = 0;
  int detected_events = 0;
  int matched = 0;
  int false_positives = 0;
  int false_positives_during_distractors = 0;
  int missed = 0;
  int distractors = 0;
  double precision = 0;
  double recall = 0;
  double within_mpe = 0;      // matched events within the OIML R76 class III limits (e = 5 g)
  double within_2_sigma = 0;  // matched events with |error| <= 2 sigma (sigma's honesty)
  double abs_error_g_p50 = 0;
  double abs_error_g_p95 = 0;
  double settle_to_event_ms_p50 = 0;
  double settle_to_event_ms_p95 = 0;
  double cop_error_cm_p50 = 0;
  double cop_error_cm_p95 = 0;
  // The same over matched events of at least the class III minimum capacity (20 e = 100 g), the
  // loads a scale may price by weight.
  int matched_above_min = 0;
  double within_mpe_above_min = 0;
  double settle_to_event_ms_p50_above_min = 0;
  double settle_to_event_ms_p95_above_min = 0;
  int degraded_events = 0;  // events weighed from 3 cells
  double simulated_s = 0;
  int64_t samples = 0;
  std::string calibration_report;
  std::vector<std::string> fault_messages;  // distinct status messages seen (first few)
  std::vector<TrueEventOutcome> outcomes;   // one per true event, in time order
  std::vector<FalseEventRecord> false_events;
};

Result<WeighEvalResult> RunWeighEval(const WeighEvalOptions& options);

// The OIML R76 class III maximum permissible error at initial verification, e = 5 g:
// 0.5 e up to 500 e (2.5 kg), 1 e up to 2000 e (10 kg), 1.5 e above.
double ClassThreeLimitG(double load_g);

}  // namespace cartsense::sim
