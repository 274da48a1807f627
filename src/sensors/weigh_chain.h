// The weigh chain: four load-cell streams in, weight events out.
//
//   raw counts -> grams per cell (calibration, temperature) -> creep compensation -> auto-zero
//   -> spike rejection (per cell, against the median of 3) -> total, uncertainty and centre of
//   pressure (4 cells, or 3 with the rigid-plate rule) -> stability (variance and trend over the
//   settle window, no cart motion; small steps held longer; large steps may be weighed under
//   their ringing by a damped-mode fit, damped_ring_fit.h) -> WeightEvent between two states.
//
// Inputs:  LoadCellSample (80 or 10 samples/s), ImuSample (optional, ~100 Hz), bad-input reports
//          from the serial decoder. Samples must come in increasing time; an out-of-order or
//          missing stretch is a fault, never silently used.
// Outputs: WeightEvent when the load changes by >= min_event_g between stable states;
//          ScaleStatus whenever health (ok / degraded / fault), motion or the message changes.
//
// The algorithm is a plain class; WeighStage (weigh_stage.h) adapts it to the pipeline. Example
// config for the stage (keys of WeighChainParams):
//
//   settle_window_ms: 100
//   min_event_g: 5
//   noise_per_cell_g: 1.0
//   calibration_file: calibration/cart-0001.yaml
#pragma once

#include <array>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "core/config.h"
#include "core/packets.h"
#include "core/status.h"
#include "core/time.h"
#include "sensors/scale_calibration.h"

namespace cartsense::sensors {

struct WeighChainParams {
  double sample_rate_hz = 80;     // nominal ADC rate (80 or 10)
  double settle_window_ms = 100;  // a stable state needs this long a quiet window
  double min_event_g = 7;         // smaller changes between stable states are not events
  double confirm_ms = 40;         // a new stable state must hold this long beyond the window
  // Small steps: the tail of the hand's contact (its last few grams of ramp and tremor) hides in
  // the noise of one window, so a change below small_step_g must hold small_step_confirm_ms
  // beyond the window with a stricter trend test over the span (small_step_trend_sigma), and
  // its level is the mean of the span without its first small_step_skip_ms.
  double small_step_g = 100;
  double small_step_confirm_ms = 40;
  double small_step_skip_ms = 40;
  double small_step_trend_sigma = 1.5;
  // Large steps while the plate still rings: the level from a fit of a constant plus one damped
  // 6-18 Hz mode (damped_ring_fit.h) over the last ring_fit_window_ms, once the fit explains the
  // samples (residual variance <= ring_fit_residual_ratio x noise) and has held for
  // ring_fit_confirm_ms as the fit grows (up to ring_fit_max_ms), with a level sigma of at most
  // ring_fit_max_level_sigma_g, for steps of at least ring_fit_min_step_g (a small item's ring
  // is lost in the noise). 0 ms: off (always off below 32 samples/s).
  double ring_fit_window_ms = 150;
  double ring_fit_min_step_g = 100;
  double ring_fit_confirm_ms = 50;
  double ring_fit_max_ms = 300;
  double ring_fit_residual_ratio = 2.0;
  double ring_fit_max_level_sigma_g = 0.8;
  // The fit's newest third (at least 4 samples) must be explained as well, within this ratio.
  double ring_fit_tail_ratio = 2.5;
  // The ring's envelope time constant (1 / decay rate) must be at most this: a longer one is a
  // hand's steady tremor, not the plate (whose ring settles in 150-400 ms).
  double ring_fit_max_time_constant_ms = 125;
  double noise_per_cell_g = 1.0;       // expected RMS noise of one cell's sample
  double stable_variance_ratio = 2.5;  // window variance <= ratio * expected noise variance
  double stable_trend_sigma = 3.5;     // change along the least-squares line, in its sigmas
  double stable_band_ratio = 5;        // 8-15 Hz power vs white noise's (0: off; 80 samples/s)
  double sample_gate_sigma = 4.0;      // a sample joins the stable reference within this many sigma
  double reference_max_ms = 2000;      // the stable reference averages at most this long
  double zero_tracking_band_g = 2.5;   // auto-zero acts while the stable total is within +-band
  double zero_tracking_time_constant_s = 2.0;
  double creep_pct = 0.03;                 // creep at equilibrium, percent of the load
  double creep_time_constant_s = 600;      // first-order creep time constant
  double motion_accel_mps2 = 0.35;         // IMU deviation from its slow baseline meaning "moving"
  double motion_holdoff_ms = 300;          // no stable state this long after the last motion
  double span_uncertainty_pct = 0.02;      // calibration span uncertainty, added to sigma
  double three_cell_rule_error_pct = 0.1;  // extra sigma when one cell is reconstructed
  double input_fault_hold_ms = 500;        // clean input needed after an input fault
  double gap_fault_ms = 250;               // a gap this long between samples is an input fault
  double cell_recovery_ms = 2000;  // a stuck cell must look alive this long to be used again
  double min_capacity_g = 100;     // OIML R76 class III, e = 5 g: Min = 20 e
  double min_cop_load_g = 20;      // centre of pressure of the whole load from this load up
  int stuck_samples = 4;           // identical raw readings in a row that mean "stuck"
  bool spike_filter = true;        // per cell: a sample far from the median of 3 is replaced
  double spike_threshold_g = 25;   // "far", per cell

  // Defaults suited to an ADC rate: 80 samples/s as above; 10 samples/s with a 300 ms window
  // and 0.5 g noise per cell.
  static WeighChainParams ForSampleRate(double sample_rate_hz);
  static ConfigSchema Schema();  // the keys above, plus calibration_file
  static Result<WeighChainParams> FromConfig(Config& config);
  Status Validate() const;
};

enum class ScaleHealth { kOk, kDegraded, kFault };
const char* ScaleHealthName(ScaleHealth health);

enum class CellFault { kNone, kSaturated, kStuck, kMissing };
const char* CellFaultName(CellFault fault);

// A change of load between two stable states.
struct WeightEvent {
  Timestamp t_start;   // the previous stable state was left (first unstable sample)
  Timestamp t_settle;  // the new stable state was recognised (the event's own time)
  double delta_g = 0;  // signed: > 0 added, < 0 removed
  double sigma_g = 0;  // 1-sigma uncertainty of delta_g
  bool added = true;
  double total_before_g = 0;
  double total_after_g = 0;
  std::optional<PointMm> cop_before;  // centre of pressure of the whole load, if >= min load
  std::optional<PointMm> cop_after;
  std::optional<PointMm> item_position;  // where the change happened (from the change per cell)
  int cells_used = 4;                    // 3 while a cell is faulted
  // OIML R76 class III minimum capacity (20 e = 100 g): pricing by weight must refuse below it.
  double min_capacity_g = 100;
  bool below_min_capacity = false;
  std::string note;  // e.g. "weighed from 3 cells: back_left stuck"
};

struct ScaleStatus {
  Timestamp t;
  ScaleHealth health = ScaleHealth::kOk;
  std::array<CellFault, kCellCount> cells{};
  bool in_motion = false;
  std::string message;
};

struct WeighCounters {
  int64_t samples = 0;
  int64_t imu_samples = 0;
  int64_t events = 0;
  int64_t spikes_rejected = 0;
  int64_t out_of_order = 0;
  int64_t gaps = 0;
  int64_t bad_input_reports = 0;
  int64_t cell_faults = 0;
};

// What one input produced: at most one event and one status change.
struct WeighOutput {
  std::optional<WeightEvent> event;
  std::optional<ScaleStatus> status;
};

class WeighChain {
 public:
  static Result<WeighChain> Create(const WeighChainParams& params,
                                   const ScaleCalibration& calibration);

  WeighOutput ProcessSample(const LoadCellSample& sample);
  WeighOutput ProcessImu(const ImuSample& sample);
  // A line the serial decoder could not use (garbage, NaN, out of order): a fault until the input
  // has been clean for input_fault_hold_ms.
  WeighOutput ReportBadInput(Timestamp t, const std::string& message);

  const ScaleStatus& status() const { return status_; }
  const WeighCounters& counters() const { return counters_; }
  const WeighChainParams& params() const { return params_; }
  // The latest filtered total and its 1-sigma per-sample noise; nullopt while faulted.
  std::optional<double> total_g() const;
  double sample_sigma_g() const;

 private:
  using Loads = std::array<double, kCellCount>;
  struct CellState {
    CellFault fault = CellFault::kNone;
    int32_t last_raw = 0;
    int same_count = 0;
    std::optional<Timestamp> alive_since;  // while faulted: when it started looking alive
    std::array<double, 3> recent{};        // for the median
    int recent_count = 0;
    double creep_g = 0;
    double zero_g = 0;  // auto-zero correction
  };

  WeighChain(const WeighChainParams& params, const ScaleCalibration& calibration);
  void UpdateCellFaults(const LoadCellSample& sample, bool* mask_changed);
  bool Usable(int cell) const {
    return cells_[static_cast<std::size_t>(cell)].fault == CellFault::kNone;
  }
  int UsableCount() const;
  // Total and centre of pressure from per-cell loads with the usable cells (reconstructing one).
  Loads Complete(const Loads& loads) const;
  double Total(const Loads& loads) const;
  std::optional<PointMm> Centre(const Loads& loads, double min_load_g) const;
  void ResetWindow();
  WeightEvent MakeEvent(Timestamp t, const Loads& after, int after_samples) const;
  // The large-step path under ringing; may set out->event.
  void RingFitStep(Timestamp t, bool stable, WeighOutput* out);
  void EnterInputFault(Timestamp t, const std::string& message);
  void SetStatus(Timestamp t, WeighOutput* out);
  std::string HealthMessage() const;

  WeighChainParams params_;
  ScaleCalibration calibration_;
  int window_size_ = 8;
  int reference_max_samples_ = 160;

  std::array<CellState, kCellCount> cells_{};
  std::optional<Timestamp> last_t_;
  std::vector<Loads> window_;  // ring buffer of filtered loads
  int window_count_ = 0;
  int window_next_ = 0;
  Loads latest_{};
  bool have_latest_ = false;

  bool have_reference_ = false;
  Loads reference_{};
  int reference_samples_ = 0;
  std::optional<Timestamp> departure_t_;
  // A new stable state being confirmed: its per-cell loads and totals, oldest first.
  bool have_candidate_ = false;
  std::vector<Loads> candidate_loads_;
  std::vector<double> candidate_totals_;
  std::vector<double> window_totals_;  // scratch
  int confirm_samples_ = 3;
  int small_step_confirm_samples_ = 8;
  int small_step_skip_samples_ = 4;
  WeighChainParams small_step_quiet_params_;  // params_ with the small-step trend test
  // The last samples (per-cell loads and totals) for the ring fit, a ring buffer.
  std::vector<Loads> history_;
  std::vector<double> history_totals_;
  int history_count_ = 0;
  int history_next_ = 0;
  int ring_fit_samples_ = 0;  // 0: the ring fit is off
  int ring_fit_confirm_samples_ = 2;
  bool have_ring_candidate_ = false;
  int ring_candidate_samples_ = 0;  // samples in the candidate's fit (grows)
  int ring_candidate_confirmed_ = 0;
  double ring_candidate_level_ = 0;
  double ring_candidate_level_sigma_ = 0;
  std::vector<double> fit_scratch_;

  std::optional<Timestamp> input_fault_until_;
  std::string input_fault_message_;
  std::optional<Timestamp> motion_until_;
  std::optional<Timestamp> last_imu_t_;
  std::array<double, 3> imu_baseline_{};
  bool imu_initialised_ = false;

  ScaleStatus status_;
  WeighCounters counters_;
};

}  // namespace cartsense::sensors
