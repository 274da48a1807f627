// `cartsense basket --ledger FILE [--json] [--catalogue CSV]`: opens a basket ledger
// (basket/ledger.h; written by the cart, or by `cartsense eval --ledger-dir`), which checks its
// integrity (SQLite integrity check, schema, SHA-256 record chain, the fold), and prints the
// basket it holds with totals and its record counts. A damaged ledger is exit 1 with the reason.
#include <iostream>
#include <memory>
#include <string>

#include <nlohmann/json.hpp>

#include "basket/basket.h"
#include "basket/ledger.h"
#include "basket_text.h"
#include "catalog/catalogue.h"
#include "commands.h"
#include "paths.h"

namespace cartsense::app {
namespace {

struct BasketCommandOptions {
  std::string ledger;
  std::string catalogue;
  bool json = false;
};

int RunBasket(const BasketCommandOptions& options) {
  // The catalogue only names the products; a ledger carries its own prices.
  const std::string catalogue_path = options.catalogue.empty()
                                         ? DefaultRepoPath("data/catalogue/grocery-store-81.csv")
                                         : options.catalogue;
  auto catalogue = catalog::Catalogue::Load(catalogue_path);
  if (!catalogue.ok() && !options.catalogue.empty()) {
    std::cerr << "cartsense basket: " << catalogue.status().ToString() << "\n";
    return kExitUnavailable;
  }
  auto ledger = basket::Ledger::OpenExisting(options.ledger);
  if (!ledger.ok()) {
    std::cerr << "cartsense basket: " << ledger.status().ToString() << "\n";
    return ledger.status().code() == StatusCode::kNotFound ? kExitUnavailable : kExitProblemFound;
  }
  int64_t actions = 0;
  int64_t prompts = 0;
  int64_t flags = 0;
  for (const basket::LedgerRecord& record : (*ledger)->records()) {
    if (std::holds_alternative<BasketAction>(record.entry)) ++actions;
    if (std::holds_alternative<ShopperPrompt>(record.entry)) ++prompts;
    if (std::holds_alternative<AuditFlag>(record.entry)) ++flags;
  }
  const basket::LedgerSession& session = (*ledger)->session();
  const basket::Basket& basket = (*ledger)->basket();
  if (options.json) {
    nlohmann::ordered_json out;
    out["ledger"] = options.ledger;
    out["session_id"] = session.session_id;
    out["catalogue_version"] = session.catalogue_version;
    out["currency"] = session.currency;
    out["records"] = (*ledger)->records().size();
    out["actions"] = actions;
    out["prompts"] = prompts;
    out["flags"] = flags;
    nlohmann::ordered_json lines = nlohmann::ordered_json::array();
    for (const basket::BasketLine& line : basket.lines()) {
      lines.push_back({{"product_id", line.product_id},
                       {"priced_by", std::string(basket::ToString(line.priced_by))},
                       {"quantity", line.quantity},
                       {"net_weight_g", line.net_weight_g},
                       {"unit_price_minor", line.unit_price_minor},
                       {"total_minor", line.total_minor}});
    }
    out["lines"] = lines;
    out["items"] = basket.item_count();
    out["total_minor"] = basket.total_minor();
    std::cout << out.dump(2) << "\n";
    return kExitOk;
  }
  std::cout << "ledger " << options.ledger << ": session " << session.session_id << ", "
            << (*ledger)->records().size() << " records (" << actions << " actions, " << prompts
            << " prompts, " << flags << " flags), integrity checked\n";
  PrintBasket(basket, catalogue.ok() ? &*catalogue : nullptr, session.currency, std::cout);
  return kExitOk;
}

}  // namespace

void RegisterBasketCommands(CLI::App& app, CommandAction& action) {
  auto options = std::make_shared<BasketCommandOptions>();
  CLI::App* command = app.add_subcommand(
      "basket", "check a basket ledger and print the basket it holds, with totals");
  command->add_option("--ledger", options->ledger, "ledger file (SQLite)")->required();
  command->add_option("--catalogue", options->catalogue,
                      "catalogue CSV for product names (default: the shipped one)");
  command->add_flag("--json", options->json, "one JSON object");
  command->callback([options, &action] { action.run = [options] { return RunBasket(*options); }; });
}

}  // namespace cartsense::app
