// Exact cosine search (src/catalog/exact_index.h): top-5 over N prototypes of dimension 128, one
// query at a time, one thread; fp32 and int8 prototypes. Random unit vectors: the cost of exact
// search does not depend on the data.
#include <random>
#include <string>
#include <vector>

#include <benchmark/benchmark.h>

#include "catalog/exact_index.h"

namespace {

using cartsense::catalog::ExactCosineIndex;
using cartsense::catalog::PrototypePrecision;

void BM_ExactSearch(benchmark::State& state, PrototypePrecision precision) {
  constexpr int kDim = 128;
  const auto count = static_cast<int>(state.range(0));
  std::mt19937 rng(1);
  std::normal_distribution<float> normal(0.0F, 1.0F);
  ExactCosineIndex index(kDim, precision);
  std::vector<float> v(kDim);
  for (int i = 0; i < count; ++i) {
    for (float& x : v) x = normal(rng);
    if (!index.Add("p" + std::to_string(i), v).ok()) state.SkipWithError("add failed");
  }
  std::vector<std::vector<float>> queries(64, std::vector<float>(kDim));
  for (auto& q : queries) {
    for (float& x : q) x = normal(rng);
  }
  std::size_t next = 0;
  for (auto _ : state) {
    auto result = index.Search(queries[next++ % queries.size()], 5);
    benchmark::DoNotOptimize(result);
  }
  state.SetItemsProcessed(state.iterations() * count);
}

BENCHMARK_CAPTURE(BM_ExactSearch, fp32, PrototypePrecision::kFp32)
    ->Arg(1000)
    ->Arg(10000)
    ->Arg(100000)
    ->Unit(benchmark::kMicrosecond);
BENCHMARK_CAPTURE(BM_ExactSearch, int8, PrototypePrecision::kInt8)
    ->Arg(1000)
    ->Arg(10000)
    ->Arg(100000)
    ->Unit(benchmark::kMicrosecond);

}  // namespace
