// What the basket reasoner decides, as plain values: basket actions (add, remove, change
// quantity, set weight), shopper prompts and audit flags. The reasoner (src/fusion) emits them;
// the basket ledger (src/basket) records them, in order, and folds the actions into the basket.
// They live in core because fusion sits below basket and both speak them.
//
// Every decision carries the time on the session timeline of the evidence that made it (never
// the wall clock, so a replay writes the same ledger), its probability and the ids of the
// evidence behind it, so that each line of a receipt can be explained from the ledger.
#pragma once

#include <cmath>
#include <cstdint>
#include <string>
#include <vector>

#include "core/time.h"

namespace cartsense {

// Billing arithmetic, here so that the reasoner (which fills unit_price_minor) and the basket
// (which prices lines) share one rule. docs/basket.md, "Prices and rounding".
//
// The weight a weighed line is billed for: net grams rounded to the nearest whole gram (halves
// up). Receipts print this figure. Takes a finite weight within the basket's bounds (0..500 kg).
inline int64_t BillableGrams(double net_weight_g) { return std::llround(net_weight_g); }
// Price of a weighed line: price per kg × billable grams / 1000, rounded to the nearest minor
// unit (halves up), in integer arithmetic so that every machine bills the same.
// 2990/kg × 1234 g = 3689.66 → 3690. Within the basket's bounds (500 kg, 10^9 per kg) the
// product stays below 10^15.
inline int64_t WeighedPriceMinor(int64_t price_per_kg_minor, double net_weight_g) {
  return (price_per_kg_minor * BillableGrams(net_weight_g) + 500) / 1000;
}
// Unit price of produce billed by the piece (below the scale's minimum capacity): one typical
// piece (the catalogue's unit_mass_g) at the per-kg price.
inline int64_t PiecePriceMinor(int64_t price_per_kg_minor, double unit_mass_g) {
  return WeighedPriceMinor(price_per_kg_minor, unit_mass_g);
}

// How a basket line is priced: per unit (packaged goods, or produce billed by the piece), or per
// kg of net weight (produce at or above the scale's minimum capacity).
enum class PricedBy : uint8_t { kUnit, kWeight };

enum class BasketActionKind : uint8_t {
  // kUnit: `quantity` units go in. kWeight: `quantity` pieces (bags) of `net_weight_g` in total.
  kAdd,
  // kUnit: `quantity` units come out. kWeight: `quantity` pieces of `net_weight_g` come out.
  kRemove,
  // The line's quantity becomes `quantity` (0 removes the line); weight and price per kg stay.
  kChangeQuantity,
  // kWeight lines only: the line's net weight becomes `net_weight_g` ± `net_weight_sigma_g`
  // (e.g. re-weighed once settled, or the bag tare corrected).
  kSetWeight,
};

// One change to the basket. The line it applies to is (product_id, priced_by).
struct BasketAction {
  BasketActionKind kind = BasketActionKind::kAdd;
  std::string product_id;  // catalogue product id
  PricedBy priced_by = PricedBy::kUnit;
  int64_t quantity = 0;                   // units, or pieces of produce (see BasketActionKind)
  double net_weight_g = 0;                // kWeight: net grams (bag tare already subtracted)
  double net_weight_sigma_g = 0;          // σ of net_weight_g
  int64_t unit_price_minor = 0;           // from the catalogue: per unit, or per kg for kWeight
  double probability = 1.0;               // the reasoner's belief that this action is right, 0..1
  std::vector<std::string> evidence_ids;  // e.g. "scan:12", "weight:40", "region:3:7"
  Timestamp event_time;                   // session timeline time of the deciding evidence

  friend bool operator==(const BasketAction&, const BasketAction&) = default;
};

enum class PromptKind : uint8_t {
  kPleaseScan,         // an item was placed without a scan and the cart is not sure what it is
  kChooseProduct,      // pick one of `candidate_product_ids` on the screen
  kConfirmRemoval,     // which item was taken out
  kPlaceScannedItem,   // a scan with no placement within the timeout
  kRemoveUnknownItem,  // something not in the catalogue (or the shopper's own) is in the basket
  // which item was put in; if it is sold by weight, lift it out and put it back on its own so
  // that it is weighed alone (produce in a drop with other items)
  kWeighAlone,
};

// A question put to the shopper on the touchscreen.
struct ShopperPrompt {
  std::string prompt_id;  // unique within the session; the shopper's answer names it
  PromptKind kind = PromptKind::kPleaseScan;
  std::vector<std::string> candidate_product_ids;  // best first, for kChooseProduct
  std::string message;                             // the text shown
  double probability = 1.0;  // belief that asking is needed (e.g. 1 - best candidate's)
  std::vector<std::string> evidence_ids;
  Timestamp event_time;

  friend bool operator==(const ShopperPrompt&, const ShopperPrompt&) = default;
};

enum class AuditFlagKind : uint8_t {
  kUnscannedItem,         // a product placed that was not scanned
  kTicketSwitch,          // the placed product contradicts the scanned one
  kScanWithoutPlacement,  // scanned, never placed
  kUnknownItem,           // not in the catalogue, or the shopper's own
  kWeightMismatch,        // the weight contradicts the basket's contents
  kDegradedMode,          // a sensor failed; `message` says which mode the cart is in
};

// Something a store would want to check, e.g. at an attendant's spot check.
struct AuditFlag {
  AuditFlagKind kind = AuditFlagKind::kUnscannedItem;
  std::string product_id;  // the product concerned, "" if none
  std::string message;
  double probability = 1.0;  // belief that the flagged thing happened
  std::vector<std::string> evidence_ids;
  Timestamp event_time;

  friend bool operator==(const AuditFlag&, const AuditFlag&) = default;
};

}  // namespace cartsense
