#include "catalog/exact_index.h"

#include <algorithm>
#include <array>
#include <cmath>
#include <cstring>
#include <unordered_set>

namespace cartsense::catalog {

namespace {
constexpr std::size_t kLanes = 16;  // independent accumulators: one AVX-512 register of floats
constexpr std::string_view kKind = "exact index";
using index_file::Append;
}  // namespace

#if defined(__x86_64__) && defined(__GNUC__) && !defined(__clang__) && \
    !defined(__SANITIZE_ADDRESS__) && !defined(__SANITIZE_THREAD__)
#define CS_VECTOR_CLONES __attribute__((target_clones("arch=x86-64-v4", "avx2", "default")))
#else
#define CS_VECTOR_CLONES
#endif

namespace {
// One row's dot product: kLanes independent partial sums, then their total.
inline float DotRow(const float* row, const float* query, std::size_t dimension, std::size_t body) {
  std::array<float, kLanes> lanes{};
  for (std::size_t j = 0; j < body; j += kLanes) {
    for (std::size_t lane = 0; lane < kLanes; ++lane) {
      lanes[lane] += row[j + lane] * query[j + lane];
    }
  }
  float sum = 0.0F;
  for (const float lane : lanes) sum += lane;
  for (std::size_t j = body; j < dimension; ++j) sum += row[j] * query[j];
  return sum;
}
}  // namespace

// Four rows per pass with their own accumulators: four independent FMA chains hide the FMA
// latency, and each query load serves four rows.
CS_VECTOR_CLONES
void DotRowsFp32(const float* rows, std::size_t count, std::size_t dimension, const float* query,
                 float* out) {
  const std::size_t body = dimension - dimension % kLanes;
  std::size_t i = 0;
  for (; i + 4 <= count; i += 4) {
    const float* r0 = rows + i * dimension;
    const float* r1 = r0 + dimension;
    const float* r2 = r1 + dimension;
    const float* r3 = r2 + dimension;
    std::array<float, kLanes> a0{}, a1{}, a2{}, a3{};
    for (std::size_t j = 0; j < body; j += kLanes) {
      for (std::size_t lane = 0; lane < kLanes; ++lane) {
        const float q = query[j + lane];
        a0[lane] += r0[j + lane] * q;
        a1[lane] += r1[j + lane] * q;
        a2[lane] += r2[j + lane] * q;
        a3[lane] += r3[j + lane] * q;
      }
    }
    std::array<float, 4> sums{};
    for (std::size_t lane = 0; lane < kLanes; ++lane) {
      sums[0] += a0[lane];
      sums[1] += a1[lane];
      sums[2] += a2[lane];
      sums[3] += a3[lane];
    }
    for (std::size_t j = body; j < dimension; ++j) {
      sums[0] += r0[j] * query[j];
      sums[1] += r1[j] * query[j];
      sums[2] += r2[j] * query[j];
      sums[3] += r3[j] * query[j];
    }
    std::copy(sums.begin(), sums.end(), out + i);
  }
  for (; i < count; ++i) out[i] = DotRow(rows + i * dimension, query, dimension, body);
}

CS_VECTOR_CLONES
void DotRowsInt8(const int8_t* rows, std::size_t count, std::size_t dimension, const int8_t* query,
                 int32_t* out) {
  const std::size_t body = dimension - dimension % kLanes;
  for (std::size_t i = 0; i < count; ++i) {
    const int8_t* row = rows + i * dimension;
    std::array<int32_t, kLanes> lanes{};
    for (std::size_t j = 0; j < body; j += kLanes) {
      for (std::size_t lane = 0; lane < kLanes; ++lane) {
        lanes[lane] += static_cast<int32_t>(row[j + lane]) * static_cast<int32_t>(query[j + lane]);
      }
    }
    int32_t sum = 0;
    for (const int32_t lane : lanes) sum += lane;
    for (std::size_t j = body; j < dimension; ++j) {
      sum += static_cast<int32_t>(row[j]) * static_cast<int32_t>(query[j]);
    }
    out[i] = sum;
  }
}

float QuantizeInt8(std::span<const float> values, int8_t* out) {
  float largest = 0.0F;
  for (const float value : values) largest = std::max(largest, std::fabs(value));
  const float scale = largest > 0.0F ? largest / 127.0F : 1.0F;
  for (std::size_t i = 0; i < values.size(); ++i) {
    const float q = std::nearbyint(values[i] / scale);
    out[i] = static_cast<int8_t>(std::clamp(q, -127.0F, 127.0F));
  }
  return scale;
}

ExactCosineIndex::ExactCosineIndex(int dimension, PrototypePrecision precision)
    : dimension_(std::max(1, dimension)), precision_(precision) {}

Status ExactCosineIndex::Add(const std::string& product_id, std::span<const float> embedding) {
  if (product_id.empty()) return InvalidArgumentError("empty product id");
  CS_ASSIGN_OR_RETURN(const std::vector<float> unit,
                      index_file::Normalized(embedding, dimension_)
                          .WithContext("adding a prototype of " + product_id));
  if (precision_ == PrototypePrecision::kFp32) {
    rows_fp32_.insert(rows_fp32_.end(), unit.begin(), unit.end());
  } else {
    const std::size_t start = rows_int8_.size();
    rows_int8_.resize(start + unit.size());
    row_scales_.push_back(QuantizeInt8(unit, rows_int8_.data() + start));
  }
  ids_.push_back(product_id);
  return Status::Ok();
}

Status ExactCosineIndex::Remove(const std::string& product_id) {
  const auto dim = static_cast<std::size_t>(dimension_);
  std::size_t kept = 0;
  for (std::size_t i = 0; i < ids_.size(); ++i) {
    if (ids_[i] == product_id) continue;
    if (kept != i) {
      ids_[kept] = std::move(ids_[i]);
      if (precision_ == PrototypePrecision::kFp32) {
        std::copy_n(rows_fp32_.begin() + static_cast<std::ptrdiff_t>(i * dim), dim,
                    rows_fp32_.begin() + static_cast<std::ptrdiff_t>(kept * dim));
      } else {
        std::copy_n(rows_int8_.begin() + static_cast<std::ptrdiff_t>(i * dim), dim,
                    rows_int8_.begin() + static_cast<std::ptrdiff_t>(kept * dim));
        row_scales_[kept] = row_scales_[i];
      }
    }
    ++kept;
  }
  if (kept == ids_.size()) return NotFoundError("no prototype of product " + product_id);
  ids_.resize(kept);
  if (precision_ == PrototypePrecision::kFp32) {
    rows_fp32_.resize(kept * dim);
  } else {
    rows_int8_.resize(kept * dim);
    row_scales_.resize(kept);
  }
  return Status::Ok();
}

Result<std::vector<IndexMatch>> ExactCosineIndex::Search(std::span<const float> query,
                                                         int k) const {
  if (k < 1) return InvalidArgumentError("k must be >= 1");
  CS_ASSIGN_OR_RETURN(const std::vector<float> unit,
                      index_file::Normalized(query, dimension_).WithContext("query"));
  const std::size_t count = ids_.size();
  const auto dim = static_cast<std::size_t>(dimension_);
  std::vector<float> scores(count);
  if (precision_ == PrototypePrecision::kFp32) {
    DotRowsFp32(rows_fp32_.data(), count, dim, unit.data(), scores.data());
  } else {
    std::vector<int8_t> quantized(dim);
    const float query_scale = QuantizeInt8(unit, quantized.data());
    std::vector<int32_t> dots(count);
    DotRowsInt8(rows_int8_.data(), count, dim, quantized.data(), dots.data());
    for (std::size_t i = 0; i < count; ++i) {
      scores[i] = static_cast<float>(dots[i]) * row_scales_[i] * query_scale;
    }
  }
  // Ties broken by row order, so results are deterministic.
  auto better = [&scores](std::size_t a, std::size_t b) {
    return scores[a] > scores[b] || (scores[a] == scores[b] && a < b);
  };
  // The best `candidates` rows by one pass with a bounded heap (its top is the worst kept);
  // usually one prototype per product, so 2k rows hold k distinct products. If they do not,
  // double and scan again.
  std::vector<IndexMatch> matches;
  for (std::size_t candidates = std::min(count, static_cast<std::size_t>(k) * 2);;
       candidates = std::min(count, candidates * 2)) {
    std::vector<std::size_t> heap;
    heap.reserve(candidates + 1);
    for (std::size_t i = 0; i < count; ++i) {
      if (heap.size() < candidates) {
        heap.push_back(i);
        std::push_heap(heap.begin(), heap.end(), better);
      } else if (better(i, heap.front())) {
        std::pop_heap(heap.begin(), heap.end(), better);
        heap.back() = i;
        std::push_heap(heap.begin(), heap.end(), better);
      }
    }
    std::sort_heap(heap.begin(), heap.end(), better);
    matches.clear();
    std::unordered_set<std::string_view> seen;
    for (const std::size_t row : heap) {
      if (matches.size() == static_cast<std::size_t>(k)) break;
      if (seen.insert(ids_[row]).second) matches.push_back({ids_[row], scores[row]});
    }
    if (matches.size() == static_cast<std::size_t>(k) || candidates == count) break;
  }
  return matches;
}

std::string ExactCosineIndex::Serialize() const {
  std::string bytes(kExactIndexMagic);
  Append(bytes, static_cast<uint32_t>(dimension_));
  Append(bytes, static_cast<uint32_t>(precision_ == PrototypePrecision::kInt8 ? 1 : 0));
  Append(bytes, static_cast<uint64_t>(ids_.size()));
  for (const std::string& id : ids_) {
    Append(bytes, static_cast<uint32_t>(id.size()));
    bytes += id;
  }
  if (precision_ == PrototypePrecision::kFp32) {
    bytes.append(reinterpret_cast<const char*>(rows_fp32_.data()),  // NOLINT
                 rows_fp32_.size() * sizeof(float));
  } else {
    bytes.append(reinterpret_cast<const char*>(rows_int8_.data()), rows_int8_.size());  // NOLINT
    bytes.append(reinterpret_cast<const char*>(row_scales_.data()),                     // NOLINT
                 row_scales_.size() * sizeof(float));
  }
  return bytes;
}

Status ExactCosineIndex::Save(const std::string& path) const {
  return index_file::WriteChecksummedAtomically(path, Serialize());
}

Result<ExactCosineIndex> ExactCosineIndex::Load(const std::string& path) {
  CS_ASSIGN_OR_RETURN(const std::string bytes, index_file::ReadWholeFile(path, kKind));
  return LoadFromBytes(bytes, path);
}

Result<ExactCosineIndex> ExactCosineIndex::LoadFromBytes(std::string_view bytes,
                                                         const std::string& name) {
  CS_ASSIGN_OR_RETURN(const std::string_view body,
                      index_file::VerifiedBody(bytes, name, kExactIndexMagic, kKind));
  index_file::ByteReader reader(body);
  uint32_t dimension = 0, precision = 0;
  uint64_t count = 0;
  // Each prototype takes at least its id length (4 bytes) and its row, so a count larger than
  // the bytes left is a bad header, found before anything is allocated for it.
  if (!reader.Read(dimension) || !reader.Read(precision) || !reader.Read(count) || dimension == 0 ||
      dimension > (1U << 16) || precision > 1 || count > reader.remaining() / 4) {
    return DataLossError(name + ": bad index header");
  }
  ExactCosineIndex index(static_cast<int>(dimension),
                         precision == 1 ? PrototypePrecision::kInt8 : PrototypePrecision::kFp32);
  const auto rows = static_cast<std::size_t>(count);
  index.ids_.reserve(rows);
  for (std::size_t i = 0; i < rows; ++i) {
    uint32_t size = 0;
    const char* data = nullptr;
    if (!reader.Read(size) || !reader.ReadBytes(size, &data)) {
      return DataLossError(name + ": truncated product ids");
    }
    if (size == 0)
      return DataLossError(name + ": empty product id of prototype " + std::to_string(i));
    index.ids_.emplace_back(data, size);
  }
  const std::size_t values = rows * dimension;
  const char* data = nullptr;
  if (precision == 0) {
    if (!reader.ReadBytes(values * sizeof(float), &data)) {
      return DataLossError(name + ": truncated rows");
    }
    index.rows_fp32_.resize(values);
    // No memcpy for an empty index: data() of an empty vector may be null.
    if (values > 0) std::memcpy(index.rows_fp32_.data(), data, values * sizeof(float));
    for (std::size_t row = 0; row < rows; ++row) {
      if (!index_file::IsUnitLength(
              std::span<const float>(index.rows_fp32_).subspan(row * dimension, dimension))) {
        return DataLossError(name + ": prototype " + std::to_string(row) + " is not a unit vector");
      }
    }
  } else {
    if (!reader.ReadBytes(values, &data)) return DataLossError(name + ": truncated rows");
    index.rows_int8_.resize(values);
    if (values > 0) std::memcpy(index.rows_int8_.data(), data, values);
    if (!reader.ReadBytes(rows * sizeof(float), &data)) {
      return DataLossError(name + ": truncated scales");
    }
    index.row_scales_.resize(rows);
    if (rows > 0) std::memcpy(index.row_scales_.data(), data, rows * sizeof(float));
    // Rows are unit vectors quantized with max |x| -> 127, so a scale is at most 1/127.
    if (!std::all_of(index.row_scales_.begin(), index.row_scales_.end(), [](float scale) {
          return std::isfinite(scale) && scale > 0.0F && scale <= 1.0001F / 127.0F;
        })) {
      return DataLossError(name + ": row scale not in (0, 1/127]");
    }
  }
  if (!reader.AtEnd()) return DataLossError(name + ": trailing bytes after the rows");
  return index;
}

}  // namespace cartsense::catalog
