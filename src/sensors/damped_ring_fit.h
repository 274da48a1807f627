// The level under a placement's ringing, before the ringing has died.
//
// A basket on four load cells is a plate on springs: an item set down makes it ring at one mode
// (8-15 Hz), decaying exponentially, around the new level. Over a short run of equally spaced
// totals y_k (k = 0..n-1, spacing dt) that is
//
//     y_k = L + exp(-decay * k dt) * (a cos(w k dt) + b sin(w k dt)) + noise,   w = 2 pi hz,
//
// linear in (L, a, b) once (hz, decay) are fixed. FitDampedRing finds (hz, decay) within bounds
// by variable projection (for each shape, the linear least-squares fit of L, a, b; the shape with
// the smallest residual wins: a coarse grid, then a shrinking pattern search), so the level is
// known while the ring is still tens of grams, instead of after it has fallen into the noise.
// Written here rather than taken from a solver library: five parameters, two of them nonlinear
// and bounded, on 10-30 samples, called on the chain's hot path; a general nonlinear
// least-squares library (Ceres, Eigen's LM) would bring a dependency for a 2-D search.
//
//   DampedRingFit fit = FitDampedRing(totals, 1.0 / 80, DampedRingBounds{});
//   if (fit.residual_variance <= 2 * sigma * sigma) level = fit.level;  // sigma: sample noise
#pragma once

#include <vector>

namespace cartsense::sensors {

struct DampedRingBounds {
  double min_hz = 6;
  double max_hz = 18;
  double min_decay_per_s = 6;
  double max_decay_per_s = 60;
};

struct DampedRingFit {
  bool ok = false;  // false: fewer than 6 samples or a degenerate fit
  double level = 0;
  // The level's standard deviation is (sample noise sigma) x this: sqrt of (X'X)^-1 at the level.
  double level_sigma_factor = 0;
  double amplitude = 0;        // of the ring at the first sample
  double cos_coefficient = 0;  // a
  double sin_coefficient = 0;  // b
  double hz = 0;
  double decay_per_s = 0;
  double residual_variance = 0;  // residual sum of squares / (n - 5)
};

DampedRingFit FitDampedRing(const std::vector<double>& y, double dt_s,
                            const DampedRingBounds& bounds);

// The level of another series (one cell's load) sampled at the same times, with the ring's shape
// (hz, decay) found for the total: the cells ring together with the plate.
DampedRingFit FitLevelWithShape(const std::vector<double>& y, double dt_s, double hz,
                                double decay_per_s);

// Mean squared residual of the fit over the newest `tail` samples of y: a hand's steady tremor,
// fitted by a decaying mode over the whole run, is left unexplained at its end.
double TailResidualVariance(const std::vector<double>& y, double dt_s, const DampedRingFit& fit,
                            int tail);

}  // namespace cartsense::sensors
