// Fuzz target: the session manifest parser (outside input: session folders from carts and
// simulators). Anything may be rejected; nothing may crash, hang or leak, and whatever parses
// must print and parse back to the same manifest.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string_view>

#include "session/session_format.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string_view text(reinterpret_cast<const char*>(data), size);
  auto parsed = cartsense::session::ParseManifest(text, "fuzz");
  if (!parsed.ok()) return 0;
  const std::string printed = cartsense::session::ManifestToJson(*parsed);
  auto again = cartsense::session::ParseManifest(printed, "fuzz-reprint");
  if (!again.ok() || cartsense::session::ManifestToJson(*again) != printed) std::abort();
  return 0;
}
