// HnswCosineIndex::Search is const and documented as safe to call from several threads at once
// (hnswlib hands each search its own visited list under a mutex): the same results from
// concurrent searchers as from one thread. Runs under TSan too (label concurrent).
// NOLINTBEGIN(bugprone-reserved-identifier): the TSan hook below has the name TSan looks for.
#include <random>
#include <thread>
#include <vector>

#include <gtest/gtest.h>

#include "catalog/hnsw_index.h"

// hnswlib's addPoint holds a new node's link-list lock while it takes its neighbours' (and the
// reverse when a neighbour is inserted), which TSan reports as a potential deadlock even in this
// single-writer use (Add needs exclusive access, so two inserts never overlap). Only that report
// inside hnswlib is suppressed, by this binary alone; races are not.
extern "C" const char* __tsan_default_suppressions() {
  return "deadlock:hnswlib::HierarchicalNSW\n";
}

namespace cartsense::catalog {
namespace {

constexpr int kDimension = 32;

std::vector<float> RandomVector(std::mt19937& rng) {
  std::normal_distribution<float> normal(0.0F, 1.0F);
  std::vector<float> v(kDimension);
  for (float& x : v) x = normal(rng);
  return v;
}

TEST(HnswIndexConcurrentTest, ConcurrentSearchesMatchOneThread) {
  std::mt19937 rng(31);
  auto created =
      HnswCosineIndex::Create(kDimension, {.m = 8, .ef_construction = 32, .ef_search = 16});
  ASSERT_TRUE(created.ok());
  HnswCosineIndex& index = *created;
  for (int i = 0; i < 600; ++i)
    ASSERT_TRUE(index.Add("p" + std::to_string(i % 60), RandomVector(rng)).ok());
  std::vector<std::vector<float>> queries;
  for (int q = 0; q < 100; ++q) queries.push_back(RandomVector(rng));
  std::vector<std::vector<IndexMatch>> expected;
  for (const auto& query : queries) {
    auto top = index.Search(query, 3);
    ASSERT_TRUE(top.ok());
    expected.push_back(*top);
  }

  constexpr int kThreads = 3;
  std::vector<int> mismatches(kThreads, 0);
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      for (int round = 0; round < 3; ++round) {
        for (std::size_t q = 0; q < queries.size(); ++q) {
          auto top = index.Search(queries[q], 3);
          if (!top.ok() || top->size() != expected[q].size()) {
            ++mismatches[static_cast<std::size_t>(t)];
            continue;
          }
          for (std::size_t r = 0; r < top->size(); ++r) {
            if ((*top)[r].product_id != expected[q][r].product_id ||
                (*top)[r].score != expected[q][r].score) {
              ++mismatches[static_cast<std::size_t>(t)];
            }
          }
        }
      }
    });
  }
  for (std::thread& thread : threads) thread.join();
  for (int t = 0; t < kThreads; ++t) EXPECT_EQ(mismatches[static_cast<std::size_t>(t)], 0) << t;
}

}  // namespace
}  // namespace cartsense::catalog
// NOLINTEND(bugprone-reserved-identifier)
