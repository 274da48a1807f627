// Model bundles on disk: models/recognizer/<version>/ with a manifest.json that lists every
// other file of the bundle with its sha256. A bundle is verified before anything in it is used.
#pragma once

#include <string>

#include "core/status.h"

namespace cartsense {

// The newest bundle folder under `root` (e.g. models/recognizer), by version folder name in
// natural order ("v10" after "v9"); "" when none is installed. NotFound if `root` is not a folder
// but exists as something else.
Result<std::string> FindNewestBundle(const std::string& root);

// Reads <bundle>/manifest.json: {"files": {"<relative path>": {"sha256": "<hex>"}, ...}} (the
// value may also be the hex string itself, or "files" a list of {"path", "sha256"}), and checks
// every listed file. Errors name the file: missing, unreadable, or checksum mismatch.
Status VerifyBundleChecksums(const std::string& bundle_dir);

}  // namespace cartsense
