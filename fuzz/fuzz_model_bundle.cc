// Fuzz target: the files of a model bundle that the cart parses before it loads a model (outside
// input: bundles are pushed to carts by the fleet): manifest.json and preprocessing.json. The
// first byte picks the parser, the rest is the text. Anything may be rejected; nothing may crash,
// hang or leak, and whatever parses must hold the parser's invariants.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>

#include "vision/model_bundle.h"
#include "vision/preprocessing.h"

namespace {

void Check(bool condition) {
  if (!condition) std::abort();
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace cartsense;
  if (size == 0) return 0;
  const std::string_view text(reinterpret_cast<const char*>(data) + 1, size - 1);
  if (data[0] % 2 == 0) {
    auto files = ParseBundleManifest(text, "fuzz/manifest.json");
    if (!files.ok()) {
      Check(!files.status().message().empty());
      return 0;
    }
    Check(!files->empty());
    for (const BundleFile& file : *files) {
      Check(!file.path.empty() && file.path.front() != '/');
      Check(file.path.find("..") == std::string::npos);
    }
  } else {
    auto spec = ParsePreprocessing(text, "fuzz/preprocessing.json");
    if (!spec.ok()) {
      Check(!spec.status().message().empty());
      return 0;
    }
    Check(spec->input_size_px > 0);
    for (int c = 0; c < 3; ++c) Check(spec->std[static_cast<std::size_t>(c)] != 0.0F);
  }
  return 0;
}
