#include "vision/model_bundle.h"

#include <algorithm>
#include <cctype>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <vector>

#include <nlohmann/json.hpp>

#include "core/checksum.h"

namespace cartsense {
namespace {

namespace fs = std::filesystem;

// Natural order: digit runs compare as numbers.
bool NaturalLess(const std::string& a, const std::string& b) {
  std::size_t i = 0, j = 0;
  while (i < a.size() && j < b.size()) {
    if (std::isdigit(static_cast<unsigned char>(a[i])) &&
        std::isdigit(static_cast<unsigned char>(b[j]))) {
      std::size_t i2 = i, j2 = j;
      while (i2 < a.size() && std::isdigit(static_cast<unsigned char>(a[i2]))) ++i2;
      while (j2 < b.size() && std::isdigit(static_cast<unsigned char>(b[j2]))) ++j2;
      const std::string na = a.substr(i, i2 - i), nb = b.substr(j, j2 - j);
      const std::string ta = na.substr(std::min(na.find_first_not_of('0'), na.size()));
      const std::string tb = nb.substr(std::min(nb.find_first_not_of('0'), nb.size()));
      if (ta.size() != tb.size()) return ta.size() < tb.size();
      if (ta != tb) return ta < tb;
      i = i2;
      j = j2;
    } else {
      if (a[i] != b[j]) return a[i] < b[j];
      ++i;
      ++j;
    }
  }
  return a.size() - i < b.size() - j;
}

}  // namespace

Result<std::string> FindNewestBundle(const std::string& root) {
  std::error_code error;
  if (!fs::exists(root, error)) return std::string();
  if (!fs::is_directory(root, error)) return NotFoundError(root + " is not a folder");
  std::vector<std::string> versions;
  for (const auto& entry : fs::directory_iterator(root, error)) {
    if (entry.is_directory() && fs::exists(entry.path() / "manifest.json")) {
      versions.push_back(entry.path().filename().string());
    }
  }
  if (versions.empty()) return std::string();
  std::sort(versions.begin(), versions.end(), NaturalLess);
  return (fs::path(root) / versions.back()).string();
}

Result<std::vector<BundleFile>> ParseBundleManifest(std::string_view json_text,
                                                    const std::string& source) {
  const nlohmann::json manifest =
      nlohmann::json::parse(json_text, nullptr, /*allow_exceptions=*/false);
  if (manifest.is_discarded() || !manifest.is_object()) {
    return DataLossError(source + ": not valid JSON");
  }
  std::vector<BundleFile> files;
  const auto listed = manifest.find("files");
  if (listed != manifest.end() && listed->is_object()) {
    for (const auto& [path, value] : listed->items()) {
      if (value.is_string()) {
        files.push_back({path, value.get<std::string>()});
      } else if (value.is_object() && value.contains("sha256") && value["sha256"].is_string()) {
        files.push_back({path, value["sha256"].get<std::string>()});
      } else {
        return DataLossError(source + ": entry '" + path + "' has no sha256");
      }
    }
  } else if (listed != manifest.end() && listed->is_array()) {
    for (const auto& item : *listed) {
      if (!item.is_object() || !item.contains("path") || !item["path"].is_string() ||
          !item.contains("sha256") || !item["sha256"].is_string()) {
        return DataLossError(source + ": a files entry lacks path or sha256");
      }
      files.push_back({item["path"].get<std::string>(), item["sha256"].get<std::string>()});
    }
  } else {
    return DataLossError(source + ": no 'files' list");
  }
  if (files.empty()) return DataLossError(source + ": lists no files");
  for (const BundleFile& file : files) {
    if (file.path.empty() || file.path.find("..") != std::string::npos ||
        fs::path(file.path).is_absolute()) {
      return DataLossError(source + ": file path '" + file.path + "' leaves the bundle");
    }
  }
  return files;
}

Status VerifyBundleChecksums(const std::string& bundle_dir) {
  const fs::path manifest_path = fs::path(bundle_dir) / "manifest.json";
  std::ifstream in(manifest_path, std::ios::binary);
  if (!in) return NotFoundError(manifest_path.string() + ": missing");
  const std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  CS_ASSIGN_OR_RETURN(const std::vector<BundleFile> files,
                      ParseBundleManifest(text, manifest_path.string()));
  for (const BundleFile& file : files) {
    const std::string path = (fs::path(bundle_dir) / file.path).string();
    auto digest = Sha256File(path);
    if (!digest.ok()) return NotFoundError(path + ": listed in the manifest but missing");
    if (*digest != file.sha256) {
      return DataLossError(path + ": sha256 mismatch (the file is corrupt or was replaced)");
    }
  }
  return Status::Ok();
}

}  // namespace cartsense
