#include "sensors/damped_ring_fit.h"

#include <cmath>
#include <numbers>
#include <random>

#include <gtest/gtest.h>

namespace cartsense::sensors {
namespace {

constexpr double kDt = 1.0 / 80;

std::vector<double> Ring(int n, double level, double amplitude, double hz, double decay,
                         double phase, double noise_g, std::mt19937_64& rng) {
  std::normal_distribution<double> noise(0.0, noise_g);
  std::vector<double> y;
  for (int k = 0; k < n; ++k) {
    const double t = k * kDt;
    y.push_back(level +
                amplitude * std::exp(-decay * t) * std::sin(2 * std::numbers::pi * hz * t + phase) +
                noise(rng));
  }
  return y;
}

// Naive reference for one shape: the basis from exp/cos/sin per sample, the normal equations
// solved by Gaussian elimination.
double NaiveLevel(const std::vector<double>& y, double hz, double decay) {
  std::array<std::array<double, 4>, 3> m{};
  for (std::size_t k = 0; k < y.size(); ++k) {
    const double t = static_cast<double>(k) * kDt;
    const std::array<double, 3> x = {
        1.0, std::exp(-decay * t) * std::cos(2 * std::numbers::pi * hz * t),
        std::exp(-decay * t) * std::sin(2 * std::numbers::pi * hz * t)};
    for (std::size_t i = 0; i < 3; ++i) {
      for (std::size_t j = 0; j < 3; ++j) m[i][j] += x[i] * x[j];
      m[i][3] += x[i] * y[k];
    }
  }
  for (std::size_t p = 0; p < 3; ++p) {
    for (std::size_t r = p + 1; r < 3; ++r) {
      const double f = m[r][p] / m[p][p];
      for (std::size_t c = p; c < 4; ++c) m[r][c] -= f * m[p][c];
    }
  }
  std::array<double, 3> beta{};
  for (int p = 2; p >= 0; --p) {
    const auto i = static_cast<std::size_t>(p);
    double sum = m[i][3];
    for (std::size_t c = i + 1; c < 3; ++c) sum -= m[i][c] * beta[c];
    beta[i] = sum / m[i][i];
  }
  return beta[0];
}

TEST(DampedRingFitTest, FixedShapeAgreesWithTheNaiveReference) {
  std::mt19937_64 rng(5);
  std::uniform_real_distribution<double> u(0.0, 1.0);
  for (int trial = 0; trial < 200; ++trial) {
    const double hz = 6 + 12 * u(rng), decay = 2 + 58 * u(rng);
    const auto y = Ring(8 + trial % 20, 5000 * u(rng), 500 * u(rng), 6 + 12 * u(rng),
                        2 + 58 * u(rng), 6 * u(rng), 2.0, rng);
    const DampedRingFit fit = FitLevelWithShape(y, kDt, hz, decay);
    ASSERT_TRUE(fit.ok);
    EXPECT_NEAR(fit.level, NaiveLevel(y, hz, decay), 1e-6 * (1 + std::abs(fit.level)));
  }
}

TEST(DampedRingFitTest, NoiseFreeRingGivesItsLevelAndShape) {
  std::mt19937_64 rng(1);
  const auto y = Ring(12, 1234.5, 300, 11.3, 18, 0.7, 0.0, rng);
  const DampedRingFit fit = FitDampedRing(y, kDt, DampedRingBounds{});
  ASSERT_TRUE(fit.ok);
  EXPECT_NEAR(fit.level, 1234.5, 0.05);
  EXPECT_NEAR(fit.hz, 11.3, 0.01);
  EXPECT_NEAR(fit.decay_per_s, 18, 0.2);
  EXPECT_LT(fit.residual_variance, 1e-3);
}

TEST(DampedRingFitTest, LevelUnderARingingPlateWithNoiseIsWithinTheLimit) {
  // 150 ms of a ring still 100-400 g strong, 2 g of noise per total (four cells of 1 g).
  std::mt19937_64 rng(7);
  std::uniform_real_distribution<double> u(0.0, 1.0);
  int within = 0, explained = 0;
  constexpr int kTrials = 400;
  for (int trial = 0; trial < kTrials; ++trial) {
    const double level = 100 + 4900 * u(rng);
    const auto y = Ring(12, level, 100 + 300 * u(rng), 8 + 7 * u(rng), 10 + 30 * u(rng),
                        6.28 * u(rng), 2.0, rng);
    const DampedRingFit fit = FitDampedRing(y, kDt, DampedRingBounds{});
    ASSERT_TRUE(fit.ok);
    if (std::abs(fit.level - level) <= 2.5) ++within;
    if (fit.residual_variance <= 2.0 * 4.0) ++explained;
  }
  EXPECT_GE(within, kTrials * 99 / 100);
  EXPECT_GE(explained, kTrials * 90 / 100);
}

TEST(DampedRingFitTest, SteadyHandTremorFitsAsASlowDecay) {
  // A hand pressing on the basket trembles at 8-12 Hz with a steady amplitude; given room, the
  // fit finds a decay far below the plate's (>= 10/s), which is how the chain refuses it.
  std::mt19937_64 rng(3);
  std::uniform_real_distribution<double> u(0.0, 1.0);
  DampedRingBounds wide;
  wide.min_decay_per_s = 2;
  int plate_like = 0;
  constexpr int kTrials = 300;
  for (int trial = 0; trial < kTrials; ++trial) {
    const auto y = Ring(12, 150, 7 + 5 * u(rng), 8 + 4 * u(rng), 0, 6.28 * u(rng), 2.0, rng);
    const DampedRingFit fit = FitDampedRing(y, kDt, wide);
    if (fit.ok && fit.decay_per_s >= 8) ++plate_like;
  }
  EXPECT_LE(plate_like, kTrials * 5 / 100);
}

TEST(DampedRingFitTest, TooFewSamplesIsNotAFit) {
  EXPECT_FALSE(FitDampedRing({1, 2, 3, 4, 5}, kDt, DampedRingBounds{}).ok);
  EXPECT_FALSE(FitDampedRing({}, kDt, DampedRingBounds{}).ok);
  EXPECT_FALSE(FitDampedRing({1, 2, 3, 4, 5, 6, 7}, 0.0, DampedRingBounds{}).ok);
}

}  // namespace
}  // namespace cartsense::sensors
