#include "sim/load_cell_model.h"

#include <algorithm>
#include <cmath>
#include <numbers>

#include "sensors/serial_protocol.h"

namespace cartsense::sim {
namespace {

constexpr double kGravityMps2 = 9.80665;
constexpr double kTwoPi = 2.0 * std::numbers::pi;

double SmoothStep(double u) {
  u = std::clamp(u, 0.0, 1.0);
  return u * u * (3.0 - 2.0 * u);
}

// Broadband acceleration: a sum of sinusoids with seeded frequencies and phases.
struct VibrationWaves {
  static constexpr int kWaves = 8;
  std::array<double, kWaves> hz{};
  std::array<double, kWaves> phase{};
  std::array<double, kWaves> phase_x{};
  std::array<double, kWaves> phase_y{};
  double amplitude = 0;

  explicit VibrationWaves(const Vibration& v) {
    std::mt19937_64 rng(v.seed);
    std::uniform_real_distribution<double> frequency(4.0, 40.0);
    std::uniform_real_distribution<double> angle(0.0, kTwoPi);
    for (int k = 0; k < kWaves; ++k) {
      hz[static_cast<std::size_t>(k)] = frequency(rng);
      phase[static_cast<std::size_t>(k)] = angle(rng);
      phase_x[static_cast<std::size_t>(k)] = angle(rng);
      phase_y[static_cast<std::size_t>(k)] = angle(rng);
    }
    amplitude = v.rms_mps2 * std::sqrt(2.0 / kWaves);
  }

  // Adds the acceleration (m/s^2) of vibration `v` at t to a.
  void Add(const Vibration& v, double t_s, std::array<double, 3>* a) const {
    const double tau = t_s - v.t0_s;
    if (tau >= 0 && tau <= v.duration_s && amplitude > 0) {
      const double envelope = SmoothStep(tau / 0.2) * SmoothStep((v.duration_s - tau) / 0.2);
      for (std::size_t k = 0; k < kWaves; ++k) {
        const double w = kTwoPi * hz[k] * tau;
        (*a)[2] += envelope * amplitude * std::sin(w + phase[k]);
        (*a)[0] += 0.6 * envelope * amplitude * std::sin(w + phase_x[k]);
        (*a)[1] += 0.4 * envelope * amplitude * std::sin(w + phase_y[k]);
      }
    }
    for (std::size_t b = 0; b < v.bump_times_s.size(); ++b) {
      const double since = t_s - v.bump_times_s[b];
      if (since < 0 || since > 0.8) continue;
      const double decay = std::exp(-since / 0.07);
      (*a)[2] += v.bump_peak_mps2[b] * decay * std::sin(kTwoPi * 14.0 * since);
      (*a)[0] += 0.7 * v.bump_peak_mps2[b] * decay * std::sin(kTwoPi * 9.0 * since + 0.5);
    }
  }

  static double EndS(const Vibration& v) {
    double end = v.t0_s + v.duration_s;
    for (const double b : v.bump_times_s) end = std::max(end, b + 0.8);
    return end;
  }
};

}  // namespace

std::array<double, kCellCount> RigidPlateShares(const ScaleGeometry& geometry, PointMm at) {
  const double u = at.x_mm / (geometry.cell_spacing_x_mm / 2);
  const double v = at.y_mm / (geometry.cell_spacing_y_mm / 2);
  std::array<double, kCellCount> shares{};
  for (int c = 0; c < kCellCount; ++c) {
    const PointMm cell = geometry.CellPosition(c);
    const double sx = cell.x_mm > 0 ? 1.0 : -1.0;
    const double sy = cell.y_mm > 0 ? 1.0 : -1.0;
    shares[static_cast<std::size_t>(c)] = 0.25 * (1.0 + sx * u + sy * v);
  }
  return shares;
}

LoadCellModelParams LoadCellModelParams::RandomCart(uint64_t seed, double sample_rate_hz) {
  std::mt19937_64 rng(seed ^ 0x5ca1ab1eULL);
  std::uniform_real_distribution<double> unit(0.0, 1.0);
  const auto uniform = [&](double lo, double hi) { return lo + (hi - lo) * unit(rng); };
  LoadCellModelParams p;
  p.sample_rate_hz = sample_rate_hz;
  p.noise_per_cell_g = sample_rate_hz < 40 ? 0.5 : 1.0;
  p.start_temperature_c = uniform(15, 28);
  p.temperature_swing_c = uniform(1, 4);
  for (CellTruth& cell : p.cells) {
    cell.span_per_kg_counts = 210000 * uniform(0.92, 1.08);
    cell.offset_counts =
        std::round(p.basket_mass_g / 4 / 1000 * cell.span_per_kg_counts + uniform(-300000, 300000));
    cell.zero_shift_per_c_g = uniform(-0.3, 0.3);
    cell.span_shift_per_c_pct = uniform(-0.003, 0.003);
  }
  return p;
}

double LoadChange::ForceAt(double t_s) const {
  const double tau = t_s - t0_s;
  if (tau <= 0) return 0;
  if (tau < contact_s) {
    const double u = tau / contact_s;
    const double envelope = std::sin(std::numbers::pi * u);
    return mass_g * SmoothStep(u) + hand_g * envelope +
           tremor_g * std::sqrt(envelope) * std::sin(kTwoPi * tremor_hz * tau);
  }
  const double after = tau - contact_s;
  return mass_g + ring_g * std::exp(-decay_per_s * after) * std::sin(kTwoPi * ring_hz * after);
}

double LoadChange::EndS() const {
  const double ring = std::abs(ring_g);
  const double tail = ring > 0.01 ? std::log(ring / 0.01) / decay_per_s : 0.0;
  return t0_s + contact_s + tail;
}

double HandPress::ForceAt(double t_s) const {
  const double tau = t_s - t0_s;
  if (tau <= 0 || tau >= duration_s) return 0;
  const double envelope = SmoothStep(tau / 0.15) * SmoothStep((duration_s - tau) / 0.15);
  return envelope * (force_g + tremor_g * std::sin(kTwoPi * tremor_hz * tau) +
                     0.05 * force_g * std::sin(kTwoPi * 0.8 * tau));
}

double RingDecayPerS(double ring_g, double settle_s) {
  constexpr double kSettleBandG = 2.5;
  constexpr double kEnvelopeFraction = 0.02;
  const double ring = std::abs(ring_g);
  return std::max(std::log(ring / kSettleBandG), std::log(1.0 / kEnvelopeFraction)) / settle_s;
}

double PhysicalSettleS(const std::vector<LoadChange>& changes, double tolerance_g) {
  if (changes.empty()) return 0;
  double start = changes.front().t0_s, end = start, final_g = 0;
  for (const LoadChange& c : changes) {
    start = std::min(start, c.t0_s);
    end = std::max(end, c.EndS());
    final_g += c.mass_g;
  }
  double settle = start;
  constexpr double kStepS = 0.0005;
  const auto steps = static_cast<int64_t>((end + 0.001 - start) / kStepS);
  for (int64_t step = 0; step <= steps; ++step) {
    const double t = start + static_cast<double>(step) * kStepS;
    double force = 0;
    for (const LoadChange& c : changes) force += c.ForceAt(t);
    if (std::abs(force - final_g) > tolerance_g) settle = t + kStepS;
  }
  return settle;
}

LoadCellModel::LoadCellModel(const LoadCellModelParams& params, uint64_t seed)
    : params_(params), rng_(seed) {}

sensors::ScaleCalibration LoadCellModel::TrueCalibration() const {
  sensors::ScaleCalibration calibration;
  calibration.cart_id = "simulated";
  calibration.geometry = params_.geometry;
  calibration.reference_temperature_c = params_.reference_temperature_c;
  for (std::size_t c = 0; c < kCellCount; ++c) {
    calibration.cells[c].offset_counts = params_.cells[c].offset_counts;
    calibration.cells[c].span_per_kg_counts = params_.cells[c].span_per_kg_counts;
    calibration.cells[c].zero_shift_per_c_g = params_.cells[c].zero_shift_per_c_g;
    calibration.cells[c].span_shift_per_c_pct = params_.cells[c].span_shift_per_c_pct;
  }
  return calibration;
}

void LoadCellModel::Run(const Schedule& schedule, double end_s, const LoadSink& load_sink,
                        const ImuSink& imu_sink) {
  std::normal_distribution<double> gauss(0.0, 1.0);
  std::uniform_real_distribution<double> unit(0.0, 1.0);
  const ScaleGeometry& geometry = params_.geometry;

  std::array<double, kCellCount> static_load{};  // settled items, g per cell
  for (const auto& [at, mass] : schedule.initial_items) {
    const auto shares = RigidPlateShares(geometry, at);
    for (std::size_t c = 0; c < kCellCount; ++c) static_load[c] += mass * shares[c];
  }
  std::array<double, kCellCount> creep{};
  std::array<int32_t, kCellCount> last_raw{};
  std::vector<std::size_t> active_changes;
  std::vector<std::array<double, kCellCount>> active_shares;
  std::size_t next_change = 0;
  std::vector<VibrationWaves> waves;
  waves.reserve(schedule.vibrations.size());
  for (const Vibration& v : schedule.vibrations) waves.emplace_back(v);
  std::size_t first_vibration = 0;
  std::size_t first_hand = 0;

  const int64_t load_period_ns = std::llround(1e9 / params_.sample_rate_hz);
  const int64_t imu_period_ns = std::llround(1e9 / params_.imu_rate_hz);
  const bool with_imu = params_.imu && static_cast<bool>(imu_sink);
  const auto end_ns = static_cast<int64_t>(end_s * 1e9);
  int64_t next_load_ns = 0;
  int64_t next_imu_ns = 0;
  double last_load_t = 0;
  const double creep_fraction = params_.creep_pct / 100.0;

  const auto acceleration_at = [&](double t) {
    std::array<double, 3> a{};
    while (first_vibration < schedule.vibrations.size() &&
           VibrationWaves::EndS(schedule.vibrations[first_vibration]) < t - 1.0) {
      ++first_vibration;
    }
    for (std::size_t i = first_vibration; i < schedule.vibrations.size(); ++i) {
      const Vibration& v = schedule.vibrations[i];
      if (v.t0_s > t) break;
      waves[i].Add(v, t, &a);
    }
    return a;
  };

  while (next_load_ns <= end_ns) {
    if (with_imu && next_imu_ns < next_load_ns) {
      const double t = static_cast<double>(next_imu_ns) * 1e-9;
      const std::array<double, 3> a = acceleration_at(t);
      ImuSample imu;
      imu.t = Timestamp::FromNanoseconds(next_imu_ns);
      imu.ax_mps2 = a[0] + params_.imu_noise_mps2 * gauss(rng_);
      imu.ay_mps2 = a[1] + params_.imu_noise_mps2 * gauss(rng_);
      imu.az_mps2 = kGravityMps2 + a[2] + params_.imu_noise_mps2 * gauss(rng_);
      imu_sink(imu);
      next_imu_ns += imu_period_ns;
      continue;
    }
    const double t = static_cast<double>(next_load_ns) * 1e-9;
    const double dt = t - last_load_t;
    last_load_t = t;

    // Load changes: start the due ones; fold the finished ones into the static load.
    while (next_change < schedule.changes.size() && schedule.changes[next_change].t0_s <= t) {
      active_changes.push_back(next_change);
      active_shares.push_back(RigidPlateShares(geometry, schedule.changes[next_change].at));
      ++next_change;
    }
    std::array<double, kCellCount> load = static_load;
    for (std::size_t i = 0; i < active_changes.size();) {
      const LoadChange& change = schedule.changes[active_changes[i]];
      const auto& shares = active_shares[i];
      if (t >= change.EndS()) {
        for (std::size_t c = 0; c < kCellCount; ++c) static_load[c] += change.mass_g * shares[c];
        for (std::size_t c = 0; c < kCellCount; ++c) load[c] += change.mass_g * shares[c];
        active_changes.erase(active_changes.begin() + static_cast<std::ptrdiff_t>(i));
        active_shares.erase(active_shares.begin() + static_cast<std::ptrdiff_t>(i));
        continue;
      }
      const double force = change.ForceAt(t);
      for (std::size_t c = 0; c < kCellCount; ++c) load[c] += force * shares[c];
      ++i;
    }
    while (first_hand < schedule.hands.size() &&
           schedule.hands[first_hand].t0_s + schedule.hands[first_hand].duration_s < t) {
      ++first_hand;
    }
    for (std::size_t i = first_hand; i < schedule.hands.size(); ++i) {
      const HandPress& hand = schedule.hands[i];
      if (hand.t0_s > t) break;
      const double force = hand.ForceAt(t);
      if (force == 0) continue;
      const auto shares = RigidPlateShares(geometry, hand.at);
      for (std::size_t c = 0; c < kCellCount; ++c) load[c] += force * shares[c];
    }

    // Vibration acts on everything the cells carry, the basket included.
    const std::array<double, 3> a = acceleration_at(t);
    double carried_total = params_.basket_mass_g;
    for (const double l : load) carried_total += l;
    const double temperature =
        params_.start_temperature_c +
        params_.temperature_swing_c * std::sin(kTwoPi * t / params_.temperature_period_s);
    const double delta_c = temperature - params_.reference_temperature_c;

    LoadCellSample sample;
    sample.t = Timestamp::FromNanoseconds(next_load_ns);
    sample.cell_count = kCellCount;
    if (params_.temperature_sensor) sample.temperature_c = std::round(temperature * 100) / 100;
    for (std::size_t c = 0; c < kCellCount; ++c) {
      const PointMm at = geometry.CellPosition(static_cast<int>(c));
      const double sx = at.x_mm > 0 ? 1.0 : -1.0;
      const double sy = at.y_mm > 0 ? 1.0 : -1.0;
      const double carried = params_.basket_mass_g / 4 + load[c];
      const double vibration = carried * a[2] / kGravityMps2 +
                               carried_total / 4 * 0.5 * (sx * a[0] + sy * a[1]) / kGravityMps2;
      creep[c] +=
          (creep_fraction * load[c] - creep[c]) * std::min(1.0, dt / params_.creep_time_constant_s);
      const CellTruth& truth = params_.cells[c];
      double reading = (load[c] + creep[c] + vibration + truth.zero_shift_per_c_g * delta_c) *
                       (1.0 + truth.span_shift_per_c_pct / 100.0 * delta_c);
      reading += params_.noise_per_cell_g * gauss(rng_);
      if (unit(rng_) < params_.spike_probability) {
        reading += (unit(rng_) < 0.5 ? -1.0 : 1.0) * (50.0 + 2950.0 * unit(rng_));
      }
      const double counts = truth.offset_counts + truth.span_per_kg_counts / 1000.0 * reading;
      auto raw = static_cast<int32_t>(std::clamp(std::round(counts),
                                                 static_cast<double>(sensors::kAdcMinCounts),
                                                 static_cast<double>(sensors::kAdcMaxCounts)));
      for (const CellFailure& failure : schedule.failures) {
        if (failure.cell != static_cast<int>(c) || t < failure.t_s || t >= failure.until_s)
          continue;
        raw = failure.kind == CellFailure::Kind::kStuck ? last_raw[c] : sensors::kAdcMaxCounts;
      }
      sample.raw_counts[c] = raw;
      last_raw[c] = raw;
    }
    load_sink(sample);
    next_load_ns += load_period_ns;
  }
}

}  // namespace cartsense::sim
