// Fuzz target: the recognizer's parsers of outside input (split files given to
// eval-recognition; labels.json, prototypes.json and open_set.json of a model bundle pushed to
// carts). The first byte picks the parser, the rest is the text. Anything may be rejected;
// nothing may crash, hang or leak, and whatever parses must hold the parser's invariants.
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string_view>

#include "catalog/recognizer.h"

namespace {

void Check(bool condition) {
  if (!condition) std::abort();
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace cartsense::catalog;
  if (size == 0) return 0;
  const std::string_view text(reinterpret_cast<const char*>(data) + 1, size - 1);
  switch (data[0] % 4) {
    case 0: {
      auto photos = ParseSplit(text, "/base", "fuzz");
      if (!photos.ok()) {
        Check(!photos.status().message().empty());
        return 0;
      }
      Check(!photos->empty());
      for (const SplitPhoto& photo : *photos) {
        Check(photo.fine_id >= 0 && photo.coarse_id >= 0 && !photo.path.empty());
      }
      break;
    }
    case 1: {
      auto products = ParseBundleLabels(text, "fuzz");
      if (!products.ok()) {
        Check(!products.status().message().empty());
        return 0;
      }
      for (std::size_t i = 0; i < products->size(); ++i) {
        Check((*products)[i].fine_id == static_cast<int>(i) && !(*products)[i].name.empty());
      }
      break;
    }
    case 2: {
      auto prototypes = ParseBundlePrototypes(text, "fuzz");
      if (!prototypes.ok()) {
        Check(!prototypes.status().message().empty());
        return 0;
      }
      Check(prototypes->dimension > 0 && prototypes->count() > 0);
      Check(prototypes->rows.size() == prototypes->count() * prototypes->dimension);
      break;
    }
    default: {
      auto calibration = ParseOpenSetCalibration(text, "fuzz");
      if (!calibration.ok()) {
        Check(!calibration.status().message().empty());
        return 0;
      }
      Check(calibration->threshold > 0.0 && calibration->threshold <= 1.0);
      const double p = calibration->NotInCatalogueProbability(0.5, 0.1);
      Check(std::isnan(p) || (p >= 0.0 && p <= 1.0));
      break;
    }
  }
  return 0;
}
