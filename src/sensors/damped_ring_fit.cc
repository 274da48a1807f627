#include "sensors/damped_ring_fit.h"

#include <algorithm>
#include <array>
#include <cmath>
#include <numbers>

namespace cartsense::sensors {
namespace {

constexpr int kMinSamples = 6;  // five parameters and one degree of freedom

// Linear least squares of y on [1, e cos, e sin] for one shape (hz, decay). The basis is built
// by a complex rotation per sample (equal spacing), not by exp/cos/sin per sample.
DampedRingFit SolveShape(const std::vector<double>& y, double dt_s, double hz, double decay_per_s) {
  DampedRingFit fit;
  fit.hz = hz;
  fit.decay_per_s = decay_per_s;
  const std::size_t n = y.size();
  if (n < static_cast<std::size_t>(kMinSamples)) return fit;
  const double shrink = std::exp(-decay_per_s * dt_s);
  const double angle = 2.0 * std::numbers::pi * hz * dt_s;
  const double step_re = shrink * std::cos(angle), step_im = shrink * std::sin(angle);
  double re = 1, im = 0;  // exp(-decay t) (cos w t + i sin w t)
  // Normal equations: A = X'X (symmetric 3x3), v = X'y.
  double s1 = 0, sc = 0, ss = 0, scc = 0, scs = 0, sss = 0, y1 = 0, yc = 0, ys = 0, yy = 0;
  for (std::size_t k = 0; k < n; ++k) {
    s1 += 1;
    sc += re;
    ss += im;
    scc += re * re;
    scs += re * im;
    sss += im * im;
    y1 += y[k];
    yc += y[k] * re;
    ys += y[k] * im;
    yy += y[k] * y[k];
    const double next_re = re * step_re - im * step_im;
    im = re * step_im + im * step_re;
    re = next_re;
  }
  // Inverse of A by cofactors.
  const double c00 = scc * sss - scs * scs;
  const double c01 = -(sc * sss - scs * ss);
  const double c02 = sc * scs - scc * ss;
  const double det = s1 * c00 + sc * c01 + ss * c02;
  const double scale = s1 * scc * sss;
  if (!(std::abs(det) > 1e-12 * std::max(scale, 1e-300))) return fit;
  const double c11 = s1 * sss - ss * ss;
  const double c12 = -(s1 * scs - sc * ss);
  const double c22 = s1 * scc - sc * sc;
  const double level = (c00 * y1 + c01 * yc + c02 * ys) / det;
  const double a = (c01 * y1 + c11 * yc + c12 * ys) / det;
  const double b = (c02 * y1 + c12 * yc + c22 * ys) / det;
  const double rss = std::max(0.0, yy - (level * y1 + a * yc + b * ys));
  fit.ok = true;
  fit.level = level;
  fit.level_sigma_factor = std::sqrt(std::max(0.0, c00 / det));
  fit.amplitude = std::hypot(a, b);
  fit.cos_coefficient = a;
  fit.sin_coefficient = b;
  fit.residual_variance = rss / static_cast<double>(std::max<std::size_t>(1, n - 5));
  return fit;
}

}  // namespace

DampedRingFit FitLevelWithShape(const std::vector<double>& y, double dt_s, double hz,
                                double decay_per_s) {
  return SolveShape(y, dt_s, hz, decay_per_s);
}

double TailResidualVariance(const std::vector<double>& y, double dt_s, const DampedRingFit& fit,
                            int tail) {
  const auto n = static_cast<int>(y.size());
  tail = std::clamp(tail, 1, std::max(1, n));
  if (n == 0) return 0;
  double sum = 0;
  for (int k = n - tail; k < n; ++k) {
    const double t = k * dt_s;
    const double w = 2.0 * std::numbers::pi * fit.hz * t;
    const double model =
        fit.level + std::exp(-fit.decay_per_s * t) *
                        (fit.cos_coefficient * std::cos(w) + fit.sin_coefficient * std::sin(w));
    const double r = y[static_cast<std::size_t>(k)] - model;
    sum += r * r;
  }
  return sum / tail;
}

DampedRingFit FitDampedRing(const std::vector<double>& y, double dt_s,
                            const DampedRingBounds& bounds) {
  DampedRingFit best;
  if (y.size() < static_cast<std::size_t>(kMinSamples) || !(dt_s > 0)) return best;
  // The mean is subtracted first so that the sums stay well scaled for loads of kilograms.
  double mean = 0;
  for (const double v : y) mean += v / static_cast<double>(y.size());
  std::vector<double> centred(y.size());
  for (std::size_t k = 0; k < y.size(); ++k) centred[k] = y[k] - mean;

  const auto better = [](const DampedRingFit& a, const DampedRingFit& b) {
    return a.ok && (!b.ok || a.residual_variance < b.residual_variance);
  };
  // Coarse grid: 0.5 Hz in frequency, decay in ratios of ~1.4.
  constexpr double kHzStep = 1.0;
  constexpr double kDecayRatio = 1.8;
  const int hz_steps = static_cast<int>(std::floor((bounds.max_hz - bounds.min_hz) / kHzStep));
  const int decay_steps = static_cast<int>(std::floor(
      std::log(bounds.max_decay_per_s / bounds.min_decay_per_s) / std::log(kDecayRatio)));
  for (int i = 0; i <= hz_steps; ++i) {
    const double hz = bounds.min_hz + i * kHzStep;
    for (int j = 0; j <= decay_steps; ++j) {
      const double decay = bounds.min_decay_per_s * std::pow(kDecayRatio, j);
      const DampedRingFit fit = SolveShape(centred, dt_s, hz, decay);
      if (better(fit, best)) best = fit;
    }
  }
  if (!best.ok) return best;
  // Pattern search around the best grid point, halving the steps when no neighbour is better.
  double hz_step = kHzStep / 2, decay_step = 0.2;  // decay step as a fraction
  for (int round = 0; round < 24 && hz_step > 1e-3; ++round) {
    DampedRingFit round_best = best;
    const std::array<double, 3> moves = {-1.0, 0.0, 1.0};
    for (const double dh : moves) {
      for (const double dd : moves) {
        if (dh == 0 && dd == 0) continue;
        const double hz = std::clamp(best.hz + dh * hz_step, bounds.min_hz, bounds.max_hz);
        const double decay = std::clamp(best.decay_per_s * (1.0 + dd * decay_step),
                                        bounds.min_decay_per_s, bounds.max_decay_per_s);
        const DampedRingFit fit = SolveShape(centred, dt_s, hz, decay);
        if (better(fit, round_best)) round_best = fit;
      }
    }
    if (round_best.hz == best.hz && round_best.decay_per_s == best.decay_per_s) {
      hz_step /= 2;
      decay_step /= 2;
    } else {
      best = round_best;
    }
  }
  best.level += mean;
  return best;
}

}  // namespace cartsense::sensors
