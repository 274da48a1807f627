// Exact cosine search over product prototypes (catalogue retrieval, issue 5).
//
//   ExactCosineIndex index(128, PrototypePrecision::kInt8);
//   CS_RETURN_IF_ERROR(index.Add("oatly-oat-milk", embedding));  // any number per product
//   CS_ASSIGN_OR_RETURN(auto top5, index.Search(query, 5));       // distinct products, best first
//
// Prototypes and queries are L2-normalized on the way in, so a score is a cosine in [-1, 1].
// A product's score is its best prototype's. Prototypes are rows of one contiguous array and the
// dot-product kernels are plain loops over independent lanes that the compiler vectorizes, built
// for AVX-512, AVX2 and the x86-64-v2 baseline and picked at run time (target_clones).
// INT8: each prototype is quantized symmetrically with its own scale (max |x| -> 127), the query
// likewise; score = int32 dot * both scales.
// Not thread-safe for writers: Add/Remove need exclusive access; Search is const.
#pragma once

#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "catalog/embedding_index.h"
#include "core/status.h"

namespace cartsense::catalog {

enum class PrototypePrecision { kFp32, kInt8 };

// The first bytes of an exact index file; the last character is the format version.
inline constexpr std::string_view kExactIndexMagic = "CSEXIDX1";

class ExactCosineIndex final : public EmbeddingIndex {
 public:
  explicit ExactCosineIndex(int dimension,
                            PrototypePrecision precision = PrototypePrecision::kFp32);

  // Adds one prototype of `product_id`. InvalidArgument on a wrong size, a zero or non-finite
  // vector, or an empty id.
  Status Add(const std::string& product_id, std::span<const float> embedding) override;
  // Removes every prototype of `product_id`; NotFound if it has none.
  Status Remove(const std::string& product_id) override;
  // The `k` best distinct products (fewer if the index holds fewer).
  Result<std::vector<IndexMatch>> Search(std::span<const float> query, int k) const override;

  // Saves to `path` atomically (temporary file, fsync, rename, fsync of the folder). Format
  // version 1: "CSEXIDX1", u32 dimension, u32 precision (0 fp32, 1 int8), u64 prototype count,
  // per prototype u32 id length + id bytes, then the rows (and int8 scales), little-endian
  // native floats, then the sha256 hex of everything before it.
  Status Save(const std::string& path) const override;
  // Loads a file written by Save; errors name the file (NotFound, DataLoss on a checksum
  // mismatch, truncation or a bad header, InvalidArgument on an unknown version).
  static Result<ExactCosineIndex> Load(const std::string& path);
  // The same from the file's bytes; `name` stands for the file in errors.
  static Result<ExactCosineIndex> LoadFromBytes(std::string_view bytes, const std::string& name);
  // The bytes Save writes.
  std::string Serialize() const;

  int dimension() const override { return dimension_; }
  PrototypePrecision precision() const { return precision_; }
  std::size_t prototype_count() const override { return ids_.size(); }

 private:
  int dimension_;
  PrototypePrecision precision_;
  std::vector<std::string> ids_;   // one per prototype row
  std::vector<float> rows_fp32_;   // kFp32: prototype_count x dimension
  std::vector<int8_t> rows_int8_;  // kInt8: prototype_count x dimension
  std::vector<float> row_scales_;  // kInt8: one per row
};

// The kernels, exposed for the tests and the benchmark: out[i] = dot(rows[i], query).
void DotRowsFp32(const float* rows, std::size_t count, std::size_t dimension, const float* query,
                 float* out);
void DotRowsInt8(const int8_t* rows, std::size_t count, std::size_t dimension, const int8_t* query,
                 int32_t* out);
// Symmetric quantization of one vector: returns the scale (value = q * scale).
float QuantizeInt8(std::span<const float> values, int8_t* out);

}  // namespace cartsense::catalog
