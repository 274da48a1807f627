// Evaluation of the whole cart on sessions with ground truth (`cartsense eval`, issue 8).
//
// Each session is replayed through the evidence pipeline (service/session_evidence.h), then the
// basket reasoner (fusion/reasoner.h) consumes the evidence in order; its actions fold into a
// basket (basket/basket.h), its prompts go to a simulated shopper who answers from the ground
// truth a few seconds later (answers are evidence like any other, so a prompt buys accuracy at
// the price of friction), its flags are collected. The final basket is compared with
// truth.json's. Definitions (docs/evaluation.md):
//
//   units: a packaged product's units; produce of at least the scale's minimum capacity (100 g)
//     is one weighed unit per product, matched when the product agrees and the billed net weight
//     is within the OIML R76 class III limit of the true mass; lighter produce counts pieces;
//   item_accuracy = matched / (true + billed − matched); item_precision = matched / billed;
//   item_recall = matched / true; receipt_exact_match: sessions with every unit matched and
//   nothing else billed;
//   prompts_per_10_items: prompts × 10 / products placed (truth place actions with a product);
//   flag_precision: flags about the shopper's items (every kind but kDegradedMode) that match a
//   behaviour in the truth (table in docs/evaluation.md) over all such flags; flag_recall: theft
//   behaviours (a packaged product placed unscanned, a swap) flagged, over all of them;
//   decision_latency_ms_p99: wall-clock time of the reasoner calls that emitted a basket action;
//   settle_to_action_ms_p95: session time from a place or remove's physical settle (truth
//   `settle_s`) to the basket action that billed it;
//   scenarios: per behaviour tag (see BehaviourFigures).
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <random>
#include <set>
#include <string>
#include <vector>

#include "basket/basket.h"
#include "catalog/catalogue.h"
#include "catalog/recognizer.h"
#include "core/basket_action.h"
#include "core/packets.h"
#include "core/status.h"
#include "core/time.h"
#include "fusion/reasoner.h"
#include "sensors/weigh_chain.h"
#include "service/session_evidence.h"
#include "session/session_truth.h"

namespace cartsense::service {

using session::SessionTruth;
using session::TruthEvent;
using session::TruthLine;

// The simulated shopper: answers the reasoner's prompts from the truth, `answer_delay_ms` after
// the prompt. Honest: names the product that was really put in or taken out (or says it is the
// shopper's own), whatever the screen offers.
class SimulatedShopper {
 public:
  SimulatedShopper(const SessionTruth& truth, int64_t answer_delay_ms);
  // The answer to `prompt` (a kAnswerPrompt action stamped prompt time + delay). The prompt is
  // about the latest place (or remove) up to `about` (the settle of the weight event the prompt
  // names, as the screen shows which placement it asks about; default the prompt's time).
  // `billed` is the basket so far: of several products put in together, the one least billed
  // relative to what the shopper has put in by the prompt is named. A ticket switcher (a placement
  // tagged "swap") names the product they scanned, not the one placed: thieves do not confess.
  ShopperAction Answer(const ShopperPrompt& prompt, const basket::Basket& billed,
                       std::optional<Timestamp> about = std::nullopt) const;
  // After answering a kWeighAlone prompt by naming loose produce (no barcode): the shopper lifts
  // it out and puts it back on its own. Returned as the weigh chain would report them (a removal
  // 1.5 s and a placement 3 s after the answer): the truth's mass of that produce (of its place
  // events up to `about`, the latest not weighed alone yet), each with a Gaussian error of
  // `sigma_g` drawn from `rng`. Simulated here, not through the load cells: the recorded session
  // holds no such lift. Empty for any other prompt or answer.
  std::vector<sensors::WeightEvent> WeighAlone(const ShopperPrompt& prompt,
                                               const ShopperAction& answer,
                                               const catalog::Catalogue& catalogue,
                                               std::optional<Timestamp> about, double sigma_g,
                                               std::mt19937_64& rng);

 private:
  const SessionTruth& truth_;
  int64_t answer_delay_ms_;
  std::set<const TruthEvent*> weighed_alone_;  // place events already weighed alone
};

struct BehaviourFigures {
  int64_t sessions = 0;              // sessions with this behaviour
  int64_t exact_sessions = 0;        // of those, receipts entirely right
  int64_t actions = 0;               // truth place/remove actions with this tag
  int64_t actions_billed_right = 0;  // matched by a basket action of that product and kind
  int64_t prompts = 0;               // prompts raised while this action was the latest
  int64_t theft = 0;                 // theft behaviours with this tag
  int64_t theft_flagged = 0;
};

struct EvalFigures {
  int64_t sessions = 0;
  int64_t exact_sessions = 0;
  int64_t true_units = 0, billed_units = 0, matched_units = 0;
  int64_t items_placed = 0;
  int64_t prompts = 0;
  int64_t item_flags = 0, item_flags_right = 0;
  int64_t degraded_mode_flags = 0;
  int64_t theft = 0, theft_flagged = 0;
  int64_t rejected_actions = 0;  // actions the basket refused (a reasoner bug if > 0)
  std::vector<double> decision_latency_ms;
  std::vector<double> settle_to_action_ms;
  std::map<std::string, BehaviourFigures> behaviours;

  void Merge(const EvalFigures& other);
  double receipt_exact_match() const;
  double item_accuracy() const;
  double item_precision() const;
  double item_recall() const;
  double prompts_per_10_items() const;
  double flag_precision() const;
  double flag_recall() const;
  double decision_latency_ms_p99() const;
  double settle_to_action_ms_p95() const;
};

// What a caller sees as the session runs (the demo prints it).
struct EvalObserver {
  virtual ~EvalObserver() = default;
  virtual void OnAction(const BasketAction& /*action*/, const basket::Basket& /*after*/) {}
  virtual void OnPrompt(const ShopperPrompt& /*prompt*/, const ShopperAction& /*answer*/) {}
  virtual void OnFlag(const AuditFlag& /*flag*/) {}
  virtual void OnModeChange(const std::string& /*mode*/, Timestamp /*t*/) {}
};

struct SessionRun {
  std::string session_id;
  basket::Basket basket;                // the final billed basket
  EvalFigures figures;                  // this session alone
  std::vector<std::string> mismatches;  // "missing 1 x oatly-oat-milk", "extra ...", "weight ..."
  std::string final_mode;
};

struct EvalOptions {
  fusion::Modalities modalities;
  fusion::ReasonerParams reasoner;
  int64_t answer_delay_ms = 3000;
  int64_t tick_ms = 50;  // AdvanceTo granularity between evidence
  // Error (1σ) of the simulated weighing of a produce lifted out and put back alone
  // (SimulatedShopper::WeighAlone): what the weigh chain reached on lone produce placements in the
  // dev sessions (26 placements, all within ±1.2 g of the true mass; simulation).
  double weigh_alone_sigma_g = 0.6;
};

// Runs the reasoner over one session's evidence (extracted once, with every modality; the
// ablations filter it) and scores it against the truth.
Result<SessionRun> RunSession(const SessionEvidence& evidence, const SessionTruth& truth,
                              const catalog::Catalogue& catalogue, const EvalOptions& options,
                              EvalObserver* observer = nullptr);

}  // namespace cartsense::service
