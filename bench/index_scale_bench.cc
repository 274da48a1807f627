// Catalogue retrieval at scale (issue 5): the approximate index (HnswCosineIndex) against exact
// search (ExactCosineIndex, fp32) on real embeddings, padded with clustered synthetic vectors
// for the sizes beyond the real ones. One JSON object a line per (size, ef_search).
//
//   bench_index_scale --prototypes build/index-vectors/prototypes.vec
//       --queries build/index-vectors/queries.vec --sizes 1000,10000,100000,1000000
//       --ef-search 16,32,64,128 [--m 16] [--ef-construction 100] [--seed 5] [--k 1]
//
// Vector files come from bench/make_index_vectors.py. A size up to the real count takes a seeded
// random subset of the real prototypes; a larger one takes them all and adds synthetic clusters
// in the same region of the embedding space (each centred near a random real prototype, so they
// are distractors, not far-away noise). Queries are the held-out real query vectors.
// recall_at_1 is vector level: the share of queries whose nearest prototype found by HNSW is the
// exact nearest prototype (same cosine). Latency: Search(query, k) through the public API, one
// query at a time, this thread only; each HNSW query runs --repeats times (default 3) and counts
// with its median, then p50/p99 over the queries; wall clock and thread CPU time (the machine
// is shared, so the wall clock includes waits for a core). Build time is wall clock. Memory:
// resident set growth while an index is built.
#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <iostream>
#include <random>
#include <sstream>
#include <string>
#include <vector>

#include <time.h>
#include <unistd.h>

#include "catalog/exact_index.h"
#include "catalog/hnsw_index.h"

namespace {

using cartsense::catalog::ExactCosineIndex;
using cartsense::catalog::HnswCosineIndex;
using cartsense::catalog::HnswParameters;
using Clock = std::chrono::steady_clock;

struct Vectors {
  std::size_t dimension = 0;
  std::vector<float> rows;        // count x dimension
  std::vector<int32_t> products;  // fine class per row
  std::size_t count() const { return products.size(); }
  const float* row(std::size_t i) const { return rows.data() + i * dimension; }
};

// The format of bench/make_index_vectors.py: "CSVECS01", u32 dimension, u32 0, u64 count,
// float32 rows, int32 labels.
bool ReadVectors(const std::string& path, Vectors& out) {
  std::ifstream file(path, std::ios::binary);
  char magic[8] = {};
  uint32_t dimension = 0, reserved = 0;
  uint64_t count = 0;
  file.read(magic, sizeof(magic));
  file.read(reinterpret_cast<char*>(&dimension), sizeof(dimension));  // NOLINT
  file.read(reinterpret_cast<char*>(&reserved), sizeof(reserved));    // NOLINT
  file.read(reinterpret_cast<char*>(&count), sizeof(count));          // NOLINT
  if (!file || std::memcmp(magic, "CSVECS01", 8) != 0 || dimension == 0 || dimension > 4096 ||
      count > (1ULL << 28)) {
    std::cerr << path << ": not a vector file from bench/make_index_vectors.py\n";
    return false;
  }
  out.dimension = dimension;
  out.rows.resize(count * dimension);
  out.products.resize(count);
  file.read(reinterpret_cast<char*>(out.rows.data()),  // NOLINT
            static_cast<std::streamsize>(out.rows.size() * sizeof(float)));
  file.read(reinterpret_cast<char*>(out.products.data()),  // NOLINT
            static_cast<std::streamsize>(out.products.size() * sizeof(int32_t)));
  if (!file) {
    std::cerr << path << ": truncated\n";
    return false;
  }
  return true;
}

std::vector<std::size_t> ParseList(const std::string& text) {
  std::vector<std::size_t> values;
  std::stringstream stream(text);
  std::string item;
  while (std::getline(stream, item, ',')) values.push_back(std::stoul(item));
  return values;
}

double ResidentMegabytes() {
  std::ifstream statm("/proc/self/statm");
  std::size_t total = 0, resident = 0;
  statm >> total >> resident;
  return static_cast<double>(resident) * static_cast<double>(sysconf(_SC_PAGESIZE)) / 1e6;
}

double Percentile(std::vector<double> values, double fraction) {
  std::sort(values.begin(), values.end());
  const auto at = static_cast<std::size_t>(fraction * static_cast<double>(values.size() - 1) + 0.5);
  return values[at];
}

void Normalize(std::vector<float>& v) {
  double sum = 0.0;
  for (const float x : v) sum += static_cast<double>(x) * static_cast<double>(x);
  const auto inverse = static_cast<float>(1.0 / std::sqrt(sum));
  for (float& x : v) x *= inverse;
}

// Calls add(product_id, vector) for the `size` prototypes of one benchmark size.
template <typename AddFn>
void ForEachPrototype(const Vectors& real, std::size_t size, uint32_t seed, AddFn add) {
  const std::size_t dim = real.dimension;
  if (size <= real.count()) {
    std::vector<std::size_t> order(real.count());
    for (std::size_t i = 0; i < order.size(); ++i) order[i] = i;
    std::mt19937_64 rng(seed);
    std::shuffle(order.begin(), order.end(), rng);
    for (std::size_t i = 0; i < size; ++i) {
      const std::size_t row = order[i];
      add("real-" + std::to_string(real.products[row]), std::span<const float>(real.row(row), dim));
    }
    return;
  }
  for (std::size_t row = 0; row < real.count(); ++row) {
    add("real-" + std::to_string(real.products[row]), std::span<const float>(real.row(row), dim));
  }
  // Synthetic products of 100 prototypes: centre = a random real prototype plus Gaussian noise
  // (cosine to it about 0.85, like a neighbouring product), prototypes = centre plus noise
  // (cosine to the centre about 0.93, like one product's photos). Real embeddings measured:
  // within a product mean cosine 0.83-0.91, between random prototypes 0.63.
  constexpr std::size_t kPerProduct = 100;
  const float centre_sigma = 0.0548F;  // 1 / sqrt(1 + 128 s^2) = 0.85 at dimension 128
  const float member_sigma = 0.035F;   // 1 / sqrt(1 + 128 s^2) = 0.93
  std::mt19937_64 rng(seed + 1);
  std::normal_distribution<float> normal(0.0F, 1.0F);
  std::uniform_int_distribution<std::size_t> pick(0, real.count() - 1);
  std::vector<float> centre(dim), member(dim);
  for (std::size_t made = real.count(), product = 0; made < size; ++product) {
    const float* base = real.row(pick(rng));
    for (std::size_t j = 0; j < dim; ++j) centre[j] = base[j] + centre_sigma * normal(rng);
    Normalize(centre);
    const std::string id = "synthetic-" + std::to_string(product);
    for (std::size_t i = 0; i < kPerProduct && made < size; ++i, ++made) {
      for (std::size_t j = 0; j < dim; ++j) member[j] = centre[j] + member_sigma * normal(rng);
      add(id, member);
    }
  }
}

// One query's latency: wall-clock time and this thread's CPU time, each the median of
// `repeats` runs, in microseconds. On this shared machine (2 cores, load average often above 8)
// the wall clock includes time the process waited for a core; the CPU time is the time on one.
struct Latency {
  double wall_us = 0.0;
  double cpu_us = 0.0;
};

double ThreadCpuMicroseconds() {
  timespec now{};
  clock_gettime(CLOCK_THREAD_CPUTIME_ID, &now);
  return static_cast<double>(now.tv_sec) * 1e6 + static_cast<double>(now.tv_nsec) / 1e3;
}

template <typename RunFn>
Latency MedianLatency(int repeats, RunFn run) {
  std::vector<double> wall, cpu;
  for (int r = 0; r < repeats; ++r) {
    const double cpu_start = ThreadCpuMicroseconds();
    const auto start = Clock::now();
    run();
    wall.push_back(std::chrono::duration<double, std::micro>(Clock::now() - start).count());
    cpu.push_back(ThreadCpuMicroseconds() - cpu_start);
  }
  std::sort(wall.begin(), wall.end());
  std::sort(cpu.begin(), cpu.end());
  return {wall[wall.size() / 2], cpu[cpu.size() / 2]};
}

double LoadAverage() {
  std::ifstream file("/proc/loadavg");
  double one_minute = 0.0;
  file >> one_minute;
  return one_minute;
}

}  // namespace

int main(int argc, char** argv) {
  std::string prototypes_path = "build/index-vectors/prototypes.vec";
  std::string queries_path = "build/index-vectors/queries.vec";
  std::vector<std::size_t> sizes = {1000, 10000, 100000, 1000000};
  std::vector<std::size_t> ef_values = {16, 32, 64, 128};
  HnswParameters parameters;
  uint32_t seed = 5;
  int repeats = 3;
  int k = 1;  // distinct products asked for; recall compares the first (the nearest prototype's)
  for (int i = 1; i + 1 < argc; i += 2) {
    const std::string flag = argv[i], value = argv[i + 1];
    if (flag == "--prototypes") {
      prototypes_path = value;
    } else if (flag == "--queries") {
      queries_path = value;
    } else if (flag == "--sizes") {
      sizes = ParseList(value);
    } else if (flag == "--ef-search") {
      ef_values = ParseList(value);
    } else if (flag == "--m") {
      parameters.m = std::stoi(value);
    } else if (flag == "--ef-construction") {
      parameters.ef_construction = std::stoi(value);
    } else if (flag == "--k") {
      k = std::max(1, std::stoi(value));
    } else if (flag == "--repeats") {
      repeats = std::max(1, std::stoi(value));
    } else if (flag == "--seed") {
      seed = static_cast<uint32_t>(std::stoul(value));
    } else {
      std::cerr << "unknown flag " << flag << "\n";
      return 2;
    }
  }
  Vectors real, queries;
  if (!ReadVectors(prototypes_path, real) || !ReadVectors(queries_path, queries)) return 3;
  const int dim = static_cast<int>(real.dimension);

  for (const std::size_t size : sizes) {
    // Exact first (the reference), then HNSW; each index's memory is the RSS growth while it
    // is built.
    double before = ResidentMegabytes();
    ExactCosineIndex exact(dim);
    ForEachPrototype(real, size, seed, [&exact](const std::string& id, std::span<const float> v) {
      if (!exact.Add(id, v).ok()) std::abort();
    });
    const double exact_megabytes = ResidentMegabytes() - before;
    std::vector<float> exact_scores(queries.count());
    std::vector<std::string> exact_products(queries.count());
    std::vector<double> exact_us, exact_cpu_us;
    for (std::size_t q = 0; q < queries.count(); ++q) {
      cartsense::Result<std::vector<cartsense::catalog::IndexMatch>> top =
          cartsense::InternalError("not run");
      // Exact search once per query: it is the reference, and slow at 1M.
      const Latency latency = MedianLatency(1, [&] {
        top = exact.Search(std::span<const float>(queries.row(q), real.dimension), k);
      });
      exact_us.push_back(latency.wall_us);
      exact_cpu_us.push_back(latency.cpu_us);
      if (!top.ok() || top->empty()) std::abort();
      exact_scores[q] = (*top)[0].score;
      exact_products[q] = (*top)[0].product_id;
    }

    before = ResidentMegabytes();
    auto created = HnswCosineIndex::Create(dim, parameters);
    if (!created.ok()) {
      std::cerr << created.status().ToString() << "\n";
      return 2;
    }
    HnswCosineIndex hnsw = std::move(created).value();
    const auto build_start = Clock::now();
    ForEachPrototype(real, size, seed, [&hnsw](const std::string& id, std::span<const float> v) {
      if (!hnsw.Add(id, v).ok()) std::abort();
    });
    const double build_s = std::chrono::duration<double>(Clock::now() - build_start).count();
    const double hnsw_megabytes = ResidentMegabytes() - before;

    for (const std::size_t ef : ef_values) {
      if (!hnsw.set_ef_search(static_cast<int>(ef)).ok()) return 2;
      std::vector<double> hnsw_us, hnsw_cpu_us;
      std::size_t same_prototype = 0, same_product = 0;
      for (std::size_t q = 0; q < queries.count(); ++q) {
        cartsense::Result<std::vector<cartsense::catalog::IndexMatch>> top =
            cartsense::InternalError("not run");
        const Latency latency = MedianLatency(repeats, [&] {
          top = hnsw.Search(std::span<const float>(queries.row(q), real.dimension), k);
        });
        hnsw_us.push_back(latency.wall_us);
        hnsw_cpu_us.push_back(latency.cpu_us);
        if (!top.ok() || top->empty()) std::abort();
        same_prototype += std::fabs((*top)[0].score - exact_scores[q]) <= 1e-6F ? 1 : 0;
        same_product += (*top)[0].product_id == exact_products[q] ? 1 : 0;
      }
      const auto n = static_cast<double>(queries.count());
      std::printf(
          "{\"k\": %d, \"prototypes\": %zu, \"real\": %zu, \"synthetic\": %zu, \"queries\": %zu, "
          "\"m\": %d, \"ef_construction\": %d, \"ef_search\": %zu, \"recall_at_1\": %.4f, "
          "\"product_top1_agreement\": %.4f, \"hnsw_us_p50\": %.1f, \"hnsw_us_p99\": %.1f, "
          "\"hnsw_cpu_us_p50\": %.1f, \"hnsw_cpu_us_p99\": %.1f, \"exact_us_p50\": %.1f, "
          "\"exact_us_p99\": %.1f, \"exact_cpu_us_p50\": %.1f, \"exact_cpu_us_p99\": %.1f, "
          "\"hnsw_build_s\": %.1f, "
          "\"hnsw_memory_mb\": %.0f, \"exact_memory_mb\": %.0f, \"repeats\": %d, "
          "\"load_average\": %.2f}\n",
          k, size, std::min(size, real.count()), size - std::min(size, real.count()),
          queries.count(), parameters.m, parameters.ef_construction, ef,
          static_cast<double>(same_prototype) / n, static_cast<double>(same_product) / n,
          Percentile(hnsw_us, 0.5), Percentile(hnsw_us, 0.99), Percentile(hnsw_cpu_us, 0.5),
          Percentile(hnsw_cpu_us, 0.99), Percentile(exact_us, 0.5), Percentile(exact_us, 0.99),
          Percentile(exact_cpu_us, 0.5), Percentile(exact_cpu_us, 0.99), build_s, hnsw_megabytes,
          exact_megabytes, repeats, LoadAverage());
      std::fflush(stdout);
    }
  }
  return 0;
}
