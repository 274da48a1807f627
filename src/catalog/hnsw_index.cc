#include "catalog/hnsw_index.h"

#include <algorithm>
#include <cmath>
#include <cstring>
#include <exception>
#include <limits>
#include <new>
#include <unordered_map>
#include <unordered_set>

// hnswlib.h defines non-inline functions (cpuid, AVXCapable): include it in this file only.
// NO_MANUAL_VECTORIZATION: hnswlib 0.6.2's SSE path prefetches through the link after the last
// one (`*(datal + j + 1)`), a read past the end of upper-layer link lists that ASan reports as a
// heap overflow; without it the search loops read only what they own. Its SIMD distances are not
// used here anyway (see UnitVectorSpace).
#define NO_MANUAL_VECTORIZATION
#include <hnswlib/hnswlib.h>

#include "catalog/exact_index.h"

namespace cartsense::catalog {

namespace {
constexpr std::string_view kKind = "HNSW index";
constexpr int kMaxDimension = 1 << 16;
constexpr int kMaxM = 256;  // hnswlib keeps a layer's link count in 16 bits; 2m must fit easily
constexpr int kMaxEf = 1 << 16;
constexpr uint32_t kMaxLevel = 32;  // a node's level is geometric with mean 1/ln(m): 32 is never
                                    // drawn in practice, and it bounds what a file may ask for
constexpr uint32_t kNoEntry = std::numeric_limits<uint32_t>::max();
constexpr std::size_t kInitialCapacity = 1024;

using hnswlib::labeltype;
using hnswlib::linklistsizeint;
using hnswlib::tableint;
using index_file::Append;
using Hnsw = hnswlib::HierarchicalNSW<float>;

// Unit vectors; distance = -dot, so the nearest has the highest cosine and score = -distance
// exactly (hnswlib's InnerProductSpace returns 1 - dot, which rounds the score).
class UnitVectorSpace final : public hnswlib::SpaceInterface<float> {
 public:
  explicit UnitVectorSpace(std::size_t dimension) : dimension_(dimension) {}
  std::size_t get_data_size() override { return dimension_ * sizeof(float); }
  hnswlib::DISTFUNC<float> get_dist_func() override { return &NegativeDot; }
  // hnswlib reads the dimension through this pointer as a size_t (getDataByLabel).
  void* get_dist_func_param() override { return &dimension_; }

 private:
  static float NegativeDot(const void* a, const void* b, const void* dimension) {
    float dot = 0.0F;
    DotRowsFp32(static_cast<const float*>(a), 1, *static_cast<const std::size_t*>(dimension),
                static_cast<const float*>(b), &dot);
    return -dot;
  }

  std::size_t dimension_;
};

Status ValidateParameters(int dimension, const HnswParameters& parameters) {
  if (dimension < 1 || dimension > kMaxDimension) {
    return InvalidArgumentError("HNSW index dimension must be 1.." + std::to_string(kMaxDimension) +
                                ", got " + std::to_string(dimension));
  }
  if (parameters.m < 2 || parameters.m > kMaxM) {
    return InvalidArgumentError("HNSW m must be 2.." + std::to_string(kMaxM) + ", got " +
                                std::to_string(parameters.m));
  }
  if (parameters.ef_construction < 1 || parameters.ef_construction > kMaxEf) {
    return InvalidArgumentError("HNSW ef_construction must be 1.." + std::to_string(kMaxEf) +
                                ", got " + std::to_string(parameters.ef_construction));
  }
  if (parameters.ef_search < 1 || parameters.ef_search > kMaxEf) {
    return InvalidArgumentError("HNSW ef_search must be 1.." + std::to_string(kMaxEf) + ", got " +
                                std::to_string(parameters.ef_search));
  }
  return Status::Ok();
}

// The level-0 link list of a node starts with a 32-bit header: the count in its low 16 bits,
// hnswlib's deleted mark in the third byte.
uint32_t LinkCount(const Hnsw& graph, tableint node, int level) {
  return graph.getListCount(graph.get_linklist_at_level(node, level));
}
const tableint* Links(const Hnsw& graph, tableint node, int level) {
  return reinterpret_cast<const tableint*>(graph.get_linklist_at_level(node, level) + 1);  // NOLINT
}
}  // namespace

// The graph and what it needs: hnswlib keeps raw pointers to the space, so both live here, on
// the heap, and move with the index.
struct HnswCosineIndex::Graph {
  Graph(std::size_t dimension, const HnswParameters& parameters, std::size_t capacity)
      : space(dimension),
        hnsw(&space, std::max<std::size_t>(capacity, 1), static_cast<std::size_t>(parameters.m),
             static_cast<std::size_t>(parameters.ef_construction), parameters.random_seed) {
    hnsw.setEf(static_cast<std::size_t>(parameters.ef_search));
  }

  UnitVectorSpace space;
  Hnsw hnsw;
  std::vector<std::string> node_product;  // product id per node; "" = deleted, free for reuse
  std::vector<tableint> free_nodes;       // deleted nodes, reused last-freed first
  std::unordered_map<std::string, std::vector<tableint>> nodes_of_product;
};

HnswCosineIndex::HnswCosineIndex(int dimension, const HnswParameters& parameters,
                                 std::unique_ptr<Graph> graph)
    : dimension_(dimension), parameters_(parameters), graph_(std::move(graph)) {}

HnswCosineIndex::HnswCosineIndex(HnswCosineIndex&&) noexcept = default;
HnswCosineIndex& HnswCosineIndex::operator=(HnswCosineIndex&&) noexcept = default;
HnswCosineIndex::~HnswCosineIndex() = default;

Result<HnswCosineIndex> HnswCosineIndex::Create(int dimension, const HnswParameters& parameters) {
  CS_RETURN_IF_ERROR(ValidateParameters(dimension, parameters));
  try {
    return HnswCosineIndex(
        dimension, parameters,
        std::make_unique<Graph>(static_cast<std::size_t>(dimension), parameters, kInitialCapacity));
  } catch (const std::exception& error) {  // hnswlib throws std::runtime_error on a failed malloc
    return UnavailableError(std::string("cannot allocate the HNSW graph: ") + error.what());
  }
}

std::size_t HnswCosineIndex::prototype_count() const {
  return graph_->hnsw.cur_element_count - graph_->hnsw.num_deleted_;
}

std::size_t HnswCosineIndex::node_count() const { return graph_->hnsw.cur_element_count; }

Status HnswCosineIndex::set_ef_search(int ef_search) {
  if (ef_search < 1 || ef_search > kMaxEf) {
    return InvalidArgumentError("HNSW ef_search must be 1.." + std::to_string(kMaxEf) + ", got " +
                                std::to_string(ef_search));
  }
  parameters_.ef_search = ef_search;
  graph_->hnsw.setEf(static_cast<std::size_t>(ef_search));
  return Status::Ok();
}

Status HnswCosineIndex::Add(const std::string& product_id, std::span<const float> embedding) {
  if (product_id.empty()) return InvalidArgumentError("empty product id");
  CS_ASSIGN_OR_RETURN(const std::vector<float> unit,
                      index_file::Normalized(embedding, dimension_)
                          .WithContext("adding a prototype of " + product_id));
  Graph& graph = *graph_;
  Hnsw& hnsw = graph.hnsw;
  tableint node = 0;
  try {
    if (!graph.free_nodes.empty()) {
      // addPoint on a deleted label unmarks it and re-links the node for the new vector.
      node = graph.free_nodes.back();
      hnsw.addPoint(unit.data(), node);
      graph.free_nodes.pop_back();
    } else {
      if (hnsw.cur_element_count >= std::numeric_limits<tableint>::max() - 1) {
        return OutOfRangeError("HNSW index is full (2^32 - 1 nodes)");
      }
      node = static_cast<tableint>(hnsw.cur_element_count);
      if (hnsw.cur_element_count == hnsw.max_elements_) {
        hnsw.resizeIndex(std::max<std::size_t>(hnsw.max_elements_ * 2, kInitialCapacity));
      }
      hnsw.addPoint(unit.data(), node);
      graph.node_product.emplace_back();
    }
  } catch (const std::exception& error) {
    return UnavailableError("adding a prototype of " + product_id + ": " + error.what());
  }
  graph.node_product[node] = product_id;
  graph.nodes_of_product[product_id].push_back(node);
  return Status::Ok();
}

Status HnswCosineIndex::Remove(const std::string& product_id) {
  Graph& graph = *graph_;
  const auto found = graph.nodes_of_product.find(product_id);
  if (found == graph.nodes_of_product.end()) {
    return NotFoundError("no prototype of product " + product_id);
  }
  for (const tableint node : found->second) {
    graph.hnsw.markDeletedInternal(node);
    graph.node_product[node].clear();
    graph.free_nodes.push_back(node);
  }
  graph.nodes_of_product.erase(found);
  return Status::Ok();
}

Result<std::vector<IndexMatch>> HnswCosineIndex::SearchPrototypes(std::span<const float> query,
                                                                  int count) const {
  if (count < 1) return InvalidArgumentError("count must be >= 1");
  CS_ASSIGN_OR_RETURN(const std::vector<float> unit,
                      index_file::Normalized(query, dimension_).WithContext("query"));
  std::vector<IndexMatch> matches;
  try {
    auto nearest = graph_->hnsw.searchKnn(unit.data(), static_cast<std::size_t>(count));
    matches.resize(nearest.size());
    // The queue pops the farthest first.
    for (std::size_t i = nearest.size(); i-- > 0; nearest.pop()) {
      matches[i] = {graph_->node_product[nearest.top().second], -nearest.top().first};
    }
  } catch (const std::exception& error) {
    return InternalError(std::string("HNSW search failed: ") + error.what());
  }
  return matches;
}

Result<std::vector<IndexMatch>> HnswCosineIndex::Search(std::span<const float> query, int k) const {
  if (k < 1) return InvalidArgumentError("k must be >= 1");
  const std::size_t live = prototype_count();
  const auto wanted = static_cast<std::size_t>(k);
  // hnswlib searches with a candidate list of max(ef, count) and returns the best `count` of it,
  // so asking for ef_search prototypes costs no more graph walking than asking for one.
  std::size_t count =
      std::max<std::size_t>(static_cast<std::size_t>(parameters_.ef_search), 2 * wanted);
  std::vector<IndexMatch> matches;
  while (true) {
    count = std::min(count, std::max<std::size_t>(live, 1));
    CS_ASSIGN_OR_RETURN(const std::vector<IndexMatch> nearest,
                        SearchPrototypes(query, static_cast<int>(count)));
    matches.clear();
    std::unordered_set<std::string_view> seen;
    for (const IndexMatch& match : nearest) {
      if (matches.size() == wanted) break;
      if (seen.insert(match.product_id).second) matches.push_back(match);
    }
    if (matches.size() == wanted || count >= live) break;
    count *= 2;
  }
  return matches;
}

std::string HnswCosineIndex::Serialize() const {
  const Hnsw& hnsw = graph_->hnsw;
  const std::size_t nodes = hnsw.cur_element_count;
  std::string bytes(kHnswIndexMagic);
  Append(bytes, static_cast<uint32_t>(dimension_));
  Append(bytes, static_cast<uint32_t>(parameters_.m));
  Append(bytes, static_cast<uint32_t>(parameters_.ef_construction));
  Append(bytes, static_cast<uint32_t>(parameters_.ef_search));
  Append(bytes, parameters_.random_seed);
  Append(bytes, static_cast<uint64_t>(nodes));
  Append(bytes, static_cast<int32_t>(nodes == 0 ? -1 : hnsw.maxlevel_));
  Append(bytes, static_cast<uint32_t>(nodes == 0 ? kNoEntry : hnsw.enterpoint_node_));
  for (std::size_t i = 0; i < nodes; ++i) {
    const auto node = static_cast<tableint>(i);
    const std::string& id = graph_->node_product[i];
    Append(bytes, static_cast<uint32_t>(id.size()));
    bytes += id;
    const int level = hnsw.element_levels_[i];
    Append(bytes, static_cast<uint32_t>(level));
    for (int layer = 0; layer <= level; ++layer) {
      const uint32_t links = LinkCount(hnsw, node, layer);
      Append(bytes, links);
      bytes.append(reinterpret_cast<const char*>(Links(hnsw, node, layer)),  // NOLINT
                   links * sizeof(tableint));
    }
  }
  const std::size_t vector_bytes = static_cast<std::size_t>(dimension_) * sizeof(float);
  for (std::size_t i = 0; i < nodes; ++i) {
    bytes.append(hnsw.getDataByInternalId(static_cast<tableint>(i)), vector_bytes);
  }
  return bytes;
}

Status HnswCosineIndex::Save(const std::string& path) const {
  return index_file::WriteChecksummedAtomically(path, Serialize());
}

Result<HnswCosineIndex> HnswCosineIndex::Load(const std::string& path) {
  CS_ASSIGN_OR_RETURN(const std::string bytes, index_file::ReadWholeFile(path, kKind));
  return LoadFromBytes(bytes, path);
}

Result<HnswCosineIndex> HnswCosineIndex::LoadFromBytes(std::string_view bytes,
                                                       const std::string& name) {
  CS_ASSIGN_OR_RETURN(const std::string_view body,
                      index_file::VerifiedBody(bytes, name, kHnswIndexMagic, kKind));
  index_file::ByteReader reader(body);
  uint32_t dimension = 0, m = 0, ef_construction = 0, ef_search = 0, entry = 0;
  uint64_t seed = 0, nodes = 0;
  int32_t top_level = 0;
  if (!reader.Read(dimension) || !reader.Read(m) || !reader.Read(ef_construction) ||
      !reader.Read(ef_search) || !reader.Read(seed) || !reader.Read(nodes) ||
      !reader.Read(top_level) || !reader.Read(entry)) {
    return DataLossError(name + ": truncated HNSW index header");
  }
  const HnswParameters parameters{static_cast<int>(std::min<uint32_t>(m, kMaxM + 1)),
                                  static_cast<int>(std::min<uint32_t>(ef_construction, kMaxEf + 1)),
                                  static_cast<int>(std::min<uint32_t>(ef_search, kMaxEf + 1)),
                                  seed};
  const int dim = static_cast<int>(std::min<uint32_t>(dimension, kMaxDimension + 1));
  if (const Status valid = ValidateParameters(dim, parameters); !valid.ok()) {
    return DataLossError(name + ": bad HNSW index header: " + valid.message());
  }
  // Every node takes at least its id length, level and layer-0 link count (12 bytes) and its
  // vector, so a node count the bytes cannot hold is found before anything is allocated for it.
  const std::size_t vector_bytes = static_cast<std::size_t>(dimension) * sizeof(float);
  if (nodes > reader.remaining() / (12 + vector_bytes) || nodes >= kNoEntry) {
    return DataLossError(name + ": HNSW node count " + std::to_string(nodes) +
                         " does not fit the file");
  }
  const auto node_total = static_cast<std::size_t>(nodes);
  if (node_total == 0 ? (top_level != -1 || entry != kNoEntry)
                      : (top_level < 0 || static_cast<uint32_t>(top_level) > kMaxLevel ||
                         entry >= node_total)) {
    return DataLossError(name + ": bad HNSW top level or entry node");
  }

  std::unique_ptr<Graph> graph;
  try {
    graph = std::make_unique<Graph>(dimension, parameters, std::max(node_total, kInitialCapacity));
  } catch (const std::exception& error) {
    return UnavailableError(name + ": cannot allocate the HNSW graph: " + error.what());
  }
  Hnsw& hnsw = graph->hnsw;
  const auto max_links = [&hnsw](int layer) { return layer == 0 ? hnsw.maxM0_ : hnsw.maxM_; };
  graph->node_product.resize(node_total);
  for (std::size_t i = 0; i < node_total; ++i) {
    const auto node = static_cast<tableint>(i);
    const std::string where = name + ": HNSW node " + std::to_string(i);
    uint32_t id_size = 0, level = 0;
    const char* id = nullptr;
    if (!reader.Read(id_size) || !reader.ReadBytes(id_size, &id) || !reader.Read(level)) {
      return DataLossError(where + ": truncated");
    }
    if (level > static_cast<uint32_t>(top_level)) {
      return DataLossError(where + ": level " + std::to_string(level) + " above the top level");
    }
    graph->node_product[i].assign(id, id_size);
    std::memset(hnsw.data_level0_memory_ + i * hnsw.size_data_per_element_, 0,
                hnsw.size_data_per_element_);
    hnsw.setExternalLabel(node, i);
    hnsw.element_levels_[i] = static_cast<int>(level);
    hnsw.linkLists_[i] = nullptr;
    if (level > 0) {
      const std::size_t size = hnsw.size_links_per_element_ * level + 1;
      hnsw.linkLists_[i] = static_cast<char*>(std::malloc(size));  // NOLINT: hnswlib frees it
      if (hnsw.linkLists_[i] == nullptr) {
        hnsw.element_levels_[i] = 0;
        return UnavailableError(where + ": cannot allocate its links");
      }
      std::memset(hnsw.linkLists_[i], 0, size);
    }
    // From here hnswlib's destructor frees this node's links.
    hnsw.cur_element_count = i + 1;
    for (int layer = 0; layer <= static_cast<int>(level); ++layer) {
      uint32_t links = 0;
      const char* data = nullptr;
      if (!reader.Read(links) || links > max_links(layer) ||
          !reader.ReadBytes(links * sizeof(tableint), &data)) {
        return DataLossError(where + ": bad or truncated links on layer " + std::to_string(layer));
      }
      linklistsizeint* list = hnsw.get_linklist_at_level(node, layer);
      hnsw.setListCount(list, static_cast<unsigned short>(links));
      std::memcpy(list + 1, data, links * sizeof(tableint));
    }
  }
  const char* vectors = nullptr;
  if (!reader.ReadBytes(node_total * vector_bytes, &vectors)) {
    return DataLossError(name + ": truncated HNSW vectors");
  }
  if (!reader.AtEnd()) return DataLossError(name + ": trailing bytes after the HNSW vectors");

  // hnswlib trusts its graph: every link must name a node that exists and has the layer.
  for (std::size_t i = 0; i < node_total; ++i) {
    const auto node = static_cast<tableint>(i);
    for (int layer = 0; layer <= hnsw.element_levels_[i]; ++layer) {
      const uint32_t links = LinkCount(hnsw, node, layer);
      const tableint* link = Links(hnsw, node, layer);
      for (uint32_t j = 0; j < links; ++j) {
        if (link[j] >= node_total || link[j] == node || hnsw.element_levels_[link[j]] < layer) {
          return DataLossError(name + ": HNSW node " + std::to_string(i) +
                               " has a bad link to node " + std::to_string(link[j]) + " on layer " +
                               std::to_string(layer) + " (missing, itself, or without that layer)");
        }
      }
    }
    float* vector = reinterpret_cast<float*>(hnsw.getDataByInternalId(node));  // NOLINT
    std::memcpy(vector, vectors + i * vector_bytes, vector_bytes);
    if (!index_file::IsUnitLength(std::span<const float>(vector, dimension))) {
      return DataLossError(name + ": HNSW node " + std::to_string(i) + " is not a unit vector");
    }
    hnsw.label_lookup_[i] = node;
    const std::string& product = graph->node_product[i];
    if (product.empty()) {
      hnsw.markDeletedInternal(node);
      graph->free_nodes.push_back(node);
    } else {
      graph->nodes_of_product[product].push_back(node);
    }
  }
  if (node_total > 0) {
    if (hnsw.element_levels_[entry] != top_level) {
      return DataLossError(name + ": HNSW entry node is not on the top level");
    }
    hnsw.maxlevel_ = top_level;
    hnsw.enterpoint_node_ = entry;
  }
  return HnswCosineIndex(static_cast<int>(dimension), parameters, std::move(graph));
}

}  // namespace cartsense::catalog
