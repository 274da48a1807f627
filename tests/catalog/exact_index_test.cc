// The exact cosine index against a naive double-precision reference on seeded random vectors.
#include "catalog/exact_index.h"

#include <algorithm>
#include <cmath>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <map>
#include <random>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "core/checksum.h"

namespace cartsense::catalog {
namespace {

using ::testing::HasSubstr;

std::vector<float> RandomVector(std::size_t dim, std::mt19937& rng) {
  std::normal_distribution<float> normal(0.0F, 1.0F);
  std::vector<float> v(dim);
  for (float& x : v) x = normal(rng);
  return v;
}

double NaiveCosine(const std::vector<float>& a, const std::vector<float>& b) {
  double dot = 0.0, na = 0.0, nb = 0.0;
  for (std::size_t i = 0; i < a.size(); ++i) {
    dot += static_cast<double>(a[i]) * static_cast<double>(b[i]);
    na += static_cast<double>(a[i]) * static_cast<double>(a[i]);
    nb += static_cast<double>(b[i]) * static_cast<double>(b[i]);
  }
  return dot / std::sqrt(na * nb);
}

// Best score per product, best first (ties by product id).
std::vector<std::pair<std::string, double>> NaiveSearch(
    const std::vector<std::pair<std::string, std::vector<float>>>& prototypes,
    const std::vector<float>& query, std::size_t k) {
  std::map<std::string, double> best;
  for (const auto& [id, v] : prototypes) {
    const double score = NaiveCosine(v, query);
    auto [it, inserted] = best.emplace(id, score);
    if (!inserted) it->second = std::max(it->second, score);
  }
  std::vector<std::pair<std::string, double>> ranked(best.begin(), best.end());
  std::stable_sort(ranked.begin(), ranked.end(),
                   [](const auto& a, const auto& b) { return a.second > b.second; });
  ranked.resize(std::min(k, ranked.size()));
  return ranked;
}

TEST(ExactIndexTest, KernelsMatchNaiveDotProducts) {
  std::mt19937 rng(11);
  std::uniform_int_distribution<int> byte(-127, 127);
  for (const std::size_t dim : {1U, 15U, 16U, 100U, 128U, 257U}) {
    const std::size_t count = 37;
    std::vector<float> rows(count * dim);
    std::vector<int8_t> rows8(count * dim);
    for (std::size_t i = 0; i < rows.size(); ++i) {
      rows8[i] = static_cast<int8_t>(byte(rng));
      rows[i] = static_cast<float>(rows8[i]) / 64.0F;
    }
    std::vector<int8_t> query8(dim);
    std::vector<float> query(dim);
    for (std::size_t j = 0; j < dim; ++j) {
      query8[j] = static_cast<int8_t>(byte(rng));
      query[j] = static_cast<float>(query8[j]) / 32.0F;
    }
    std::vector<float> out(count);
    std::vector<int32_t> out8(count);
    DotRowsFp32(rows.data(), count, dim, query.data(), out.data());
    DotRowsInt8(rows8.data(), count, dim, query8.data(), out8.data());
    for (std::size_t i = 0; i < count; ++i) {
      double dot = 0.0;
      int32_t dot8 = 0;
      for (std::size_t j = 0; j < dim; ++j) {
        dot += static_cast<double>(rows[i * dim + j]) * static_cast<double>(query[j]);
        dot8 += static_cast<int32_t>(rows8[i * dim + j]) * static_cast<int32_t>(query8[j]);
      }
      EXPECT_NEAR(out[i], dot, 1e-4 * (1.0 + std::fabs(dot))) << dim << " " << i;
      EXPECT_EQ(out8[i], dot8) << dim << " " << i;
    }
  }
}

TEST(ExactIndexTest, SearchMatchesNaiveReference) {
  for (const std::size_t dim : {128U, 100U}) {
    std::mt19937 rng(static_cast<unsigned>(dim));
    std::vector<std::pair<std::string, std::vector<float>>> prototypes;
    ExactCosineIndex fp32(static_cast<int>(dim));
    ExactCosineIndex int8(static_cast<int>(dim), PrototypePrecision::kInt8);
    for (int i = 0; i < 400; ++i) {
      const std::string id = "p" + std::to_string(i % 90);  // several prototypes per product
      prototypes.emplace_back(id, RandomVector(dim, rng));
      ASSERT_TRUE(fp32.Add(id, prototypes.back().second).ok());
      ASSERT_TRUE(int8.Add(id, prototypes.back().second).ok());
    }
    int int8_top1_agrees = 0;
    const int queries = 100;
    for (int q = 0; q < queries; ++q) {
      // Queries near a prototype, as real crops are near their product's prototypes.
      std::vector<float> query = prototypes[static_cast<std::size_t>(q) * 3].second;
      const std::vector<float> noise = RandomVector(dim, rng);
      for (std::size_t j = 0; j < dim; ++j) query[j] += 0.7F * noise[j];
      const auto expected = NaiveSearch(prototypes, query, 10);
      auto got = fp32.Search(query, 10);
      ASSERT_TRUE(got.ok());
      ASSERT_EQ(got->size(), expected.size());
      for (std::size_t r = 0; r < expected.size(); ++r) {
        EXPECT_NEAR((*got)[r].score, expected[r].second, 1e-5);
        if (std::fabs(expected[r].second -
                      (r + 1 < expected.size() ? expected[r + 1].second : -2.0)) > 1e-5) {
          EXPECT_EQ((*got)[r].product_id, expected[r].first) << "query " << q << " rank " << r;
        }
      }
      auto got8 = int8.Search(query, 10);
      ASSERT_TRUE(got8.ok());
      for (const IndexMatch& match : *got8) {
        double best = -2.0;
        for (const auto& [id, v] : prototypes) {
          if (id == match.product_id) best = std::max(best, NaiveCosine(v, query));
        }
        EXPECT_NEAR(match.score, best, 0.02) << match.product_id;
      }
      int8_top1_agrees += (*got8)[0].product_id == expected[0].first ? 1 : 0;
    }
    EXPECT_GE(int8_top1_agrees, queries * 95 / 100) << "dim " << dim;
  }
}

TEST(ExactIndexTest, AddRemoveAndErrors) {
  ExactCosineIndex index(4);
  EXPECT_THAT(index.Add("a", std::vector<float>{1, 0, 0}).message(), HasSubstr("3 values"));
  EXPECT_FALSE(index.Add("a", std::vector<float>{0, 0, 0, 0}).ok());
  EXPECT_FALSE(index.Add("", std::vector<float>{1, 0, 0, 0}).ok());
  EXPECT_FALSE(index.Add("a", std::vector<float>{NAN, 0, 0, 0}).ok());
  ASSERT_TRUE(index.Add("a", std::vector<float>{1, 0, 0, 0}).ok());
  ASSERT_TRUE(index.Add("b", std::vector<float>{0, 2, 0, 0}).ok());
  ASSERT_TRUE(index.Add("a", std::vector<float>{0, 0, 3, 0}).ok());
  ASSERT_TRUE(index.Add("c", std::vector<float>{0, 0, 0, 1}).ok());
  auto top = index.Search(std::vector<float>{0, 1, 1, 0}, 5);
  ASSERT_TRUE(top.ok());
  ASSERT_EQ(top->size(), 3U);            // distinct products
  EXPECT_EQ((*top)[0].product_id, "b");  // ties with a's second prototype: b's row comes first
  EXPECT_NEAR((*top)[0].score, std::sqrt(0.5), 1e-6);
  EXPECT_EQ((*top)[1].product_id, "a");
  EXPECT_NEAR((*top)[1].score, std::sqrt(0.5), 1e-6);
  EXPECT_EQ((*top)[2].product_id, "c");
  ASSERT_TRUE(index.Remove("a").ok());
  EXPECT_EQ(index.prototype_count(), 2U);
  EXPECT_EQ(index.Remove("a").code(), StatusCode::kNotFound);
  top = index.Search(std::vector<float>{0, 1, 1, 0}, 1);
  ASSERT_TRUE(top.ok());
  ASSERT_EQ(top->size(), 1U);
  EXPECT_EQ((*top)[0].product_id, "b");
  EXPECT_FALSE(index.Search(std::vector<float>{0, 1, 1, 0}, 0).ok());
  ExactCosineIndex empty(4, PrototypePrecision::kInt8);
  auto none = empty.Search(std::vector<float>{1, 0, 0, 0}, 3);
  ASSERT_TRUE(none.ok());
  EXPECT_TRUE(none->empty());
}

TEST(ExactIndexTest, SavesAndLoadsWithChecksum) {
  for (const PrototypePrecision precision :
       {PrototypePrecision::kFp32, PrototypePrecision::kInt8}) {
    std::mt19937 rng(3);
    ExactCosineIndex index(100, precision);
    for (int i = 0; i < 50; ++i) {
      ASSERT_TRUE(index.Add("product-" + std::to_string(i % 20), RandomVector(100, rng)).ok());
    }
    const std::string path = testing::TempDir() + "/exact_index_test.idx";
    ASSERT_TRUE(index.Save(path).ok());
    auto loaded = ExactCosineIndex::Load(path);
    ASSERT_TRUE(loaded.ok()) << loaded.status().ToString();
    EXPECT_EQ(loaded->prototype_count(), 50U);
    EXPECT_EQ(loaded->precision(), precision);
    const std::vector<float> query = RandomVector(100, rng);
    auto a = index.Search(query, 5);
    auto b = loaded->Search(query, 5);
    ASSERT_TRUE(a.ok() && b.ok());
    for (std::size_t r = 0; r < 5; ++r) {
      EXPECT_EQ((*a)[r].product_id, (*b)[r].product_id);
      EXPECT_EQ((*a)[r].score, (*b)[r].score);
    }

    std::string bytes;
    {
      std::ifstream file(path, std::ios::binary);
      bytes.assign(std::istreambuf_iterator<char>(file), {});
    }
    auto write = [&path](const std::string& content) {
      std::ofstream(path, std::ios::binary | std::ios::trunc) << content;
    };
    std::string flipped = bytes;
    flipped[bytes.size() / 2] ^= 0x01;
    write(flipped);
    auto corrupt = ExactCosineIndex::Load(path);
    ASSERT_FALSE(corrupt.ok());
    EXPECT_EQ(corrupt.status().code(), StatusCode::kDataLoss);
    EXPECT_THAT(corrupt.status().message(), HasSubstr(path));
    write(bytes.substr(0, bytes.size() - 100));
    EXPECT_EQ(ExactCosineIndex::Load(path).status().code(), StatusCode::kDataLoss);
    std::string other_version = bytes;
    other_version[7] = '2';
    write(other_version);
    EXPECT_EQ(ExactCosineIndex::Load(path).status().code(), StatusCode::kInvalidArgument);
    std::filesystem::remove(path);
    EXPECT_EQ(ExactCosineIndex::Load(path).status().code(), StatusCode::kNotFound);

    // An empty index round-trips (found by fuzz_index_file: memcpy into an empty vector).
    ASSERT_TRUE(ExactCosineIndex(100, precision).Save(path).ok());
    auto empty = ExactCosineIndex::Load(path);
    ASSERT_TRUE(empty.ok()) << empty.status().ToString();
    EXPECT_EQ(empty->prototype_count(), 0U);
    std::filesystem::remove(path);
  }
}

// A valid checksum over a header that asks for more prototypes than the file holds, empty ids or
// non-finite rows: refused before anything is allocated for them.
TEST(ExactIndexTest, InconsistentFilesWithValidChecksumsAreRefused) {
  ExactCosineIndex index(4);
  ASSERT_TRUE(index.Add("a", std::vector<float>{1, 0, 0, 0}).ok());
  const std::string body = index.Serialize();
  auto with_checksum = [](const std::string& bytes) { return bytes + Sha256Hex(bytes); };
  ASSERT_TRUE(ExactCosineIndex::LoadFromBytes(with_checksum(body), "good").ok());
  // Magic 8, dimension @8, precision @12, count @16, then u32 id length @24, id @28, row @29.
  std::string huge_count = body;
  const uint64_t count = uint64_t{1} << 31;
  std::memcpy(huge_count.data() + 16, &count, sizeof(count));
  std::string empty_id = body;
  const uint32_t zero = 0;
  std::memcpy(empty_id.data() + 24, &zero, sizeof(zero));
  std::string nan_row = body;
  const float nan = NAN;
  std::memcpy(nan_row.data() + 29, &nan, sizeof(nan));
  for (const std::string& bytes : {huge_count, empty_id, nan_row}) {
    auto loaded = ExactCosineIndex::LoadFromBytes(with_checksum(bytes), "crafted.idx");
    ASSERT_FALSE(loaded.ok());
    EXPECT_EQ(loaded.status().code(), StatusCode::kDataLoss);
    EXPECT_THAT(loaded.status().message(), HasSubstr("crafted.idx"));
  }
}

}  // namespace
}  // namespace cartsense::catalog
