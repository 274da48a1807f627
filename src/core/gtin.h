// GTIN helpers (GS1 General Specifications): the mod-10 check digit, UPC-E zero suppression, and
// normalisation to the forms the catalogue keys on. Here in core because both the barcode reader
// (vision) and the catalogue (above it) need them.
//
//   HasValidGtinCheckDigit("4006381333931")  -> true
//   NormalizeGtin("036000291452")            -> "0036000291452"  (UPC-A as GTIN-13)
//   ExpandUpcE("04252614")                   -> "042100005264"   (the UPC-A it abbreviates)
#pragma once

#include <string>
#include <string_view>

#include "core/status.h"

namespace cartsense {

// The GS1 mod-10 check digit of `digits_without_check`; -1 if it is empty or not all digits.
int GtinCheckDigit(std::string_view digits_without_check);

// 8, 12, 13 or 14 digits whose last digit is the check digit of the others.
bool HasValidGtinCheckDigit(std::string_view digits);

// UPC-E (number system, six digits, check digit: 8 digits) to the 12-digit UPC-A it abbreviates.
// Does not check the check digit. Errors for anything but 8 digits with number system 0 or 1.
Result<std::string> ExpandUpcE(std::string_view upc_e);

// UPC-A (12) and UPC-E (8, number system 0/1) expanded to GTIN-13; EAN-13 as is; EAN-8 as is;
// GTIN-14 with indicator 0 as its GTIN-13. Eight digits are read as UPC-E first, as EAN-8 when
// the UPC-E reading's check digit fails (a reader that knows the symbology should not guess).
Result<std::string> NormalizeGtin(std::string_view digits);

}  // namespace cartsense
