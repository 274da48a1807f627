// The approximate (HNSW) cosine index against the exact one on seeded clustered vectors, its
// add/remove cycle, and its file: round trip, corruption, truncation, version, bad graphs.
#include "catalog/hnsw_index.h"

#include <algorithm>
#include <cmath>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <random>
#include <set>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "catalog/exact_index.h"
#include "core/checksum.h"

namespace cartsense::catalog {
namespace {

using ::testing::HasSubstr;

constexpr int kDimension = 64;

// Products as clusters: a random centre per product, prototypes and queries scattered around it
// (the shape of real embeddings: photos of one product lie near each other).
struct ClusteredData {
  std::vector<std::vector<float>> centres;
  std::vector<std::pair<std::string, std::vector<float>>> prototypes;
  std::vector<std::vector<float>> queries;
};

std::vector<float> Around(const std::vector<float>& centre, float spread, std::mt19937& rng) {
  std::normal_distribution<float> normal(0.0F, spread);
  std::vector<float> v = centre;
  for (float& x : v) x += normal(rng);
  return v;
}

ClusteredData MakeClusters(int products, int prototypes_per_product, int queries, uint32_t seed) {
  std::mt19937 rng(seed);
  const std::vector<float> origin(kDimension, 0.0F);
  ClusteredData data;
  for (int p = 0; p < products; ++p) data.centres.push_back(Around(origin, 1.0F, rng));
  for (int p = 0; p < products; ++p) {
    for (int i = 0; i < prototypes_per_product; ++i) {
      data.prototypes.emplace_back("product-" + std::to_string(p),
                                   Around(data.centres[p], 0.35F, rng));
    }
  }
  std::uniform_int_distribution<int> pick(0, products - 1);
  for (int q = 0; q < queries; ++q)
    data.queries.push_back(Around(data.centres[pick(rng)], 0.35F, rng));
  return data;
}

HnswCosineIndex Build(const ClusteredData& data, const HnswParameters& parameters = {}) {
  auto index = HnswCosineIndex::Create(kDimension, parameters);
  EXPECT_TRUE(index.ok()) << index.status().ToString();
  for (const auto& [id, v] : data.prototypes) EXPECT_TRUE(index->Add(id, v).ok());
  return std::move(index).value();
}

std::string ReadBytes(const std::string& path) {
  std::ifstream file(path, std::ios::binary);
  return {std::istreambuf_iterator<char>(file), {}};
}

void WriteBytes(const std::string& path, const std::string& bytes) {
  std::ofstream(path, std::ios::binary | std::ios::trunc) << bytes;
}

// `body` (magic and fields, no checksum) with a valid checksum, as a crafted file would carry.
std::string WithChecksum(std::string body) { return body + Sha256Hex(body); }

double Cosine(const std::vector<float>& a, const std::vector<float>& b) {
  double dot = 0.0, na = 0.0, nb = 0.0;
  for (std::size_t i = 0; i < a.size(); ++i) {
    dot += static_cast<double>(a[i]) * static_cast<double>(b[i]);
    na += static_cast<double>(a[i]) * static_cast<double>(a[i]);
    nb += static_cast<double>(b[i]) * static_cast<double>(b[i]);
  }
  return dot / std::sqrt(na * nb);
}

TEST(HnswIndexTest, RecallAgainstExactOnSeededClusters) {
  const ClusteredData data = MakeClusters(150, 16, 400, 7);
  HnswCosineIndex approximate = Build(data, {.m = 16, .ef_construction = 100, .ef_search = 16});
  ExactCosineIndex exact(kDimension);
  for (const auto& [id, v] : data.prototypes) ASSERT_TRUE(exact.Add(id, v).ok());
  ASSERT_EQ(approximate.prototype_count(), exact.prototype_count());

  int product_top1_agrees = 0;
  int prototype_top1_agrees = 0;
  for (const auto& query : data.queries) {
    auto want = exact.Search(query, 1);
    auto got = approximate.Search(query, 1);
    ASSERT_TRUE(want.ok() && got.ok());
    ASSERT_EQ(got->size(), 1U);
    if ((*got)[0].product_id == (*want)[0].product_id) {
      ++product_top1_agrees;
      // The best prototype found is the exact one, so the score is the same cosine.
      EXPECT_NEAR((*got)[0].score, (*want)[0].score, 1e-5F);
    }
    // Vector level (harder: a product's prototypes lie close together): the nearest prototype
    // found against the naive nearest.
    double best = -2.0;
    for (const auto& prototype : data.prototypes)
      best = std::max(best, Cosine(prototype.second, query));
    auto nearest = approximate.SearchPrototypes(query, 1);
    ASSERT_TRUE(nearest.ok());
    ASSERT_EQ(nearest->size(), 1U);
    prototype_top1_agrees +=
        std::abs(static_cast<double>((*nearest)[0].score) - best) < 1e-5 ? 1 : 0;
  }
  // Seed 7, 2400 prototypes, m 16, ef_construction 100, ef_search 16: measured 400 / 400 for
  // both (with ef_search 4: 400 products, 384 prototypes).
  EXPECT_GE(product_top1_agrees, 396) << "product recall@1 " << product_top1_agrees << " / 400";
  EXPECT_GE(prototype_top1_agrees, 396)
      << "prototype recall@1 " << prototype_top1_agrees << " / 400";
}

TEST(HnswIndexTest, ReturnsDistinctProductsBestFirst) {
  const ClusteredData data = MakeClusters(30, 20, 20, 3);
  const HnswCosineIndex index = Build(data);
  for (const auto& query : data.queries) {
    auto top = index.Search(query, 5);
    ASSERT_TRUE(top.ok());
    ASSERT_EQ(top->size(), 5U);
    std::set<std::string> ids;
    for (std::size_t i = 0; i < top->size(); ++i) {
      ids.insert((*top)[i].product_id);
      if (i > 0) {
        EXPECT_GE((*top)[i - 1].score, (*top)[i].score);
      }
    }
    EXPECT_EQ(ids.size(), 5U);
  }
  // More products asked for than the index holds: all of them, once each.
  auto all = index.Search(data.queries[0], 100);
  ASSERT_TRUE(all.ok());
  EXPECT_EQ(all->size(), 30U);
}

TEST(HnswIndexTest, RemoveThenSearchAndReaddReusesNodes) {
  const ClusteredData data = MakeClusters(40, 10, 1, 5);
  HnswCosineIndex index = Build(data);
  const std::vector<float>& centre = data.centres[7];
  auto top = index.Search(centre, 1);
  ASSERT_TRUE(top.ok());
  ASSERT_EQ((*top)[0].product_id, "product-7");

  ASSERT_TRUE(index.Remove("product-7").ok());
  EXPECT_EQ(index.prototype_count(), 390U);
  EXPECT_EQ(index.node_count(), 400U);
  EXPECT_EQ(index.Remove("product-7").code(), StatusCode::kNotFound);
  auto after = index.Search(centre, 40);
  ASSERT_TRUE(after.ok());
  EXPECT_EQ(after->size(), 39U);
  for (const IndexMatch& match : *after) EXPECT_NE(match.product_id, "product-7");

  // A new product takes the freed nodes: the graph does not grow.
  std::mt19937 rng(9);
  const std::vector<float> new_centre = Around(std::vector<float>(kDimension, 0.0F), 1.0F, rng);
  for (int i = 0; i < 10; ++i)
    ASSERT_TRUE(index.Add("new-product", Around(new_centre, 0.2F, rng)).ok());
  EXPECT_EQ(index.node_count(), 400U);
  EXPECT_EQ(index.prototype_count(), 400U);
  auto found = index.Search(new_centre, 1);
  ASSERT_TRUE(found.ok());
  EXPECT_EQ((*found)[0].product_id, "new-product");
  // And the removed product comes back when added again.
  for (int i = 0; i < 3; ++i) ASSERT_TRUE(index.Add("product-7", centre).ok());
  EXPECT_EQ(index.node_count(), 403U);
  found = index.Search(centre, 1);
  ASSERT_TRUE(found.ok());
  EXPECT_EQ((*found)[0].product_id, "product-7");
  EXPECT_NEAR((*found)[0].score, 1.0F, 1e-5F);

  // Everything removed: searches find nothing.
  for (int p = 0; p < 40; ++p) {
    if (p != 7) {
      ASSERT_TRUE(index.Remove("product-" + std::to_string(p)).ok());
    }
  }
  ASSERT_TRUE(index.Remove("product-7").ok());
  ASSERT_TRUE(index.Remove("new-product").ok());
  EXPECT_EQ(index.prototype_count(), 0U);
  auto none = index.Search(centre, 3);
  ASSERT_TRUE(none.ok());
  EXPECT_TRUE(none->empty());
}

TEST(HnswIndexTest, GrowsPastItsInitialCapacity) {
  const ClusteredData data = MakeClusters(300, 5, 50, 11);  // 1500 > 1024 nodes
  const HnswCosineIndex index = Build(data, {.m = 8, .ef_construction = 64, .ef_search = 32});
  EXPECT_EQ(index.node_count(), 1500U);
  for (int p = 0; p < 300; p += 37) {
    auto top = index.Search(data.centres[static_cast<std::size_t>(p)], 1);
    ASSERT_TRUE(top.ok());
    EXPECT_EQ((*top)[0].product_id, "product-" + std::to_string(p));
  }
}

TEST(HnswIndexTest, RejectsBadInput) {
  EXPECT_EQ(HnswCosineIndex::Create(0).status().code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(HnswCosineIndex::Create(8, {.m = 1}).status().code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(HnswCosineIndex::Create(8, {.ef_construction = 0}).status().code(),
            StatusCode::kInvalidArgument);
  EXPECT_EQ(HnswCosineIndex::Create(8, {.ef_search = 0}).status().code(),
            StatusCode::kInvalidArgument);
  auto created = HnswCosineIndex::Create(4);
  ASSERT_TRUE(created.ok());
  HnswCosineIndex& index = *created;
  EXPECT_THAT(index.Add("a", std::vector<float>{1, 0, 0}).message(), HasSubstr("3 values"));
  EXPECT_EQ(index.Add("a", std::vector<float>{0, 0, 0, 0}).code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(index.Add("", std::vector<float>{1, 0, 0, 0}).code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(index.Add("a", std::vector<float>{NAN, 0, 0, 0}).code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(index.Add("a", std::vector<float>{INFINITY, 0, 0, 0}).code(),
            StatusCode::kInvalidArgument);
  EXPECT_EQ(index.prototype_count(), 0U);
  auto empty = index.Search(std::vector<float>{1, 0, 0, 0}, 3);
  ASSERT_TRUE(empty.ok());
  EXPECT_TRUE(empty->empty());
  ASSERT_TRUE(index.Add("a", std::vector<float>{1, 0, 0, 0}).ok());
  EXPECT_EQ(index.Search(std::vector<float>{1, 0, 0, 0}, 0).status().code(),
            StatusCode::kInvalidArgument);
  EXPECT_EQ(index.Search(std::vector<float>{1, 0}, 1).status().code(),
            StatusCode::kInvalidArgument);
  EXPECT_EQ(index.Search(std::vector<float>{NAN, 0, 0, 0}, 1).status().code(),
            StatusCode::kInvalidArgument);
  EXPECT_EQ(index.set_ef_search(0).code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(index.Remove("b").code(), StatusCode::kNotFound);
}

TEST(HnswIndexTest, SaveLoadRoundTripGivesIdenticalResults) {
  const ClusteredData data = MakeClusters(50, 8, 100, 13);
  HnswCosineIndex index = Build(data, {.m = 12, .ef_construction = 100, .ef_search = 40});
  ASSERT_TRUE(index.Remove("product-3").ok());  // deleted nodes survive the round trip
  const std::string path = testing::TempDir() + "/hnsw_index_test.idx";
  ASSERT_TRUE(index.Save(path).ok());
  EXPECT_FALSE(std::filesystem::exists(path + ".tmp"));
  auto loaded = HnswCosineIndex::Load(path);
  ASSERT_TRUE(loaded.ok()) << loaded.status().ToString();
  EXPECT_EQ(loaded->prototype_count(), index.prototype_count());
  EXPECT_EQ(loaded->node_count(), index.node_count());
  EXPECT_EQ(loaded->parameters().m, 12);
  EXPECT_EQ(loaded->parameters().ef_search, 40);
  for (const auto& query : data.queries) {
    auto a = index.Search(query, 5);
    auto b = loaded->Search(query, 5);
    ASSERT_TRUE(a.ok() && b.ok());
    ASSERT_EQ(a->size(), b->size());
    for (std::size_t r = 0; r < a->size(); ++r) {
      EXPECT_EQ((*a)[r].product_id, (*b)[r].product_id);
      EXPECT_EQ((*a)[r].score, (*b)[r].score);
    }
  }
  EXPECT_EQ(loaded->Serialize(), index.Serialize());
  // The loaded index keeps working: a new product reuses the removed one's nodes.
  ASSERT_TRUE(loaded->Add("product-new", data.centres[3]).ok());
  EXPECT_EQ(loaded->node_count(), index.node_count());
  auto top = loaded->Search(data.centres[3], 1);
  ASSERT_TRUE(top.ok());
  EXPECT_EQ((*top)[0].product_id, "product-new");

  // The shared loader tells the kinds apart.
  auto any = LoadEmbeddingIndex(path);
  ASSERT_TRUE(any.ok()) << any.status().ToString();
  EXPECT_EQ((*any)->prototype_count(), index.prototype_count());
  ExactCosineIndex exact(kDimension);
  ASSERT_TRUE(exact.Add("x", data.centres[0]).ok());
  const std::string exact_path = testing::TempDir() + "/hnsw_index_test_exact.idx";
  ASSERT_TRUE(exact.Save(exact_path).ok());
  auto any_exact = LoadEmbeddingIndex(exact_path);
  ASSERT_TRUE(any_exact.ok()) << any_exact.status().ToString();
  EXPECT_EQ((*any_exact)->prototype_count(), 1U);
  std::filesystem::remove(exact_path);

  // An empty index round-trips too.
  auto fresh = HnswCosineIndex::Create(kDimension);
  ASSERT_TRUE(fresh.ok());
  ASSERT_TRUE(fresh->Save(path).ok());
  auto empty = HnswCosineIndex::Load(path);
  ASSERT_TRUE(empty.ok()) << empty.status().ToString();
  EXPECT_EQ(empty->node_count(), 0U);
  std::filesystem::remove(path);
}

TEST(HnswIndexTest, MakeEmbeddingIndexPicksByCatalogueSize) {
  auto small = MakeEmbeddingIndex(kDimension, 500);
  auto large = MakeEmbeddingIndex(kDimension, 200'000);
  ASSERT_TRUE(small.ok() && large.ok());
  EXPECT_NE(dynamic_cast<ExactCosineIndex*>(small->get()), nullptr);
  EXPECT_NE(dynamic_cast<HnswCosineIndex*>(large->get()), nullptr);
  EXPECT_EQ(MakeEmbeddingIndex(0, 10).status().code(), StatusCode::kInvalidArgument);
  const ClusteredData data = MakeClusters(5, 4, 1, 29);
  for (auto* index : {small->get(), large->get()}) {
    for (const auto& [id, v] : data.prototypes) ASSERT_TRUE(index->Add(id, v).ok());
    auto top = index->Search(data.centres[2], 2);
    ASSERT_TRUE(top.ok());
    ASSERT_EQ(top->size(), 2U);
    EXPECT_EQ((*top)[0].product_id, "product-2");
  }
}

TEST(HnswIndexTest, DamagedFilesGiveErrorsNamingTheFile) {
  const ClusteredData data = MakeClusters(10, 5, 1, 17);
  const HnswCosineIndex index = Build(data);
  const std::string path = testing::TempDir() + "/hnsw_index_damaged.idx";
  ASSERT_TRUE(index.Save(path).ok());
  const std::string bytes = ReadBytes(path);

  std::string flipped = bytes;
  flipped[bytes.size() / 2] ^= 0x01;
  WriteBytes(path, flipped);
  auto corrupt = HnswCosineIndex::Load(path);
  ASSERT_FALSE(corrupt.ok());
  EXPECT_EQ(corrupt.status().code(), StatusCode::kDataLoss);
  EXPECT_THAT(corrupt.status().message(), HasSubstr(path));
  EXPECT_THAT(corrupt.status().message(), HasSubstr("checksum"));

  for (const std::size_t keep : {bytes.size() - 100, std::size_t{40}, std::size_t{7}}) {
    WriteBytes(path, bytes.substr(0, keep));
    auto truncated = HnswCosineIndex::Load(path);
    EXPECT_EQ(truncated.status().code(), StatusCode::kDataLoss) << keep;
    EXPECT_THAT(truncated.status().message(), HasSubstr(path));
  }

  std::string other_version = bytes;
  other_version[7] = '2';
  WriteBytes(path, other_version);
  auto version = HnswCosineIndex::Load(path);
  EXPECT_EQ(version.status().code(), StatusCode::kInvalidArgument);
  EXPECT_THAT(version.status().message(), HasSubstr(path));

  WriteBytes(path, "not an index at all, but long enough to hold a checksum of sixty-four chars");
  EXPECT_EQ(HnswCosineIndex::Load(path).status().code(), StatusCode::kDataLoss);
  EXPECT_EQ(LoadEmbeddingIndex(path).status().code(), StatusCode::kDataLoss);

  std::filesystem::remove(path);
  EXPECT_EQ(HnswCosineIndex::Load(path).status().code(), StatusCode::kNotFound);
  EXPECT_EQ(LoadEmbeddingIndex(path).status().code(), StatusCode::kNotFound);
}

// Files with a valid checksum but a graph hnswlib must not walk (what a fuzzer or a buggy
// writer could make): each is refused before hnswlib sees it.
TEST(HnswIndexTest, InconsistentGraphsWithValidChecksumsAreRefused) {
  const ClusteredData data = MakeClusters(4, 3, 1, 19);
  const HnswCosineIndex index = Build(data, {.m = 4, .ef_construction = 16, .ef_search = 8});
  const std::string body = index.Serialize();
  ASSERT_TRUE(HnswCosineIndex::LoadFromBytes(WithChecksum(body), "good").ok());

  // Header: magic 8, then dimension @8, m @12, ef_construction @16, ef_search @20, seed @24,
  // node count @32, top level @40, entry node @44; node 0 starts @48 with its id length.
  auto patched = [&body](std::size_t offset, uint32_t value) {
    std::string copy = body;
    std::memcpy(copy.data() + offset, &value, sizeof(value));
    return WithChecksum(copy);
  };
  const std::size_t node0 = 48;
  uint32_t id_size = 0;
  std::memcpy(&id_size, body.data() + node0, sizeof(id_size));
  const std::size_t level_at = node0 + 4 + id_size;
  const std::size_t links_at = level_at + 4;
  uint32_t link_count = 0;
  std::memcpy(&link_count, body.data() + links_at, sizeof(link_count));
  ASSERT_GT(link_count, 0U);

  const std::vector<std::pair<std::string, std::string>> cases = {
      {"dimension 0", patched(8, 0)},
      {"m 1", patched(12, 1)},
      {"ef_search 0", patched(20, 0)},
      {"huge node count", patched(32, 0xFFFFFFFFU)},
      {"entry node out of range", patched(44, 12)},
      {"top level too high", patched(40, 1000)},
      {"level above the top level", patched(level_at, 40)},
      {"too many links", patched(links_at, 100)},
      {"link to a missing node", patched(links_at + 4, 12)},
      {"trailing bytes", WithChecksum(body + "x")},
  };
  for (const auto& [what, bytes] : cases) {
    auto loaded = HnswCosineIndex::LoadFromBytes(bytes, "crafted.idx");
    ASSERT_FALSE(loaded.ok()) << what;
    EXPECT_EQ(loaded.status().code(), StatusCode::kDataLoss) << what;
    EXPECT_THAT(loaded.status().message(), HasSubstr("crafted.idx")) << what;
  }
  std::string nan_vector = body;
  const float nan = NAN;
  std::memcpy(nan_vector.data() + nan_vector.size() - sizeof(float), &nan, sizeof(nan));
  EXPECT_EQ(HnswCosineIndex::LoadFromBytes(WithChecksum(nan_vector), "nan.idx").status().code(),
            StatusCode::kDataLoss);
}

// Small valid files of both kinds as fuzz/fuzz_index_file.cc reads them: first byte 0, the file
// as it is; 1, the file without its checksum (the target appends it). With
// CARTSENSE_WRITE_INDEX_CORPUS=DIR set they are also written to DIR (fuzz/corpus/index_file).
TEST(IndexFileCorpusTest, SmallValidFilesLoadAsTheFuzzTargetReadsThem) {
  constexpr int kSmallDimension = 8;
  std::mt19937 rng(23);
  auto small_vector = [&rng] {
    std::normal_distribution<float> normal(0.0F, 1.0F);
    std::vector<float> v(kSmallDimension);
    for (float& x : v) x = normal(rng);
    return v;
  };
  std::vector<std::pair<std::string, std::string>> bodies;  // name, file bytes without checksum
  for (const PrototypePrecision precision :
       {PrototypePrecision::kFp32, PrototypePrecision::kInt8}) {
    ExactCosineIndex exact(kSmallDimension, precision);
    for (int i = 0; i < 3; ++i)
      ASSERT_TRUE(exact.Add("p" + std::to_string(i % 2), small_vector()).ok());
    bodies.emplace_back(precision == PrototypePrecision::kFp32 ? "exact-fp32" : "exact-int8",
                        exact.Serialize());
  }
  auto hnsw =
      HnswCosineIndex::Create(kSmallDimension, {.m = 4, .ef_construction = 16, .ef_search = 8});
  ASSERT_TRUE(hnsw.ok());
  for (int i = 0; i < 12; ++i)
    ASSERT_TRUE(hnsw->Add("p" + std::to_string(i % 3), small_vector()).ok());
  ASSERT_TRUE(hnsw->Remove("p1").ok());
  bodies.emplace_back("hnsw-with-deleted-nodes", hnsw->Serialize());
  auto empty = HnswCosineIndex::Create(kSmallDimension);
  ASSERT_TRUE(empty.ok());
  bodies.emplace_back("hnsw-empty", empty->Serialize());

  const char* corpus =
      std::getenv("CARTSENSE_WRITE_INDEX_CORPUS");  // NOLINT(concurrency-mt-unsafe)
  for (const auto& [name, body] : bodies) {
    const std::string file = WithChecksum(body);
    const bool exact_kind = name.starts_with("exact");
    EXPECT_EQ(ExactCosineIndex::LoadFromBytes(file, name).ok(), exact_kind) << name;
    EXPECT_EQ(HnswCosineIndex::LoadFromBytes(file, name).ok(), !exact_kind) << name;
    EXPECT_LT(file.size(), 2000U) << name;
    if (corpus != nullptr) {
      WriteBytes(std::string(corpus) + "/" + name, std::string(1, '\0') + file);
      WriteBytes(std::string(corpus) + "/" + name + "-unchecksummed", std::string(1, '\1') + body);
    }
  }
}

}  // namespace
}  // namespace cartsense::catalog
