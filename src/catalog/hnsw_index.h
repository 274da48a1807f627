// Approximate cosine search over product prototypes for large catalogues (issue 5): a
// hierarchical navigable small world graph (hnswlib 0.6.2, Debian libhnswlib-dev).
//
//   CS_ASSIGN_OR_RETURN(HnswCosineIndex index, HnswCosineIndex::Create(128, {.ef_search = 64}));
//   CS_RETURN_IF_ERROR(index.Add("oatly-oat-milk", embedding));  // any number per product
//   CS_ASSIGN_OR_RETURN(auto top5, index.Search(query, 5));       // distinct products, best first
//
// Same surface and scores as ExactCosineIndex (exact_index.h): prototypes and queries are
// L2-normalized on the way in, a score is the cosine of the product's best prototype found.
// Approximate: a product's best prototype can be missed; recall against the exact index is
// measured by bench/index_scale (docs/benchmarks.md) and tested on seeded clusters.
//
// Graph nodes are prototypes, one hnswlib label each (label == node number). Remove marks a
// product's nodes deleted (they still route searches); a later Add reuses a deleted node (hnswlib
// re-links it for the new vector) before it grows the graph, so add/remove cycles do not leak.
// Distances use the exact index's dot-product kernel (runtime-dispatched AVX-512/AVX2/baseline)
// rather than hnswlib's, which is fixed at compile time (SSE only in the x86-64-v2 release build).
// Not thread-safe for writers: Add/Remove/set_ef_search need exclusive access; Search is const
// and may run concurrently with other searches.
#pragma once

#include <cstdint>
#include <memory>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "catalog/embedding_index.h"
#include "core/status.h"

namespace cartsense::catalog {

// The first bytes of an HNSW index file; the last character is the format version.
inline constexpr std::string_view kHnswIndexMagic = "CSHNSWI1";

// Defaults measured with bench/index_scale on 1M prototypes (57k real embeddings + clustered
// synthetic ones, docs/benchmarks.md): vector-level recall@1 0.998 against exact search, p99
// 0.36 ms a query on one core; ef_search 64 gives 0.995 in half the time.
struct HnswParameters {
  int m = 16;                  // links per node and layer (2m on the bottom layer); 2..256
  int ef_construction = 100;   // candidate list while inserting: build time against quality
  int ef_search = 128;         // candidate list while searching: latency against recall
  uint64_t random_seed = 100;  // draws the node levels, so a build is reproducible
};

class HnswCosineIndex final : public EmbeddingIndex {
 public:
  // InvalidArgument if the dimension is not 1..65536 or a parameter is out of its range.
  static Result<HnswCosineIndex> Create(int dimension, const HnswParameters& parameters = {});

  HnswCosineIndex(HnswCosineIndex&&) noexcept;
  HnswCosineIndex& operator=(HnswCosineIndex&&) noexcept;
  HnswCosineIndex(const HnswCosineIndex&) = delete;
  HnswCosineIndex& operator=(const HnswCosineIndex&) = delete;
  ~HnswCosineIndex() override;

  // Adds one prototype of `product_id`. InvalidArgument on a wrong size, a zero or non-finite
  // vector, or an empty id.
  Status Add(const std::string& product_id, std::span<const float> embedding) override;
  // Removes every prototype of `product_id`; NotFound if it has none.
  Status Remove(const std::string& product_id) override;
  // The `k` best distinct products found (fewer if the index holds fewer). Asks the graph for
  // max(ef_search, 2k) nearest prototypes and, while they hold fewer than k products, twice as
  // many.
  Result<std::vector<IndexMatch>> Search(std::span<const float> query, int k) const override;
  // The nearest `count` prototypes (not distinct products), best first: for recall measurements.
  Result<std::vector<IndexMatch>> SearchPrototypes(std::span<const float> query, int count) const;

  // Saves to `path` atomically (temporary file, fsync, rename, fsync of the folder). Format
  // version 1, little-endian: "CSHNSWI1", u32 dimension, u32 m, u32 ef_construction,
  // u32 ef_search, u64 random_seed, u64 node count N, i32 top level, u32 entry node
  // (0xffffffff when N = 0); per node: u32 id length + id bytes (0 = a deleted node, free for
  // reuse), u32 level L, then for each layer 0..L: u32 link count + that many u32 node numbers;
  // then the N unit vectors as float32; then the sha256 hex of everything before it.
  Status Save(const std::string& path) const override;
  // Loads a file written by Save, checking the graph (link counts, node numbers, levels, finite
  // vectors) before hnswlib walks it. Errors name the file: NotFound, DataLoss on a checksum
  // mismatch, truncation or an inconsistent graph, InvalidArgument on an unknown version.
  static Result<HnswCosineIndex> Load(const std::string& path);
  // The same from the file's bytes; `name` stands for the file in errors.
  static Result<HnswCosineIndex> LoadFromBytes(std::string_view bytes, const std::string& name);
  // The bytes Save writes.
  std::string Serialize() const;

  int dimension() const override { return dimension_; }
  std::size_t prototype_count() const override;  // live prototypes (not deleted)
  std::size_t node_count() const;                // graph nodes, deleted ones included
  const HnswParameters& parameters() const { return parameters_; }
  // InvalidArgument unless 1..65536.
  Status set_ef_search(int ef_search);

 private:
  struct Graph;
  HnswCosineIndex(int dimension, const HnswParameters& parameters, std::unique_ptr<Graph> graph);

  int dimension_;
  HnswParameters parameters_;
  std::unique_ptr<Graph> graph_;
};

}  // namespace cartsense::catalog
