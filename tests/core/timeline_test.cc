#include "core/timeline.h"

#include <thread>

#include <gtest/gtest.h>

namespace cartsense {
namespace {

Packet IntAt(int64_t ms, int v) { return Packet::Make(Timestamp::FromMilliseconds(ms), v); }

TEST(ReplayTimelineTest, MergesInTimeThenSourceOrderAndMovesTheClock) {
  VirtualClock clock;
  ReplayTimeline timeline(&clock);
  timeline.AddSource("load", std::make_unique<VectorPacketSource>(
                                 std::vector<Packet>{IntAt(0, 1), IntAt(10, 2), IntAt(20, 3)}));
  timeline.AddSource("camera", std::make_unique<VectorPacketSource>(
                                   std::vector<Packet>{IntAt(5, 10), IntAt(10, 20)}));
  std::vector<std::pair<std::string, int>> order;
  while (true) {
    auto next = timeline.Next();
    ASSERT_TRUE(next.ok());
    if (!next->has_value()) break;
    order.push_back({(*next)->stream, (*next)->packet.Value<int>()});
    EXPECT_EQ(clock.Now(), (*next)->packet.timestamp());
  }
  const std::vector<std::pair<std::string, int>> expected = {
      {"load", 1}, {"camera", 10}, {"load", 2}, {"camera", 20}, {"load", 3}};
  EXPECT_EQ(order, expected);
}

TEST(ReplayTimelineTest, SourceGoingBackInTimeIsAnError) {
  VirtualClock clock;
  ReplayTimeline timeline(&clock);
  timeline.AddSource(
      "load", std::make_unique<VectorPacketSource>(std::vector<Packet>{IntAt(10, 1), IntAt(5, 2)}));
  auto first = timeline.Next();
  EXPECT_FALSE(first.ok());
  EXPECT_NE(first.status().message().find("source 'load' goes back in time"), std::string::npos);
}

TEST(ReplayTimelineTest, RealTimePacingWaits) {
  VirtualClock clock;
  ReplayTimeline timeline(&clock, /*speed=*/1.0);
  timeline.AddSource(
      "s", std::make_unique<VectorPacketSource>(std::vector<Packet>{IntAt(0, 1), IntAt(30, 2)}));
  MonotonicClock wall;
  const Timestamp start = wall.Now();
  ASSERT_TRUE(timeline.Next().ok());
  ASSERT_TRUE(timeline.Next().ok());
  // Paced: the second packet is 30 ms of session time later, so at least 30 ms passed.
  EXPECT_GE((wall.Now() - start).milliseconds(), 29.0);
}

TEST(LiveTimelineTest, ReleasesAfterDelayInOrderAndDropsLatePackets) {
  MetricsRegistry metrics;
  LiveTimeline timeline(Duration::Milliseconds(50), &metrics);
  timeline.Push("camera", IntAt(120, 2));
  timeline.Push("load", IntAt(100, 1));
  timeline.Push("load", IntAt(130, 3));
  EXPECT_TRUE(timeline.Release(Timestamp::FromMilliseconds(140)).empty());  // horizon 90
  auto released = timeline.Release(Timestamp::FromMilliseconds(175));       // horizon 125
  ASSERT_EQ(released.size(), 2u);
  EXPECT_EQ(released[0].packet.Value<int>(), 1);
  EXPECT_EQ(released[1].packet.Value<int>(), 2);
  timeline.Push("load", IntAt(110, 99));  // arrives after 125 was released: late
  EXPECT_EQ(timeline.late_dropped(), 1u);
  auto rest = timeline.Flush();
  ASSERT_EQ(rest.size(), 1u);
  EXPECT_EQ(rest[0].packet.Value<int>(), 3);
  EXPECT_NE(metrics.ExposePrometheus().find("cartsense_timeline_late_packets_total 1"),
            std::string::npos);
}

TEST(LiveTimelineTest, ConcurrentPushersKeepOrder) {
  MetricsRegistry metrics;
  LiveTimeline timeline(Duration::Milliseconds(0), &metrics);
  std::vector<std::thread> pushers;
  for (int s = 0; s < 3; ++s) {
    pushers.emplace_back([&, s] {
      for (int i = 0; i < 500; ++i) timeline.Push("s" + std::to_string(s), IntAt(i * 3 + s, i));
    });
  }
  for (auto& t : pushers) t.join();
  auto all = timeline.Release(Timestamp::FromSeconds(100));
  ASSERT_EQ(all.size(), 1500u);
  for (std::size_t i = 1; i < all.size(); ++i) {
    EXPECT_LE(all[i - 1].packet.timestamp(), all[i].packet.timestamp());
  }
}

}  // namespace
}  // namespace cartsense
