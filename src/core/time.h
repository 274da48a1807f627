// Time on the cart: Timestamp (nanoseconds since the Unix epoch or since a session's start) and
// clocks. Live code reads a SystemClock or MonotonicClock; replay and tests drive a VirtualClock,
// which is what makes replays deterministic.
#pragma once

#include <atomic>
#include <chrono>
#include <compare>
#include <cstdint>
#include <string>

namespace cartsense {

// A span of time in nanoseconds.
struct Duration {
  int64_t ns = 0;

  static constexpr Duration Nanoseconds(int64_t v) { return {v}; }
  static constexpr Duration Microseconds(int64_t v) { return {v * 1'000}; }
  static constexpr Duration Milliseconds(int64_t v) { return {v * 1'000'000}; }
  static constexpr Duration Seconds(int64_t v) { return {v * 1'000'000'000}; }
  static constexpr Duration FromSeconds(double s) { return {static_cast<int64_t>(s * 1e9)}; }

  constexpr double seconds() const { return static_cast<double>(ns) * 1e-9; }
  constexpr double milliseconds() const { return static_cast<double>(ns) * 1e-6; }

  // NOLINTNEXTLINE(modernize-use-nullptr): clang-tidy 14 misreads a defaulted <=>.
  constexpr auto operator<=>(const Duration&) const = default;
  constexpr Duration operator+(Duration o) const { return {ns + o.ns}; }
  constexpr Duration operator-(Duration o) const { return {ns - o.ns}; }
  constexpr Duration operator*(int64_t k) const { return {ns * k}; }
};

// A point in time, in nanoseconds. Which epoch depends on the clock that made it: Unix time for
// SystemClock, boot for MonotonicClock, the session start (or any chosen origin) for VirtualClock.
struct Timestamp {
  int64_t ns = 0;

  static constexpr Timestamp FromNanoseconds(int64_t v) { return {v}; }
  static constexpr Timestamp FromMilliseconds(int64_t v) { return {v * 1'000'000}; }
  static constexpr Timestamp FromSeconds(double s) { return {static_cast<int64_t>(s * 1e9)}; }
  static constexpr Timestamp Min() { return {INT64_MIN}; }
  static constexpr Timestamp Max() { return {INT64_MAX}; }

  constexpr double seconds() const { return static_cast<double>(ns) * 1e-9; }

  // NOLINTNEXTLINE(modernize-use-nullptr): clang-tidy 14 misreads a defaulted <=>.
  constexpr auto operator<=>(const Timestamp&) const = default;
  constexpr Timestamp operator+(Duration d) const { return {ns + d.ns}; }
  constexpr Timestamp operator-(Duration d) const { return {ns - d.ns}; }
  constexpr Duration operator-(Timestamp o) const { return {ns - o.ns}; }
};

// "12.345678901s" style text for logs.
std::string ToString(Timestamp t);

class Clock {
 public:
  virtual ~Clock() = default;
  virtual Timestamp Now() const = 0;
  // Blocks until Now() >= t (real clocks sleep; a VirtualClock returns at once).
  virtual void SleepUntil(Timestamp t) const = 0;
};

// Wall-clock time (Unix epoch), for stamping recordings.
class SystemClock final : public Clock {
 public:
  Timestamp Now() const override;
  void SleepUntil(Timestamp t) const override;
};

// Monotonic time, for measuring and pacing; never jumps.
class MonotonicClock final : public Clock {
 public:
  Timestamp Now() const override;
  void SleepUntil(Timestamp t) const override;
};

// Time that moves only when told: replay sets it to each packet's timestamp.
class VirtualClock final : public Clock {
 public:
  explicit VirtualClock(Timestamp start = {}) : now_ns_(start.ns) {}
  Timestamp Now() const override { return {now_ns_.load(std::memory_order_acquire)}; }
  void SleepUntil(Timestamp t) const override;
  // Moves the clock forward to t; never backwards (an earlier t is ignored).
  void AdvanceTo(Timestamp t);

 private:
  std::atomic<int64_t> now_ns_;
};

}  // namespace cartsense
