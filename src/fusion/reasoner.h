// The basket reasoner: a deterministic state machine that turns timestamped evidence (weight
// events, what the basket cameras saw, barcode reads, touchscreen rows and prompt answers, sensor
// health) into basket actions, shopper prompts and audit flags. The model and its numbers are in
// docs/reasoner.md.
//
//   posterior(product) ∝ prior × vision likelihood (views combined, view_combination.h)
//                              × weight likelihood (catalogue mass per unit, or any weight for
//                                produce sold per kg) × scan evidence
//
// Inputs, in non-decreasing time across all calls (an earlier input is an InvalidArgument error
// and changes nothing). AdvanceTo(t) tells the reasoner that time has passed without evidence; it
// makes the decisions whose wait ended by t (vision, a produce choice, a scan's placement). The
// same inputs in the same order give the same outputs: no wall clock, no randomness, no hash
// order.
//
// Every action, prompt and flag carries event_time = the session time of the input that made the
// decision (the input being processed, or the AdvanceTo time), a probability, and the ids of the
// evidence behind it: "weight:<n>", "scan:<n>", "choice:<n>" (touchscreen rows, n counting from
// 1 per kind), the regions' own ids ("region:<camera>:<n>") and "answer:<prompt_id>".
//
// Weight events are expected in the basket floor frame (fusion::ShiftToFloorFrame) so that they
// can be associated with the cameras' regions.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "catalog/catalogue.h"
#include "core/basket_action.h"
#include "core/config.h"
#include "core/packets.h"
#include "core/status.h"
#include "core/time.h"
#include "fusion/evidence.h"
#include "fusion/view_combination.h"
#include "sensors/weigh_chain.h"

namespace cartsense::fusion {

// Which kinds of evidence the reasoner uses (ablations). Evidence of a disabled kind is ignored.
struct Modalities {
  bool weight = true;
  bool vision = true;
  bool scan = true;
  // "weight,vision,scan" (the enabled kinds, in that order; "none" when none).
  std::string ToString() const;
  // Parses a comma-separated list of weight, vision, scan (e.g. "weight,scan"); "all" = every
  // kind. Unknown names are an error.
  static Result<Modalities> Parse(const std::string& text);
};

struct ReasonerParams {
  // --- Timing ---------------------------------------------------------------------------------
  // A scan (or a touchscreen choice made before placing) waits this long for its placement;
  // then kPlaceScannedItem is asked and kScanWithoutPlacement flagged (scan-only: it was added).
  int64_t scan_to_place_timeout_ms = 12000;
  // A scan this old is still matched to a placement after the timeout prompt (the shopper may
  // place it late); older scans are forgotten.
  int64_t scan_forget_ms = 60000;
  // A scan that could settle a placement waiting without one (placed first, or asked to scan)
  // is held this long first: if a new placement that it explains comes in meanwhile, the scan
  // is that placement's (the normal scan-then-place flow; the shopper went on with the next
  // item), otherwise it settles the waiting one. 0 settles at once.
  int64_t late_scan_hold_ms = 2500;
  // A weight event without a scan that explains it waits this long for every healthy camera to
  // compare after it settled (a scan-supported one is decided at once and checked later).
  int64_t vision_wait_ms = 2500;
  // Loose produce (or anything not confidently identified) waits this long after its weight
  // event for the shopper to pick it on the touchscreen before a kChooseProduct prompt.
  int64_t produce_choice_wait_ms = 5000;
  // A touchscreen choice this soon after a placement belongs to it (else it waits for the next
  // placement, choose-then-place).
  int64_t choice_after_place_max_ms = 8000;
  // Vision-only: regions from different cameras within this time and floor distance are one item.
  int64_t vision_dedup_window_ms = 1500;
  double vision_dedup_distance_mm = 120;
  // A removal followed within this time by an addition of the same weight (or the reverse) is a
  // transient (a lean, an item lifted and put back): nothing is billed twice.
  int64_t transient_return_ms = 4000;
  // After a kWeighAlone answer naming produce sold per kg: the next removal within this time
  // that is not heavier than the placement is that produce lifted out to be weighed alone; put
  // back, it is billed at the weight measured alone.
  int64_t reweigh_wait_ms = 20000;

  // Basket cameras expected (ids 0..basket_cameras-1) before any reports; others join when they
  // report. A weight event waits for each healthy one to compare after it.
  int basket_cameras = 2;

  // --- Weights --------------------------------------------------------------------------------
  double produce_bag_tare_g = 0;   // subtracted from produce weighed per kg
  double min_weighed_net_g = 100;  // OIML R76 class III Min = 20 e: below it produce is per piece
  // Produce sold per kg is plausible for any weight from this fraction of one typical piece up to
  // produce_max_weight_g.
  double produce_min_piece_ratio = 0.35;
  double produce_max_weight_g = 6000;
  // An item not in the catalogue (bag, phone): weight density uniform over this range.
  double unknown_item_max_weight_g = 5000;
  // Floor under every σ of a weight comparison (the event's σ is often < 1 g).
  double weight_min_sigma_g = 3;
  // Multiplies the event's σ while one load cell is lost (ScaleStatus degraded).
  double degraded_sigma_ratio = 3;
  // A weight within this many σ of a product's expected weight "supports" it (fast path, removal
  // matching).
  double weight_match_sigma = 3.5;
  // Several units of one product in one event: the prior of n units, n = 1, 2, 3.
  double two_units_prior_ratio = 0.05;
  double three_units_prior_ratio = 0.01;
  // A weight event this small (|Δ|) is ignored as noise (the weigh chain's min_event_g is 7).
  double ignore_below_g = 8;

  // --- Probabilities --------------------------------------------------------------------------
  // Prior of "not in the catalogue, or the shopper's own" for one placement.
  double unknown_item_prior_probability = 0.03;
  // A scan names what is placed next with this probability (1 - ticket-switch rate).
  double scan_trust_probability = 0.95;
  // No product's vision probability is below this (vision is sometimes plainly wrong).
  double vision_floor_probability = 1e-6;
  // The vision likelihood is a label-noise mixture (docs/reasoner.md, Vision):
  //   (1 − ε − ε_c) q(h) + ε_c q(class of h) / |class| + ε / (products + 1).
  // ε: how often the views say nothing about what was placed. Fitted by maximum likelihood with
  // the two below on 16 simulated tuning sessions with bundle v3 (327 single placements with
  // views; bench/fit_vision_likelihood.py): 0.13 ± 0.03, ε_c 0.15, weight 0.05; these are the
  // values of the evaluated setting next to that optimum.
  double vision_error_probability = 0.14;
  // ε_c: how often the views name the right coarse class (milk, juice, apple) but not the
  // product (two brands of milk look alike to the recognizer).
  double vision_class_error_probability = 0.15;
  // How much of the views' not-in-catalogue probability p_nic goes to "unknown": q(unknown) =
  // this × p_nic, q(product) = (1 − this × p_nic) × p(product). p_nic is 0.14–0.91 for the shop's
  // products too, so it says little (1 = all of it, as up to bundle v2).
  double vision_not_in_catalogue_weight = 0.1;
  // A product outside every view's top-k: at most this (below the smallest in the top-k).
  double vision_outside_topk_max_probability = 1e-4;
  // Add without asking when the best posterior reaches this.
  double add_probability_min = 0.9;
  // Flag a ticket switch when P(placed ≠ scanned) reaches this.
  double ticket_switch_probability_min = 0.5;
  // After a scan-supported add, P(placed ≠ scanned) from this up to ticket_switch_probability_min
  // raises a ticket-switch flag for review with the scanned product still billed (the views do
  // not say well enough what was placed). Not a question to the shopper: a switcher names what
  // they scanned. 1 = never.
  double ticket_switch_review_probability_min = 0.15;
  // Flag (and do not bill) an unknown item when P(unknown) reaches this.
  double unknown_probability_min = 0.6;
  // Multi-drop with an unscanned item: an open scan that is not part of a drop weighing more than
  // every explanation by scans alone has this prior (scans are made just before their drop).
  double scan_left_out_probability = 0.02;
  // A removal is decided without asking when its best explanation reaches this.
  double removal_probability_min = 0.8;
  // Candidates offered in kChooseProduct.
  int prompt_candidates = 4;

  ViewCombinationParams views;

  static ConfigSchema Schema();  // the keys above (views.* as view_<key>)
  static Result<ReasonerParams> FromConfig(Config& config);
  Status Validate() const;
};

// What one input made the reasoner decide (often nothing).
struct ReasonerOutput {
  std::vector<BasketAction> actions;
  std::vector<ShopperPrompt> prompts;
  std::vector<AuditFlag> flags;
  bool empty() const { return actions.empty() && prompts.empty() && flags.empty(); }
  void Append(ReasonerOutput other);
};

// One line of what the reasoner believes is in the basket (for tests, the demo and removals).
struct ReasonerItem {
  int64_t item_id = 0;     // the reasoner's own id, counting from 1
  std::string product_id;  // "" for an unknown or own item (not billed)
  PricedBy priced_by = PricedBy::kUnit;
  int64_t quantity = 1;
  double measured_g = 0;  // Δg measured when it went in (0 when no weight)
  double measured_sigma_g = 0;
  double net_weight_g = 0;  // kWeight: billed net grams
  std::optional<sensors::PointMm> floor_mm;
  bool own_item = false;  // not in the catalogue or the shopper's own: never billed
};

class Reasoner {
 public:
  // Validates params; `catalogue` is not owned and must outlive the reasoner.
  static Result<std::unique_ptr<Reasoner>> Create(const catalog::Catalogue* catalogue,
                                                  ReasonerParams params, Modalities modalities);
  ~Reasoner();
  Reasoner(const Reasoner&) = delete;
  Reasoner& operator=(const Reasoner&) = delete;

  Result<ReasonerOutput> OnWeightEvent(const sensors::WeightEvent& event);    // time = t_settle
  Result<ReasonerOutput> OnScaleStatus(const sensors::ScaleStatus& status);   // time = status.t
  Result<ReasonerOutput> OnVision(const VisionEvidence& vision);              // time = vision.t
  Result<ReasonerOutput> OnCameraHealth(const CameraHealthEvidence& health);  // time = health.t
  // A read with an empty gtin is a scan attempt that could not be decoded (the scanner saw a
  // product cross but read no barcode): the next unexplained placement is then not flagged as
  // unscanned.
  Result<ReasonerOutput> OnScan(const ScannerRead& scan);  // time = scan.t
  // Touchscreen rows (kChooseProduct: product_id, answer = pieces; kRemoveItem) and answers to
  // prompts (kAnswerPrompt: prompt_id, answer "product" with product_id, "own_item" or "none").
  Result<ReasonerOutput> OnShopper(const ShopperAction& action);  // time = action.t
  // Time passes: decisions whose wait ended by t are made, with event_time = t.
  Result<ReasonerOutput> AdvanceTo(Timestamp t);

  // "fused", "no vision (camera 0: covered; camera 1: covered)", "one load cell lost (back_left
  // stuck)", "scanner only", ...
  std::string ModeDescription() const;
  // The reasoner's view of the basket (billed lines and own items), in the order they went in.
  std::vector<ReasonerItem> Items() const;
  // Prompts asked and not yet answered.
  std::vector<ShopperPrompt> OpenPrompts() const;
  Timestamp last_time() const;

  class Impl;

 private:
  explicit Reasoner(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

}  // namespace cartsense::fusion
