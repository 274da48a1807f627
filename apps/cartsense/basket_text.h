// A basket as the shopper reads it (cartsense eval --verbose, cartsense basket): prices as
// "12.34 SEK" and one line per product.
#pragma once

#include <cstdint>
#include <ostream>
#include <string>

#include "basket/basket.h"
#include "catalog/catalogue.h"

namespace cartsense::app {

// Two decimals (minor units are hundredths in every currency the catalogue uses so far).
std::string Money(int64_t minor, const std::string& currency);

// "    2 x Arla Mild Vanilla Yoghurt  39.80 SEK" per line (produce with its net grams and price per
// kg), then "  total ... (N items)". Products missing from `catalogue` (nullptr: none) show by
// id.
void PrintBasket(const basket::Basket& basket, const catalog::Catalogue* catalogue,
                 const std::string& currency, std::ostream& out);

}  // namespace cartsense::app
