#include "catalog/catalogue.h"

#include <array>
#include <charconv>
#include <cmath>
#include <cstddef>
#include <fstream>
#include <iterator>
#include <limits>
#include <sstream>
#include <system_error>
#include <utility>

#include "core/checksum.h"
#include "core/gtin.h"
#include "core/text.h"

namespace cartsense::catalog {
namespace {

constexpr std::array<std::string_view, 14> kColumns = {
    "product_id",  "name",        "fine_id",     "coarse_id", "coarse_name", "gtin",
    "plu",         "sold_by",     "price_minor", "currency",  "unit_mass_g", "unit_mass_sigma_g",
    "mass_source", "iconic_image"};

enum Column : std::size_t {
  kProductId,
  kName,
  kFineId,
  kCoarseId,
  kCoarseName,
  kGtin,
  kPlu,
  kSoldBy,
  kPriceMinor,
  kCurrency,
  kUnitMassG,
  kUnitMassSigmaG,
  kMassSource,
  kIconicImage,
};

// Errors read "source:line: field: message".
class RowErrors {
 public:
  RowErrors(const std::string& source, std::size_t line) : source_(source), line_(line) {}
  Status At(std::string_view field, std::string_view message) const {
    return InvalidArgumentError(source_ + ":" + std::to_string(line_) + ": " + std::string(field) +
                                ": " + std::string(message));
  }
  Status Row(std::string_view message) const {
    return InvalidArgumentError(source_ + ":" + std::to_string(line_) + ": " +
                                std::string(message));
  }

 private:
  const std::string& source_;
  std::size_t line_;
};

Result<int64_t> ParseNonNegativeInt(std::string_view text, int64_t max, const RowErrors& errors,
                                    std::string_view field) {
  if (!AllDigits(text)) {
    return errors.At(field, "expected a non-negative integer, found " + QuoteForMessage(text));
  }
  int64_t value = 0;
  const auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
  if (ec != std::errc() || end != text.data() + text.size() || value > max) {
    return errors.At(
        field, QuoteForMessage(text) + " is out of range (at most " + std::to_string(max) + ")");
  }
  return value;
}

Result<double> ParseDouble(std::string_view text, const RowErrors& errors, std::string_view field) {
  // Plain decimal only ("180", "1052.5"): from_chars would also take "inf", "nan" and exponents,
  // which no hand-edited catalogue means.
  bool seen_digit = false;
  bool seen_point = false;
  // A sign is read so that a negative mass gets its own error, not "not a number".
  const std::string_view unsigned_part = text.substr(!text.empty() && text[0] == '-' ? 1 : 0);
  for (const char c : unsigned_part) {
    if (IsDigit(c)) {
      seen_digit = true;
    } else if (c == '.' && !seen_point) {
      seen_point = true;
    } else {
      seen_digit = false;
      break;
    }
  }
  double value = 0;
  if (seen_digit) {
    const auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
    if (ec == std::errc() && end == text.data() + text.size() && std::isfinite(value)) {
      return value;
    }
  }
  return errors.At(field, "expected a decimal number of grams, found " + QuoteForMessage(text));
}

Status CheckId(std::string_view id, const RowErrors& errors) {
  if (id.empty()) return errors.At("product_id", "is empty");
  for (const char c : id) {
    const bool ok = (c >= 'a' && c <= 'z') || IsDigit(c) || c == '-' || c == '_';
    if (!ok) {
      return errors.At("product_id", QuoteForMessage(id) + " may hold only a-z, 0-9, '-' and '_'");
    }
  }
  return Status::Ok();
}

Status CheckGtinField(std::string_view gtin, const RowErrors& errors) {
  if (!AllDigits(gtin))
    return errors.At("gtin", "expected 13 digits, found " + QuoteForMessage(gtin));
  if (gtin.size() != 13) {
    std::string hint;
    if (gtin.size() == 12) hint = " (write a UPC-A code as GTIN-13: a leading 0)";
    if (gtin.size() == 8) hint = " (write a UPC-E code as its GTIN-13 expansion)";
    return errors.At("gtin", "expected 13 digits, found " + std::to_string(gtin.size()) + hint);
  }
  const int expected = GtinCheckDigit(gtin.substr(0, 12));
  const int found = gtin.back() - '0';
  if (found != expected) {
    return errors.At("gtin", "check digit is " + std::to_string(found) + ", expected " +
                                 std::to_string(expected));
  }
  return Status::Ok();
}

Status CheckIconicImage(std::string_view path, const RowErrors& errors) {
  if (path.empty()) return Status::Ok();
  if (path.front() == '/' || path.front() == '\\') {
    return errors.At("iconic_image",
                     QuoteForMessage(path) + " must be relative to the dataset root");
  }
  std::size_t start = 0;
  while (start <= path.size()) {
    std::size_t slash = path.find('/', start);
    if (slash == std::string_view::npos) slash = path.size();
    if (path.substr(start, slash - start) == "..") {
      return errors.At("iconic_image", QuoteForMessage(path) + " must not leave the dataset root");
    }
    start = slash + 1;
  }
  for (const char c : path) {
    if (static_cast<unsigned char>(c) < 0x20) {
      return errors.At("iconic_image", QuoteForMessage(path) + " holds a control character");
    }
  }
  return Status::Ok();
}

Status CheckText(std::string_view text, std::string_view field, const RowErrors& errors) {
  if (text.empty()) return errors.At(field, "is empty");
  for (const char c : text) {
    if (static_cast<unsigned char>(c) < 0x20 || c == '"') {
      return errors.At(field, QuoteForMessage(text) + " holds a control character or a quote");
    }
  }
  return Status::Ok();
}

std::string_view SoldByName(SoldBy sold_by) { return sold_by == SoldBy::kWeight ? "kg" : "unit"; }

std::string_view MassSourceName(MassSource source) {
  return source == MassSource::kEstimated ? "estimated" : "label";
}

// Shortest plain decimal (no exponent: the parser takes none) that reads back as the same
// double. Fixed notation of a double needs at most ~330 characters.
std::string FormatGrams(double grams) {
  std::array<char, 512> buffer{};
  const auto [end, ec] =
      std::to_chars(buffer.data(), buffer.data() + buffer.size(), grams, std::chars_format::fixed);
  if (ec != std::errc()) return "0";
  return {buffer.data(), end};
}

}  // namespace

Result<Catalogue> Catalogue::Load(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return NotFoundError("catalogue " + path + ": cannot open");
  std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  if (in.bad()) return DataLossError("catalogue " + path + ": read error");
  return Parse(text, path);
}

Result<Catalogue> Catalogue::Parse(std::string_view text, const std::string& source) {
  Catalogue catalogue;
  catalogue.version_ = Sha256Hex(text);

  std::string_view rest = text;
  // A UTF-8 byte-order mark, as spreadsheet programs write, is not part of the header.
  constexpr std::string_view kBom = "\xEF\xBB\xBF";
  if (rest.substr(0, kBom.size()) == kBom) rest.remove_prefix(kBom.size());

  std::unordered_map<std::string, std::size_t> line_of_plu;
  std::vector<std::size_t> line_of_product;
  std::string first_currency_line;
  std::size_t line_number = 0;
  bool header_seen = false;
  while (!rest.empty()) {
    ++line_number;
    const std::size_t newline = rest.find('\n');
    std::string_view line = rest.substr(0, newline);
    rest = newline == std::string_view::npos ? std::string_view() : rest.substr(newline + 1);
    if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
    const RowErrors errors(source, line_number);

    if (line.empty()) {
      // Only the end of the file may be blank (a trailing newline, or a few).
      if (rest.find_first_not_of("\r\n") == std::string_view::npos) break;
      return errors.Row("blank line inside the catalogue");
    }
    const std::vector<std::string_view> fields = SplitCommas(line);
    if (!header_seen) {
      header_seen = true;
      bool header_ok = fields.size() == kColumns.size();
      for (std::size_t i = 0; header_ok && i < kColumns.size(); ++i) {
        header_ok = fields[i] == kColumns[i];
      }
      if (!header_ok) {
        std::string expected;
        for (const std::string_view column : kColumns) {
          expected += expected.empty() ? "" : ",";
          expected += column;
        }
        return errors.At("header", "expected '" + expected + "', found " + QuoteForMessage(line));
      }
      continue;
    }
    if (fields.size() != kColumns.size()) {
      return errors.Row("expected " + std::to_string(kColumns.size()) + " fields, found " +
                        std::to_string(fields.size()) +
                        " (fields hold no commas; there is no quoting)");
    }

    Product product;
    CS_RETURN_IF_ERROR(CheckId(fields[kProductId], errors));
    product.id = std::string(fields[kProductId]);
    CS_RETURN_IF_ERROR(CheckText(fields[kName], "name", errors));
    product.name = std::string(fields[kName]);
    constexpr int64_t kMaxClassId = 1'000'000;
    CS_ASSIGN_OR_RETURN(const int64_t fine_id,
                        ParseNonNegativeInt(fields[kFineId], kMaxClassId, errors, "fine_id"));
    product.fine_id = static_cast<int>(fine_id);
    CS_ASSIGN_OR_RETURN(const int64_t coarse_id,
                        ParseNonNegativeInt(fields[kCoarseId], kMaxClassId, errors, "coarse_id"));
    product.coarse_id = static_cast<int>(coarse_id);
    CS_RETURN_IF_ERROR(CheckText(fields[kCoarseName], "coarse_name", errors));
    product.coarse_name = std::string(fields[kCoarseName]);

    if (fields[kSoldBy] == "unit") {
      product.sold_by = SoldBy::kUnit;
    } else if (fields[kSoldBy] == "kg") {
      product.sold_by = SoldBy::kWeight;
    } else {
      return errors.At("sold_by",
                       "expected 'unit' or 'kg', found " + QuoteForMessage(fields[kSoldBy]));
    }

    if (!fields[kGtin].empty()) {
      CS_RETURN_IF_ERROR(CheckGtinField(fields[kGtin], errors));
      if (product.sold_by == SoldBy::kWeight) {
        // Goods sold by weight are rung up from the scale (or from a weight-embedded in-store
        // label printed per pack); a fixed GTIN would let a scan charge a fixed unit price.
        return errors.At("gtin", "a product sold by kg has no GTIN of its own");
      }
      product.gtin = std::string(fields[kGtin]);
    }
    if (!fields[kPlu].empty()) {
      const std::string_view plu = fields[kPlu];
      if (!AllDigits(plu) || (plu.size() != 4 && plu.size() != 5)) {
        return errors.At("plu", "expected 4 or 5 digits, found " + QuoteForMessage(plu));
      }
      product.plu = std::string(plu);
    }

    CS_ASSIGN_OR_RETURN(
        product.price_minor,
        ParseNonNegativeInt(fields[kPriceMinor], std::numeric_limits<int64_t>::max(), errors,
                            "price_minor"));

    const std::string_view currency = fields[kCurrency];
    if (currency.size() != 3 || !(currency[0] >= 'A' && currency[0] <= 'Z') ||
        !(currency[1] >= 'A' && currency[1] <= 'Z') ||
        !(currency[2] >= 'A' && currency[2] <= 'Z')) {
      return errors.At("currency",
                       "expected an ISO 4217 code like 'SEK', found " + QuoteForMessage(currency));
    }
    if (catalogue.currency_.empty()) {
      catalogue.currency_ = std::string(currency);
      first_currency_line = std::to_string(line_number);
    } else if (currency != catalogue.currency_) {
      return errors.At("currency", QuoteForMessage(currency) + " differs from " +
                                       QuoteForMessage(catalogue.currency_) + " on line " +
                                       first_currency_line + "; one catalogue, one currency");
    }

    CS_ASSIGN_OR_RETURN(product.unit_mass_g,
                        ParseDouble(fields[kUnitMassG], errors, "unit_mass_g"));
    if (!(product.unit_mass_g > 0)) return errors.At("unit_mass_g", "must be positive");
    CS_ASSIGN_OR_RETURN(product.unit_mass_sigma_g,
                        ParseDouble(fields[kUnitMassSigmaG], errors, "unit_mass_sigma_g"));
    if (product.unit_mass_sigma_g < 0)
      return errors.At("unit_mass_sigma_g", "must not be negative");
    product.unit_mass_sigma_g += 0.0;  // -0 reads as 0

    if (fields[kMassSource] == "label") {
      product.mass_source = MassSource::kLabel;
    } else if (fields[kMassSource] == "estimated") {
      product.mass_source = MassSource::kEstimated;
    } else {
      return errors.At("mass_source", "expected 'label' or 'estimated', found " +
                                          QuoteForMessage(fields[kMassSource]));
    }
    CS_RETURN_IF_ERROR(CheckIconicImage(fields[kIconicImage], errors));
    product.iconic_image = std::string(fields[kIconicImage]);

    const std::size_t index = catalogue.products_.size();
    if (const auto [it, inserted] = catalogue.by_id_.emplace(product.id, index); !inserted) {
      return errors.At("product_id", QuoteForMessage(product.id) + " is already used on line " +
                                         std::to_string(line_of_product[it->second]));
    }
    if (const auto [it, inserted] = catalogue.by_fine_id_.emplace(product.fine_id, index);
        !inserted) {
      return errors.At("fine_id", std::to_string(product.fine_id) + " is already used on line " +
                                      std::to_string(line_of_product[it->second]));
    }
    if (!product.gtin.empty()) {
      if (const auto [it, inserted] = catalogue.by_gtin_.emplace(product.gtin, index); !inserted) {
        return errors.At("gtin", product.gtin + " is already used on line " +
                                     std::to_string(line_of_product[it->second]));
      }
    }
    if (!product.plu.empty()) {
      if (const auto [it, inserted] = line_of_plu.emplace(product.plu, line_number); !inserted) {
        return errors.At("plu",
                         product.plu + " is already used on line " + std::to_string(it->second));
      }
      catalogue.by_plu_.emplace(product.plu, index);
    }
    catalogue.products_.push_back(std::move(product));
    line_of_product.push_back(line_number);
  }
  if (!header_seen) return InvalidArgumentError(source + ":1: header: the file is empty");
  if (catalogue.products_.empty()) {
    return InvalidArgumentError(source + ": the catalogue has no products");
  }
  return catalogue;
}

const Product* Catalogue::FindById(std::string_view id) const {
  const auto it = by_id_.find(std::string(id));
  return it == by_id_.end() ? nullptr : &products_[it->second];
}

const Product* Catalogue::FindByGtin(std::string_view gtin) const {
  auto it = by_gtin_.find(std::string(gtin));
  if (it == by_gtin_.end()) {
    // A scanner may hand over UPC-A, UPC-E or GTIN-14 digits; the catalogue holds GTIN-13.
    const Result<std::string> normalized = NormalizeGtin(gtin);
    if (!normalized.ok() || *normalized == gtin) return nullptr;
    it = by_gtin_.find(*normalized);
    if (it == by_gtin_.end()) return nullptr;
  }
  return &products_[it->second];
}

const Product* Catalogue::FindByFineId(int fine_id) const {
  const auto it = by_fine_id_.find(fine_id);
  return it == by_fine_id_.end() ? nullptr : &products_[it->second];
}

const Product* Catalogue::FindByPlu(std::string_view plu) const {
  const auto it = by_plu_.find(std::string(plu));
  return it == by_plu_.end() ? nullptr : &products_[it->second];
}

std::string Catalogue::ToCsv() const {
  std::ostringstream out;
  for (std::size_t i = 0; i < kColumns.size(); ++i) out << (i == 0 ? "" : ",") << kColumns[i];
  out << '\n';
  for (const Product& p : products_) {
    out << p.id << ',' << p.name << ',' << p.fine_id << ',' << p.coarse_id << ',' << p.coarse_name
        << ',' << p.gtin << ',' << p.plu << ',' << SoldByName(p.sold_by) << ',' << p.price_minor
        << ',' << currency_ << ',' << FormatGrams(p.unit_mass_g) << ','
        << FormatGrams(p.unit_mass_sigma_g) << ',' << MassSourceName(p.mass_source) << ','
        << p.iconic_image << '\n';
  }
  return out.str();
}

}  // namespace cartsense::catalog
