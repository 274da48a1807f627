// Fuzz target: the store catalogue parser (outside input: catalogue files pushed to carts from
// the store's systems). Anything may be rejected; nothing may crash, hang or leak, and whatever
// parses must hold the loader's invariants and print and parse back to the same catalogue.
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string_view>

#include "catalog/catalogue.h"

namespace {

void Check(bool condition) {
  if (!condition) std::abort();
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using cartsense::catalog::Catalogue;
  using cartsense::catalog::Product;
  using cartsense::catalog::SoldBy;
  const std::string_view text(reinterpret_cast<const char*>(data), size);
  auto parsed = Catalogue::Parse(text, "fuzz");
  if (!parsed.ok()) {
    Check(!parsed.status().message().empty());
    return 0;
  }
  const Catalogue& catalogue = *parsed;
  Check(!catalogue.products().empty());
  Check(catalogue.version().size() == 64);
  Check(catalogue.currency().size() == 3);
  for (const Product& p : catalogue.products()) {
    Check(!p.id.empty() && !p.name.empty() && !p.coarse_name.empty());
    Check(p.fine_id >= 0 && p.coarse_id >= 0);
    Check(catalogue.FindById(p.id) == &p);
    Check(catalogue.FindByFineId(p.fine_id) == &p);
    if (!p.gtin.empty()) {
      Check(p.gtin.size() == 13 && cartsense::catalog::HasValidGtinCheckDigit(p.gtin));
      Check(p.sold_by == SoldBy::kUnit);
      Check(catalogue.FindByGtin(p.gtin) == &p);
    }
    if (!p.plu.empty()) {
      Check(p.plu.size() == 4 || p.plu.size() == 5);
      Check(catalogue.FindByPlu(p.plu) == &p);
    }
    Check(p.price_minor >= 0);
    Check(std::isfinite(p.unit_mass_g) && p.unit_mass_g > 0);
    Check(std::isfinite(p.unit_mass_sigma_g) && p.unit_mass_sigma_g >= 0);
  }
  const std::string printed = catalogue.ToCsv();
  auto again = Catalogue::Parse(printed, "fuzz-reprint");
  if (!again.ok() || again->ToCsv() != printed ||
      again->products().size() != catalogue.products().size()) {
    std::abort();
  }
  return 0;
}
