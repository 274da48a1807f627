// The store catalogue: every product the cart can sell, with its identifiers, price and weight
// model. One file (data/catalogue/*.csv, documented in docs/catalogue.md) is used by the
// simulator, the reasoner and pricing. Validated on load; errors name the file, row and field.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "core/gtin.h"
#include "core/status.h"

namespace cartsense::catalog {

enum class SoldBy { kUnit, kWeight };  // per piece, or per kg (produce)

// Where a typical mass comes from: printed on the product's information text, or estimated
// (e.g. from a carton's volume and packaging). Estimates are marked as such in the file.
enum class MassSource { kLabel, kEstimated };

struct Product {
  std::string id;      // stable product id, [a-z0-9_-]+ (e.g. "oatly-oat-milk")
  std::string name;    // display name
  int fine_id = -1;    // class id in the recognition model's labels (dataset fine id)
  int coarse_id = -1;  // coarse class id
  std::string coarse_name;
  std::string
      gtin;  // 13-digit GTIN with a valid check digit for packaged goods; "" for loose produce
  std::string plu;  // 4-digit PLU for produce where one exists; "" otherwise
  SoldBy sold_by = SoldBy::kUnit;
  int64_t price_minor = 0;       // per unit, or per kg when sold by weight; integer minor units
  double unit_mass_g = 0;        // typical mass of one piece or pack
  double unit_mass_sigma_g = 0;  // piece-to-piece spread (σ)
  MassSource mass_source = MassSource::kLabel;
  std::string iconic_image;  // path relative to the dataset root, "" if none
};

class Catalogue {
 public:
  // Loads and validates a catalogue file. Errors: "catalogue.csv:12: gtin: check digit is 4,
  // expected 7".
  static Result<Catalogue> Load(const std::string& path);
  // Parses catalogue text (the same format); `source` names it in errors.
  static Result<Catalogue> Parse(std::string_view text, const std::string& source);

  const std::string& version() const { return version_; }    // sha256 of the file's bytes
  const std::string& currency() const { return currency_; }  // ISO 4217, e.g. "SEK"
  const std::vector<Product>& products() const { return products_; }
  const Product* FindById(std::string_view id) const;
  // Also takes UPC-A, UPC-E and GTIN-14 digits (normalized with NormalizeGtin).
  const Product* FindByGtin(std::string_view gtin) const;
  const Product* FindByFineId(int fine_id) const;
  // A PLU (4 or 5 digits, as keyed at a scale); PLUs are unique within a catalogue.
  const Product* FindByPlu(std::string_view plu) const;

  // The catalogue in its file format (header, one row per product, in file order); parses back
  // to the same products. Its sha256 equals version() only when the file was written this way.
  std::string ToCsv() const;

 private:
  std::string version_;
  std::string currency_;
  std::vector<Product> products_;
  std::unordered_map<std::string, std::size_t> by_id_, by_gtin_, by_plu_;
  std::unordered_map<int, std::size_t> by_fine_id_;
};

// The GTIN helpers live in core/gtin.h (the barcode reader in vision, below catalog, needs them).
using cartsense::GtinCheckDigit;
using cartsense::HasValidGtinCheckDigit;
using cartsense::NormalizeGtin;

}  // namespace cartsense::catalog
