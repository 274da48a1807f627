// Model bundles on disk: models/recognizer/<version>/ with a manifest.json that lists every
// other file of the bundle with its sha256. A bundle is verified before anything in it is used.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "core/status.h"

namespace cartsense {

// The newest bundle folder under `root` (e.g. models/recognizer), by version folder name in
// natural order ("v10" after "v9"); "" when none is installed. NotFound if `root` is not a folder
// but exists as something else.
Result<std::string> FindNewestBundle(const std::string& root);

// One file a bundle's manifest lists: its path inside the bundle and its expected sha256 (hex).
struct BundleFile {
  std::string path;
  std::string sha256;
};

// Parses the text of a manifest.json (format below; `source` names it in errors). DataLoss when it
// is not a JSON object, lists no files, has an entry without a sha256 string, or names a path that
// is empty, absolute or leaves the bundle ("..").
Result<std::vector<BundleFile>> ParseBundleManifest(std::string_view json_text,
                                                    const std::string& source);

// Reads <bundle>/manifest.json: {"files": {"<relative path>": {"sha256": "<hex>"}, ...}} (the
// value may also be the hex string itself, or "files" a list of {"path", "sha256"}), and checks
// every listed file. Errors name the file: missing, unreadable, or checksum mismatch.
Status VerifyBundleChecksums(const std::string& bundle_dir);

}  // namespace cartsense
