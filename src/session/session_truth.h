// truth.json of a session (docs/session-format.md, docs/simulator.md), as the evaluations read
// it: every shopper action with its behaviour tag, and the final basket.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "core/status.h"
#include "core/time.h"

namespace cartsense::session {

// truth.json, as far as the evaluation reads it.
struct TruthEvent {
  Timestamp t;                      // the action's time (for place and remove: the hand touches)
  std::string kind;                 // scan, place, remove, choose_product, bump, push, lean, ...
  std::string product_id;           // "" for personal items and cart events
  std::string behaviour;            // the simulator's behaviour tag
  std::optional<Timestamp> settle;  // place and remove: the physical settle
  double mass_g = 0;
  int pieces = 1;
  bool scanned = false;
  bool personal = false;
};

struct TruthLine {
  std::string product_id;
  int64_t quantity = 0;
  double mass_g = 0;
};

struct SessionTruth {
  std::vector<TruthEvent> events;  // in time order
  std::vector<TruthLine> final_basket;
  int personal_items_left = 0;
};

// Parses truth.json; errors name `source` and the field.
Result<SessionTruth> ParseTruth(const std::string& json_text, const std::string& source);

}  // namespace cartsense::session
