// The basket: lines per product with quantity, net weight and price, and the total, all in
// integer minor units. It is the fold of the ledger's basket actions (src/basket/ledger.h):
// nothing else changes it, so the basket after a crash is the fold of what was acknowledged.
//
//   Basket basket;
//   CS_RETURN_IF_ERROR(basket.Apply(add_two_milks));     // line milk × 2, 2 × 1590 = 3180
//   CS_RETURN_IF_ERROR(basket.Apply(add_apples_1234g));  // 29.90/kg × 1234 g = 3690 (36.90)
//   basket.total_minor();                                // 6870
//
// Fold rules (docs/basket.md):
//  - a line is (product_id, priced_by); lines keep the order of their first add;
//  - add creates or grows a line; remove, change quantity and set weight need the line, and
//    every action's unit price must equal the line's (the catalogue price it was added at);
//  - an action that cannot apply (removing what is not there, more than is there, a negative or
//    non-finite number) is rejected with a Status naming the product, and changes nothing.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "catalog/catalogue.h"
#include "core/basket_action.h"
#include "core/status.h"

namespace cartsense::basket {

// Bounds on one action, far beyond a real cart, so that every sum and product of them fits
// int64_t without overflow checks downstream.
inline constexpr int64_t kMaxQuantity = 10'000;
inline constexpr double kMaxNetWeightG = 500'000.0;  // 500 kg
inline constexpr int64_t kMaxUnitPriceMinor = 1'000'000'000;

struct BasketLine {
  std::string product_id;
  PricedBy priced_by = PricedBy::kUnit;
  int64_t quantity = 0;           // units, or pieces (bags) of produce
  double net_weight_g = 0;        // kWeight lines: net grams; 0 for kUnit lines
  double net_weight_sigma_g = 0;  // σ of net_weight_g (independent weighings add in quadrature)
  int64_t unit_price_minor = 0;   // per unit, or per kg
  int64_t total_minor = 0;        // the line's price

  friend bool operator==(const BasketLine&, const BasketLine&) = default;
};

// BillableGrams, WeighedPriceMinor and PiecePriceMinor (the rounding rules) are in
// core/basket_action.h, shared with the reasoner.

// The catalogue's price for a line of `product` priced `priced_by`: its price for kUnit
// products and for produce by weight (per kg); produce billed by the piece (below the scale's
// minimum capacity) costs one typical piece, PiecePriceMinor(price per kg, unit_mass_g).
// InvalidArgument for a packaged product priced by weight.
Result<int64_t> CataloguePriceMinor(const catalog::Product& product, PricedBy priced_by);
// The action names a product of `catalogue` and carries its catalogue price.
Status CheckAgainstCatalogue(const BasketAction& action, const catalog::Catalogue& catalogue);

// Checks an action on its own (not against a basket): finite values within the bounds above,
// and the fields its kind needs (see BasketActionKind).
Status ValidateAction(const BasketAction& action);

std::string_view ToString(BasketActionKind kind);
std::string_view ToString(PricedBy priced_by);

class Basket {
 public:
  // OK if Apply(action) would succeed; changes nothing.
  Status Check(const BasketAction& action) const;
  // Applies the action, or changes nothing and says why it cannot apply.
  Status Apply(const BasketAction& action);

  const std::vector<BasketLine>& lines() const { return lines_; }
  const BasketLine* FindLine(std::string_view product_id, PricedBy priced_by) const;
  bool empty() const { return lines_.empty(); }
  // Sum of the lines' prices (each line rounded on its own).
  int64_t total_minor() const;
  // Units plus pieces of produce.
  int64_t item_count() const;

  friend bool operator==(const Basket&, const Basket&) = default;

 private:
  // Where an action lands: the line index (lines_.size() for a new line) and the line after it,
  // or no line when the action empties it.
  struct Outcome {
    std::size_t index = 0;
    bool removes_line = false;
    BasketLine line;
  };
  Result<Outcome> Plan(const BasketAction& action) const;

  std::vector<BasketLine> lines_;
};

}  // namespace cartsense::basket
