#include "core/gtin.h"

#include "core/text.h"

namespace cartsense {

int GtinCheckDigit(std::string_view digits_without_check) {
  if (!AllDigits(digits_without_check)) return -1;
  // GS1 mod 10: weights 3, 1, 3, ... from the rightmost digit (the one next to the check digit).
  int sum = 0;
  int weight = 3;
  for (auto it = digits_without_check.rbegin(); it != digits_without_check.rend(); ++it) {
    sum += (*it - '0') * weight;
    weight = 4 - weight;
  }
  return (10 - sum % 10) % 10;
}

bool HasValidGtinCheckDigit(std::string_view digits) {
  const std::size_t n = digits.size();
  if (n != 8 && n != 12 && n != 13 && n != 14) return false;
  if (!AllDigits(digits)) return false;
  return GtinCheckDigit(digits.substr(0, n - 1)) == digits.back() - '0';
}

Result<std::string> ExpandUpcE(std::string_view upc_e) {
  if (upc_e.size() != 8 || !AllDigits(upc_e) || (upc_e[0] != '0' && upc_e[0] != '1')) {
    return InvalidArgumentError("UPC-E " + QuoteForMessage(upc_e) +
                                ": expected 8 digits starting with 0 or 1");
  }
  // Zero suppression: the last of the six digits says where the manufacturer's zeros went.
  const std::string_view d = upc_e.substr(1, 6);
  std::string manufacturer;
  std::string item;
  switch (d[5]) {
    case '0':
    case '1':
    case '2':
      manufacturer = std::string{d[0], d[1], d[5], '0', '0'};
      item = std::string{'0', '0', d[2], d[3], d[4]};
      break;
    case '3':
      manufacturer = std::string{d[0], d[1], d[2], '0', '0'};
      item = std::string{'0', '0', '0', d[3], d[4]};
      break;
    case '4':
      manufacturer = std::string{d[0], d[1], d[2], d[3], '0'};
      item = std::string{'0', '0', '0', '0', d[4]};
      break;
    default:
      manufacturer = std::string(d.substr(0, 5));
      item = std::string{'0', '0', '0', '0', d[5]};
      break;
  }
  return std::string(1, upc_e[0]) + manufacturer + item + std::string(1, upc_e[7]);
}

Result<std::string> NormalizeGtin(std::string_view digits) {
  if (!AllDigits(digits)) {
    return InvalidArgumentError("GTIN " + QuoteForMessage(digits) + ": expected digits only");
  }
  switch (digits.size()) {
    case 8: {
      // Eight digits are either UPC-E or EAN-8; the symbology is not in the digits. UPC-E has
      // number system 0 or 1 and its check digit is that of the expanded UPC-A; take that reading
      // first, else EAN-8.
      if (const Result<std::string> upc_a = ExpandUpcE(digits);
          upc_a.ok() && HasValidGtinCheckDigit(*upc_a)) {
        return "0" + *upc_a;
      }
      if (HasValidGtinCheckDigit(digits)) return std::string(digits);
      return InvalidArgumentError("GTIN " + QuoteForMessage(digits) +
                                  ": check digit is wrong for both UPC-E and EAN-8");
    }
    case 12:
    case 13:
    case 14: {
      if (!HasValidGtinCheckDigit(digits)) {
        const int expected = GtinCheckDigit(digits.substr(0, digits.size() - 1));
        return InvalidArgumentError("GTIN " + QuoteForMessage(digits) + ": check digit is " +
                                    std::string(1, digits.back()) + ", expected " +
                                    std::to_string(expected));
      }
      if (digits.size() == 12) return "0" + std::string(digits);
      if (digits.size() == 14) {
        if (digits[0] != '0') {
          return InvalidArgumentError("GTIN " + QuoteForMessage(digits) +
                                      ": a GTIN-14 with indicator digit " +
                                      std::string(1, digits[0]) + " names a case, not an item");
        }
        return std::string(digits.substr(1));
      }
      return std::string(digits);
    }
    default:
      return InvalidArgumentError("GTIN " + QuoteForMessage(digits) +
                                  ": expected 8, 12, 13 or 14 digits, found " +
                                  std::to_string(digits.size()));
  }
}

}  // namespace cartsense
