#include "sensors/weigh_chain.h"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <numbers>

#include "sensors/damped_ring_fit.h"

namespace cartsense::sensors {
namespace {

constexpr double kGravityMps2 = 9.80665;

// The partner across the diagonal, and the two cells of the other diagonal. Rigid plate on four
// equal springs: each diagonal pair carries half of any load, so a lost cell's load is
// (other diagonal) - (its partner).
constexpr std::array<int, kCellCount> kDiagonalPartner = {kBackRight, kBackLeft, kFrontRight,
                                                          kFrontLeft};

std::string Fixed(double value, int decimals) {
  std::array<char, 64> buffer{};
  std::snprintf(buffer.data(), buffer.size(), "%.*f", decimals, value);
  return buffer.data();
}

// Whether a run of totals looks like a constant plus white noise of `sigma`:
//  - its variance is at most `variance_ratio` times the noise's;
//  - the change its least-squares line makes across the run is within `trend_sigma` of what
//    noise alone gives (slow ramps: a hand lowering an item);
//  - its power at 8-15 Hz (placement ringing, hand tremor) is at most `band_ratio` times the
//    noise's (checked when the sample rate resolves that band).
bool Quiet(const std::vector<double>& totals, double sigma, double sample_rate_hz,
           const WeighChainParams& params) {
  const auto n = static_cast<double>(totals.size());
  if (totals.size() < 3) return false;
  double mean = 0;
  for (const double x : totals) mean += x / n;
  double variance = 0, sxx = 0, sxy = 0;
  const double centre = (n - 1) / 2;
  for (std::size_t i = 0; i < totals.size(); ++i) {
    const double k = static_cast<double>(i) - centre;
    variance += (totals[i] - mean) * (totals[i] - mean) / (n - 1);
    sxx += k * k;
    sxy += k * (totals[i] - mean);
  }
  const double change = std::abs(sxy / sxx) * (n - 1);
  const double change_sigma = sigma * (n - 1) / std::sqrt(sxx);
  if (variance > params.stable_variance_ratio * sigma * sigma ||
      change > params.stable_trend_sigma * change_sigma) {
    return false;
  }
  if (params.stable_band_ratio > 0 && sample_rate_hz >= 32) {
    constexpr std::array<double, 4> kBandHz = {8.0, 10.5, 13.0, 15.0};
    const double noise_power = n * sigma * sigma;
    for (const double hz : kBandHz) {
      const double step = 2.0 * std::numbers::pi * hz / sample_rate_hz;
      double re = 0, im = 0;
      for (std::size_t i = 0; i < totals.size(); ++i) {
        const double detrended = totals[i] - mean - sxy / sxx * (static_cast<double>(i) - centre);
        re += detrended * std::cos(step * static_cast<double>(i));
        im += detrended * std::sin(step * static_cast<double>(i));
      }
      if (re * re + im * im > params.stable_band_ratio * noise_power) return false;
    }
  }
  return true;
}

}  // namespace

const char* ScaleHealthName(ScaleHealth health) {
  switch (health) {
    case ScaleHealth::kOk:
      return "ok";
    case ScaleHealth::kDegraded:
      return "degraded";
    case ScaleHealth::kFault:
      return "fault";
  }
  return "?";
}

const char* CellFaultName(CellFault fault) {
  switch (fault) {
    case CellFault::kNone:
      return "ok";
    case CellFault::kSaturated:
      return "saturated or disconnected";
    case CellFault::kStuck:
      return "stuck";
    case CellFault::kMissing:
      return "missing from the samples";
  }
  return "?";
}

WeighChainParams WeighChainParams::ForSampleRate(double sample_rate_hz) {
  WeighChainParams params;
  params.sample_rate_hz = sample_rate_hz;
  if (sample_rate_hz < 40) {
    params.settle_window_ms = 300;
    params.confirm_ms = 100;
    params.noise_per_cell_g = 0.5;
    params.stuck_samples = 4;
    params.gap_fault_ms = 2500 / sample_rate_hz;
  }
  return params;
}

ConfigSchema WeighChainParams::Schema() {
  const WeighChainParams d;
  ConfigSchema s;
  s.Number("sample_rate_hz", "hz").Range(1, 1000).Default(d.sample_rate_hz);
  s.Number("settle_window_ms", "ms").Range(20, 5000).Default(d.settle_window_ms);
  s.Number("min_event_g", "g").Range(0.5, 10000).Default(d.min_event_g);
  s.Number("confirm_ms", "ms").Range(0, 5000).Default(d.confirm_ms);
  s.Number("small_step_g", "g").Range(0, 100000).Default(d.small_step_g);
  s.Number("small_step_confirm_ms", "ms").Range(0, 5000).Default(d.small_step_confirm_ms);
  s.Number("small_step_skip_ms", "ms").Range(0, 5000).Default(d.small_step_skip_ms);
  s.Number("small_step_trend_sigma", "sigma").Range(0.5, 100).Default(d.small_step_trend_sigma);
  s.Number("ring_fit_window_ms", "ms").Range(0, 2000).Default(d.ring_fit_window_ms);
  s.Number("ring_fit_min_step_g", "g").Range(0.5, 100000).Default(d.ring_fit_min_step_g);
  s.Number("ring_fit_confirm_ms", "ms").Range(0, 2000).Default(d.ring_fit_confirm_ms);
  s.Number("ring_fit_max_ms", "ms").Range(0, 5000).Default(d.ring_fit_max_ms);
  s.Number("ring_fit_residual_ratio", "ratio").Range(1, 100).Default(d.ring_fit_residual_ratio);
  s.Number("ring_fit_max_level_sigma_g", "g")
      .Range(0.01, 100)
      .Default(d.ring_fit_max_level_sigma_g);
  s.Number("ring_fit_tail_ratio", "ratio").Range(1, 100).Default(d.ring_fit_tail_ratio);
  s.Number("ring_fit_max_time_constant_ms", "ms")
      .Range(1, 10000)
      .Default(d.ring_fit_max_time_constant_ms);
  s.Number("noise_per_cell_g", "g").Range(0.001, 100).Default(d.noise_per_cell_g);
  s.Number("stable_variance_ratio", "ratio").Range(1, 100).Default(d.stable_variance_ratio);
  s.Number("stable_band_ratio", "ratio").Range(0, 1000).Default(d.stable_band_ratio);
  s.Number("stable_trend_sigma", "sigma").Range(0.5, 100).Default(d.stable_trend_sigma);
  s.Number("sample_gate_sigma", "sigma").Range(1, 100).Default(d.sample_gate_sigma);
  s.Number("reference_max_ms", "ms").Range(50, 60000).Default(d.reference_max_ms);
  s.Number("zero_tracking_band_g", "g").Range(0, 100).Default(d.zero_tracking_band_g);
  s.Number("zero_tracking_time_constant_s", "s")
      .Range(0.1, 3600)
      .Default(d.zero_tracking_time_constant_s);
  s.Number("creep_pct", "pct").Range(0, 5).Default(d.creep_pct);
  s.Number("creep_time_constant_s", "s").Range(1, 1e6).Default(d.creep_time_constant_s);
  s.Number("motion_accel_mps2", "mps2").Range(0.01, 100).Default(d.motion_accel_mps2);
  s.Number("motion_holdoff_ms", "ms").Range(0, 10000).Default(d.motion_holdoff_ms);
  s.Number("span_uncertainty_pct", "pct").Range(0, 10).Default(d.span_uncertainty_pct);
  s.Number("three_cell_rule_error_pct", "pct").Range(0, 10).Default(d.three_cell_rule_error_pct);
  s.Number("input_fault_hold_ms", "ms").Range(0, 60000).Default(d.input_fault_hold_ms);
  s.Number("gap_fault_ms", "ms").Range(1, 60000).Default(d.gap_fault_ms);
  s.Number("cell_recovery_ms", "ms").Range(0, 600000).Default(d.cell_recovery_ms);
  s.Number("min_capacity_g", "g").Range(0, 100000).Default(d.min_capacity_g);
  s.Number("min_cop_load_g", "g").Range(0, 100000).Default(d.min_cop_load_g);
  s.Integer("stuck_samples").Range(2, 1000).Default(d.stuck_samples);
  s.Number("spike_threshold_g", "g").Range(1, 100000).Default(d.spike_threshold_g);
  s.Bool("spike_filter").Default(YAML::Node(d.spike_filter));
  s.String("calibration_file").Describe("the cart's calibration YAML (scale_calibration.h)");
  s.Section("calibration").Describe("the calibration inline instead of calibration_file");
  return s;
}

Result<WeighChainParams> WeighChainParams::FromConfig(Config& config) {
  CS_RETURN_IF_ERROR(Schema().Validate(config));
  WeighChainParams p;
  const std::array<std::pair<const char*, double*>, 36> numbers = {{
      {"ring_fit_min_step_g", &p.ring_fit_min_step_g},
      {"ring_fit_tail_ratio", &p.ring_fit_tail_ratio},
      {"ring_fit_window_ms", &p.ring_fit_window_ms},
      {"ring_fit_confirm_ms", &p.ring_fit_confirm_ms},
      {"ring_fit_max_ms", &p.ring_fit_max_ms},
      {"ring_fit_residual_ratio", &p.ring_fit_residual_ratio},
      {"ring_fit_max_level_sigma_g", &p.ring_fit_max_level_sigma_g},
      {"ring_fit_max_time_constant_ms", &p.ring_fit_max_time_constant_ms},
      {"small_step_g", &p.small_step_g},
      {"small_step_confirm_ms", &p.small_step_confirm_ms},
      {"small_step_skip_ms", &p.small_step_skip_ms},
      {"small_step_trend_sigma", &p.small_step_trend_sigma},
      {"stable_band_ratio", &p.stable_band_ratio},
      {"spike_threshold_g", &p.spike_threshold_g},
      {"sample_rate_hz", &p.sample_rate_hz},
      {"confirm_ms", &p.confirm_ms},
      {"settle_window_ms", &p.settle_window_ms},
      {"min_event_g", &p.min_event_g},
      {"noise_per_cell_g", &p.noise_per_cell_g},
      {"stable_variance_ratio", &p.stable_variance_ratio},
      {"stable_trend_sigma", &p.stable_trend_sigma},
      {"sample_gate_sigma", &p.sample_gate_sigma},
      {"reference_max_ms", &p.reference_max_ms},
      {"zero_tracking_band_g", &p.zero_tracking_band_g},
      {"zero_tracking_time_constant_s", &p.zero_tracking_time_constant_s},
      {"creep_pct", &p.creep_pct},
      {"creep_time_constant_s", &p.creep_time_constant_s},
      {"motion_accel_mps2", &p.motion_accel_mps2},
      {"motion_holdoff_ms", &p.motion_holdoff_ms},
      {"span_uncertainty_pct", &p.span_uncertainty_pct},
      {"three_cell_rule_error_pct", &p.three_cell_rule_error_pct},
      {"input_fault_hold_ms", &p.input_fault_hold_ms},
      {"gap_fault_ms", &p.gap_fault_ms},
      {"cell_recovery_ms", &p.cell_recovery_ms},
      {"min_capacity_g", &p.min_capacity_g},
      {"min_cop_load_g", &p.min_cop_load_g},
  }};
  for (const auto& [key, field] : numbers) {
    CS_ASSIGN_OR_RETURN(*field, config.GetDouble(key));
  }
  CS_ASSIGN_OR_RETURN(const int64_t stuck, config.GetInt("stuck_samples"));
  p.stuck_samples = static_cast<int>(stuck);
  CS_ASSIGN_OR_RETURN(p.spike_filter, config.GetBool("spike_filter"));
  CS_RETURN_IF_ERROR(p.Validate());
  return p;
}

Status WeighChainParams::Validate() const {
  if (!(sample_rate_hz > 0)) return InvalidArgumentError("sample_rate_hz must be > 0");
  if (!(settle_window_ms > 0)) return InvalidArgumentError("settle_window_ms must be > 0");
  if (!(min_event_g > 0)) return InvalidArgumentError("min_event_g must be > 0");
  if (!(noise_per_cell_g > 0)) return InvalidArgumentError("noise_per_cell_g must be > 0");
  if (!(stable_variance_ratio >= 1)) {
    return InvalidArgumentError("stable_variance_ratio must be >= 1");
  }
  if (!(creep_time_constant_s > 0) || !(zero_tracking_time_constant_s > 0)) {
    return InvalidArgumentError("time constants must be > 0");
  }
  if (stuck_samples < 2) return InvalidArgumentError("stuck_samples must be >= 2");
  if (!(small_step_skip_ms <= settle_window_ms + small_step_confirm_ms - 1e3 / sample_rate_hz)) {
    return InvalidArgumentError(
        "small_step_skip_ms must leave at least one sample of the settle window and "
        "small_step_confirm_ms");
  }
  return Status::Ok();
}

Result<WeighChain> WeighChain::Create(const WeighChainParams& params,
                                      const ScaleCalibration& calibration) {
  CS_RETURN_IF_ERROR(params.Validate().WithContext("weigh chain parameters"));
  for (int c = 0; c < kCellCount; ++c) {
    const double span = calibration.cells[static_cast<std::size_t>(c)].span_per_kg_counts;
    if (!std::isfinite(span) || std::abs(span) < 1) {
      return InvalidArgumentError(std::string("calibration: cell ") + CellName(c) +
                                  " has an unusable span");
    }
  }
  return WeighChain(params, calibration);
}

WeighChain::WeighChain(const WeighChainParams& params, const ScaleCalibration& calibration)
    : params_(params), calibration_(calibration) {
  window_size_ = std::max(
      3, static_cast<int>(std::lround(params_.settle_window_ms * 1e-3 * params_.sample_rate_hz)));
  reference_max_samples_ = std::max(
      window_size_,
      static_cast<int>(std::lround(params_.reference_max_ms * 1e-3 * params_.sample_rate_hz)));
  window_.assign(static_cast<std::size_t>(window_size_), Loads{});
  const auto samples = [&](double ms) {
    return std::max(0, static_cast<int>(std::lround(ms * 1e-3 * params_.sample_rate_hz)));
  };
  confirm_samples_ = samples(params_.confirm_ms);
  small_step_confirm_samples_ = samples(params_.small_step_confirm_ms);
  small_step_quiet_params_ = params_;
  small_step_quiet_params_.stable_trend_sigma = params_.small_step_trend_sigma;
  small_step_skip_samples_ =
      std::min(samples(params_.small_step_skip_ms), window_size_ + small_step_confirm_samples_ - 1);
  // The fit needs six samples and resolves 6-18 Hz only at 32 samples/s or more.
  if (params_.sample_rate_hz >= 32 && samples(params_.ring_fit_window_ms) >= 6) {
    ring_fit_samples_ = samples(params_.ring_fit_window_ms);
    ring_fit_confirm_samples_ = samples(params_.ring_fit_confirm_ms);
    const int history =
        std::max(ring_fit_samples_ + ring_fit_confirm_samples_, samples(params_.ring_fit_max_ms));
    history_.assign(static_cast<std::size_t>(history), Loads{});
    history_totals_.assign(static_cast<std::size_t>(history), 0.0);
  }
  status_.message = "ok: weighing from 4 cells";
}

int WeighChain::UsableCount() const {
  int n = 0;
  for (int c = 0; c < kCellCount; ++c) n += Usable(c) ? 1 : 0;
  return n;
}

WeighChain::Loads WeighChain::Complete(const Loads& loads) const {
  Loads out = loads;
  for (int c = 0; c < kCellCount; ++c) {
    if (Usable(c)) continue;
    const int partner = kDiagonalPartner[static_cast<std::size_t>(c)];
    const int other_a = c == kFrontLeft || c == kBackRight ? kFrontRight : kFrontLeft;
    const int other_b = kDiagonalPartner[static_cast<std::size_t>(other_a)];
    out[static_cast<std::size_t>(c)] = loads[static_cast<std::size_t>(other_a)] +
                                       loads[static_cast<std::size_t>(other_b)] -
                                       loads[static_cast<std::size_t>(partner)];
  }
  return out;
}

double WeighChain::Total(const Loads& loads) const {
  const Loads full = Complete(loads);
  return full[0] + full[1] + full[2] + full[3];
}

std::optional<PointMm> WeighChain::Centre(const Loads& loads, double min_load_g) const {
  const Loads full = Complete(loads);
  const double total = full[0] + full[1] + full[2] + full[3];
  if (!(std::abs(total) >= min_load_g)) return std::nullopt;
  PointMm centre;
  for (int c = 0; c < kCellCount; ++c) {
    const PointMm at = calibration_.geometry.CellPosition(c);
    centre.x_mm += full[static_cast<std::size_t>(c)] * at.x_mm / total;
    centre.y_mm += full[static_cast<std::size_t>(c)] * at.y_mm / total;
  }
  return centre;
}

double WeighChain::sample_sigma_g() const {
  // Four cells: the total is a plain sum (2 sigma_cell). One lost: the total is twice the intact
  // diagonal's sum (2 * sqrt(2) sigma_cell).
  return params_.noise_per_cell_g * (UsableCount() == kCellCount ? 2.0 : 2.0 * std::sqrt(2.0));
}

std::optional<double> WeighChain::total_g() const {
  if (!have_latest_ || status_.health == ScaleHealth::kFault) return std::nullopt;
  return Total(latest_);
}

void WeighChain::ResetWindow() {
  window_count_ = 0;
  window_next_ = 0;
  have_candidate_ = false;
  history_count_ = 0;
  history_next_ = 0;
  have_ring_candidate_ = false;
  for (CellState& cell : cells_) cell.recent_count = 0;
}

void WeighChain::EnterInputFault(Timestamp t, const std::string& message) {
  input_fault_until_ = t + Duration::FromSeconds(params_.input_fault_hold_ms * 1e-3);
  input_fault_message_ = message;
  if (!departure_t_.has_value()) departure_t_ = t;
  ResetWindow();
}

std::string WeighChain::HealthMessage() const {
  if (input_fault_until_.has_value()) {
    return "fault: " + input_fault_message_ + "; no events until the input is clean for " +
           Fixed(params_.input_fault_hold_ms, 0) + " ms";
  }
  std::string faulted;
  for (int c = 0; c < kCellCount; ++c) {
    const CellFault fault = cells_[static_cast<std::size_t>(c)].fault;
    if (fault == CellFault::kNone) continue;
    faulted += std::string(faulted.empty() ? "" : ", ") + CellName(c) + " " + CellFaultName(fault);
  }
  const int usable = UsableCount();
  if (usable == kCellCount) return "ok: weighing from 4 cells";
  if (usable == kCellCount - 1) {
    return "degraded: " + faulted + "; weighing from 3 cells (rigid-plate rule), wider sigma";
  }
  return "fault: " + faulted + "; cannot weigh with fewer than 3 cells";
}

void WeighChain::SetStatus(Timestamp t, WeighOutput* out) {
  ScaleStatus next;
  next.t = t;
  for (int c = 0; c < kCellCount; ++c) {
    next.cells[static_cast<std::size_t>(c)] = cells_[static_cast<std::size_t>(c)].fault;
  }
  const int usable = UsableCount();
  next.health = input_fault_until_.has_value() || usable < kCellCount - 1 ? ScaleHealth::kFault
                : usable < kCellCount                                     ? ScaleHealth::kDegraded
                                                                          : ScaleHealth::kOk;
  next.in_motion = motion_until_.has_value() && t < *motion_until_;
  next.message = HealthMessage();
  if (next.in_motion && next.health != ScaleHealth::kFault) {
    next.message += "; cart moving, events held";
  }
  if (next.health != status_.health || next.in_motion != status_.in_motion ||
      next.message != status_.message || next.cells != status_.cells) {
    status_ = next;
    out->status = status_;
  }
}

void WeighChain::UpdateCellFaults(const LoadCellSample& sample, bool* mask_changed) {
  for (int c = 0; c < kCellCount; ++c) {
    CellState& cell = cells_[static_cast<std::size_t>(c)];
    const CellFault before = cell.fault;
    if (c >= sample.cell_count) {
      cell.fault = CellFault::kMissing;
    } else {
      const int32_t raw = sample.raw_counts[static_cast<std::size_t>(c)];
      const bool saturated = raw >= (1 << 23) - 1 || raw <= -(1 << 23);
      cell.same_count = raw == cell.last_raw ? cell.same_count + 1 : 1;
      cell.last_raw = raw;
      const bool stuck = cell.same_count >= params_.stuck_samples;
      if (saturated) {
        cell.fault = CellFault::kSaturated;
        cell.alive_since.reset();
      } else if (stuck) {
        cell.fault = CellFault::kStuck;
        cell.alive_since.reset();
      } else if (cell.fault != CellFault::kNone) {
        if (!cell.alive_since.has_value()) cell.alive_since = sample.t;
        if ((sample.t - *cell.alive_since).milliseconds() >= params_.cell_recovery_ms) {
          cell.fault = CellFault::kNone;
          cell.alive_since.reset();
        }
      }
    }
    if (cell.fault != before) {
      *mask_changed = true;
      if (cell.fault != CellFault::kNone) ++counters_.cell_faults;
    }
  }
}

WeighOutput WeighChain::ReportBadInput(Timestamp t, const std::string& message) {
  WeighOutput out;
  ++counters_.bad_input_reports;
  EnterInputFault(last_t_.has_value() ? std::max(t, *last_t_) : t, "bad input: " + message);
  SetStatus(last_t_.value_or(t), &out);
  return out;
}

WeighOutput WeighChain::ProcessImu(const ImuSample& sample) {
  WeighOutput out;
  if (last_imu_t_.has_value() && sample.t <= *last_imu_t_) return out;
  if (!std::isfinite(sample.ax_mps2) || !std::isfinite(sample.ay_mps2) ||
      !std::isfinite(sample.az_mps2)) {
    return out;
  }
  ++counters_.imu_samples;
  const double dt_s = last_imu_t_.has_value() ? (sample.t - *last_imu_t_).seconds() : 0.0;
  last_imu_t_ = sample.t;
  const std::array<double, 3> a = {sample.ax_mps2, sample.ay_mps2, sample.az_mps2};
  if (!imu_initialised_) {
    imu_baseline_ = {a[0], a[1], std::abs(a[2]) > 1 ? a[2] : kGravityMps2};
    imu_initialised_ = true;
  }
  double deviation2 = 0;
  for (std::size_t i = 0; i < 3; ++i)
    deviation2 += (a[i] - imu_baseline_[i]) * (a[i] - imu_baseline_[i]);
  const bool moving = std::sqrt(deviation2) > params_.motion_accel_mps2;
  if (moving) {
    motion_until_ = sample.t + Duration::FromSeconds(params_.motion_holdoff_ms * 1e-3);
  } else {
    // The baseline follows slow tilt, not the vibration it is meant to detect.
    const double alpha = std::min(1.0, dt_s / 2.0);
    for (std::size_t i = 0; i < 3; ++i) imu_baseline_[i] += alpha * (a[i] - imu_baseline_[i]);
  }
  return out;
}

WeighOutput WeighChain::ProcessSample(const LoadCellSample& sample) {
  WeighOutput out;
  const Timestamp t = sample.t;
  // --- input checks: order, gaps -------------------------------------------------------------
  if (last_t_.has_value() && t <= *last_t_) {
    ++counters_.out_of_order;
    EnterInputFault(*last_t_, "out-of-order sample at " + ToString(t) + " after " +
                                  ToString(*last_t_) + " (dropped)");
    SetStatus(*last_t_, &out);
    return out;
  }
  double dt_s = 1.0 / params_.sample_rate_hz;
  if (last_t_.has_value()) {
    dt_s = (t - *last_t_).seconds();
    if (dt_s * 1e3 > params_.gap_fault_ms) {
      ++counters_.gaps;
      EnterInputFault(t, "no samples for " + Fixed(dt_s * 1e3, 0) + " ms before " + ToString(t));
    }
  }
  last_t_ = t;
  ++counters_.samples;
  if (input_fault_until_.has_value() && t >= *input_fault_until_) input_fault_until_.reset();

  bool mask_changed = false;
  UpdateCellFaults(sample, &mask_changed);
  if (mask_changed) {
    // The window mixed loads from another set of cells; a faulted cell's reference is rebuilt
    // from the others so the next comparison uses one consistent rule.
    ResetWindow();
    if (!departure_t_.has_value()) departure_t_ = t;
    if (UsableCount() >= kCellCount - 1) reference_ = Complete(reference_);
  }

  // --- per cell: grams, temperature, creep, auto-zero, spike rejection ------------------------
  const double* temperature =
      sample.temperature_c.has_value() && std::isfinite(*sample.temperature_c)
          ? &*sample.temperature_c
          : nullptr;
  const double creep_fraction = params_.creep_pct / 100.0;
  const double creep_step = std::min(1.0, dt_s / params_.creep_time_constant_s);
  Loads filtered{};
  for (int c = 0; c < kCellCount; ++c) {
    CellState& cell = cells_[static_cast<std::size_t>(c)];
    if (cell.fault != CellFault::kNone) continue;
    const double grams =
        calibration_.CellGrams(c, sample.raw_counts[static_cast<std::size_t>(c)], temperature);
    const double load = grams - cell.creep_g - cell.zero_g;
    cell.creep_g += (creep_fraction * load - cell.creep_g) * creep_step;
    double value = load;
    if (params_.spike_filter) {
      cell.recent[static_cast<std::size_t>(cell.recent_count % 3)] = load;
      ++cell.recent_count;
      if (cell.recent_count >= 3) {
        const auto& r = cell.recent;
        const double median = std::max(std::min(r[0], r[1]), std::min(std::max(r[0], r[1]), r[2]));
        // The middle of the three is the sample being judged: kept unless it sticks out from its
        // neighbours (a plain median would also flatten the 8-15 Hz ringing and tremor that the
        // stability test has to see).
        value = r[static_cast<std::size_t>((cell.recent_count - 2) % 3)];
        if (std::abs(value - median) > params_.spike_threshold_g) {
          value = median;
          ++counters_.spikes_rejected;
        }
      }
    }
    filtered[static_cast<std::size_t>(c)] = value;
  }
  latest_ = filtered;
  have_latest_ = true;

  const bool can_weigh = UsableCount() >= kCellCount - 1;
  const bool in_motion = motion_until_.has_value() && t < *motion_until_;
  if (!can_weigh || input_fault_until_.has_value()) {
    if (!departure_t_.has_value()) departure_t_ = t;
    ResetWindow();
    SetStatus(t, &out);
    return out;
  }

  // --- window and stability ------------------------------------------------------------------
  if (!history_.empty()) {
    const auto size = static_cast<int>(history_.size());
    history_[static_cast<std::size_t>(history_next_)] = filtered;
    history_totals_[static_cast<std::size_t>(history_next_)] = Total(filtered);
    history_next_ = (history_next_ + 1) % size;
    history_count_ = std::min(history_count_ + 1, size);
  }
  window_[static_cast<std::size_t>(window_next_)] = filtered;
  window_next_ = (window_next_ + 1) % window_size_;
  window_count_ = std::min(window_count_ + 1, window_size_);
  const double sigma = sample_sigma_g();
  const double total_now = Total(filtered);

  if (have_reference_ && !in_motion &&
      std::abs(total_now - Total(reference_)) >
          params_.sample_gate_sigma * sigma + params_.min_event_g &&
      !departure_t_.has_value()) {
    departure_t_ = t;
  }

  bool stable = false;
  Loads window_mean{};
  if (window_count_ == window_size_ && !in_motion) {
    const int n = window_size_;
    window_totals_.clear();
    // Oldest first: the ring starts at window_next_.
    for (int i = 0; i < n; ++i) {
      const Loads& loads = window_[static_cast<std::size_t>((window_next_ + i) % n)];
      window_totals_.push_back(Total(loads));
      for (std::size_t c = 0; c < kCellCount; ++c) window_mean[c] += loads[c] / n;
    }
    stable = Quiet(window_totals_, sigma, params_.sample_rate_hz, params_);
  }
  if (!stable && !departure_t_.has_value() && have_reference_ && window_count_ == window_size_) {
    departure_t_ = t;
  }

  if (!stable) have_candidate_ = false;
  if (stable) {
    const double window_total = Total(window_mean);
    if (!have_reference_) {
      reference_ = window_mean;
      reference_samples_ = window_size_;
      have_reference_ = true;
      departure_t_.reset();
    } else {
      const double reference_total = Total(reference_);
      const double delta = window_total - reference_total;
      if (std::abs(delta) >= params_.min_event_g) {
        // A new stable state: confirm it holds for confirm_ms, then report the change.
        if (have_candidate_) {
          double candidate_mean = 0;
          for (const double x : candidate_totals_) candidate_mean += x;
          candidate_mean /= static_cast<double>(candidate_totals_.size());
          if (std::abs(total_now - candidate_mean) > params_.sample_gate_sigma * sigma) {
            have_candidate_ = false;
          }
        }
        if (!have_candidate_) {
          have_candidate_ = true;
          candidate_loads_.clear();
          for (int i = 0; i < window_size_; ++i) {
            candidate_loads_.push_back(
                window_[static_cast<std::size_t>((window_next_ + i) % window_size_)]);
          }
          candidate_totals_ = window_totals_;
        } else {
          candidate_loads_.push_back(filtered);
          candidate_totals_.push_back(total_now);
        }
        const bool small_step = std::abs(delta) < params_.small_step_g;
        const int needed =
            window_size_ + (small_step ? small_step_confirm_samples_ : confirm_samples_);
        // The whole span (window and confirmation) must be quiet too: a slow tremor or the slow
        // start of a hand's ramp can look still within one window.
        if (!Quiet(candidate_totals_, sigma, params_.sample_rate_hz,
                   small_step ? small_step_quiet_params_ : params_)) {
          have_candidate_ = false;
        } else if (static_cast<int>(candidate_loads_.size()) >= needed) {
          const std::size_t skip =
              small_step ? static_cast<std::size_t>(small_step_skip_samples_) : 0;
          Loads after{};
          const auto used = static_cast<int>(candidate_loads_.size() - skip);
          for (std::size_t i = skip; i < candidate_loads_.size(); ++i) {
            for (std::size_t c = 0; c < kCellCount; ++c) after[c] += candidate_loads_[i][c] / used;
          }
          out.event = MakeEvent(t, after, used);
          ++counters_.events;
          reference_ = after;
          reference_samples_ = used;
          departure_t_.reset();
          have_candidate_ = false;
          have_ring_candidate_ = false;
        }
      } else {
        have_candidate_ = false;
        departure_t_.reset();
        // Same state: the newest sample refines the reference if it agrees with it.
        if (std::abs(total_now - reference_total) <= params_.sample_gate_sigma * sigma) {
          reference_samples_ = std::min(reference_samples_ + 1, reference_max_samples_);
          const double weight = 1.0 / reference_samples_;
          for (std::size_t c = 0; c < kCellCount; ++c) {
            reference_[c] += (filtered[c] - reference_[c]) * weight;
          }
        }
        // Auto-zero tracking: an empty, stable basket pulls each cell's zero towards its reading.
        if (std::abs(Total(reference_)) <= params_.zero_tracking_band_g &&
            UsableCount() == kCellCount) {
          const double step = std::min(1.0, dt_s / params_.zero_tracking_time_constant_s);
          for (std::size_t c = 0; c < kCellCount; ++c) {
            const double correction = reference_[c] * step;
            cells_[c].zero_g += correction;
            reference_[c] -= correction;
          }
        }
      }
    }
  }
  if (ring_fit_samples_ > 0 && have_reference_ && !out.event.has_value()) {
    if (in_motion) {
      have_ring_candidate_ = false;
    } else {
      RingFitStep(t, stable, &out);
    }
  }
  SetStatus(t, &out);
  return out;
}

void WeighChain::RingFitStep(Timestamp t, bool stable, WeighOutput* out) {
  if (!have_ring_candidate_ && (stable || have_candidate_)) return;  // the quiet path has it
  const int wanted = have_ring_candidate_
                         ? std::min(ring_candidate_samples_ + 1, static_cast<int>(history_.size()))
                         : ring_fit_samples_;
  if (history_count_ < wanted) {
    have_ring_candidate_ = false;
    return;
  }
  const auto size = static_cast<int>(history_.size());
  const auto newest_first = [&](int back) {  // index of the sample `back` steps before the newest
    return static_cast<std::size_t>((history_next_ - 1 - back + 2 * size) % size);
  };
  fit_scratch_.resize(static_cast<std::size_t>(wanted));
  for (int i = 0; i < wanted; ++i) {
    fit_scratch_[static_cast<std::size_t>(i)] = history_totals_[newest_first(wanted - 1 - i)];
  }
  const double sigma = sample_sigma_g();
  const double dt_s = 1.0 / params_.sample_rate_hz;
  // The search reaches well below the plate's damping so that a hand's steady tremor shows up
  // as a slow decay (and is refused) instead of squeezing into the plate's range.
  DampedRingBounds bounds;
  bounds.min_decay_per_s = 2;
  const double min_decay_per_s = 1e3 / params_.ring_fit_max_time_constant_ms;
  bounds.max_decay_per_s = std::max(min_decay_per_s, 60.0);
  const DampedRingFit fit = FitDampedRing(fit_scratch_, dt_s, bounds);
  const double reference_total = Total(reference_);
  const bool explains = fit.ok && fit.decay_per_s >= min_decay_per_s &&
                        fit.residual_variance <= params_.ring_fit_residual_ratio * sigma * sigma &&
                        TailResidualVariance(fit_scratch_, dt_s, fit, std::max(4, wanted / 3)) <=
                            params_.ring_fit_tail_ratio * sigma * sigma;
  const double level_sigma = sigma * fit.level_sigma_factor;
  if (!explains || std::abs(fit.level - reference_total) < params_.ring_fit_min_step_g) {
    have_ring_candidate_ = false;
    return;
  }
  if (have_ring_candidate_) {
    // The growing fit must keep the level it found.
    const double allowed =
        params_.sample_gate_sigma * std::hypot(level_sigma, ring_candidate_level_sigma_);
    if (std::abs(fit.level - ring_candidate_level_) > allowed) {
      have_ring_candidate_ = false;
      return;
    }
    ++ring_candidate_confirmed_;
  } else {
    have_ring_candidate_ = true;
    ring_candidate_confirmed_ = 0;
  }
  ring_candidate_samples_ = wanted;
  ring_candidate_level_ = fit.level;
  ring_candidate_level_sigma_ = level_sigma;
  if (ring_candidate_confirmed_ < ring_fit_confirm_samples_ ||
      level_sigma > params_.ring_fit_max_level_sigma_g) {
    return;
  }
  // Each cell rings with the plate: its level under the same shape.
  Loads after{};
  std::vector<double> cell_series(static_cast<std::size_t>(wanted));
  for (std::size_t c = 0; c < kCellCount; ++c) {
    if (!Usable(static_cast<int>(c))) continue;
    for (int i = 0; i < wanted; ++i) {
      cell_series[static_cast<std::size_t>(i)] = history_[newest_first(wanted - 1 - i)][c];
    }
    after[c] = FitLevelWithShape(cell_series, dt_s, fit.hz, fit.decay_per_s).level;
  }
  // A fit's level is as good as a mean of 1 / factor^2 samples.
  const int equivalent_samples = std::max(
      1, static_cast<int>(std::lround(1.0 / (fit.level_sigma_factor * fit.level_sigma_factor))));
  out->event = MakeEvent(t, after, equivalent_samples);
  ++counters_.events;
  reference_ = after;
  reference_samples_ = equivalent_samples;
  departure_t_.reset();
  have_candidate_ = false;
  have_ring_candidate_ = false;
}

WeightEvent WeighChain::MakeEvent(Timestamp t, const Loads& after, int after_samples) const {
  const double sigma = sample_sigma_g();
  const double before_total = Total(reference_);
  const double after_total = Total(after);
  const double delta = after_total - before_total;
  WeightEvent event;
  event.t_start = departure_t_.value_or(t - Duration::FromSeconds(params_.settle_window_ms * 1e-3));
  event.t_settle = t;
  event.delta_g = delta;
  event.added = delta > 0;
  const double noise = sigma * std::sqrt(1.0 / after_samples + 1.0 / reference_samples_);
  double relative = params_.span_uncertainty_pct / 100.0;
  if (UsableCount() < kCellCount) relative += params_.three_cell_rule_error_pct / 100.0;
  event.sigma_g = std::hypot(noise, relative * std::abs(delta));
  event.total_before_g = before_total;
  event.total_after_g = after_total;
  event.cop_before = Centre(reference_, params_.min_cop_load_g);
  event.cop_after = Centre(after, params_.min_cop_load_g);
  Loads change{};
  for (std::size_t c = 0; c < kCellCount; ++c) change[c] = after[c] - reference_[c];
  event.item_position = Centre(change, params_.min_event_g * 0.5);
  event.cells_used = UsableCount();
  event.min_capacity_g = params_.min_capacity_g;
  event.below_min_capacity = std::abs(delta) < params_.min_capacity_g;
  if (event.cells_used < kCellCount) event.note = "weighed from 3 cells (" + HealthMessage() + ")";
  return event;
}

}  // namespace cartsense::sensors
