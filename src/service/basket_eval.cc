#include "service/basket_eval.h"

#include <algorithm>
#include <charconv>
#include <chrono>
#include <cmath>
#include <map>
#include <optional>
#include <random>
#include <set>
#include <utility>

#include <nlohmann/json.hpp>

#include "core/stats.h"
#include "fusion/evidence.h"
#include "sensors/weigh_chain.h"
#include "sim/weigh_eval.h"

namespace cartsense::service {
namespace {

constexpr int64_t kNsPerMs = 1'000'000;

Timestamp AtMs(Timestamp t, int64_t ms) { return Timestamp{t.ns + ms * kNsPerMs}; }

double Share(int64_t part, int64_t whole) {
  return whole > 0 ? static_cast<double>(part) / static_cast<double>(whole) : 0.0;
}

bool IsTheft(const TruthEvent& event, const catalog::Catalogue& catalogue) {
  if (event.kind != "place" || event.product_id.empty()) return false;
  if (event.behaviour == "swap") return true;
  const catalog::Product* product = catalogue.FindById(event.product_id);
  return event.behaviour == "place_without_scan" && !event.scanned && product != nullptr &&
         !product->gtin.empty();
}

bool Within(Timestamp t, Timestamp from, Timestamp to) { return t >= from && t <= to; }

// Whether a flag about the shopper's items matches something that happened (docs/evaluation.md).
bool FlagIsRight(const AuditFlag& flag, const SessionTruth& truth,
                 const catalog::Catalogue& catalogue) {
  const Timestamp from = AtMs(flag.event_time, -30'000);
  const Timestamp to = AtMs(flag.event_time, 5'000);
  for (const TruthEvent& event : truth.events) {
    switch (flag.kind) {
      case AuditFlagKind::kUnscannedItem:
        if (event.kind == "place" && !event.scanned && event.product_id == flag.product_id &&
            Within(event.t, from, to)) {
          const catalog::Product* product = catalogue.FindById(event.product_id);
          if (product != nullptr && !product->gtin.empty()) return true;
        }
        break;
      case AuditFlagKind::kTicketSwitch:
        if (event.kind == "place" && event.behaviour == "swap" && Within(event.t, from, to)) {
          return true;
        }
        break;
      case AuditFlagKind::kScanWithoutPlacement:
        if (event.kind == "scan" && event.behaviour == "swap" &&
            event.product_id == flag.product_id &&
            Within(event.t, AtMs(flag.event_time, -120'000), flag.event_time)) {
          return true;
        }
        break;
      case AuditFlagKind::kUnknownItem:
        if ((event.kind == "place" || event.kind == "remove") && event.personal &&
            Within(event.t, from, to)) {
          return true;
        }
        break;
      case AuditFlagKind::kWeightMismatch:
        if (((event.kind == "place" && event.behaviour == "swap") || event.kind == "lean") &&
            Within(event.t, from, to)) {
          return true;
        }
        break;
      case AuditFlagKind::kDegradedMode:
        return false;  // not an item flag
    }
  }
  return false;
}

bool FlagCatchesTheft(const AuditFlag& flag, const TruthEvent& theft) {
  if (!Within(flag.event_time, AtMs(theft.t, -5'000), AtMs(theft.t, 30'000))) return false;
  if (flag.kind == AuditFlagKind::kTicketSwitch) return theft.behaviour == "swap";
  if (flag.kind == AuditFlagKind::kUnscannedItem) return flag.product_id == theft.product_id;
  return false;
}

struct UnitTally {
  int64_t true_units = 0, billed_units = 0, matched_units = 0;
};

// Compares the billed basket with the truth's final basket (see the header for units).
UnitTally CompareBaskets(const basket::Basket& billed, const SessionTruth& truth,
                         const catalog::Catalogue& catalogue,
                         std::vector<std::string>* mismatches) {
  UnitTally tally;
  std::set<std::string> products;
  for (const TruthLine& line : truth.final_basket) products.insert(line.product_id);
  for (const basket::BasketLine& line : billed.lines()) products.insert(line.product_id);
  for (const std::string& id : products) {
    const catalog::Product* product = catalogue.FindById(id);
    int64_t true_weighed = 0, true_pieces = 0;
    double true_mass = 0;
    for (const TruthLine& line : truth.final_basket) {
      if (line.product_id != id) continue;
      true_mass += line.mass_g;
      const bool by_weight =
          product != nullptr && product->sold_by == catalog::SoldBy::kWeight && line.mass_g >= 100;
      if (by_weight) {
        true_weighed = 1;
      } else {
        true_pieces += line.quantity;
      }
    }
    int64_t billed_weighed = 0, billed_pieces = 0;
    double billed_net = 0;
    if (const basket::BasketLine* w = billed.FindLine(id, PricedBy::kWeight)) {
      billed_weighed = 1;
      billed_net = w->net_weight_g;
    }
    if (const basket::BasketLine* u = billed.FindLine(id, PricedBy::kUnit)) {
      billed_pieces = u->quantity;
    }
    int64_t matched = std::min(true_pieces, billed_pieces);
    if (true_weighed == 1 && billed_weighed == 1) {
      const double error = billed_net - true_mass;
      if (std::abs(error) <= sim::ClassThreeLimitG(true_mass)) {
        ++matched;
      } else if (mismatches != nullptr) {
        mismatches->push_back("weight of " + id + ": billed " + std::to_string(billed_net) +
                              " g, true " + std::to_string(true_mass) + " g");
      }
    } else if (true_weighed != billed_weighed && mismatches != nullptr) {
      mismatches->push_back((true_weighed ? "missing weighed " : "extra weighed ") + id);
    }
    if (true_pieces > billed_pieces && mismatches != nullptr) {
      mismatches->push_back("missing " + std::to_string(true_pieces - billed_pieces) + " x " + id);
    }
    if (billed_pieces > true_pieces && mismatches != nullptr) {
      mismatches->push_back("extra " + std::to_string(billed_pieces - true_pieces) + " x " + id);
    }
    tally.true_units += true_weighed + true_pieces;
    tally.billed_units += billed_weighed + billed_pieces;
    tally.matched_units += matched;
  }
  return tally;
}

}  // namespace

// --- the simulated shopper ----------------------------------------------------------------------

SimulatedShopper::SimulatedShopper(const SessionTruth& truth, int64_t answer_delay_ms)
    : truth_(truth), answer_delay_ms_(answer_delay_ms) {}

ShopperAction SimulatedShopper::Answer(const ShopperPrompt& prompt, const basket::Basket& billed,
                                       std::optional<Timestamp> about) const {
  ShopperAction answer;
  answer.t = AtMs(prompt.event_time, answer_delay_ms_);
  answer.kind = ShopperAction::Kind::kAnswerPrompt;
  answer.prompt_id = prompt.prompt_id;
  answer.answer = "none";
  const bool about_removal = prompt.kind == PromptKind::kConfirmRemoval;
  if (prompt.kind == PromptKind::kPlaceScannedItem) return answer;
  // The latest place (or remove) the prompt can be about: the hand touched before the prompt.
  const Timestamp until = about.value_or(prompt.event_time);
  const TruthEvent* latest = nullptr;
  for (const TruthEvent& event : truth_.events) {
    if (event.t > until) break;
    if (event.kind == (about_removal ? "remove" : "place")) latest = &event;
  }
  if (latest == nullptr) return answer;
  if (latest->personal || prompt.kind == PromptKind::kRemoveUnknownItem) {
    answer.answer = "own_item";
    return answer;
  }
  // A ticket switcher asked which item they placed does not confess: they name what they
  // scanned (the switch's scan just before the placement), as a real one would.
  if (!about_removal && latest->behaviour == "swap") {
    const TruthEvent* switch_scan = nullptr;
    for (const TruthEvent& event : truth_.events) {
      if (event.t > latest->t) break;
      if (event.kind == "scan" && event.behaviour == "swap") switch_scan = &event;
    }
    if (switch_scan != nullptr && !switch_scan->product_id.empty()) {
      answer.product_id = switch_scan->product_id;
      answer.answer = "product";
      return answer;
    }
  }
  // Several products put in together (one touch time): name the one least billed so far.
  std::string best = latest->product_id;
  int64_t best_deficit = INT64_MIN;
  for (const TruthEvent& event : truth_.events) {
    if (event.t != latest->t || event.kind != latest->kind || event.product_id.empty()) continue;
    int64_t billed_units = 0;
    for (PricedBy by : {PricedBy::kUnit, PricedBy::kWeight}) {
      if (const basket::BasketLine* line = billed.FindLine(event.product_id, by)) {
        billed_units += line->quantity;
      }
    }
    // What the shopper has put in (less taken out) of it by now: `billed` is the basket now, so
    // a later placement of the same product that is billed already counts on both sides (four
    // pears placed and chosen after a drop that held a fifth: the drop's pear is the one not
    // billed, not the drop's scanned carton).
    int64_t true_units = 0;
    for (const TruthEvent& e : truth_.events) {
      if (e.t > prompt.event_time) break;
      if (e.product_id != event.product_id) continue;
      if (e.kind == "place") true_units += e.pieces;
      if (e.kind == "remove") true_units -= 1;
    }
    const int64_t deficit = about_removal ? billed_units - true_units : true_units - billed_units;
    if (deficit > best_deficit) {
      best_deficit = deficit;
      best = event.product_id;
    }
  }
  answer.product_id = best;
  answer.answer = "product";
  return answer;
}

std::vector<sensors::WeightEvent> SimulatedShopper::WeighAlone(
    const ShopperPrompt& prompt, const ShopperAction& answer, const catalog::Catalogue& catalogue,
    std::optional<Timestamp> about, double sigma_g, std::mt19937_64& rng) {
  if (prompt.kind != PromptKind::kWeighAlone || answer.answer != "product") return {};
  const catalog::Product* product = catalogue.FindById(answer.product_id);
  if (product == nullptr || !product->gtin.empty()) return {};  // loose produce only
  // The named produce's place event: the latest one up to what the prompt is about that was not
  // weighed alone yet (two melons in one drop are lifted one at a time).
  const Timestamp until = about.value_or(prompt.event_time);
  const TruthEvent* placed = nullptr;
  const TruthEvent* latest = nullptr;
  for (const TruthEvent& event : truth_.events) {
    if (event.t > until) break;
    if (event.kind != "place" || event.product_id != product->id) continue;
    latest = &event;
    if (!weighed_alone_.contains(&event)) placed = &event;
  }
  if (placed == nullptr) placed = latest;
  if (placed == nullptr || placed->mass_g <= 0) return {};
  weighed_alone_.insert(placed);
  std::normal_distribution<double> error(0.0, sigma_g);
  const auto weighing = [&](int64_t start_ms, double delta_g) {
    sensors::WeightEvent event;
    event.t_start = AtMs(answer.t, start_ms);
    event.t_settle = AtMs(answer.t, start_ms + 500);
    event.delta_g = delta_g;
    event.sigma_g = sigma_g;
    event.added = delta_g > 0;
    event.below_min_capacity = std::abs(delta_g) < event.min_capacity_g;
    event.note = "simulated: weighed alone";
    return event;
  };
  const double out_g = placed->mass_g + error(rng);
  const double back_g = placed->mass_g + error(rng);
  return {weighing(1000, -out_g), weighing(2500, back_g)};
}

// --- figures ------------------------------------------------------------------------------------

void EvalFigures::Merge(const EvalFigures& other) {
  sessions += other.sessions;
  exact_sessions += other.exact_sessions;
  true_units += other.true_units;
  billed_units += other.billed_units;
  matched_units += other.matched_units;
  items_placed += other.items_placed;
  prompts += other.prompts;
  item_flags += other.item_flags;
  item_flags_right += other.item_flags_right;
  degraded_mode_flags += other.degraded_mode_flags;
  theft += other.theft;
  theft_flagged += other.theft_flagged;
  rejected_actions += other.rejected_actions;
  decision_latency_ms.insert(decision_latency_ms.end(), other.decision_latency_ms.begin(),
                             other.decision_latency_ms.end());
  settle_to_action_ms.insert(settle_to_action_ms.end(), other.settle_to_action_ms.begin(),
                             other.settle_to_action_ms.end());
  for (const auto& [tag, b] : other.behaviours) {
    BehaviourFigures& mine = behaviours[tag];
    mine.sessions += b.sessions;
    mine.exact_sessions += b.exact_sessions;
    mine.actions += b.actions;
    mine.actions_billed_right += b.actions_billed_right;
    mine.prompts += b.prompts;
    mine.theft += b.theft;
    mine.theft_flagged += b.theft_flagged;
  }
}

double EvalFigures::receipt_exact_match() const { return Share(exact_sessions, sessions); }
double EvalFigures::item_accuracy() const {
  return Share(matched_units, true_units + billed_units - matched_units);
}
double EvalFigures::item_precision() const { return Share(matched_units, billed_units); }
double EvalFigures::item_recall() const { return Share(matched_units, true_units); }
double EvalFigures::prompts_per_10_items() const { return 10.0 * Share(prompts, items_placed); }
double EvalFigures::flag_precision() const { return Share(item_flags_right, item_flags); }
double EvalFigures::flag_recall() const { return Share(theft_flagged, theft); }
double EvalFigures::decision_latency_ms_p99() const {
  return NearestRankPercentile(decision_latency_ms, 99);
}
double EvalFigures::settle_to_action_ms_p95() const {
  return NearestRankPercentile(settle_to_action_ms, 95);
}

// --- one session
// ----------------------------------------------------------------------------------

Result<SessionRun> RunSession(const SessionEvidence& evidence, const SessionTruth& truth,
                              const catalog::Catalogue& catalogue, const EvalOptions& options,
                              EvalObserver* observer) {
  if (options.tick_ms <= 0) return InvalidArgumentError("tick_ms must be > 0");
  CS_ASSIGN_OR_RETURN(std::unique_ptr<fusion::Reasoner> reasoner,
                      fusion::Reasoner::Create(&catalogue, options.reasoner, options.modalities));
  SimulatedShopper shopper(truth, options.answer_delay_ms);
  SessionRun run;
  run.session_id = evidence.session_id;
  EvalFigures& figures = run.figures;
  figures.sessions = 1;
  std::vector<BasketAction> actions;
  std::vector<ShopperPrompt> prompts;
  std::vector<AuditFlag> flags;
  std::multimap<Timestamp, ShopperAction> answers;  // pending, by time (stable for ties)
  // The shopper's weighings alone (SimulatedShopper::WeighAlone), pending, by settle time.
  std::multimap<Timestamp, sensors::WeightEvent> weighings;
  // Seeded by the session id: the same session always gets the same weighing errors.
  uint64_t seed = 1469598103934665603ull;  // FNV-1a
  for (char c : evidence.session_id)
    seed = (seed ^ static_cast<unsigned char>(c)) * 1099511628211ull;
  std::mt19937_64 rng(seed);
  std::vector<Timestamp> weight_settles;  // of the weight events delivered, in order
  std::string mode = reasoner->ModeDescription();

  const auto take = [&](Timestamp t, Result<fusion::ReasonerOutput> output,
                        double wall_ms) -> Status {
    if (!output.ok()) return output.status();
    if (!output->actions.empty()) figures.decision_latency_ms.push_back(wall_ms);
    for (BasketAction& action : output->actions) {
      if (!run.basket.Apply(action).ok()) {
        ++figures.rejected_actions;
        continue;
      }
      if (observer != nullptr) observer->OnAction(action, run.basket);
      actions.push_back(std::move(action));
    }
    for (ShopperPrompt& prompt : output->prompts) {
      // The placement the prompt is about: the weight event it names.
      std::optional<Timestamp> about;
      for (const std::string& id : prompt.evidence_ids) {
        if (id.rfind("weight:", 0) != 0) continue;
        std::size_t n = 0;
        const char* digits = id.c_str() + 7;
        const auto parsed = std::from_chars(digits, id.c_str() + id.size(), n);
        if (parsed.ec == std::errc() && n >= 1 && n <= weight_settles.size()) {
          about = weight_settles[n - 1];
        }
        break;
      }
      ShopperAction answer = shopper.Answer(prompt, run.basket, about);
      if (observer != nullptr) observer->OnPrompt(prompt, answer);
      for (sensors::WeightEvent& event :
           shopper.WeighAlone(prompt, answer, catalogue, about, options.weigh_alone_sigma_g, rng)) {
        weighings.emplace(event.t_settle, std::move(event));
      }
      answers.emplace(answer.t, std::move(answer));
      prompts.push_back(std::move(prompt));
    }
    for (AuditFlag& flag : output->flags) {
      if (observer != nullptr) observer->OnFlag(flag);
      flags.push_back(std::move(flag));
    }
    const std::string now_mode = reasoner->ModeDescription();
    if (now_mode != mode) {
      mode = now_mode;
      if (observer != nullptr) observer->OnModeChange(mode, t);
    }
    return Status::Ok();
  };
  const auto timed = [&](Timestamp t, auto&& call) -> Status {
    const auto start = std::chrono::steady_clock::now();
    Result<fusion::ReasonerOutput> output = call();
    const double wall_ms =
        std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - start).count();
    return take(t, std::move(output), wall_ms);
  };
  Timestamp last_tick = evidence.start;
  // Delivers the answers due and the clock ticks up to (not including) `until`.
  const auto advance = [&](Timestamp until) -> Status {
    while (true) {
      const Timestamp next_tick = AtMs(last_tick, options.tick_ms);
      const bool answer_due =
          !answers.empty() && answers.begin()->first < until && answers.begin()->first <= next_tick;
      const bool weighing_due = !weighings.empty() && weighings.begin()->first < until &&
                                weighings.begin()->first <= next_tick &&
                                (!answer_due || weighings.begin()->first < answers.begin()->first);
      if (weighing_due && options.modalities.weight) {
        const sensors::WeightEvent event = weighings.begin()->second;
        weighings.erase(weighings.begin());
        CS_RETURN_IF_ERROR(
            timed(event.t_settle, [&] { return reasoner->AdvanceTo(event.t_settle); }));
        weight_settles.push_back(event.t_settle);
        CS_RETURN_IF_ERROR(timed(event.t_settle, [&] { return reasoner->OnWeightEvent(event); }));
        last_tick = std::max(last_tick, event.t_settle);
        continue;
      }
      if (weighing_due) {
        weighings.erase(weighings.begin());
        continue;
      }
      if (answer_due) {
        const ShopperAction answer = answers.begin()->second;
        answers.erase(answers.begin());
        CS_RETURN_IF_ERROR(timed(answer.t, [&] { return reasoner->AdvanceTo(answer.t); }));
        CS_RETURN_IF_ERROR(timed(answer.t, [&] { return reasoner->OnShopper(answer); }));
        last_tick = std::max(last_tick, answer.t);
        continue;
      }
      if (next_tick >= until) return Status::Ok();
      CS_RETURN_IF_ERROR(timed(next_tick, [&] { return reasoner->AdvanceTo(next_tick); }));
      last_tick = next_tick;
    }
  };

  for (const EvidenceRecord& record : evidence.records) {
    using Kind = EvidenceRecord::Kind;
    const bool use = (record.kind == Kind::kWeightEvent || record.kind == Kind::kScaleStatus)
                         ? options.modalities.weight
                     : (record.kind == Kind::kVision || record.kind == Kind::kCameraHealth)
                         ? options.modalities.vision
                     : record.kind == Kind::kScan ? options.modalities.scan
                                                  : true;
    if (!use) continue;
    CS_RETURN_IF_ERROR(advance(record.t()));
    CS_RETURN_IF_ERROR(timed(record.t(), [&] { return reasoner->AdvanceTo(record.t()); }));
    last_tick = std::max(last_tick, record.t());
    const Packet& p = record.packet;
    switch (record.kind) {
      // Evidence about an earlier moment may arrive later (a camera reports when its clip has
      // ended): it reaches the reasoner at the time it arrived, which keeps the input in order.
      case Kind::kWeightEvent: {
        sensors::WeightEvent event = p.Value<sensors::WeightEvent>();
        event.t_settle = std::max(event.t_settle, record.t());
        weight_settles.push_back(event.t_settle);
        CS_RETURN_IF_ERROR(timed(record.t(), [&] { return reasoner->OnWeightEvent(event); }));
        break;
      }
      case Kind::kScaleStatus: {
        sensors::ScaleStatus status = p.Value<sensors::ScaleStatus>();
        status.t = std::max(status.t, record.t());
        CS_RETURN_IF_ERROR(timed(record.t(), [&] { return reasoner->OnScaleStatus(status); }));
        break;
      }
      case Kind::kVision: {
        fusion::VisionEvidence vision = p.Value<fusion::VisionEvidence>();
        vision.t = std::max(vision.t, record.t());
        CS_RETURN_IF_ERROR(timed(record.t(), [&] { return reasoner->OnVision(vision); }));
        break;
      }
      case Kind::kCameraHealth: {
        fusion::CameraHealthEvidence health = p.Value<fusion::CameraHealthEvidence>();
        health.t = std::max(health.t, record.t());
        CS_RETURN_IF_ERROR(timed(record.t(), [&] { return reasoner->OnCameraHealth(health); }));
        break;
      }
      case Kind::kScan: {
        ScannerRead read = p.Value<ScannerRead>();
        read.t = std::max(read.t, record.t());
        CS_RETURN_IF_ERROR(timed(record.t(), [&] { return reasoner->OnScan(read); }));
        break;
      }
      case Kind::kShopper: {
        ShopperAction action = p.Value<ShopperAction>();
        action.t = std::max(action.t, record.t());
        CS_RETURN_IF_ERROR(timed(record.t(), [&] { return reasoner->OnShopper(action); }));
        break;
      }
    }
  }
  // Let every wait run out and every answer arrive.
  CS_RETURN_IF_ERROR(advance(AtMs(evidence.end, 60'000)));
  run.final_mode = mode;

  // --- scoring ---
  const UnitTally tally = CompareBaskets(run.basket, truth, catalogue, &run.mismatches);
  figures.true_units = tally.true_units;
  figures.billed_units = tally.billed_units;
  figures.matched_units = tally.matched_units;
  const bool exact =
      tally.matched_units == tally.true_units && tally.matched_units == tally.billed_units;
  figures.exact_sessions = exact ? 1 : 0;
  figures.prompts = static_cast<int64_t>(prompts.size());
  for (const AuditFlag& flag : flags) {
    if (flag.kind == AuditFlagKind::kDegradedMode) {
      ++figures.degraded_mode_flags;
      continue;
    }
    ++figures.item_flags;
    if (FlagIsRight(flag, truth, catalogue)) ++figures.item_flags_right;
  }
  // Truth place/remove actions matched to basket actions, in time order, for the latency and the
  // per-behaviour figures.
  std::vector<bool> used(actions.size(), false);
  std::set<std::string> tags;
  for (const TruthEvent& event : truth.events) {
    if (!event.behaviour.empty()) tags.insert(event.behaviour);
    const bool is_place = event.kind == "place";
    const bool is_remove = event.kind == "remove";
    if (!is_place && !is_remove) continue;
    BehaviourFigures& b = figures.behaviours[event.behaviour];
    ++b.actions;
    if (is_place && !event.product_id.empty()) ++figures.items_placed;
    if (IsTheft(event, catalogue)) {
      ++figures.theft;
      ++b.theft;
      const bool flagged = std::any_of(flags.begin(), flags.end(), [&](const AuditFlag& flag) {
        return FlagCatchesTheft(flag, event);
      });
      if (flagged) {
        ++figures.theft_flagged;
        ++b.theft_flagged;
      }
    }
    if (event.personal) {
      ++b.actions_billed_right;  // right when nothing was billed for it; extras count as errors
      continue;
    }
    for (std::size_t i = 0; i < actions.size(); ++i) {
      const BasketAction& action = actions[i];
      if (used[i] || action.product_id != event.product_id) continue;
      const bool kind_ok = is_place ? action.kind == BasketActionKind::kAdd
                                    : (action.kind == BasketActionKind::kRemove ||
                                       action.kind == BasketActionKind::kChangeQuantity);
      if (!kind_ok || action.event_time < AtMs(event.t, -60'000)) continue;
      used[i] = true;
      ++b.actions_billed_right;
      if (event.settle) {
        figures.settle_to_action_ms.push_back(
            static_cast<double>(action.event_time.ns - event.settle->ns) / 1e6);
      }
      break;
    }
  }
  // Prompts to the action that was the latest when they were raised.
  for (const ShopperPrompt& prompt : prompts) {
    const TruthEvent* latest = nullptr;
    for (const TruthEvent& event : truth.events) {
      if (event.t > prompt.event_time) break;
      if (event.kind == "place" || event.kind == "remove") latest = &event;
    }
    ++figures.behaviours[latest != nullptr ? latest->behaviour : "none"].prompts;
  }
  for (const std::string& tag : tags) {
    BehaviourFigures& b = figures.behaviours[tag];
    b.sessions = 1;
    b.exact_sessions = exact ? 1 : 0;
  }
  return run;
}

}  // namespace cartsense::service
