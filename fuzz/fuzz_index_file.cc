// Fuzz target: the catalogue index files (outside input: index files copied to carts, or torn
// on a cart's disk), both kinds, through their loaders. The first byte picks how the rest is
// used: even, as the file's bytes (the header, version and checksum checks); odd, with its own
// sha256 appended, so the fuzzer gets past the checksum into the parsers and the HNSW graph
// checks (what a buggy writer or a crafted file would hold). Anything may be rejected; nothing
// may crash, hang or leak, and whatever loads must search, change and save back to the bytes
// it came from. Seed corpus: fuzz/corpus/index_file, written by hnsw_index_test
// (CARTSENSE_WRITE_INDEX_CORPUS=fuzz/corpus/index_file build/dev/bin/hnsw_index_test).
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>
#include <vector>

#include "catalog/exact_index.h"
#include "catalog/hnsw_index.h"
#include "core/checksum.h"

namespace {

void Check(bool condition) {
  if (!condition) std::abort();
}

// What every loaded index must do: search, and take a new product and let it go again (an
// add may be refused with an error, e.g. by hnswlib on a graph it cannot extend; never crash).
void Exercise(cartsense::catalog::EmbeddingIndex& index) {
  const auto dimension = static_cast<std::size_t>(index.dimension());
  std::vector<float> query(dimension, 0.0F);
  query[0] = 1.0F;
  auto top = index.Search(query, 3);
  Check(top.ok());
  Check(top->size() <= 3);
  for (const auto& match : *top) Check(!match.product_id.empty());
  if (index.Add("fuzz-product", query).ok()) {
    Check(index.Search(query, 1).ok());
    Check(index.Remove("fuzz-product").ok());
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using cartsense::catalog::ExactCosineIndex;
  using cartsense::catalog::HnswCosineIndex;
  if (size == 0) return 0;
  std::string bytes(reinterpret_cast<const char*>(data) + 1, size - 1);
  if ((data[0] & 1) != 0) bytes += cartsense::Sha256Hex(bytes);
  const std::string_view body = std::string_view(bytes).substr(0, bytes.size() - 64);

  auto exact = ExactCosineIndex::LoadFromBytes(bytes, "fuzz.idx");
  if (exact.ok()) {
    Check(exact->Serialize() == body);
    Exercise(*exact);
  } else {
    Check(!exact.status().message().empty());
  }
  auto hnsw = HnswCosineIndex::LoadFromBytes(bytes, "fuzz.idx");
  if (hnsw.ok()) {
    Check(hnsw->Serialize() == body);
    Exercise(*hnsw);
  } else {
    Check(!hnsw.status().message().empty());
  }
  return 0;
}
