// A seeded stream of ledger entries that always applies (adds, removes, quantity changes,
// produce weights, prompts and flags), shared by the crash test and its writer process so both
// know entry N without talking to each other.
#pragma once

#include <cstdint>
#include <random>
#include <string>
#include <vector>

#include "basket/basket.h"
#include "basket/ledger.h"

namespace cartsense::basket::testing {

inline LedgerSession WorkloadSession(uint64_t seed) {
  return {"crash-test-" + std::to_string(seed), "test-catalogue", "SEK"};
}

inline std::vector<LedgerEntry> MakeWorkload(uint64_t seed, int count) {
  struct Product {
    const char* id;
    PricedBy priced_by;
    int64_t price_minor;
  };
  static constexpr Product kProducts[] = {
      {"arla-standard-milk", PricedBy::kUnit, 1590}, {"oatly-oat-milk", PricedBy::kUnit, 2490},
      {"yoggi-yoghurt", PricedBy::kUnit, 2790},      {"granny-smith", PricedBy::kWeight, 3490},
      {"banana", PricedBy::kWeight, 2490},           {"banana", PricedBy::kUnit, 374},
  };
  std::mt19937_64 random(seed);
  const auto uniform = [&random](int64_t low, int64_t high) {
    return std::uniform_int_distribution<int64_t>(low, high)(random);
  };
  Basket shadow;
  std::vector<LedgerEntry> entries;
  int64_t time_ns = 1'000'000'000;
  while (static_cast<int>(entries.size()) < count) {
    time_ns += uniform(1, 2'000) * 1'000'000;
    const std::string evidence = "weight:" + std::to_string(entries.size());
    const int64_t roll = uniform(0, 99);
    if (roll >= 90) {
      if (roll >= 95) {
        AuditFlag flag;
        flag.kind = roll % 2 == 0 ? AuditFlagKind::kUnscannedItem : AuditFlagKind::kTicketSwitch;
        flag.product_id = kProducts[uniform(0, 5)].id;
        flag.message = "seeded flag";
        flag.probability = static_cast<double>(uniform(50, 100)) / 100.0;
        flag.evidence_ids = {evidence};
        flag.event_time = Timestamp::FromNanoseconds(time_ns);
        entries.emplace_back(flag);
      } else {
        ShopperPrompt prompt;
        prompt.prompt_id = "prompt-" + std::to_string(entries.size());
        prompt.kind = PromptKind::kChooseProduct;
        prompt.candidate_product_ids = {kProducts[0].id, kProducts[1].id};
        prompt.message = "Which one did you put in?";
        prompt.probability = 0.6;
        prompt.evidence_ids = {evidence, "region:1:" + std::to_string(entries.size())};
        prompt.event_time = Timestamp::FromNanoseconds(time_ns);
        entries.emplace_back(prompt);
      }
      continue;
    }
    BasketAction action;
    action.probability = static_cast<double>(uniform(80, 100)) / 100.0;
    action.evidence_ids = {evidence};
    action.event_time = Timestamp::FromNanoseconds(time_ns);
    const bool take_existing = roll >= 45 && !shadow.empty();
    if (take_existing) {
      const BasketLine line = shadow.lines()[static_cast<std::size_t>(
          uniform(0, static_cast<int64_t>(shadow.lines().size()) - 1))];
      action.product_id = line.product_id;
      action.priced_by = line.priced_by;
      action.unit_price_minor = line.unit_price_minor;
      const bool weighed = line.priced_by == PricedBy::kWeight;
      if (roll < 70) {
        action.kind = BasketActionKind::kRemove;
        action.quantity = uniform(1, line.quantity);
        if (weighed) {
          action.net_weight_sigma_g = 1.5;
          // The last pieces take the whole weight; fewer take a part of it.
          action.net_weight_g = action.quantity == line.quantity
                                    ? line.net_weight_g
                                    : line.net_weight_g * static_cast<double>(action.quantity) /
                                          static_cast<double>(line.quantity + 1);
        }
      } else if (roll < 80 || !weighed) {
        action.kind = BasketActionKind::kChangeQuantity;
        action.quantity = uniform(0, 4);
      } else {
        action.kind = BasketActionKind::kSetWeight;
        action.net_weight_g = static_cast<double>(uniform(1'000, 30'000)) / 10.0;
        action.net_weight_sigma_g = 2.0;
      }
    } else {
      const Product& product = kProducts[uniform(0, 5)];
      action.kind = BasketActionKind::kAdd;
      action.product_id = product.id;
      action.priced_by = product.priced_by;
      action.unit_price_minor = product.price_minor;
      action.quantity = uniform(1, 3);
      if (product.priced_by == PricedBy::kWeight) {
        action.net_weight_g = static_cast<double>(uniform(1'000, 15'000)) / 10.0;
        action.net_weight_sigma_g = 2.0;
      }
    }
    if (!shadow.Apply(action).ok()) continue;  // not expected; keeps the stream applicable
    entries.emplace_back(action);
  }
  return entries;
}

}  // namespace cartsense::basket::testing
