#include "basket_text.h"

#include <cstdlib>
#include <iomanip>
#include <sstream>

namespace cartsense::app {

std::string Money(int64_t minor, const std::string& currency) {
  std::ostringstream out;
  out << (minor < 0 ? "-" : "") << std::llabs(minor) / 100 << "." << std::setw(2)
      << std::setfill('0') << std::llabs(minor) % 100 << " " << currency;
  return out.str();
}

void PrintBasket(const basket::Basket& basket, const catalog::Catalogue* catalogue,
                 const std::string& currency, std::ostream& out) {
  for (const basket::BasketLine& line : basket.lines()) {
    const catalog::Product* product =
        catalogue != nullptr ? catalogue->FindById(line.product_id) : nullptr;
    out << "  " << std::setw(3) << line.quantity << " x "
        << (product != nullptr ? product->name : line.product_id);
    if (line.priced_by == PricedBy::kWeight) {
      out << std::fixed << std::setprecision(0) << "  " << line.net_weight_g << " g at "
          << Money(line.unit_price_minor, currency) << "/kg";
    }
    out << "  " << Money(line.total_minor, currency) << "\n";
  }
  out << "  total " << Money(basket.total_minor(), currency) << " (" << basket.item_count()
      << " items)\n";
}

}  // namespace cartsense::app
