#include "catalog/embedding_index.h"

#include <cerrno>
#include <cmath>
#include <filesystem>
#include <fstream>
#include <sstream>

#include <fcntl.h>
#include <unistd.h>

#include "catalog/exact_index.h"
#include "catalog/hnsw_index.h"
#include "core/checksum.h"

namespace cartsense::catalog {
namespace index_file {
namespace {
constexpr std::size_t kChecksumHexSize = 64;

Status SyncPath(const std::string& path, bool directory) {
  const int fd = ::open(path.c_str(), directory ? O_RDONLY | O_DIRECTORY : O_RDONLY);  // NOLINT
  if (fd < 0) return UnavailableError(path + ": cannot open to fsync: " + ErrnoMessage(errno));
  const int result = ::fsync(fd);
  const int fsync_errno = errno;
  ::close(fd);
  if (result != 0) return UnavailableError(path + ": fsync failed: " + ErrnoMessage(fsync_errno));
  return Status::Ok();
}

}  // namespace

Result<std::vector<float>> Normalized(std::span<const float> vector, int dimension) {
  if (vector.size() != static_cast<std::size_t>(dimension)) {
    return InvalidArgumentError("embedding has " + std::to_string(vector.size()) +
                                " values, the index " + std::to_string(dimension));
  }
  double sum = 0.0;
  for (const float value : vector) {
    if (!std::isfinite(value)) return InvalidArgumentError("embedding has a non-finite value");
    sum += static_cast<double>(value) * static_cast<double>(value);
  }
  if (sum <= 0.0) return InvalidArgumentError("embedding is all zeros");
  const double inverse = 1.0 / std::sqrt(sum);
  std::vector<float> out(vector.size());
  for (std::size_t i = 0; i < vector.size(); ++i) {
    out[i] = static_cast<float>(static_cast<double>(vector[i]) * inverse);
  }
  return out;
}

bool IsUnitLength(std::span<const float> vector) {
  double sum = 0.0;
  for (const float value : vector) {
    if (!std::isfinite(value)) return false;
    sum += static_cast<double>(value) * static_cast<double>(value);
  }
  return std::fabs(sum - 1.0) < 1e-4;
}

Status WriteChecksummedAtomically(const std::string& path, std::string bytes) {
  namespace fs = std::filesystem;
  bytes += Sha256Hex(bytes);
  const std::string temporary = path + ".tmp";
  {
    std::ofstream file(temporary, std::ios::binary | std::ios::trunc);
    if (!file) return UnavailableError("cannot write " + temporary);
    file.write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
    file.flush();
    if (!file) return UnavailableError("write failed: " + temporary);
  }
  CS_RETURN_IF_ERROR(SyncPath(temporary, false));
  std::error_code error;
  fs::rename(temporary, path, error);
  if (error) return UnavailableError(path + ": rename failed: " + error.message());
  const fs::path parent = fs::path(path).parent_path();
  return SyncPath(parent.empty() ? "." : parent.string(), true);
}

Result<std::string> ReadWholeFile(const std::string& path, std::string_view kind) {
  std::ifstream file(path, std::ios::binary);
  if (!file) return NotFoundError("cannot read " + std::string(kind) + " " + path);
  std::ostringstream buffer;
  buffer << file.rdbuf();
  if (file.bad()) return DataLossError(path + ": read error");
  return std::move(buffer).str();
}

Result<std::string_view> VerifiedBody(std::string_view bytes, const std::string& name,
                                      std::string_view magic, std::string_view kind) {
  const std::string_view prefix = magic.substr(0, magic.size() - 1);
  const bool prefix_matches = bytes.substr(0, prefix.size()) == prefix;
  if (prefix_matches && bytes.size() >= magic.size() && bytes[magic.size() - 1] != magic.back()) {
    return InvalidArgumentError(name + ": unsupported " + std::string(kind) + " format version '" +
                                bytes[magic.size() - 1] + "' (this build reads '" + magic.back() +
                                "')");
  }
  if (!prefix_matches || bytes.size() < magic.size() + kChecksumHexSize) {
    return DataLossError(name + ": not a cartsense " + std::string(kind) +
                         " (bad header or truncated)");
  }
  const std::size_t body = bytes.size() - kChecksumHexSize;
  if (Sha256Hex(bytes.substr(0, body)) != bytes.substr(body)) {
    return DataLossError(name + ": checksum mismatch (corrupt or truncated " + std::string(kind) +
                         ")");
  }
  return bytes.substr(magic.size(), body - magic.size());
}

}  // namespace index_file

Result<std::unique_ptr<EmbeddingIndex>> MakeEmbeddingIndex(int dimension,
                                                           std::size_t expected_prototypes) {
  if (dimension < 1 || dimension > (1 << 16)) {
    return InvalidArgumentError("index dimension must be 1..65536, got " +
                                std::to_string(dimension));
  }
  if (expected_prototypes <= kExactIndexMaxPrototypes) {
    return std::unique_ptr<EmbeddingIndex>(std::make_unique<ExactCosineIndex>(dimension));
  }
  CS_ASSIGN_OR_RETURN(HnswCosineIndex approximate, HnswCosineIndex::Create(dimension));
  return std::unique_ptr<EmbeddingIndex>(std::make_unique<HnswCosineIndex>(std::move(approximate)));
}

Result<std::unique_ptr<EmbeddingIndex>> LoadEmbeddingIndex(const std::string& path) {
  std::ifstream file(path, std::ios::binary);
  if (!file) return NotFoundError("cannot read index " + path);
  std::string head(8, '\0');
  file.read(head.data(), static_cast<std::streamsize>(head.size()));
  head.resize(static_cast<std::size_t>(file.gcount()));
  file.close();
  if (head.starts_with(kExactIndexMagic.substr(0, kExactIndexMagic.size() - 1))) {
    CS_ASSIGN_OR_RETURN(ExactCosineIndex exact, ExactCosineIndex::Load(path));
    return std::unique_ptr<EmbeddingIndex>(std::make_unique<ExactCosineIndex>(std::move(exact)));
  }
  if (head.starts_with(kHnswIndexMagic.substr(0, kHnswIndexMagic.size() - 1))) {
    CS_ASSIGN_OR_RETURN(HnswCosineIndex approximate, HnswCosineIndex::Load(path));
    return std::unique_ptr<EmbeddingIndex>(
        std::make_unique<HnswCosineIndex>(std::move(approximate)));
  }
  return DataLossError(path + ": not a cartsense index (unknown header)");
}

}  // namespace cartsense::catalog
