// Load-cell physics for tests and the session simulator: a basket on four load cells, things that
// push on it, and the ADCs that read the cells.
//
// Load split (documented rule, docs/weighing.md): the basket floor is a rigid plate on four equal
// springs at the corners of a rectangle (half sizes A = spacing_x/2, B = spacing_y/2). A load W at
// (x, y) puts on cell i
//
//     F_i = W/4 * (1 + sx_i * x / A + sy_i * y / B),   sx_i, sy_i = -1 (left/front) or +1,
//
// so the loads sum to W, their centre of pressure is exactly (x, y), and each diagonal pair
// carries W/2 wherever the load sits; that is what lets the weigh chain rebuild a lost cell from
// the other three. A cell's share goes negative (it unloads) when |x|/A + |y|/B > 1.
//
// Forces (all in grams-force, per event, with seeded randomness):
//   LoadChange  an item placed (+m) or removed (-m): a hand-contact phase (the load ramps in or
//               out while the hand adds or takes some force, with physiological tremor of
//               8-12 Hz), then a damped oscillation of 8-15 Hz
//               that settles within +-2.5 g in 150-400 ms;
//   HandPress   a hand pressing on the basket: rises, holds with physiological tremor (8-12 Hz,
//               3 g + 4 % of the force), goes away;
//   Vibration   the cart being pushed or bumped: vertical and horizontal acceleration (broadband
//               while pushing, decaying bump transients of hundreds of grams) acting on the load
//               carried; the accelerometer sees the same motion.
// Sensor effects: ADC noise (about 1 g RMS per cell at 80 samples/s, 0.5 g at 10), 24-bit
// quantisation and saturation, creep (0.03 % of the load over ~30 min, first order), zero and
// span drift with temperature, rare single-sample spikes, and cell failures (stuck, disconnected).
//
// Seeded and deterministic: the same parameters, schedule and seed give the same samples.
#pragma once

#include <array>
#include <cstdint>
#include <functional>
#include <random>
#include <vector>

#include "core/packets.h"
#include "sensors/scale_calibration.h"

namespace cartsense::sim {

using sensors::kCellCount;
using sensors::PointMm;
using sensors::ScaleGeometry;

// The rigid-plate split: each cell's share (sums to 1) of a load at `at`.
std::array<double, kCellCount> RigidPlateShares(const ScaleGeometry& geometry, PointMm at);

struct CellTruth {
  double offset_counts = 0;  // counts with the empty basket at the reference temperature
  double span_per_kg_counts = 210000;
  double zero_shift_per_c_g = 0;
  double span_shift_per_c_pct = 0;
};

struct LoadCellModelParams {
  double sample_rate_hz = 80;
  double imu_rate_hz = 100;
  bool imu = true;
  bool temperature_sensor = true;
  double noise_per_cell_g = 1.0;
  ScaleGeometry geometry;
  double basket_mass_g = 3000;  // the basket's own weight (in the offsets; it feels vibration)
  std::array<CellTruth, kCellCount> cells{};
  double reference_temperature_c = 20;
  double start_temperature_c = 22;
  double temperature_swing_c = 3;  // slow sinusoid amplitude
  double temperature_period_s = 1800;
  double creep_pct = 0.03;
  double creep_time_constant_s = 600;
  double spike_probability = 5e-4;  // per cell and sample
  double imu_noise_mps2 = 0.02;

  // A cart with cell spans and offsets drawn around nominal values (seeded), the given ADC rate
  // (80 or 10 samples/s; noise 1 g or 0.5 g per cell).
  static LoadCellModelParams RandomCart(uint64_t seed, double sample_rate_hz);
};

struct LoadChange {
  double t0_s = 0;
  double mass_g = 0;  // > 0 placed, < 0 removed
  PointMm at;
  double contact_s = 0.2;  // hand-contact phase
  double hand_g = 0;       // extra hand force at mid-contact (may be negative: lifting)
  double tremor_g = 0;     // physiological hand tremor during contact (amplitude)
  double tremor_hz = 10;
  double ring_g = 0;  // oscillation amplitude when the hand lets go
  double ring_hz = 10;
  double decay_per_s = 20;
  // Force (g) at time t; `final` once the ringing has died out.
  double ForceAt(double t_s) const;
  double EndS() const;  // when the force equals mass_g to 0.01 g
};

struct HandPress {
  double t0_s = 0;
  double duration_s = 1;
  double force_g = 300;
  PointMm at;
  double tremor_g = 10;
  double tremor_hz = 9;
  double ForceAt(double t_s) const;
};

struct Vibration {
  double t0_s = 0;
  double duration_s = 2;
  double rms_mps2 = 1.0;  // broadband vertical acceleration while pushing (0 for a lone bump)
  std::vector<double> bump_times_s;  // absolute times of bump transients
  std::vector<double> bump_peak_mps2;
  uint64_t seed = 1;
};

struct CellFailure {
  enum class Kind { kStuck, kDisconnected };
  double t_s = 0;
  int cell = 0;
  Kind kind = Kind::kStuck;
  double until_s = 1e18;  // repaired at this time
};

struct Schedule {
  std::vector<LoadChange> changes;    // sorted by t0_s
  std::vector<HandPress> hands;       // sorted by t0_s
  std::vector<Vibration> vibrations;  // sorted by t0_s
  std::vector<CellFailure> failures;
  std::vector<std::pair<PointMm, double>> initial_items;  // (position, mass) at t = 0
};

// Produces samples for a schedule, in time order (load-cell and accelerometer interleaved).
class LoadCellModel {
 public:
  LoadCellModel(const LoadCellModelParams& params, uint64_t seed);

  using LoadSink = std::function<void(const LoadCellSample&)>;
  using ImuSink = std::function<void(const ImuSample&)>;
  // Runs from t = 0 to end_s; `imu_sink` may be empty.
  void Run(const Schedule& schedule, double end_s, const LoadSink& load_sink,
           const ImuSink& imu_sink);

  const LoadCellModelParams& params() const { return params_; }

  // The calibration a perfect two-point routine would find (offsets and spans exactly), with the
  // temperature coefficients as characterised.
  sensors::ScaleCalibration TrueCalibration() const;

 private:
  LoadCellModelParams params_;
  std::mt19937_64 rng_;
};

// Decay rate (1/s) of a placement's ringing of amplitude `ring_g` whose settling time is
// `settle_s` (the 150-400 ms). The plate on its springs is a linear oscillator: its decay
// rate (damping ratio times angular frequency) belongs to the mechanics, not to how hard it was
// struck, so a small ring must not decay more slowly than a large one. Settling time is the usual
// one of a damped oscillator (envelope down to 2 % of the amplitude) or, for rings above
// 50 x 2.5 g, down to the +-2.5 g band of the physical settle, whichever takes longer.
double RingDecayPerS(double ring_g, double settle_s);

// Physical settle of a set of load changes that together make one event: the time after which
// their summed force stays within +-tolerance_g of its final value.
double PhysicalSettleS(const std::vector<LoadChange>& changes, double tolerance_g = 2.5);

}  // namespace cartsense::sim
