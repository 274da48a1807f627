#include "basket/basket.h"

#include <cmath>
#include <string>
#include <utility>

#include "core/text.h"

namespace cartsense::basket {
namespace {

// "2 × 'oatly-oat-milk' (by unit)" style naming of an action's line for error messages.
std::string LineName(std::string_view product_id, PricedBy priced_by) {
  return QuoteForMessage(product_id) + " (by " + std::string(ToString(priced_by)) + ")";
}

std::string FormatGrams(double grams) {
  // One decimal is what the load cells resolve; whole grams would hide why a remove was refused.
  const double tenths = std::round(grams * 10.0) / 10.0;
  std::string text = std::to_string(tenths);
  text.erase(text.find('.') + 2);
  return text + " g";
}

Status CheckFiniteWeight(double value, std::string_view field) {
  if (!std::isfinite(value) || value < 0 || value > kMaxNetWeightG) {
    return InvalidArgumentError(std::string(field) + " is " + std::to_string(value) +
                                ", expected 0.." + std::to_string(kMaxNetWeightG));
  }
  return Status::Ok();
}

void UpdateTotal(BasketLine& line) {
  line.total_minor = line.priced_by == PricedBy::kWeight
                         ? WeighedPriceMinor(line.unit_price_minor, line.net_weight_g)
                         : line.quantity * line.unit_price_minor;
}

}  // namespace

Result<int64_t> CataloguePriceMinor(const catalog::Product& product, PricedBy priced_by) {
  if (product.sold_by == catalog::SoldBy::kUnit) {
    if (priced_by == PricedBy::kWeight) {
      return InvalidArgumentError("product " + QuoteForMessage(product.id) +
                                  " is sold by unit and cannot be priced by weight");
    }
    return product.price_minor;
  }
  if (priced_by == PricedBy::kWeight) return product.price_minor;
  return PiecePriceMinor(product.price_minor, product.unit_mass_g);
}

Status CheckAgainstCatalogue(const BasketAction& action, const catalog::Catalogue& catalogue) {
  const catalog::Product* product = catalogue.FindById(action.product_id);
  if (product == nullptr) {
    return NotFoundError("product " + QuoteForMessage(action.product_id) + " is not in catalogue " +
                         catalogue.version());
  }
  CS_ASSIGN_OR_RETURN(const int64_t price, CataloguePriceMinor(*product, action.priced_by));
  if (price != action.unit_price_minor) {
    return InvalidArgumentError(
        "unit_price_minor of " + LineName(action.product_id, action.priced_by) + " is " +
        std::to_string(action.unit_price_minor) + ", the catalogue's is " + std::to_string(price));
  }
  return Status::Ok();
}

Status ValidateAction(const BasketAction& action) {
  const std::string what =
      std::string(ToString(action.kind)) + " of " + LineName(action.product_id, action.priced_by);
  if (action.product_id.empty()) {
    return InvalidArgumentError(std::string(ToString(action.kind)) + ": product_id is empty");
  }
  if (action.quantity < 0 || action.quantity > kMaxQuantity) {
    return InvalidArgumentError(what + ": quantity is " + std::to_string(action.quantity) +
                                ", expected 0.." + std::to_string(kMaxQuantity));
  }
  CS_RETURN_IF_ERROR_CTX(CheckFiniteWeight(action.net_weight_g, "net_weight_g"), what);
  CS_RETURN_IF_ERROR_CTX(CheckFiniteWeight(action.net_weight_sigma_g, "net_weight_sigma_g"), what);
  if (action.unit_price_minor < 0 || action.unit_price_minor > kMaxUnitPriceMinor) {
    return InvalidArgumentError(what + ": unit_price_minor is " +
                                std::to_string(action.unit_price_minor) + ", expected 0.." +
                                std::to_string(kMaxUnitPriceMinor));
  }
  if (!(action.probability >= 0.0 && action.probability <= 1.0)) {
    return InvalidArgumentError(what + ": probability is " + std::to_string(action.probability) +
                                ", expected 0..1");
  }
  const bool weighed = action.priced_by == PricedBy::kWeight;
  const bool has_weight = action.net_weight_g > 0 || action.net_weight_sigma_g > 0;
  switch (action.kind) {
    case BasketActionKind::kAdd:
    case BasketActionKind::kRemove:
      if (action.quantity < 1) return InvalidArgumentError(what + ": quantity must be at least 1");
      if (weighed && action.net_weight_g <= 0) {
        return InvalidArgumentError(what + ": net_weight_g must be above 0 for a weighed line");
      }
      if (!weighed && has_weight) {
        return InvalidArgumentError(what + ": a line priced by unit carries no weight");
      }
      return Status::Ok();
    case BasketActionKind::kChangeQuantity:
      if (has_weight) {
        return InvalidArgumentError(what + ": change_quantity carries no weight (use set_weight)");
      }
      return Status::Ok();
    case BasketActionKind::kSetWeight:
      if (!weighed)
        return InvalidArgumentError(what + ": set_weight needs a line priced by weight");
      if (action.net_weight_g <= 0) {
        return InvalidArgumentError(what + ": net_weight_g must be above 0");
      }
      if (action.quantity != 0) {
        return InvalidArgumentError(what +
                                    ": set_weight carries no quantity (use change_quantity)");
      }
      return Status::Ok();
  }
  return InvalidArgumentError("basket action kind " +
                              std::to_string(static_cast<int>(action.kind)) + " is unknown");
}

std::string_view ToString(BasketActionKind kind) {
  switch (kind) {
    case BasketActionKind::kAdd:
      return "add";
    case BasketActionKind::kRemove:
      return "remove";
    case BasketActionKind::kChangeQuantity:
      return "change_quantity";
    case BasketActionKind::kSetWeight:
      return "set_weight";
  }
  return "unknown";
}

std::string_view ToString(PricedBy priced_by) {
  return priced_by == PricedBy::kWeight ? "weight" : "unit";
}

const BasketLine* Basket::FindLine(std::string_view product_id, PricedBy priced_by) const {
  for (const BasketLine& line : lines_) {
    if (line.product_id == product_id && line.priced_by == priced_by) return &line;
  }
  return nullptr;
}

int64_t Basket::total_minor() const {
  int64_t total = 0;
  for (const BasketLine& line : lines_) total += line.total_minor;
  return total;
}

int64_t Basket::item_count() const {
  int64_t count = 0;
  for (const BasketLine& line : lines_) count += line.quantity;
  return count;
}

Status Basket::Check(const BasketAction& action) const { return Plan(action).status(); }

Status Basket::Apply(const BasketAction& action) {
  CS_ASSIGN_OR_RETURN(Outcome outcome, Plan(action));
  if (outcome.removes_line) {
    lines_.erase(lines_.begin() + static_cast<std::ptrdiff_t>(outcome.index));
  } else if (outcome.index == lines_.size()) {
    lines_.push_back(std::move(outcome.line));
  } else {
    lines_[outcome.index] = std::move(outcome.line);
  }
  return Status::Ok();
}

Result<Basket::Outcome> Basket::Plan(const BasketAction& action) const {
  CS_RETURN_IF_ERROR(ValidateAction(action));
  const std::string what =
      std::string(ToString(action.kind)) + " of " + LineName(action.product_id, action.priced_by);
  Outcome outcome;
  outcome.index = lines_.size();
  for (std::size_t i = 0; i < lines_.size(); ++i) {
    if (lines_[i].product_id == action.product_id && lines_[i].priced_by == action.priced_by) {
      outcome.index = i;
      break;
    }
  }
  const bool exists = outcome.index < lines_.size();
  if (!exists && action.kind != BasketActionKind::kAdd) {
    return FailedPreconditionError(what + ": the product is not in the basket");
  }
  if (exists && lines_[outcome.index].unit_price_minor != action.unit_price_minor) {
    return FailedPreconditionError(
        what + ": unit_price_minor " + std::to_string(action.unit_price_minor) +
        " differs from the line's " + std::to_string(lines_[outcome.index].unit_price_minor));
  }
  BasketLine line;
  if (exists) {
    line = lines_[outcome.index];
  } else {
    line.product_id = action.product_id;
    line.priced_by = action.priced_by;
    line.unit_price_minor = action.unit_price_minor;
  }
  const bool weighed = action.priced_by == PricedBy::kWeight;
  switch (action.kind) {
    case BasketActionKind::kAdd:
      if (line.quantity + action.quantity > kMaxQuantity ||
          line.net_weight_g + action.net_weight_g > kMaxNetWeightG) {
        return OutOfRangeError(what + ": the line would exceed " + std::to_string(kMaxQuantity) +
                               " pieces or " + FormatGrams(kMaxNetWeightG));
      }
      line.quantity += action.quantity;
      if (weighed) {
        line.net_weight_g += action.net_weight_g;
        line.net_weight_sigma_g = std::hypot(line.net_weight_sigma_g, action.net_weight_sigma_g);
      }
      break;
    case BasketActionKind::kRemove:
      if (action.quantity > line.quantity) {
        return FailedPreconditionError(what + ": removes " + std::to_string(action.quantity) +
                                       " but the basket holds " + std::to_string(line.quantity));
      }
      if (action.quantity == line.quantity) {
        // The last pieces leave with whatever weight the line had: a weighed line's residue is
        // measurement noise, not something left in the basket.
        outcome.removes_line = true;
        break;
      }
      if (weighed && action.net_weight_g >= line.net_weight_g) {
        return FailedPreconditionError(what + ": removes " + FormatGrams(action.net_weight_g) +
                                       " of the line's " + FormatGrams(line.net_weight_g) +
                                       " but leaves " +
                                       std::to_string(line.quantity - action.quantity) + " pieces");
      }
      line.quantity -= action.quantity;
      if (weighed) {
        line.net_weight_g -= action.net_weight_g;
        line.net_weight_sigma_g = std::hypot(line.net_weight_sigma_g, action.net_weight_sigma_g);
      }
      break;
    case BasketActionKind::kChangeQuantity:
      if (action.quantity == 0) {
        outcome.removes_line = true;
        break;
      }
      line.quantity = action.quantity;
      break;
    case BasketActionKind::kSetWeight:
      line.net_weight_g = action.net_weight_g;
      line.net_weight_sigma_g = action.net_weight_sigma_g;
      break;
  }
  UpdateTotal(line);
  outcome.line = std::move(line);
  return outcome;
}

}  // namespace cartsense::basket
