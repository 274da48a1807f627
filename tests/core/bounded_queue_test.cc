#include "core/bounded_queue.h"

#include <atomic>
#include <thread>
#include <vector>

#include <gtest/gtest.h>

namespace cartsense {
namespace {

TEST(BoundedQueueTest, FifoOrder) {
  BoundedQueue<int> q(4, OverflowPolicy::kBlock);
  for (int i = 0; i < 4; ++i) EXPECT_TRUE(q.Push(i));
  for (int i = 0; i < 4; ++i) EXPECT_EQ(q.Pop(), i);
  EXPECT_EQ(q.TryPop(), std::nullopt);
}

TEST(BoundedQueueTest, DropOldestKeepsNewestAndCounts) {
  BoundedQueue<int> q(3, OverflowPolicy::kDropOldest);
  for (int i = 0; i < 10; ++i) EXPECT_TRUE(q.Push(i));
  EXPECT_EQ(q.size(), 3u);
  EXPECT_EQ(q.dropped(), 7u);
  EXPECT_EQ(q.Pop(), 7);
  EXPECT_EQ(q.Pop(), 8);
  EXPECT_EQ(q.Pop(), 9);
}

TEST(BoundedQueueTest, BlockPolicyWaitsForRoom) {
  BoundedQueue<int> q(2, OverflowPolicy::kBlock);
  ASSERT_TRUE(q.Push(1));
  ASSERT_TRUE(q.Push(2));
  std::atomic<bool> pushed{false};
  std::thread producer([&] {
    q.Push(3);  // blocks until the consumer makes room
    pushed = true;
  });
  // The producer cannot finish before a Pop; the Pop below releases it.
  EXPECT_EQ(q.Pop(), 1);
  producer.join();
  EXPECT_TRUE(pushed);
  EXPECT_EQ(q.size(), 2u);
  EXPECT_EQ(q.dropped(), 0u);
  EXPECT_EQ(q.Pop(), 2);
  EXPECT_EQ(q.Pop(), 3);
}

TEST(BoundedQueueTest, CloseWakesBlockedProducerAndConsumer) {
  BoundedQueue<int> full(1, OverflowPolicy::kBlock);
  ASSERT_TRUE(full.Push(1));
  std::atomic<int> push_result{-1};
  std::thread producer([&] { push_result = full.Push(2) ? 1 : 0; });
  BoundedQueue<int> empty(1, OverflowPolicy::kBlock);
  std::optional<int> popped = 5;
  std::thread consumer([&] { popped = empty.Pop(); });
  full.Close();
  empty.Close();
  producer.join();
  consumer.join();
  EXPECT_EQ(push_result, 0);
  EXPECT_EQ(popped, std::nullopt);
  // What was queued before Close is still drained.
  EXPECT_EQ(full.Pop(), 1);
  EXPECT_EQ(full.Pop(), std::nullopt);
  EXPECT_FALSE(full.Push(3));
}

TEST(BoundedQueueTest, ManyProducersManyConsumersLoseNothing) {
  BoundedQueue<int> q(8, OverflowPolicy::kBlock);
  constexpr int kProducers = 4, kPerProducer = 2000;
  std::atomic<long> sum{0};
  std::atomic<int> count{0};
  std::vector<std::thread> consumers;
  for (int c = 0; c < 3; ++c) {
    consumers.emplace_back([&] {
      while (auto v = q.Pop()) {
        sum += *v;
        ++count;
      }
    });
  }
  std::vector<std::thread> producers;
  for (int p = 0; p < kProducers; ++p) {
    producers.emplace_back([&, p] {
      for (int i = 0; i < kPerProducer; ++i) q.Push(p * kPerProducer + i);
    });
  }
  for (auto& t : producers) t.join();
  q.Close();
  for (auto& t : consumers) t.join();
  const long n = kProducers * kPerProducer;
  EXPECT_EQ(count, n);
  EXPECT_EQ(sum, n * (n - 1) / 2);
}

TEST(BoundedQueueTest, PopForTimesOut) {
  BoundedQueue<int> q(1, OverflowPolicy::kBlock);
  EXPECT_EQ(q.PopFor(std::chrono::milliseconds(1)), std::nullopt);
}

}  // namespace
}  // namespace cartsense
