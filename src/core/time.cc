#include "core/time.h"

#include <cinttypes>
#include <cstdio>
#include <thread>

namespace cartsense {

std::string ToString(Timestamp t) {
  char buffer[48];
  const int64_t whole = t.ns / 1'000'000'000;
  int64_t frac = t.ns % 1'000'000'000;
  const bool negative = t.ns < 0;
  if (frac < 0) frac = -frac;
  std::snprintf(buffer, sizeof buffer, "%s%" PRId64 ".%09" PRId64 "s",
                negative && whole == 0 ? "-" : "", whole, frac);
  return buffer;
}

Timestamp SystemClock::Now() const {
  return {std::chrono::duration_cast<std::chrono::nanoseconds>(
              std::chrono::system_clock::now().time_since_epoch())
              .count()};
}

void SystemClock::SleepUntil(Timestamp t) const {
  const Duration remaining = t - Now();
  if (remaining.ns > 0) std::this_thread::sleep_for(std::chrono::nanoseconds(remaining.ns));
}

Timestamp MonotonicClock::Now() const {
  return {std::chrono::duration_cast<std::chrono::nanoseconds>(
              std::chrono::steady_clock::now().time_since_epoch())
              .count()};
}

void MonotonicClock::SleepUntil(Timestamp t) const {
  std::this_thread::sleep_until(
      std::chrono::steady_clock::time_point(std::chrono::nanoseconds(t.ns)));
}

void VirtualClock::SleepUntil(Timestamp /*t*/) const {}

void VirtualClock::AdvanceTo(Timestamp t) {
  int64_t current = now_ns_.load(std::memory_order_acquire);
  while (t.ns > current &&
         !now_ns_.compare_exchange_weak(current, t.ns, std::memory_order_acq_rel)) {
  }
}

}  // namespace cartsense
