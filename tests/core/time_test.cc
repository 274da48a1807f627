#include "core/time.h"

#include <gtest/gtest.h>

namespace cartsense {
namespace {

TEST(TimeTest, Arithmetic) {
  const Timestamp t = Timestamp::FromMilliseconds(1500);
  EXPECT_EQ((t + Duration::Milliseconds(250)).ns, 1'750'000'000);
  EXPECT_EQ((t - Timestamp::FromSeconds(1.0)).ns, 500'000'000);
  EXPECT_DOUBLE_EQ(Duration::Milliseconds(3).milliseconds(), 3.0);
  EXPECT_LT(Timestamp::FromNanoseconds(1), Timestamp::FromNanoseconds(2));
}

TEST(TimeTest, ToStringShowsSeconds) {
  EXPECT_EQ(ToString(Timestamp::FromMilliseconds(12345)), "12.345000000s");
  EXPECT_EQ(ToString(Timestamp::FromNanoseconds(-500'000'000)), "-0.500000000s");
}

TEST(TimeTest, VirtualClockOnlyMovesForward) {
  VirtualClock clock(Timestamp::FromSeconds(10));
  EXPECT_EQ(clock.Now(), Timestamp::FromSeconds(10));
  clock.AdvanceTo(Timestamp::FromSeconds(12));
  clock.AdvanceTo(Timestamp::FromSeconds(11));
  EXPECT_EQ(clock.Now(), Timestamp::FromSeconds(12));
  clock.SleepUntil(Timestamp::FromSeconds(100));  // returns at once
  EXPECT_EQ(clock.Now(), Timestamp::FromSeconds(12));
}

TEST(TimeTest, MonotonicClockDoesNotGoBack) {
  MonotonicClock clock;
  const Timestamp a = clock.Now();
  const Timestamp b = clock.Now();
  EXPECT_LE(a, b);
  SystemClock wall;
  EXPECT_GT(wall.Now().seconds(), 1.6e9);  // after 2020
}

}  // namespace
}  // namespace cartsense
