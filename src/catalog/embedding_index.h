// The surface both catalogue indexes share (issue 5), so the recognizer can hold either: the exact
// cosine index (ExactCosineIndex, exact_index.h) for small catalogues and the approximate HNSW
// index (HnswCosineIndex, hnsw_index.h) for large ones.
//
//   CS_ASSIGN_OR_RETURN(std::unique_ptr<EmbeddingIndex> index, LoadEmbeddingIndex(path));
//   CS_ASSIGN_OR_RETURN(auto top5, index->Search(query, 5));  // distinct products, best first
//
// Prototypes and queries are L2-normalized on the way in, so a score is a cosine in [-1, 1]; a
// product's score is its best prototype's.
#pragma once

#include <cstdint>
#include <cstring>
#include <memory>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "core/status.h"

namespace cartsense::catalog {

struct IndexMatch {
  std::string product_id;
  float score = 0.0F;  // cosine of the product's best prototype
};

class EmbeddingIndex {
 public:
  virtual ~EmbeddingIndex() = default;

  // Adds one prototype of `product_id` (any number per product). InvalidArgument on a wrong
  // size, a zero or non-finite vector, or an empty id.
  virtual Status Add(const std::string& product_id, std::span<const float> embedding) = 0;
  // Removes every prototype of `product_id`; NotFound if it has none.
  virtual Status Remove(const std::string& product_id) = 0;
  // The `k` best distinct products (fewer if the index holds fewer).
  virtual Result<std::vector<IndexMatch>> Search(std::span<const float> query, int k) const = 0;
  // Saves atomically (temporary file, fsync, rename, fsync of the folder).
  virtual Status Save(const std::string& path) const = 0;

  virtual int dimension() const = 0;
  virtual std::size_t prototype_count() const = 0;

 protected:
  EmbeddingIndex() = default;
  EmbeddingIndex(const EmbeddingIndex&) = default;
  EmbeddingIndex(EmbeddingIndex&&) = default;
  EmbeddingIndex& operator=(const EmbeddingIndex&) = default;
  EmbeddingIndex& operator=(EmbeddingIndex&&) = default;
};

// A new empty index for a catalogue of about `expected_prototypes`: exact search up to
// kExactIndexMaxPrototypes, where it stays fast (0.2 ms a query at 10,000 on this machine,
// docs/benchmarks.md), the HNSW index with its default parameters above. InvalidArgument on a
// dimension outside 1..65536.
inline constexpr std::size_t kExactIndexMaxPrototypes = 10'000;
Result<std::unique_ptr<EmbeddingIndex>> MakeEmbeddingIndex(int dimension,
                                                           std::size_t expected_prototypes);

// Loads an index file of either kind, told apart by its magic bytes. Errors as the kind's Load
// (NotFound, DataLoss, InvalidArgument), naming the file.
Result<std::unique_ptr<EmbeddingIndex>> LoadEmbeddingIndex(const std::string& path);

// Helpers the index files share (exposed for the two indexes, not for other layers' use).
namespace index_file {

// `vector` scaled to unit length; InvalidArgument on a wrong size, a non-finite value or zeros.
Result<std::vector<float>> Normalized(std::span<const float> vector, int dimension);

// Whether `vector` has length 1 within float rounding (what Add stores); false for non-finite
// values. Loaders check it so a crafted file cannot bring in values that overflow the scores.
bool IsUnitLength(std::span<const float> vector);

// Writes `bytes` + the sha256 hex of `bytes` to `path` atomically: temporary file, fsync,
// rename, fsync of the folder.
Status WriteChecksummedAtomically(const std::string& path, std::string bytes);

// The whole file; NotFound (naming `kind` and the file) if it cannot be opened.
Result<std::string> ReadWholeFile(const std::string& path, std::string_view kind);

// Checks bytes written by WriteChecksummedAtomically whose first bytes are `magic` (its last
// character is the format version) and returns the bytes between the magic and the checksum.
// InvalidArgument if only the version character differs; DataLoss on another header, too few
// bytes, or a checksum mismatch. Errors name `name` (the file) and `kind` (the file type).
Result<std::string_view> VerifiedBody(std::string_view bytes, const std::string& name,
                                      std::string_view magic, std::string_view kind);

template <typename T>
void Append(std::string& out, const T& value) {
  out.append(reinterpret_cast<const char*>(&value), sizeof(T));  // NOLINT
}

// Reads fixed-size values from a byte string, failing (not reading past) at the end.
class ByteReader {
 public:
  explicit ByteReader(std::string_view bytes) : bytes_(bytes) {}
  template <typename T>
  bool Read(T& value) {
    if (bytes_.size() - offset_ < sizeof(T)) return false;
    std::memcpy(&value, bytes_.data() + offset_, sizeof(T));
    offset_ += sizeof(T);
    return true;
  }
  bool ReadBytes(std::size_t size, const char** data) {
    if (bytes_.size() - offset_ < size) return false;
    *data = bytes_.data() + offset_;
    offset_ += size;
    return true;
  }
  std::size_t remaining() const { return bytes_.size() - offset_; }
  bool AtEnd() const { return offset_ == bytes_.size(); }

 private:
  std::string_view bytes_;
  std::size_t offset_ = 0;
};

}  // namespace index_file
}  // namespace cartsense::catalog
