#include "session/session_truth.h"

#include <algorithm>
#include <cmath>
#include <utility>

#include <nlohmann/json.hpp>

namespace cartsense::session {
namespace {

constexpr double kMaxPieces = 10'000;
constexpr double kMaxSessionS = 1e6;  // 11 days: far beyond any shopping trip

}  // namespace

Result<SessionTruth> ParseTruth(const std::string& json_text, const std::string& source) {
  nlohmann::json root = nlohmann::json::parse(json_text, nullptr, false);
  if (root.is_discarded() || !root.is_object()) {
    return InvalidArgumentError(source + ": not a JSON object");
  }
  SessionTruth truth;
  const auto number = [&](const nlohmann::json& object, const char* key,
                          double fallback) -> Result<double> {
    if (!object.contains(key)) return fallback;
    if (!object[key].is_number()) {
      return InvalidArgumentError(source + ": " + key + " must be a number");
    }
    const double value = object[key].get<double>();
    if (!std::isfinite(value)) return InvalidArgumentError(source + ": " + key + " not finite");
    return value;
  };
  if (!root.contains("actions") || !root["actions"].is_array()) {
    return InvalidArgumentError(source + ": actions must be an array");
  }
  for (const nlohmann::json& action : root["actions"]) {
    if (!action.is_object() || !action.contains("t_ns") || !action["t_ns"].is_number_integer() ||
        !action.contains("kind") || !action["kind"].is_string()) {
      return InvalidArgumentError(source + ": every action needs an integer t_ns and a kind");
    }
    TruthEvent event;
    event.t = Timestamp{action["t_ns"].get<int64_t>()};
    if (event.t.ns < 0) return InvalidArgumentError(source + ": t_ns must not be negative");
    event.kind = action["kind"].get<std::string>();
    if (action.contains("product_id") && action["product_id"].is_string()) {
      event.product_id = action["product_id"].get<std::string>();
    }
    if (action.contains("behaviour") && action["behaviour"].is_string()) {
      event.behaviour = action["behaviour"].get<std::string>();
    }
    if (action.contains("details") && action["details"].is_object()) {
      const nlohmann::json& details = action["details"];
      CS_ASSIGN_OR_RETURN(event.mass_g, number(details, "mass_g", 0));
      CS_ASSIGN_OR_RETURN(const double pieces, number(details, "pieces", 1));
      if (pieces < 1 || pieces > kMaxPieces) {
        return InvalidArgumentError(source + ": pieces must be 1.." + std::to_string(kMaxPieces));
      }
      event.pieces = static_cast<int>(pieces);
      if (details.contains("settle_s")) {
        CS_ASSIGN_OR_RETURN(const double settle_s, number(details, "settle_s", 0));
        if (settle_s < 0 || settle_s > kMaxSessionS) {
          return InvalidArgumentError(source + ": settle_s must be 0.." +
                                      std::to_string(static_cast<int>(kMaxSessionS)) + " s");
        }
        event.settle = Timestamp::FromSeconds(settle_s);
      }
      event.scanned = details.contains("scanned") && details["scanned"].is_boolean() &&
                      details["scanned"].get<bool>();
      event.personal = details.contains("personal");
    }
    if ((event.kind == "place" || event.kind == "remove") && event.product_id.empty()) {
      event.personal = true;
    }
    truth.events.push_back(std::move(event));
  }
  std::stable_sort(truth.events.begin(), truth.events.end(),
                   [](const TruthEvent& a, const TruthEvent& b) { return a.t < b.t; });
  if (!root.contains("final_basket") || !root["final_basket"].is_array()) {
    return InvalidArgumentError(source + ": final_basket must be an array");
  }
  for (const nlohmann::json& line : root["final_basket"]) {
    if (!line.is_object() || !line.contains("product_id") || !line["product_id"].is_string() ||
        !line.contains("quantity") || !line["quantity"].is_number_integer()) {
      return InvalidArgumentError(source + ": final_basket lines need product_id and quantity");
    }
    TruthLine truth_line;
    truth_line.product_id = line["product_id"].get<std::string>();
    truth_line.quantity = line["quantity"].get<int64_t>();
    if (truth_line.quantity < 0) {
      return InvalidArgumentError(source + ": final_basket quantity must not be negative");
    }
    CS_ASSIGN_OR_RETURN(truth_line.mass_g, number(line, "mass_g", 0));
    truth.final_basket.push_back(std::move(truth_line));
  }
  if (root.contains("personal_items") && root["personal_items"].is_array()) {
    truth.personal_items_left = static_cast<int>(root["personal_items"].size());
  }
  return truth;
}

}  // namespace cartsense::session
