// SHA-256 of bytes and files (libsodium), as lower-case hex. Used to verify model bundles,
// session files and catalogue indexes before they are trusted.
#pragma once

#include <string>
#include <string_view>

#include "core/status.h"

namespace cartsense {

std::string Sha256Hex(std::string_view bytes);
// Streams the file; NotFound if it cannot be opened, DataLoss on a read error.
Result<std::string> Sha256File(const std::string& path);

}  // namespace cartsense
