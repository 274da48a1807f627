#include "fusion/reasoner.h"

#include <algorithm>
#include <array>
#include <cmath>
#include <cstdint>
#include <deque>
#include <limits>
#include <map>
#include <set>
#include <sstream>
#include <string>
#include <utility>
#include <vector>

namespace cartsense::fusion {

// ----------------------------------------------------------------------------------------------
// Modalities and parameters.

std::string Modalities::ToString() const {
  std::string out;
  const auto add = [&out](bool on, const char* name) {
    if (!on) return;
    if (!out.empty()) out += ",";
    out += name;
  };
  add(weight, "weight");
  add(vision, "vision");
  add(scan, "scan");
  return out.empty() ? "none" : out;
}

Result<Modalities> Modalities::Parse(const std::string& text) {
  if (text == "all") return Modalities{};
  Modalities m{false, false, false};
  std::size_t start = 0;
  while (start <= text.size()) {
    const std::size_t comma = std::min(text.find(',', start), text.size());
    const std::string name = text.substr(start, comma - start);
    if (name == "weight") {
      m.weight = true;
    } else if (name == "vision") {
      m.vision = true;
    } else if (name == "scan") {
      m.scan = true;
    } else {
      return InvalidArgumentError("modalities: unknown kind '" + name +
                                  "' (expected weight, vision, scan or all)");
    }
    start = comma + 1;
  }
  if (!m.weight && !m.vision && !m.scan) return InvalidArgumentError("modalities: none given");
  return m;
}

// Config keys: the field names; probabilities get "_ratio" (the config schema requires a unit
// suffix on every number).
ConfigSchema ReasonerParams::Schema() {
  const ReasonerParams d;
  ConfigSchema s;
  const auto ms = [&s](const char* key, int64_t value, double max) {
    s.Number(key, "ms").Range(0, max).Default(static_cast<double>(value));
  };
  ms("scan_to_place_timeout_ms", d.scan_to_place_timeout_ms, 600000);
  ms("scan_forget_ms", d.scan_forget_ms, 3600000);
  ms("late_scan_hold_ms", d.late_scan_hold_ms, 60000);
  ms("vision_wait_ms", d.vision_wait_ms, 60000);
  ms("produce_choice_wait_ms", d.produce_choice_wait_ms, 600000);
  ms("choice_after_place_max_ms", d.choice_after_place_max_ms, 600000);
  ms("vision_dedup_window_ms", d.vision_dedup_window_ms, 60000);
  ms("transient_return_ms", d.transient_return_ms, 60000);
  ms("reweigh_wait_ms", d.reweigh_wait_ms, 600000);
  s.Number("vision_dedup_distance_mm", "mm").Range(0, 2000).Default(d.vision_dedup_distance_mm);
  s.Number("produce_bag_tare_g", "g").Range(0, 500).Default(d.produce_bag_tare_g);
  s.Number("min_weighed_net_g", "g").Range(0, 10000).Default(d.min_weighed_net_g);
  s.Number("produce_min_piece_ratio", "ratio").Range(0.01, 1).Default(d.produce_min_piece_ratio);
  s.Number("produce_max_weight_g", "g").Range(1, 100000).Default(d.produce_max_weight_g);
  s.Number("unknown_item_max_weight_g", "g").Range(1, 100000).Default(d.unknown_item_max_weight_g);
  s.Number("weight_min_sigma_g", "g").Range(0.01, 1000).Default(d.weight_min_sigma_g);
  s.Number("degraded_sigma_ratio", "ratio").Range(1, 100).Default(d.degraded_sigma_ratio);
  s.Number("weight_match_sigma", "sigma").Range(0.5, 100).Default(d.weight_match_sigma);
  s.Number("two_units_prior_ratio", "ratio").Range(0, 1).Default(d.two_units_prior_ratio);
  s.Number("three_units_prior_ratio", "ratio").Range(0, 1).Default(d.three_units_prior_ratio);
  s.Number("ignore_below_g", "g").Range(0, 1000).Default(d.ignore_below_g);
  const auto probability = [&s](const char* key, double value) {
    s.Number(std::string(key) + "_ratio", "ratio").Range(0, 1).Default(value);
  };
  probability("unknown_item_prior_probability", d.unknown_item_prior_probability);
  probability("scan_trust_probability", d.scan_trust_probability);
  probability("vision_floor_probability", d.vision_floor_probability);
  probability("vision_error_probability", d.vision_error_probability);
  probability("vision_not_in_catalogue_weight", d.vision_not_in_catalogue_weight);
  probability("vision_class_error_probability", d.vision_class_error_probability);
  probability("scan_left_out_probability", d.scan_left_out_probability);
  probability("vision_outside_topk_max_probability", d.vision_outside_topk_max_probability);
  probability("add_probability_min", d.add_probability_min);
  probability("ticket_switch_probability_min", d.ticket_switch_probability_min);
  probability("ticket_switch_review_probability_min", d.ticket_switch_review_probability_min);
  probability("unknown_probability_min", d.unknown_probability_min);
  probability("removal_probability_min", d.removal_probability_min);
  s.Integer("basket_cameras").Range(0, 16).Default(static_cast<double>(d.basket_cameras));
  s.Integer("prompt_candidates").Range(1, 20).Default(static_cast<double>(d.prompt_candidates));
  // View combination (view_combination.h), prefixed "view_".
  s.Number("view_softmax_temperature_ratio", "ratio")
      .Range(1e-4, 10)
      .Default(d.views.softmax_temperature);
  s.Number("view_exponent_ratio", "ratio").Range(0.01, 1).Default(d.views.view_exponent);
  s.Number("view_missing_product_factor_ratio", "ratio")
      .Range(0, 1)
      .Default(d.views.missing_product_factor);
  s.Number("view_max_floor_distance_mm", "mm")
      .Range(1, 5000)
      .Default(d.views.max_floor_distance_mm);
  s.Number("view_max_compare_after_settle_ms", "ms")
      .Range(0, 60000)
      .Default(static_cast<double>(d.views.max_compare_after_settle_ms));
  s.Number("view_min_visible_share_ratio", "ratio").Range(0, 1).Default(d.views.min_visible_share);
  return s;
}

Result<ReasonerParams> ReasonerParams::FromConfig(Config& config) {
  CS_RETURN_IF_ERROR(Schema().Validate(config));
  ReasonerParams p;
  const std::array<std::pair<const char*, int64_t*>, 10> millis = {{
      {"scan_to_place_timeout_ms", &p.scan_to_place_timeout_ms},
      {"scan_forget_ms", &p.scan_forget_ms},
      {"late_scan_hold_ms", &p.late_scan_hold_ms},
      {"vision_wait_ms", &p.vision_wait_ms},
      {"produce_choice_wait_ms", &p.produce_choice_wait_ms},
      {"choice_after_place_max_ms", &p.choice_after_place_max_ms},
      {"vision_dedup_window_ms", &p.vision_dedup_window_ms},
      {"transient_return_ms", &p.transient_return_ms},
      {"reweigh_wait_ms", &p.reweigh_wait_ms},
      {"view_max_compare_after_settle_ms", &p.views.max_compare_after_settle_ms},
  }};
  for (const auto& [key, field] : millis) {
    CS_ASSIGN_OR_RETURN(const double value, config.GetDouble(key));
    *field = std::llround(value);
  }
  const std::array<std::pair<const char*, double*>, 30> numbers = {{
      {"vision_dedup_distance_mm", &p.vision_dedup_distance_mm},
      {"produce_bag_tare_g", &p.produce_bag_tare_g},
      {"min_weighed_net_g", &p.min_weighed_net_g},
      {"produce_min_piece_ratio", &p.produce_min_piece_ratio},
      {"produce_max_weight_g", &p.produce_max_weight_g},
      {"unknown_item_max_weight_g", &p.unknown_item_max_weight_g},
      {"weight_min_sigma_g", &p.weight_min_sigma_g},
      {"degraded_sigma_ratio", &p.degraded_sigma_ratio},
      {"weight_match_sigma", &p.weight_match_sigma},
      {"two_units_prior_ratio", &p.two_units_prior_ratio},
      {"three_units_prior_ratio", &p.three_units_prior_ratio},
      {"ignore_below_g", &p.ignore_below_g},
      {"unknown_item_prior_probability_ratio", &p.unknown_item_prior_probability},
      {"scan_trust_probability_ratio", &p.scan_trust_probability},
      {"vision_floor_probability_ratio", &p.vision_floor_probability},
      {"vision_error_probability_ratio", &p.vision_error_probability},
      {"vision_not_in_catalogue_weight_ratio", &p.vision_not_in_catalogue_weight},
      {"vision_class_error_probability_ratio", &p.vision_class_error_probability},
      {"scan_left_out_probability_ratio", &p.scan_left_out_probability},
      {"vision_outside_topk_max_probability_ratio", &p.vision_outside_topk_max_probability},
      {"add_probability_min_ratio", &p.add_probability_min},
      {"ticket_switch_probability_min_ratio", &p.ticket_switch_probability_min},
      {"ticket_switch_review_probability_min_ratio", &p.ticket_switch_review_probability_min},
      {"unknown_probability_min_ratio", &p.unknown_probability_min},
      {"removal_probability_min_ratio", &p.removal_probability_min},
      {"view_softmax_temperature_ratio", &p.views.softmax_temperature},
      {"view_exponent_ratio", &p.views.view_exponent},
      {"view_missing_product_factor_ratio", &p.views.missing_product_factor},
      {"view_max_floor_distance_mm", &p.views.max_floor_distance_mm},
      {"view_min_visible_share_ratio", &p.views.min_visible_share},
  }};
  for (const auto& [key, field] : numbers) {
    CS_ASSIGN_OR_RETURN(*field, config.GetDouble(key));
  }
  CS_ASSIGN_OR_RETURN(const int64_t candidates, config.GetInt("prompt_candidates"));
  p.prompt_candidates = static_cast<int>(candidates);
  CS_ASSIGN_OR_RETURN(const int64_t cameras, config.GetInt("basket_cameras"));
  p.basket_cameras = static_cast<int>(cameras);
  CS_RETURN_IF_ERROR(p.Validate());
  return p;
}

Status ReasonerParams::Validate() const {
  const auto non_negative_ms = [](int64_t v, const char* key) -> Status {
    if (v < 0) return InvalidArgumentError(std::string(key) + " must be >= 0");
    return Status::Ok();
  };
  CS_RETURN_IF_ERROR(non_negative_ms(scan_to_place_timeout_ms, "scan_to_place_timeout_ms"));
  CS_RETURN_IF_ERROR(non_negative_ms(late_scan_hold_ms, "late_scan_hold_ms"));
  CS_RETURN_IF_ERROR(non_negative_ms(vision_wait_ms, "vision_wait_ms"));
  CS_RETURN_IF_ERROR(non_negative_ms(produce_choice_wait_ms, "produce_choice_wait_ms"));
  CS_RETURN_IF_ERROR(non_negative_ms(choice_after_place_max_ms, "choice_after_place_max_ms"));
  CS_RETURN_IF_ERROR(non_negative_ms(vision_dedup_window_ms, "vision_dedup_window_ms"));
  CS_RETURN_IF_ERROR(non_negative_ms(transient_return_ms, "transient_return_ms"));
  CS_RETURN_IF_ERROR(non_negative_ms(reweigh_wait_ms, "reweigh_wait_ms"));
  if (late_scan_hold_ms >= scan_to_place_timeout_ms && late_scan_hold_ms > 0) {
    return InvalidArgumentError("late_scan_hold_ms must be < scan_to_place_timeout_ms");
  }
  if (scan_forget_ms < scan_to_place_timeout_ms) {
    return InvalidArgumentError("scan_forget_ms must be >= scan_to_place_timeout_ms");
  }
  const auto positive = [](double v, const char* key) -> Status {
    if (!(v > 0) || !std::isfinite(v))
      return InvalidArgumentError(std::string(key) + " must be > 0");
    return Status::Ok();
  };
  CS_RETURN_IF_ERROR(positive(produce_min_piece_ratio, "produce_min_piece_ratio"));
  CS_RETURN_IF_ERROR(positive(produce_max_weight_g, "produce_max_weight_g"));
  CS_RETURN_IF_ERROR(positive(unknown_item_max_weight_g, "unknown_item_max_weight_g"));
  CS_RETURN_IF_ERROR(positive(weight_min_sigma_g, "weight_min_sigma_g"));
  CS_RETURN_IF_ERROR(positive(weight_match_sigma, "weight_match_sigma"));
  CS_RETURN_IF_ERROR(positive(views.softmax_temperature, "view softmax_temperature"));
  if (!(degraded_sigma_ratio >= 1))
    return InvalidArgumentError("degraded_sigma_ratio must be >= 1");
  if (!(produce_bag_tare_g >= 0) || !(min_weighed_net_g >= 0) || !(ignore_below_g >= 0)) {
    return InvalidArgumentError(
        "produce_bag_tare_g, min_weighed_net_g and ignore_below_g must be >= 0");
  }
  const auto unit_interval = [](double v, const char* key) -> Status {
    if (!(v >= 0 && v <= 1)) return InvalidArgumentError(std::string(key) + " must be in 0..1");
    return Status::Ok();
  };
  CS_RETURN_IF_ERROR(unit_interval(two_units_prior_ratio, "two_units_prior_ratio"));
  CS_RETURN_IF_ERROR(unit_interval(three_units_prior_ratio, "three_units_prior_ratio"));
  CS_RETURN_IF_ERROR(
      unit_interval(unknown_item_prior_probability, "unknown_item_prior_probability"));
  CS_RETURN_IF_ERROR(unit_interval(scan_trust_probability, "scan_trust_probability"));
  CS_RETURN_IF_ERROR(unit_interval(vision_floor_probability, "vision_floor_probability"));
  CS_RETURN_IF_ERROR(unit_interval(vision_error_probability, "vision_error_probability"));
  CS_RETURN_IF_ERROR(
      unit_interval(vision_not_in_catalogue_weight, "vision_not_in_catalogue_weight"));
  CS_RETURN_IF_ERROR(
      unit_interval(vision_class_error_probability, "vision_class_error_probability"));
  if (!(vision_error_probability + vision_class_error_probability <= 1)) {
    return InvalidArgumentError(
        "vision_error_probability + vision_class_error_probability must be <= 1");
  }
  CS_RETURN_IF_ERROR(unit_interval(scan_left_out_probability, "scan_left_out_probability"));
  CS_RETURN_IF_ERROR(
      unit_interval(vision_outside_topk_max_probability, "vision_outside_topk_max_probability"));
  CS_RETURN_IF_ERROR(unit_interval(add_probability_min, "add_probability_min"));
  CS_RETURN_IF_ERROR(unit_interval(ticket_switch_probability_min, "ticket_switch_probability_min"));
  CS_RETURN_IF_ERROR(
      unit_interval(ticket_switch_review_probability_min, "ticket_switch_review_probability_min"));
  CS_RETURN_IF_ERROR(unit_interval(unknown_probability_min, "unknown_probability_min"));
  CS_RETURN_IF_ERROR(unit_interval(removal_probability_min, "removal_probability_min"));
  if (!(unknown_item_prior_probability > 0 && unknown_item_prior_probability < 1)) {
    return InvalidArgumentError("unknown_item_prior_probability must be in (0, 1)");
  }
  if (!(scan_trust_probability > 0 && scan_trust_probability < 1)) {
    return InvalidArgumentError("scan_trust_probability must be in (0, 1)");
  }
  if (!(vision_floor_probability > 0)) {
    return InvalidArgumentError("vision_floor_probability must be > 0");
  }
  if (basket_cameras < 0) return InvalidArgumentError("basket_cameras must be >= 0");
  if (prompt_candidates < 1) return InvalidArgumentError("prompt_candidates must be >= 1");
  return Status::Ok();
}

void ReasonerOutput::Append(ReasonerOutput other) {
  for (auto& a : other.actions) actions.push_back(std::move(a));
  for (auto& p : other.prompts) prompts.push_back(std::move(p));
  for (auto& f : other.flags) flags.push_back(std::move(f));
}

}  // namespace cartsense::fusion

// ----------------------------------------------------------------------------------------------
// The state machine.

namespace cartsense::fusion {
namespace {

constexpr double kLogTiny = -700;  // log of "impossible" (exp underflows to 0 in double)

double LogNormalDensity(double x, double mean, double sigma) {
  const double z = (x - mean) / sigma;
  return -0.5 * z * z - std::log(sigma) - 0.5 * std::log(2 * 3.14159265358979323846);
}

double LogSumExp(double a, double b) {
  if (a < b) std::swap(a, b);
  if (b <= kLogTiny) return a;
  return a + std::log1p(std::exp(b - a));
}

// Calls visit(members) for every subset of {0, ..., n-1} with 1 to max_members (at most 3)
// members, in the order of three nested loops: {0}, {0,1}, {0,1,2}, {0,1,3}, ..., {0,2}, ...,
// {1}, ... (the explanations of one weight change by several items; ties go to the first).
template <typename Visit>
void ForEachSmallSubset(std::size_t n, int max_members, const Visit& visit) {
  for (std::size_t a = 0; a < n; ++a) {
    visit(std::vector<std::size_t>{a});
    if (max_members < 2) continue;
    for (std::size_t b = a + 1; b < n; ++b) {
      visit(std::vector<std::size_t>{a, b});
      if (max_members < 3) continue;
      for (std::size_t c = b + 1; c < n; ++c) visit(std::vector<std::size_t>{a, b, c});
    }
  }
}

// A weight step this soon after the scale's health came back to ok may be the returning cell.
constexpr int64_t kRecoverySettleMs = 5000;

const char* CameraStateName(CameraHealthEvidence::State state) {
  switch (state) {
    case CameraHealthEvidence::State::kOk:
      return "ok";
    case CameraHealthEvidence::State::kBlack:
      return "black";
    case CameraHealthEvidence::State::kFrozen:
      return "frozen";
    case CameraHealthEvidence::State::kCovered:
      return "covered";
    case CameraHealthEvidence::State::kDisconnected:
      return "disconnected";
  }
  return "?";
}

std::string FormatGrams(double g) {
  std::ostringstream text;
  text.setf(std::ios::fixed);
  text.precision(0);
  text << g << " g";
  return text.str();
}

// True for products sold without a barcode (loose produce): chosen on the screen, never scanned.
bool IsLoose(const catalog::Product& product) { return product.gtin.empty(); }

}  // namespace

class Reasoner::Impl {
 public:
  Impl(const catalog::Catalogue* catalogue, ReasonerParams params, Modalities modalities)
      : catalogue_(catalogue), params_(params), modalities_(modalities) {
    for (const catalog::Product& product : catalogue_->products()) {
      ++coarse_class_size_[product.coarse_id];
    }
    for (int c = 0; c < params_.basket_cameras; ++c) cameras_[c] = CameraHealthEvidence::State::kOk;
    mode_ = Describe();
  }

  Result<ReasonerOutput> Weight(const sensors::WeightEvent& event) {
    ReasonerOutput out;
    CS_RETURN_IF_ERROR(Enter(event.t_settle, "weight event", &out));
    ++weight_count_;
    if (WeightActive()) {
      if (event.delta_g > 0) {
        OnAddition(event, &out);
      } else {
        OnRemoval(event, &out);
      }
    }
    FireTimers(now_, /*inclusive=*/true, &out);
    return out;
  }

  Result<ReasonerOutput> Scale(const sensors::ScaleStatus& status) {
    ReasonerOutput out;
    CS_RETURN_IF_ERROR(Enter(status.t, "scale status", &out));
    if (scale_.health != sensors::ScaleHealth::kOk && status.health == sensors::ScaleHealth::kOk) {
      scale_recovered_t_ = status.t;
    }
    scale_ = status;
    CheckMode(&out);
    FireTimers(now_, true, &out);
    return out;
  }

  Result<ReasonerOutput> Vision(const VisionEvidence& vision) {
    ReasonerOutput out;
    CS_RETURN_IF_ERROR(Enter(vision.t, "vision evidence", &out));
    if (!cameras_.contains(vision.camera_id)) {
      cameras_[vision.camera_id] = CameraHealthEvidence::State::kOk;
    }
    if (modalities_.vision && CameraOk(vision.camera_id)) {
      views_.push_back(vision);
      if (!WeightActive()) OnVisionDriven(views_.back(), &out);
      CompleteVisionWaits(&out);
    }
    PruneViews();
    FireTimers(now_, true, &out);
    return out;
  }

  Result<ReasonerOutput> CameraHealth(const CameraHealthEvidence& health) {
    ReasonerOutput out;
    CS_RETURN_IF_ERROR(Enter(health.t, "camera health", &out));
    cameras_[health.camera_id] = health.state;
    camera_messages_[health.camera_id] = health.message;
    CheckMode(&out);
    // A camera that went away is no longer waited for.
    if (modalities_.vision) CompleteVisionWaits(&out);
    FireTimers(now_, true, &out);
    return out;
  }

  Result<ReasonerOutput> Scan(const ScannerRead& read) {
    ReasonerOutput out;
    CS_RETURN_IF_ERROR(Enter(read.t, "scan", &out));
    ++scan_count_;
    if (modalities_.scan) OnScanRead(read, &out);
    FireTimers(now_, true, &out);
    return out;
  }

  Result<ReasonerOutput> Shopper(const ShopperAction& action) {
    ReasonerOutput out;
    CS_RETURN_IF_ERROR(Enter(action.t, "shopper action", &out));
    switch (action.kind) {
      case ShopperAction::Kind::kAnswerPrompt:
        OnAnswer(action, &out);
        break;
      case ShopperAction::Kind::kChooseProduct:
        ++choice_count_;
        OnChoice(action, &out);
        break;
      case ShopperAction::Kind::kRemoveItem:
        ++choice_count_;
        OnRemoveRow(action, &out);
        break;
      case ShopperAction::Kind::kRequestHelp:
      case ShopperAction::Kind::kStartCheckout:
        break;
    }
    FireTimers(now_, true, &out);
    return out;
  }

  Result<ReasonerOutput> Advance(Timestamp t) {
    ReasonerOutput out;
    CS_RETURN_IF_ERROR(Enter(t, "time", &out));
    FireTimers(now_, true, &out);
    return out;
  }

  std::string mode() const { return mode_; }
  Timestamp now() const { return now_; }

  std::vector<ReasonerItem> Items() const {
    std::vector<ReasonerItem> items;
    for (const Item& item : items_) {
      if (item.present) items.push_back(item.view);
    }
    return items;
  }

  std::vector<ShopperPrompt> OpenPrompts() const {
    std::vector<ShopperPrompt> prompts;
    for (const auto& [id, prompt] : prompts_) {
      if (prompt.open) prompts.push_back(prompt.prompt);
    }
    std::sort(prompts.begin(), prompts.end(), [](const ShopperPrompt& a, const ShopperPrompt& b) {
      return a.event_time < b.event_time;
    });
    return prompts;
  }

 private:
  // One unit (or one produce line) the reasoner put in the basket, or an own item it remembers.
  struct Item {
    ReasonerItem view;
    bool present = true;
    int64_t unit_price_minor = 0;
    int64_t placement_id = 0;
    Timestamp added_t;
    Timestamp removed_t;
    std::vector<std::string> evidence_ids;
  };

  // A scan (or an undecodable scan attempt, product_id "") waiting for its placement.
  struct OpenScan {
    int64_t number = 0;
    std::string evidence_id;
    Timestamp t;
    std::string product_id;  // "" for an attempt
    bool consumed = false;
    bool timed_out = false;
    // Held (late_scan_hold_ms) before it settles a placement that waits without a scan.
    std::optional<Timestamp> settle_waiting_at;
  };

  // A touchscreen choice made before its placement (choose-then-place).
  struct OpenChoice {
    std::string evidence_id;
    Timestamp t;
    std::string product_id;
    int pieces = 0;
    bool consumed = false;
  };

  enum class Stage { kWaitVision, kWaitChoice, kPrompted, kWatch, kDone };

  // One change of the basket's contents being decided: a weight event (or, with no weight, a
  // group of camera regions). sign +1: something went in; -1: something came out.
  struct Placement {
    int64_t id = 0;
    int sign = 1;
    bool has_weight = false;
    sensors::WeightEvent event;
    double amount_g = 0;  // |Δ|
    double sigma_g = 0;   // σ used for comparisons
    Timestamp t_start, t_settle;
    std::optional<sensors::PointMm> position;
    std::vector<std::string> evidence_ids;  // "weight:N" first, then what joined
    std::vector<RegionEvidence> regions;    // vision-driven: the deduplicated regions
    std::set<int> region_cameras;
    Stage stage = Stage::kWaitVision;
    Timestamp deadline;  // of the current wait
    std::optional<CombinedViews> views;
    std::vector<int64_t> scan_numbers;  // scans it consumed
    bool attempt_consumed = false;      // an undecodable scan attempt explains it
    std::vector<int64_t> item_ids;      // items it added or removed
    std::string prompt_id;
    bool choice_attached = false;
    bool cancelled = false;
    bool unscanned_flagged = false;
    std::string decided_product;  // additions: what was billed ("" own item or undecided)
    // A multi-drop's unscanned remainder: the drop (placement id) whose scans were billed; this
    // placement holds the weight they do not explain.
    int64_t remainder_of = 0;
    // Additions: produce billed from a weight that may hold other items (a kWeighAlone answer);
    // waiting until reweigh_deadline for it to be lifted out alone.
    bool reweigh_pending = false;
    Timestamp reweigh_deadline;
    // Removals: the produce of placement reweigh_of lifted out to be weighed alone.
    int64_t reweigh_of = 0;
    // What a weighed-alone produce did not explain of placement leftover_of's weight: one more
    // thing that came in with it.
    int64_t leftover_of = 0;
    // Part of a multi-drop: a drop's remainder or what a weighed-alone produce left over.
    bool PartOfDrop() const { return remainder_of != 0 || leftover_of != 0; }
    // Additions: the most regions of its kind one camera saw appear for it (2 or more: several
    // things came in together).
    int regions_seen = 0;
    // Settled within kRecoverySettleMs after the scale's health came back to ok (a lost load
    // cell returned): the step may be the cell's load coming back, not an item.
    bool after_scale_recovery = false;
    // Removals: what stays of a produce line some pieces were taken from (TakePartOf).
    int64_t partial_rest_item = 0;
    // Additions flagged as a ticket switch and then asked which item it is (the views did not
    // say it well enough to bill): the product scanned and the one the evidence favours. An
    // answer naming the scanned product does not overrule the evidence (a switcher names what
    // they scanned): the favoured product is billed and the flag stands for review.
    std::string switch_flagged_scanned;
    std::string switch_flagged_looks_like;
  };

  struct OpenPrompt {
    ShopperPrompt prompt;
    int64_t placement_id = 0;  // 0: none
    int64_t scan_number = 0;   // kPlaceScannedItem
    bool open = true;
  };

  // Posterior over "one thing placed": products (with a unit count) and "unknown".
  struct Hypothesis {
    const catalog::Product* product = nullptr;  // nullptr: not in the catalogue / own item
    int units = 1;
    double log_score = 0;
    double probability = 0;
  };

  struct PosteriorInput {
    std::optional<double> amount_g;  // weight of what was placed, if weighed
    double sigma_g = 0;
    const CombinedViews* views = nullptr;
    std::map<std::string, int> scanned;  // product id -> open scans of it
  };

  // ---- time ----------------------------------------------------------------------------------

  Status Enter(Timestamp t, const char* what, ReasonerOutput* out) {
    if (started_ && t < now_) {
      return InvalidArgumentError(std::string(what) + " at " + ToString(t) +
                                  " is earlier than the last input at " + ToString(now_) +
                                  ": evidence must come in time order");
    }
    started_ = true;
    // Waits that ended before this input are decided first (as a driver calling AdvanceTo
    // often would have), stamped with this input's time.
    FireTimers(t, /*inclusive=*/false, out);
    now_ = t;
    return Status::Ok();
  }

  // Decides every wait whose deadline is before t (or at t when inclusive), earliest first.
  void FireTimers(Timestamp t, bool inclusive, ReasonerOutput* out) {
    const Timestamp saved = now_;
    now_ = std::max(now_, t);
    for (int guard = 0; guard < 10000; ++guard) {
      // The earliest due wait: placements, then scans.
      std::optional<Timestamp> best_t;
      int64_t best_placement = 0;
      int64_t best_scan = 0;
      const auto due = [&](Timestamp d) { return inclusive ? d <= t : d < t; };
      for (const auto& [id, p] : placements_) {
        if (p.cancelled || p.stage == Stage::kDone || p.stage == Stage::kPrompted) continue;
        if (due(p.deadline) && (!best_t || p.deadline < *best_t)) {
          best_t = p.deadline;
          best_placement = id;
          best_scan = 0;
        }
      }
      int64_t best_held_scan = 0;
      for (const OpenScan& scan : scans_) {
        if (scan.consumed || scan.timed_out) continue;
        const Timestamp d = scan.t + Duration::Milliseconds(params_.scan_to_place_timeout_ms);
        if (due(d) && (!best_t || d < *best_t)) {
          best_t = d;
          best_scan = scan.number;
          best_placement = 0;
          best_held_scan = 0;
        }
        if (scan.settle_waiting_at && due(*scan.settle_waiting_at) &&
            (!best_t || *scan.settle_waiting_at < *best_t)) {
          best_t = scan.settle_waiting_at;
          best_held_scan = scan.number;
          best_scan = 0;
          best_placement = 0;
        }
      }
      if (!best_t) break;
      if (best_held_scan != 0) {
        OpenScan& held = *FindScan(best_held_scan);
        held.settle_waiting_at.reset();
        SettleWaitingPlacement(held, out);
      } else if (best_placement != 0) {
        Placement& p = placements_.at(best_placement);
        switch (p.stage) {
          case Stage::kWaitVision:
            FinishVision(p, out);
            break;
          case Stage::kWaitChoice:
            PromptForChoice(p, out);
            break;
          case Stage::kWatch:
            Watch(p, out);
            break;
          case Stage::kPrompted:
          case Stage::kDone:
            break;
        }
      } else {
        ScanTimedOut(best_scan, out);
      }
    }
    now_ = std::max(saved, now_);
    PruneScans();
  }

  // ---- modes ---------------------------------------------------------------------------------

  bool WeightActive() const {
    return modalities_.weight && scale_.health != sensors::ScaleHealth::kFault;
  }
  bool ScaleDegraded() const {
    return modalities_.weight && scale_.health == sensors::ScaleHealth::kDegraded;
  }
  bool CameraOk(int camera) const {
    const auto it = cameras_.find(camera);
    return it == cameras_.end() || it->second == CameraHealthEvidence::State::kOk;
  }
  int HealthyCameras() const {
    int n = 0;
    for (const auto& [id, state] : cameras_) n += state == CameraHealthEvidence::State::kOk;
    return n;
  }
  bool VisionActive() const {
    return modalities_.vision && (cameras_.empty() || HealthyCameras() > 0);
  }

  std::string CameraProblems() const {
    std::string text;
    for (const auto& [id, state] : cameras_) {
      if (state == CameraHealthEvidence::State::kOk) continue;
      if (!text.empty()) text += "; ";
      text += "camera " + std::to_string(id) + ": " + CameraStateName(state);
    }
    return text;
  }

  std::string Describe() const {
    const bool weight = WeightActive();
    const bool vision = VisionActive();
    const bool scan = modalities_.scan;
    if (!weight && !vision) return scan ? "scanner only" : "no evidence";
    std::vector<std::string> parts;
    if (!modalities_.weight) {
      parts.push_back("no weight");
    } else if (!weight) {
      parts.push_back("no weight (scale fault" +
                      (scale_.message.empty() ? std::string() : ": " + scale_.message) + ")");
    } else if (ScaleDegraded()) {
      std::string cells;
      for (int c = 0; c < sensors::kCellCount; ++c) {
        const sensors::CellFault fault = scale_.cells[static_cast<std::size_t>(c)];
        if (fault == sensors::CellFault::kNone) continue;
        if (!cells.empty()) cells += ", ";
        cells += std::string(sensors::CellName(c)) + " " + sensors::CellFaultName(fault);
      }
      if (cells.empty()) cells = scale_.message;
      parts.push_back("one load cell lost" + (cells.empty() ? std::string() : " (" + cells + ")"));
    }
    if (!modalities_.vision) {
      parts.push_back("no vision");
    } else if (!vision) {
      parts.push_back("no vision (" + CameraProblems() + ")");
    } else if (const std::string problems = CameraProblems(); !problems.empty()) {
      parts.push_back("fewer cameras (" + problems + ")");
    }
    if (!scan) parts.push_back("no scanner");
    if (parts.empty()) return "fused";
    std::string text;
    for (const std::string& part : parts) text += (text.empty() ? "" : ", ") + part;
    return text;
  }

  void CheckMode(ReasonerOutput* out) {
    const std::string mode = Describe();
    if (mode == mode_) return;
    mode_ = mode;
    AuditFlag flag;
    flag.kind = AuditFlagKind::kDegradedMode;
    flag.message = mode;
    flag.probability = 1.0;
    flag.event_time = now_;
    out->flags.push_back(std::move(flag));
  }

  // ---- likelihoods ---------------------------------------------------------------------------

  double EventSigma(const sensors::WeightEvent& event) const {
    double sigma = event.sigma_g;
    if (ScaleDegraded() || event.cells_used < sensors::kCellCount) {
      sigma *= params_.degraded_sigma_ratio;
    }
    return std::max(sigma, params_.weight_min_sigma_g);
  }

  static double ProductSigma(const catalog::Product& product) {
    return std::max(product.unit_mass_sigma_g, 0.5);
  }

  // log p(amount | product, units) and the most likely unit count.
  std::pair<double, int> LogWeightLikelihood(const catalog::Product* product, double amount_g,
                                             double sigma_g) const {
    if (product == nullptr) {
      if (amount_g > params_.unknown_item_max_weight_g) return {kLogTiny, 1};
      return {-std::log(params_.unknown_item_max_weight_g), 1};
    }
    if (product->sold_by == catalog::SoldBy::kWeight) {
      const double lower = params_.produce_min_piece_ratio * product->unit_mass_g;
      const double log_uniform = -std::log(std::max(params_.produce_max_weight_g - lower, 1.0));
      const int pieces = EstimatePieces(*product, amount_g);
      if (amount_g > params_.produce_max_weight_g) return {kLogTiny, pieces};
      if (amount_g >= lower) return {log_uniform, pieces};
      const double z = (lower - amount_g) / std::hypot(ProductSigma(*product), sigma_g);
      return {log_uniform - 0.5 * z * z, 1};
    }
    const std::array<double, 3> priors = {1.0, params_.two_units_prior_ratio,
                                          params_.three_units_prior_ratio};
    double total = kLogTiny;
    double best = kLogTiny;
    int best_units = 1;
    for (int n = 1; n <= 3; ++n) {
      const double prior = priors[static_cast<std::size_t>(n - 1)];
      if (prior <= 0) continue;
      const double s =
          std::sqrt(n * ProductSigma(*product) * ProductSigma(*product) + sigma_g * sigma_g);
      const double l = std::log(prior) + LogNormalDensity(amount_g, n * product->unit_mass_g, s);
      total = LogSumExp(total, l);
      if (l > best) {
        best = l;
        best_units = n;
      }
    }
    return {total, best_units};
  }

  static int EstimatePieces(const catalog::Product& product, double amount_g) {
    if (product.unit_mass_g <= 0) return 1;
    return std::max(1, static_cast<int>(std::lround(amount_g / product.unit_mass_g)));
  }

  // Whether `amount_g` is a plausible weight for `units` of the product (any count when 0).
  bool WeightSupports(const catalog::Product& product, int units, double amount_g,
                      double sigma_g) const {
    if (product.sold_by == catalog::SoldBy::kWeight) {
      const double lower = params_.produce_min_piece_ratio * product.unit_mass_g;
      return amount_g >= lower - params_.weight_match_sigma * sigma_g &&
             amount_g <= params_.produce_max_weight_g;
    }
    const int from = units > 0 ? units : 1;
    const int to = units > 0 ? units : 3;
    for (int n = from; n <= to; ++n) {
      const double s =
          std::sqrt(n * ProductSigma(product) * ProductSigma(product) + sigma_g * sigma_g);
      if (std::abs(amount_g - n * product.unit_mass_g) <= params_.weight_match_sigma * s) {
        return true;
      }
    }
    return false;
  }

  // Vision's likelihood of each hypothesis for a combination. The views' distribution q: a
  // product's combined probability × (1 − w p_nic); a product outside every view's top-k gets the
  // smallest one times missing_product_factor (as CombineViews does for a product missing from
  // one view), at most vision_outside_topk_max_probability (a short top-k says little about the
  // rest); "unknown" gets w p_nic (w = vision_not_in_catalogue_weight). The recognizer is often
  // wrong on basket crops, and mostly between look-alikes of one coarse class (two brands of
  // milk), so the likelihood is a label-noise mixture at two levels:
  //   (1 − ε − ε_c) q(h) + ε_c q(class of h) / |class of h| + ε / (products + 1),
  // ε = vision_error_probability (the views say nothing), ε_c = vision_class_error_probability
  // (the views name the right coarse class, not the product; "unknown" is a class of its own);
  // never below vision_floor_probability. Summed over the hypotheses it is 1.
  double LogVision(const catalog::Product* product, const CombinedViews& views) const {
    const double nic = params_.vision_not_in_catalogue_weight *
                       std::clamp(views.not_in_catalogue_probability, 0.0, 1.0);
    const double error = params_.vision_error_probability;
    const double class_error = params_.vision_class_error_probability;
    const double uniform = 1.0 / static_cast<double>(catalogue_->products().size() + 1);
    const auto mixed = [&](double q, double q_class) {
      return std::log(
          std::max((1 - error - class_error) * q + class_error * q_class + error * uniform,
                   params_.vision_floor_probability));
    };
    if (product == nullptr) return mixed(nic, nic);
    double smallest = 1;
    for (const ProductProbability& pp : views.products) {
      smallest = std::min(smallest, pp.probability);
    }
    if (views.products.empty()) smallest = 0;
    const double outside = (1 - nic) * std::min(smallest * params_.views.missing_product_factor,
                                                params_.vision_outside_topk_max_probability);
    double q = outside;
    // q of the product's coarse class: its members in the views plus the others at `outside`.
    const auto size_it = coarse_class_size_.find(product->coarse_id);
    const int class_size = size_it != coarse_class_size_.end() ? size_it->second : 1;
    int members_seen = 0;
    double q_class = 0;
    for (const ProductProbability& pp : views.products) {
      const catalog::Product* seen = catalogue_->FindById(pp.product_id);
      if (seen == nullptr || seen->coarse_id != product->coarse_id) continue;
      ++members_seen;
      q_class += (1 - nic) * pp.probability;
      if (seen->id == product->id) q = (1 - nic) * pp.probability;
    }
    q_class += static_cast<double>(std::max(class_size - members_seen, 0)) * outside;
    return mixed(q, q_class / static_cast<double>(class_size));
  }

  std::vector<Hypothesis> Posterior(const PosteriorInput& in) const {
    const auto& products = catalogue_->products();
    const double n = static_cast<double>(std::max<std::size_t>(products.size(), 1));
    const double log_product_prior = std::log((1 - params_.unknown_item_prior_probability) / n);
    // A scan names what is placed with probability scan_trust; the rest spreads over the others.
    const double log_scan_factor =
        std::log(1 + params_.scan_trust_probability / (1 - params_.scan_trust_probability) * n);
    std::vector<Hypothesis> hypotheses;
    hypotheses.reserve(products.size() + 1);
    const bool use_views = in.views != nullptr && in.views->views > 0;
    for (std::size_t i = 0; i <= products.size(); ++i) {
      Hypothesis h;
      h.product = i < products.size() ? &products[i] : nullptr;
      h.log_score =
          h.product ? log_product_prior : std::log(params_.unknown_item_prior_probability);
      if (use_views) h.log_score += LogVision(h.product, *in.views);
      if (in.amount_g) {
        const auto [l, units] = LogWeightLikelihood(h.product, *in.amount_g, in.sigma_g);
        h.log_score += l;
        h.units = units;
      }
      if (h.product && in.scanned.contains(h.product->id)) h.log_score += log_scan_factor;
      hypotheses.push_back(h);
    }
    double max_log = kLogTiny;
    for (const Hypothesis& h : hypotheses) max_log = std::max(max_log, h.log_score);
    double sum = 0;
    for (Hypothesis& h : hypotheses) {
      h.probability = std::exp(h.log_score - max_log);
      sum += h.probability;
    }
    for (Hypothesis& h : hypotheses) h.probability /= sum;
    // Best first; ties in catalogue order (stable sort keeps it), unknown last among equals.
    std::stable_sort(
        hypotheses.begin(), hypotheses.end(),
        [](const Hypothesis& a, const Hypothesis& b) { return a.probability > b.probability; });
    return hypotheses;
  }

  static double ProbabilityOf(const std::vector<Hypothesis>& hs, const std::string& product_id) {
    for (const Hypothesis& h : hs) {
      if (h.product && h.product->id == product_id) return h.probability;
    }
    return 0;
  }

  std::vector<std::string> Candidates(const std::vector<Hypothesis>& hs,
                                      const std::vector<std::string>& first = {}) const {
    std::vector<std::string> ids = first;
    for (const Hypothesis& h : hs) {
      if (static_cast<int>(ids.size()) >= params_.prompt_candidates) break;
      if (!h.product) continue;
      if (std::find(ids.begin(), ids.end(), h.product->id) == ids.end()) {
        ids.push_back(h.product->id);
      }
    }
    return ids;
  }

  // ---- vision --------------------------------------------------------------------------------

  std::vector<VisionEvidence> UnusedViews() const {
    std::vector<VisionEvidence> views;
    views.reserve(views_.size());
    for (const VisionEvidence& v : views_) {
      VisionEvidence copy = v;
      copy.regions.clear();
      for (const RegionEvidence& r : v.regions) {
        if (!used_regions_.contains(r.evidence_id)) copy.regions.push_back(r);
      }
      views.push_back(std::move(copy));
    }
    return views;
  }

  // Every healthy camera has compared since the event's motion (or vision is off).
  bool VisionComplete(const Placement& p) const {
    if (!VisionActive()) return true;
    for (const auto& [camera, state] : cameras_) {
      if (state != CameraHealthEvidence::State::kOk) continue;
      bool compared = false;
      for (const VisionEvidence& v : views_) {
        if (v.camera_id == camera && v.t >= p.t_start && v.motion_start <= p.t_settle) {
          compared = true;
          break;
        }
      }
      if (!compared) return false;
    }
    return true;
  }

  // The most regions of p's kind that one camera saw in p's window near p's position (within
  // twice the association distance: the items of a drop lie apart).
  int RegionsSeenBy(const Placement& p, const std::vector<VisionEvidence>& views) const {
    const bool want_vanished = p.sign < 0;
    const Timestamp window_end =
        p.t_settle + Duration::Milliseconds(params_.views.max_compare_after_settle_ms);
    std::map<int, int> per_camera;
    int most = 0;
    for (const VisionEvidence& view : views) {
      if (view.outcome != VisionEvidence::Outcome::kCompared) continue;
      if (view.t < p.t_start || view.t > window_end) continue;
      for (const RegionEvidence& region : view.regions) {
        if (region.vanished != want_vanished) continue;
        if (region.visible_share < params_.views.min_visible_share) continue;
        if (p.position && region.floor_mm &&
            std::hypot(region.floor_mm->x_mm - p.position->x_mm,
                       region.floor_mm->y_mm - p.position->y_mm) >
                2 * params_.views.max_floor_distance_mm) {
          continue;
        }
        most = std::max(most, ++per_camera[region.camera_id]);
      }
    }
    return most;
  }

  CombinedViews ViewsFor(Placement& p) {
    if (!VisionActive()) return {};
    const std::vector<VisionEvidence> views = UnusedViews();
    p.regions_seen = std::max(p.regions_seen, RegionsSeenBy(p, views));
    const std::vector<const RegionEvidence*> regions =
        SelectRegionsForEvent(views, p.sign, p.t_start, p.t_settle, p.position, params_.views);
    CombinedViews combined = CombineViews(regions, params_.views);
    for (const std::string& id : combined.evidence_ids) used_regions_.insert(id);
    return combined;
  }

  void CompleteVisionWaits(ReasonerOutput* out) {
    std::vector<int64_t> ready;
    for (const auto& [id, p] : placements_) {
      if (p.cancelled || !p.has_weight) continue;
      if ((p.stage == Stage::kWaitVision || p.stage == Stage::kWatch) && VisionComplete(p)) {
        ready.push_back(id);
      }
    }
    for (int64_t id : ready) {
      Placement& p = placements_.at(id);
      if (p.stage == Stage::kWaitVision) {
        FinishVision(p, out);
      } else if (p.stage == Stage::kWatch) {
        Watch(p, out);
      }
    }
  }

  void PruneViews() {
    // Keep what a pending decision may still associate.
    const Timestamp keep_after =
        now_ - Duration::Milliseconds(std::max<int64_t>(60000, 4 * params_.vision_wait_ms));
    std::erase_if(views_, [&](const VisionEvidence& v) { return v.t < keep_after; });
  }

  void PruneScans() {
    const Timestamp forget = now_ - Duration::Milliseconds(params_.scan_forget_ms);
    std::erase_if(scans_, [&](const OpenScan& s) { return s.t < forget; });
    std::erase_if(choices_, [&](const OpenChoice& c) {
      return c.consumed || c.t < now_ - Duration::Milliseconds(params_.scan_to_place_timeout_ms);
    });
  }

  // ---- outputs -------------------------------------------------------------------------------

  std::vector<std::string> EvidenceOf(const Placement& p) const {
    std::vector<std::string> ids = p.evidence_ids;
    if (p.views) {
      for (const std::string& id : p.views->evidence_ids) {
        if (std::find(ids.begin(), ids.end(), id) == ids.end()) ids.push_back(id);
      }
    }
    for (int64_t number : p.scan_numbers) ids.push_back("scan:" + std::to_string(number));
    return ids;
  }

  void Flag(AuditFlagKind kind, const std::string& product_id, std::string message,
            double probability, std::vector<std::string> evidence, ReasonerOutput* out) {
    AuditFlag flag;
    flag.kind = kind;
    flag.product_id = product_id;
    flag.message = std::move(message);
    flag.probability = std::clamp(probability, 0.0, 1.0);
    flag.evidence_ids = std::move(evidence);
    flag.event_time = now_;
    out->flags.push_back(std::move(flag));
  }

  std::string Ask(PromptKind kind, std::vector<std::string> candidates, std::string message,
                  double probability, std::vector<std::string> evidence, int64_t placement_id,
                  int64_t scan_number, ReasonerOutput* out) {
    OpenPrompt open;
    open.prompt.prompt_id = "p" + std::to_string(++prompt_count_);
    open.prompt.kind = kind;
    open.prompt.candidate_product_ids = std::move(candidates);
    open.prompt.message = std::move(message);
    open.prompt.probability = std::clamp(probability, 0.0, 1.0);
    open.prompt.evidence_ids = std::move(evidence);
    open.prompt.event_time = now_;
    open.placement_id = placement_id;
    open.scan_number = scan_number;
    out->prompts.push_back(open.prompt);
    std::string id = open.prompt.prompt_id;
    prompts_[id] = std::move(open);
    return id;
  }

  void ClosePrompt(const std::string& prompt_id) {
    if (prompt_id.empty()) return;
    const auto it = prompts_.find(prompt_id);
    if (it != prompts_.end()) it->second.open = false;
  }

  // Puts `units` units (or pieces of produce) of `product` in the basket for placement `p`,
  // which weighed `amount_g` for them (0: not weighed).
  void AddProduct(Placement& p, const catalog::Product& product, int units, double amount_g,
                  double amount_sigma_g, double probability,
                  const std::vector<std::string>& evidence, ReasonerOutput* out) {
    units = std::max(units, 1);
    Item item;
    item.view.product_id = product.id;
    item.view.floor_mm = p.position;
    item.placement_id = p.id;
    item.added_t = now_;
    item.evidence_ids = evidence;
    if (product.sold_by == catalog::SoldBy::kWeight) {
      const double net = amount_g - params_.produce_bag_tare_g;
      const bool below = p.has_weight && p.event.below_min_capacity;
      // With pieces of it already in the basket, the line's weight decides (RepriceProduceLine).
      const ProduceLine line = ProduceLineOf(product.id);
      const bool line_by_weight =
          !line.items.empty() && line.all_weighed && net + line.net_g >= params_.min_weighed_net_g;
      if (amount_g > 0 && ((!below && net >= params_.min_weighed_net_g) || line_by_weight)) {
        item.view.priced_by = PricedBy::kWeight;
        item.view.net_weight_g = net;
        item.unit_price_minor = product.price_minor;
      } else {
        // Below the scale's minimum capacity (or not weighed): by the piece.
        item.view.priced_by = PricedBy::kUnit;
        item.unit_price_minor = PiecePriceMinor(product.price_minor, product.unit_mass_g);
      }
      item.view.quantity = units;
      item.view.measured_g = amount_g;
      item.view.measured_sigma_g = amount_sigma_g;
      item.view.item_id = ++item_count_;
      p.item_ids.push_back(item.view.item_id);
      items_.push_back(item);
      out->actions.push_back(ActionForItem(item, BasketActionKind::kAdd, probability, evidence));
      RepriceProduceLine(product, probability, evidence, out);
    } else {
      // One item per unit, each remembering its share of the weight (for removals); one action
      // for all of them.
      item.view.priced_by = PricedBy::kUnit;
      item.view.quantity = 1;
      item.view.measured_g = amount_g > 0 ? amount_g / units : 0;
      item.view.measured_sigma_g =
          amount_g > 0 ? std::hypot(amount_sigma_g / units, ProductSigma(product)) : 0;
      item.unit_price_minor = product.price_minor;
      BasketAction action = ActionForItem(item, BasketActionKind::kAdd, probability, evidence);
      action.quantity = units;
      for (int u = 0; u < units; ++u) {
        Item unit = item;
        unit.view.item_id = ++item_count_;
        p.item_ids.push_back(unit.view.item_id);
        items_.push_back(unit);
      }
      out->actions.push_back(std::move(action));
    }
    p.decided_product = product.id;
  }

  void AddOwnItem(Placement& p, const std::string& message, double probability,
                  std::vector<std::string> evidence, bool flag, ReasonerOutput* out) {
    Item item;
    item.view.item_id = ++item_count_;
    item.view.own_item = true;
    item.view.measured_g = p.has_weight ? p.amount_g : 0;
    item.view.measured_sigma_g = p.sigma_g;
    item.view.floor_mm = p.position;
    item.placement_id = p.id;
    item.added_t = now_;
    item.evidence_ids = evidence;
    p.item_ids.push_back(item.view.item_id);
    p.decided_product.clear();
    items_.push_back(std::move(item));
    if (flag) {
      Flag(AuditFlagKind::kUnknownItem, "", message, probability, std::move(evidence), out);
    }
  }

  Item* FindItem(int64_t item_id) {
    for (Item& item : items_) {
      if (item.view.item_id == item_id) return &item;
    }
    return nullptr;
  }

  // Takes an item out of the basket (own items leave silently).
  void RemoveItem(Item& item, double probability, const std::vector<std::string>& evidence,
                  ReasonerOutput* out) {
    item.present = false;
    item.removed_t = now_;
    if (item.view.own_item) return;
    out->actions.push_back(ActionForItem(item, BasketActionKind::kRemove, probability, evidence));
    if (const catalog::Product* product = catalogue_->FindById(item.view.product_id);
        product != nullptr && product->sold_by == catalog::SoldBy::kWeight) {
      RepriceProduceLine(*product, probability, evidence, out);
    }
  }

  // The items of one product in the basket (own items aside), the sum of their measured nets
  // and whether every one of them was weighed.
  struct ProduceLine {
    std::vector<Item*> items;
    double net_g = 0;
    bool all_weighed = true;
  };
  ProduceLine ProduceLineOf(const std::string& product_id) {
    ProduceLine line;
    for (Item& item : items_) {
      if (!item.present || item.view.own_item || item.view.product_id != product_id) continue;
      line.items.push_back(&item);
      line.all_weighed = line.all_weighed && item.view.measured_g > 0;
      line.net_g += item.view.measured_g - params_.produce_bag_tare_g;
    }
    return line;
  }

  // A store bills loose produce of one kind sold per kg as one line, by the net weight of all of
  // it, and by the piece only when all of it together is below the scale's minimum capacity
  // (min_weighed_net_g). On the cart it comes in (and goes out) a placement at a time, each
  // weighed on its own: a first potato of 99 g is billed by the piece, and when a second one of
  // 120 g joins it the line weighs 219 g and is billed by weight (one line of 219 g, not a piece
  // and 120 g). So after each change of the product's items in the basket, every item of it is
  // priced by weight when their measured nets sum to at least min_weighed_net_g, else by the
  // piece (when each of them was weighed; otherwise each keeps its own pricing); an item whose
  // pricing changes leaves the basket at its old price and comes back at its new one (the basket
  // merges the weighed items into one line).
  void RepriceProduceLine(const catalog::Product& product, double probability,
                          const std::vector<std::string>& evidence, ReasonerOutput* out) {
    const ProduceLine line = ProduceLineOf(product.id);
    // Pieces never weighed (no weight evidence) cannot make a weighed line.
    if (!line.all_weighed) return;
    const bool by_weight = line.net_g >= params_.min_weighed_net_g;
    // A lone item keeps the price its own weighing gave it (AddProduct, TakePartOf), unless it
    // was priced by weight with others and weighs less than the minimum capacity alone.
    if (line.items.size() == 1 &&
        (by_weight || line.items.front()->view.priced_by == PricedBy::kUnit)) {
      return;
    }
    for (Item* item : line.items) {
      const PricedBy want = by_weight ? PricedBy::kWeight : PricedBy::kUnit;
      if (item->view.priced_by == want) continue;
      out->actions.push_back(
          ActionForItem(*item, BasketActionKind::kRemove, probability, evidence));
      item->view.priced_by = want;
      if (want == PricedBy::kWeight) {
        item->view.net_weight_g = item->view.measured_g - params_.produce_bag_tare_g;
        item->unit_price_minor = product.price_minor;
      } else {
        item->view.net_weight_g = 0;
        item->unit_price_minor = PiecePriceMinor(product.price_minor, product.unit_mass_g);
      }
      out->actions.push_back(ActionForItem(*item, BasketActionKind::kAdd, probability, evidence));
    }
  }

  // The basket action that adds or removes `item` as the reasoner holds it (product, pricing,
  // quantity, net weight for produce by weight), stamped now.
  BasketAction ActionForItem(const Item& item, BasketActionKind kind, double probability,
                             std::vector<std::string> evidence) const {
    BasketAction action;
    action.kind = kind;
    action.product_id = item.view.product_id;
    action.priced_by = item.view.priced_by;
    action.quantity = item.view.quantity;
    if (item.view.priced_by == PricedBy::kWeight) {
      action.net_weight_g = item.view.net_weight_g;
      action.net_weight_sigma_g = item.view.measured_sigma_g;
    }
    action.unit_price_minor = item.unit_price_minor;
    action.probability = std::clamp(probability, 0.0, 1.0);
    action.evidence_ids = std::move(evidence);
    action.event_time = now_;
    return action;
  }

  // Undoes what placement p put in the basket (a correction or a transient).
  void UndoPlacement(Placement& p, double probability, const std::vector<std::string>& evidence,
                     ReasonerOutput* out) {
    for (int64_t id : p.item_ids) {
      Item* item = FindItem(id);
      if (item != nullptr && item->present) RemoveItem(*item, probability, evidence, out);
    }
    p.item_ids.clear();
    p.decided_product.clear();
  }

  // ---- scans ---------------------------------------------------------------------------------

  std::vector<OpenScan*> UsableScans(Timestamp before) {
    std::vector<OpenScan*> open;
    const Timestamp forget = now_ - Duration::Milliseconds(params_.scan_forget_ms);
    for (OpenScan& s : scans_) {
      if (!s.consumed && !s.product_id.empty() && s.t <= before && s.t >= forget) {
        open.push_back(&s);
      }
    }
    return open;
  }

  OpenScan* FindScan(int64_t number) {
    for (OpenScan& s : scans_) {
      if (s.number == number) return &s;
    }
    return nullptr;
  }

  void Consume(Placement& p, OpenScan& scan) {
    scan.consumed = true;
    p.scan_numbers.push_back(scan.number);
    for (auto& [id, prompt] : prompts_) {
      if (prompt.open && prompt.scan_number == scan.number) prompt.open = false;
    }
  }

  // An undecodable attempt shortly before explains an unscanned placement.
  bool ConsumeAttempt(Placement& p) {
    const Timestamp since = p.t_settle - Duration::Milliseconds(params_.scan_to_place_timeout_ms);
    for (OpenScan& s : scans_) {
      if (!s.consumed && s.product_id.empty() && s.t >= since && s.t <= p.t_settle) {
        s.consumed = true;
        p.attempt_consumed = true;
        p.evidence_ids.push_back(s.evidence_id);
        return true;
      }
    }
    return false;
  }

  void OnScanRead(const ScannerRead& read, ReasonerOutput* out) {
    OpenScan scan;
    scan.number = scan_count_;
    scan.evidence_id = "scan:" + std::to_string(scan_count_);
    scan.t = read.t;
    if (!read.gtin.empty()) {
      const catalog::Product* product = catalogue_->FindByGtin(read.gtin);
      if (product == nullptr) {
        Flag(AuditFlagKind::kUnknownItem, "",
             "scanned barcode " + read.gtin + " is not in the catalogue", 1.0, {scan.evidence_id},
             out);
        return;
      }
      scan.product_id = product->id;
    }
    if (!WeightActive() && !VisionActive()) {
      // Scanner only: a scan is an add.
      if (scan.product_id.empty()) return;
      Placement& p = NewPlacement(+1, read.t, read.t);
      p.evidence_ids.push_back(scan.evidence_id);
      p.scan_numbers.push_back(scan.number);
      p.stage = Stage::kDone;
      AddProduct(p, *catalogue_->FindById(scan.product_id), 1, 0, 0, params_.scan_trust_probability,
                 {scan.evidence_id}, out);
      return;
    }
    scans_.push_back(scan);
    if (scan.product_id.empty()) return;
    if (params_.late_scan_hold_ms > 0) {
      // The shopper may have gone on to the next item: wait for its placement first.
      if (WaitingPlacementFor(scans_.back()) != nullptr) {
        scans_.back().settle_waiting_at =
            read.t + Duration::Milliseconds(params_.late_scan_hold_ms);
      }
      return;
    }
    SettleWaitingPlacement(scans_.back(), out);
  }

  // The first placement waiting without a scan (not yet decided) that the scan's product
  // explains by weight, or null.
  Placement* WaitingPlacementFor(const OpenScan& scan) {
    const catalog::Product& product = *catalogue_->FindById(scan.product_id);
    for (auto& [id, p] : placements_) {
      if (p.cancelled || p.sign < 0 || !p.decided_product.empty() || !p.scan_numbers.empty()) {
        continue;
      }
      if (p.stage != Stage::kWaitVision && p.stage != Stage::kWaitChoice &&
          p.stage != Stage::kPrompted) {
        continue;
      }
      if (p.has_weight && !WeightSupports(product, 0, p.amount_g, p.sigma_g)) continue;
      return &p;
    }
    return nullptr;
  }

  // Placed first, scanned after (e.g. asked to scan): the scan settles the waiting placement.
  void SettleWaitingPlacement(OpenScan& scan, ReasonerOutput* out) {
    if (scan.consumed || scan.product_id.empty()) return;
    Placement* waiting = WaitingPlacementFor(scan);
    if (waiting == nullptr) return;
    Placement& p = *waiting;
    const catalog::Product& product = *catalogue_->FindById(scan.product_id);
    const int units =
        p.has_weight ? LogWeightLikelihood(&product, p.amount_g, p.sigma_g).second : 1;
    Consume(p, scan);
    ClosePrompt(p.prompt_id);
    p.stage = Stage::kDone;
    AddProduct(p, product, units, p.amount_g, p.sigma_g, params_.scan_trust_probability,
               EvidenceOf(p), out);
  }

  void ScanTimedOut(int64_t number, ReasonerOutput* out) {
    OpenScan* scan = FindScan(number);
    if (scan == nullptr) return;
    scan->timed_out = true;
    if (scan->product_id.empty()) return;  // an attempt: nothing to ask
    const catalog::Product* product = catalogue_->FindById(scan->product_id);
    const std::string name = product ? product->name : scan->product_id;
    Ask(PromptKind::kPlaceScannedItem, {scan->product_id},
        "You scanned " + name + ": please put it in the basket", 1.0, {scan->evidence_id}, 0,
        number, out);
    Flag(AuditFlagKind::kScanWithoutPlacement, scan->product_id,
         "scanned " + name + " but nothing was placed within " +
             std::to_string(params_.scan_to_place_timeout_ms / 1000) + " s",
         params_.scan_trust_probability, {scan->evidence_id}, out);
  }

  // ---- additions (weight) --------------------------------------------------------------------

  Placement& NewPlacement(int sign, Timestamp t_start, Timestamp t_settle) {
    const int64_t id = ++placement_count_;
    Placement& p = placements_[id];
    p.id = id;
    p.sign = sign;
    p.t_start = t_start;
    p.t_settle = t_settle;
    // Forget old finished placements (bounded memory over long sessions).
    const Timestamp old =
        t_settle - Duration::Milliseconds(std::max<int64_t>(120000, 2 * params_.scan_forget_ms));
    std::erase_if(placements_, [&](const auto& entry) {
      const Placement& q = entry.second;
      return (q.stage == Stage::kDone || q.cancelled) && q.t_settle < old;
    });
    return placements_.at(id);
  }

  void OnAddition(const sensors::WeightEvent& event, ReasonerOutput* out) {
    const std::string weight_id = "weight:" + std::to_string(weight_count_);
    if (event.delta_g < params_.ignore_below_g) return;
    const double sigma = EventSigma(event);
    // An item lifted a moment ago and put back: it returns to the basket as it was.
    if (ReturnRecentlyRemoved(event, sigma, weight_id, out)) return;
    Placement& p = NewPlacement(+1, event.t_start, event.t_settle);
    p.has_weight = true;
    p.event = event;
    p.amount_g = event.delta_g;
    p.sigma_g = sigma;
    p.position = event.item_position;
    p.evidence_ids.push_back(weight_id);
    p.after_scale_recovery =
        scale_recovered_t_ && event.t_settle >= *scale_recovered_t_ &&
        event.t_settle - *scale_recovered_t_ <= Duration::Milliseconds(kRecoverySettleMs);

    // A choice made on the screen before placing.
    for (OpenChoice& choice : choices_) {
      if (choice.consumed) continue;
      const catalog::Product* product = catalogue_->FindById(choice.product_id);
      if (product == nullptr ||
          !WeightSupports(*product,
                          product->sold_by == catalog::SoldBy::kWeight ? 0 : choice.pieces,
                          p.amount_g, sigma)) {
        continue;
      }
      choice.consumed = true;
      p.choice_attached = true;
      p.evidence_ids.push_back(choice.evidence_id);
      int units = choice.pieces;
      if (units <= 0) {
        units = product->sold_by == catalog::SoldBy::kWeight
                    ? EstimatePieces(*product, p.amount_g)
                    : LogWeightLikelihood(product, p.amount_g, sigma).second;
      }
      p.stage = Stage::kDone;
      AddProduct(p, *product, units, p.amount_g, sigma, 1.0, EvidenceOf(p), out);
      return;
    }

    // The normal flow: scans whose products the weight supports are added at once; the views
    // check them when they come (Watch).
    if (FastPathFromScans(p, out)) return;

    p.stage = Stage::kWaitVision;
    p.deadline =
        event.t_settle + Duration::Milliseconds(VisionActive() ? params_.vision_wait_ms : 0);
    if (VisionComplete(p)) FinishVision(p, out);
  }

  // Subsets (1..3) of the open scans whose products' weights explain the placement.
  bool FastPathFromScans(Placement& p, ReasonerOutput* out) {
    std::vector<OpenScan*> open = UsableScans(p.t_settle);
    if (open.empty()) return false;
    if (open.size() > 6) open.erase(open.begin(), open.end() - 6);
    struct Subset {
      std::vector<std::size_t> members;
      double log_score = kLogTiny;
      double z = 0;
    };
    std::vector<Subset> subsets;
    const std::array<double, 3> size_priors = {1.0, 0.1, 0.05};
    const std::size_t n = open.size();
    const auto consider = [&](std::vector<std::size_t> members) {
      double mean = 0;
      double var = p.sigma_g * p.sigma_g;
      for (std::size_t m : members) {
        const catalog::Product& product = *catalogue_->FindById(open[m]->product_id);
        if (product.sold_by == catalog::SoldBy::kWeight) return;
        mean += product.unit_mass_g;
        var += ProductSigma(product) * ProductSigma(product);
      }
      Subset s;
      s.z = (p.amount_g - mean) / std::sqrt(var);
      s.log_score = std::log(size_priors[members.size() - 1]) +
                    LogNormalDensity(p.amount_g, mean, std::sqrt(var));
      s.members = std::move(members);
      subsets.push_back(std::move(s));
    };
    ForEachSmallSubset(n, 3, consider);
    if (subsets.empty()) return false;
    double total = kLogTiny;
    std::size_t best = 0;
    for (std::size_t i = 0; i < subsets.size(); ++i) {
      total = LogSumExp(total, subsets[i].log_score);
      if (subsets[i].log_score > subsets[best].log_score) best = i;
    }
    const Subset& chosen = subsets[best];
    if (std::abs(chosen.z) > params_.weight_match_sigma) {
      // A drop with two or more scanned items and something more is billed at once; one scan
      // and a heavier drop may as well be a ticket switch, so that waits for the views
      // (DecideAddition).
      return FastPathWithRemainder(p, open, /*min_scans=*/2, out);
    }
    // Other subsets with the same products are the same basket: their mass counts for it.
    std::vector<std::string> chosen_products;
    for (std::size_t m : chosen.members) chosen_products.push_back(open[m]->product_id);
    std::sort(chosen_products.begin(), chosen_products.end());
    double same = kLogTiny;
    for (const Subset& s : subsets) {
      std::vector<std::string> products;
      for (std::size_t m : s.members) products.push_back(open[m]->product_id);
      std::sort(products.begin(), products.end());
      if (products == chosen_products) same = LogSumExp(same, s.log_score);
    }
    double probability = std::exp(same - total) * params_.scan_trust_probability;
    if (chosen.members.size() == 1) {
      // One item: the full posterior (weight × scan) of the scanned product.
      PosteriorInput in;
      in.amount_g = p.amount_g;
      in.sigma_g = p.sigma_g;
      in.scanned[chosen_products.front()] = 1;
      probability = ProbabilityOf(Posterior(in), chosen_products.front());
    }
    if (probability < params_.add_probability_min) return false;
    for (std::size_t m : chosen.members) Consume(p, *open[m]);
    // One action per product (two scans of one product: quantity 2).
    double expected_total = 0;
    for (const std::string& id : chosen_products) {
      expected_total += catalogue_->FindById(id)->unit_mass_g;
    }
    std::size_t i = 0;
    while (i < chosen_products.size()) {
      std::size_t j = i;
      while (j < chosen_products.size() && chosen_products[j] == chosen_products[i]) ++j;
      const catalog::Product& product = *catalogue_->FindById(chosen_products[i]);
      const int units = static_cast<int>(j - i);
      const double share = p.amount_g * units * product.unit_mass_g / expected_total;
      AddProduct(p, product, units, share, p.sigma_g, probability, EvidenceOf(p), out);
      i = j;
    }
    if (chosen.members.size() > 1) p.decided_product.clear();  // no single product to check
    p.stage = VisionActive() && chosen.members.size() == 1 ? Stage::kWatch : Stage::kDone;
    p.deadline = p.t_settle + Duration::Milliseconds(params_.vision_wait_ms);
    if (p.stage == Stage::kWatch && VisionComplete(p)) Watch(p, out);
    return true;
  }

  // log Σ_h prior(h) × weight(amount | h): how plausible `amount_g` is as the weight of one thing
  // placed, whatever it is.
  double LogOneItemWeight(double amount_g, double sigma_g) const {
    const auto& products = catalogue_->products();
    const double n = static_cast<double>(products.size());
    const double log_product_prior = std::log((1 - params_.unknown_item_prior_probability) / n);
    double total = std::log(params_.unknown_item_prior_probability) +
                   LogWeightLikelihood(nullptr, amount_g, sigma_g).first;
    for (const catalog::Product& product : products) {
      total = LogSumExp(total,
                        log_product_prior + LogWeightLikelihood(&product, amount_g, sigma_g).first);
    }
    return total;
  }

  // A drop heavier than every explanation by the open scans alone: some scanned items and one
  // thing more (a multi-drop with produce, or an unscanned item). Options: subsets S of the open
  // scans, scored by scan_left_out_probability per open scan not in S × the plausibility of the
  // remainder Δg − Σ m_S as one item; against them, "none of the scans is in this drop". A best S
  // (summed over subsets naming the same products) ≥ add_probability_min is billed at once and
  // the remainder becomes a placement of its own, decided like any unscanned placement (vision,
  // the screen, a scan, a prompt).
  bool FastPathWithRemainder(Placement& p, const std::vector<OpenScan*>& open,
                             std::size_t min_scans, ReasonerOutput* out) {
    struct Option {
      std::vector<std::size_t> members;
      std::string key;
      double remainder_g = 0;
      double sigma_g = 0;
      double log_score = kLogTiny;
    };
    const std::size_t n = open.size();
    const double log_left_out = std::log(params_.scan_left_out_probability);
    std::vector<Option> options;
    const auto consider = [&](std::vector<std::size_t> members) {
      double mean = 0;
      double var = p.sigma_g * p.sigma_g;
      std::vector<std::string> ids;
      for (std::size_t m : members) {
        const catalog::Product& product = *catalogue_->FindById(open[m]->product_id);
        if (product.sold_by == catalog::SoldBy::kWeight) return;
        mean += product.unit_mass_g;
        var += ProductSigma(product) * ProductSigma(product);
        ids.push_back(product.id);
      }
      Option o;
      o.sigma_g = std::sqrt(var);
      o.remainder_g = p.amount_g - mean;
      if (o.remainder_g <
          std::max(params_.ignore_below_g, params_.weight_match_sigma * o.sigma_g)) {
        return;
      }
      std::sort(ids.begin(), ids.end());
      for (const std::string& id : ids) o.key += id + ";";
      o.log_score = static_cast<double>(n - members.size()) * log_left_out +
                    LogOneItemWeight(o.remainder_g, o.sigma_g);
      o.members = std::move(members);
      options.push_back(std::move(o));
    };
    ForEachSmallSubset(n, 3, consider);
    if (options.empty()) return false;
    double total = static_cast<double>(n) * log_left_out + LogOneItemWeight(p.amount_g, p.sigma_g);
    std::map<std::string, double> by_key;
    std::size_t best = 0;
    for (std::size_t i = 0; i < options.size(); ++i) {
      total = LogSumExp(total, options[i].log_score);
      auto [it, inserted] = by_key.try_emplace(options[i].key, kLogTiny);
      it->second = LogSumExp(it->second, options[i].log_score);
      if (options[i].log_score > options[best].log_score) best = i;
    }
    const Option& chosen = options[best];
    const double probability =
        std::exp(by_key.at(chosen.key) - total) * params_.scan_trust_probability;
    if (probability < params_.add_probability_min || chosen.members.size() < min_scans) {
      return false;
    }
    std::vector<std::string> chosen_products;
    for (std::size_t m : chosen.members) {
      Consume(p, *open[m]);
      chosen_products.push_back(open[m]->product_id);
    }
    std::sort(chosen_products.begin(), chosen_products.end());
    std::size_t i = 0;
    while (i < chosen_products.size()) {
      std::size_t j = i;
      while (j < chosen_products.size() && chosen_products[j] == chosen_products[i]) ++j;
      const catalog::Product& product = *catalogue_->FindById(chosen_products[i]);
      const int units = static_cast<int>(j - i);
      AddProduct(p, product, units, units * product.unit_mass_g, ProductSigma(product), probability,
                 EvidenceOf(p), out);
      i = j;
    }
    p.decided_product.clear();
    p.stage = Stage::kDone;
    // The remainder: one more thing, not scanned.
    const double remainder_g = chosen.remainder_g;
    const double remainder_sigma_g = chosen.sigma_g;
    const int64_t drop_id = p.id;
    Placement& rest = NewPlacement(+1, p.t_start, p.t_settle);
    const Placement& drop = placements_.at(drop_id);
    rest.has_weight = true;
    rest.event = drop.event;
    rest.event.delta_g = remainder_g;
    rest.event.below_min_capacity = remainder_g < params_.min_weighed_net_g;
    rest.amount_g = remainder_g;
    rest.sigma_g = remainder_sigma_g;
    rest.position = drop.position;
    rest.evidence_ids = drop.evidence_ids;
    rest.remainder_of = drop_id;
    rest.stage = Stage::kWaitVision;
    rest.deadline =
        rest.t_settle + Duration::Milliseconds(VisionActive() ? params_.vision_wait_ms : 0);
    if (VisionComplete(rest)) FinishVision(rest, out);
    return true;
  }

  // After a scan-supported add: do the views contradict the scan (ticket switch)?
  void Watch(Placement& p, ReasonerOutput* out) {
    p.stage = Stage::kDone;
    if (p.decided_product.empty() || p.scan_numbers.size() != 1) return;
    p.views = ViewsFor(p);
    if (p.views->views == 0) return;
    const std::string scanned = p.decided_product;
    PosteriorInput in;
    in.amount_g = p.amount_g;
    in.sigma_g = p.sigma_g;
    in.views = &*p.views;
    in.scanned[scanned] = 1;
    const std::vector<Hypothesis> hs = Posterior(in);
    const double p_scanned = ProbabilityOf(hs, scanned);
    const double p_switch = 1 - p_scanned;
    const Hypothesis& best = hs.front();
    if (p_switch < params_.ticket_switch_probability_min &&
        p_switch >= params_.ticket_switch_review_probability_min) {
      // Neither sure nor negligible: the scanned product stays billed and staff are asked to
      // look. The shopper is not asked: a switcher would name what they scanned. The flag names
      // the likeliest other product.
      const catalog::Product& scanned_product = *catalogue_->FindById(scanned);
      const catalog::Product* other = nullptr;
      for (const Hypothesis& h : hs) {
        if (h.product != nullptr && h.product->id != scanned) {
          other = h.product;
          break;
        }
      }
      Flag(AuditFlagKind::kTicketSwitch, other != nullptr ? other->id : "",
           "scanned " + scanned_product.name + " but the item placed may be " +
               (other != nullptr ? other->name : "something else") +
               "; billed as scanned, to review",
           p_switch, EvidenceOf(p), out);
      return;
    }
    if (p_switch < params_.ticket_switch_probability_min || best.product == nullptr ||
        best.product->id == scanned) {
      return;
    }
    const catalog::Product& placed = *best.product;
    const catalog::Product& scanned_product = *catalogue_->FindById(scanned);
    Flag(AuditFlagKind::kTicketSwitch, placed.id,
         "scanned " + scanned_product.name + " but the item placed looks like " + placed.name,
         p_switch, EvidenceOf(p), out);
    // Bill what was placed.
    UndoPlacement(p, p_switch, EvidenceOf(p), out);
    if (best.probability >= params_.add_probability_min) {
      AddProduct(p, placed, best.units, p.amount_g, p.sigma_g, best.probability, EvidenceOf(p),
                 out);
    } else {
      p.stage = Stage::kPrompted;
      p.switch_flagged_scanned = scanned;
      p.switch_flagged_looks_like = placed.id;
      p.prompt_id =
          Ask(PromptKind::kChooseProduct, Candidates(hs), "Which item did you just place?",
              1 - best.probability, EvidenceOf(p), p.id, 0, out);
    }
  }

  // The vision wait of an addition or removal is over: decide.
  void FinishVision(Placement& p, ReasonerOutput* out) {
    if (!p.has_weight) {
      FinishVisionDriven(p, out);
      return;
    }
    p.views = ViewsFor(p);
    if (p.sign < 0) {
      DecideRemoval(p, /*final=*/true, out);
    } else {
      DecideAddition(p, out);
    }
  }

  void DecideAddition(Placement& p, ReasonerOutput* out) {
    // Just after a lost load cell came back, a step no camera saw anything appear for is the
    // cell's share of the load returning, not an item: nothing to bill or ask.
    if (p.after_scale_recovery && VisionActive() && p.views && p.views->views == 0 &&
        p.regions_seen == 0 && p.remainder_of == 0 && p.leftover_of == 0) {
      p.stage = Stage::kDone;
      return;
    }
    PosteriorInput in;
    if (p.has_weight) {
      in.amount_g = p.amount_g;
      in.sigma_g = p.sigma_g;
    }
    if (p.views && p.views->views > 0) in.views = &*p.views;
    std::vector<OpenScan*> open = UsableScans(p.t_settle);
    for (OpenScan* s : open) ++in.scanned[s->product_id];
    const std::vector<Hypothesis> hs = Posterior(in);
    const Hypothesis& best = hs.front();
    double p_scanned = 0;
    for (const auto& [id, count] : in.scanned) p_scanned += ProbabilityOf(hs, id);

    // The best is a scanned product: the scan explains it. The weight may say several units of
    // it: each open scan of it pays for one; units beyond the scans were placed without one (or
    // what was placed only weighs as much as that many: scanned a yoghurt, placed a 2 l juice),
    // which is billed as the weight says and flagged for review.
    if (best.product && in.scanned.contains(best.product->id) &&
        best.probability >= 1 - params_.add_probability_min) {
      int scans_used = 0;
      for (OpenScan* s : open) {
        if (scans_used >= best.units) break;
        if (s->product_id == best.product->id) {
          Consume(p, *s);
          ++scans_used;
        }
      }
      p.stage = Stage::kDone;
      AddProduct(p, *best.product, best.units, p.amount_g, p.sigma_g, best.probability,
                 EvidenceOf(p), out);
      if (best.units > scans_used) {
        Flag(AuditFlagKind::kWeightMismatch, best.product->id,
             std::to_string(scans_used) + " x " + best.product->name +
                 " scanned but the item placed (" + FormatGrams(p.amount_g) + ") weighs as " +
                 std::to_string(best.units) + " of them; billed as " + std::to_string(best.units) +
                 ", to review",
             best.probability * params_.scan_trust_probability, EvidenceOf(p), out);
      }
      return;
    }
    // Scans open, none explains the weight and no single product is sure: a multi-drop of
    // scanned items and something more (a ticket switch would name one product that explains
    // the whole weight).
    if (!open.empty() && p.has_weight && p.remainder_of == 0 && p.leftover_of == 0 &&
        (best.product == nullptr || best.probability < params_.add_probability_min)) {
      std::vector<OpenScan*> recent = open;
      if (recent.size() > 6) recent.erase(recent.begin(), recent.end() - 6);
      if (FastPathWithRemainder(p, recent, /*min_scans=*/1, out)) return;
    }
    // Looks like nothing the store sells: loose produce the cameras do not know well looks the
    // same until the shopper picks it on the screen (or scans what was placed), so the placement
    // waits for that until produce_choice_wait_ms after the settle; PromptForChoice decides
    // after the wait (whatever scans are open). A multi-drop's remainder is never taken for an
    // own item without asking: it came in with the shop's items.
    const bool can_wait = !p.choice_attached && p.stage == Stage::kWaitVision;
    if (best.product == nullptr && best.probability >= params_.unknown_probability_min) {
      if (can_wait) {
        WaitForChoice(p, out);
        return;
      }
      if (p.remainder_of == 0 && p.leftover_of == 0 && p.regions_seen < 2) {
        p.stage = Stage::kDone;
        AddOwnItem(p,
                   "an item not in the catalogue (or the shopper's own) was put in" +
                       (p.has_weight ? ": " + FormatGrams(p.amount_g) : std::string()),
                   best.probability, EvidenceOf(p), true, out);
        return;
      }
    }
    // Scanned one thing, placed another: a possible ticket switch.
    if (!open.empty() && 1 - p_scanned >= params_.ticket_switch_probability_min &&
        best.product != nullptr) {
      OpenScan* scan = open.back();  // the latest scan is the one the shopper meant
      const catalog::Product& scanned = *catalogue_->FindById(scan->product_id);
      Consume(p, *scan);
      Flag(AuditFlagKind::kTicketSwitch, best.product->id,
           "scanned " + scanned.name + " but the item placed " +
               (p.has_weight ? "(" + FormatGrams(p.amount_g) + ") " : std::string()) +
               "looks like " + best.product->name,
           1 - p_scanned, EvidenceOf(p), out);
      if (best.probability >= params_.add_probability_min) {
        p.stage = Stage::kDone;
        AddProduct(p, *best.product, best.units, p.amount_g, p.sigma_g, best.probability,
                   EvidenceOf(p), out);
      } else {
        p.stage = Stage::kPrompted;
        p.switch_flagged_scanned = scanned.id;
        p.switch_flagged_looks_like = best.product->id;
        p.prompt_id =
            Ask(PromptKind::kChooseProduct, Candidates(hs), "Which item did you just place?",
                1 - best.probability, EvidenceOf(p), p.id, 0, out);
      }
      return;
    }
    // Placed without a scan. Not a drop's remainder (or what a weighed-alone produce left over),
    // nor a placement a camera saw two or more regions appear for: the views of a drop are not
    // matched to its items (the region nearest the drop's centre may show another item of it),
    // so what they name for it is asked, not billed.
    const bool views_unmatched = p.PartOfDrop() || p.regions_seen >= 2;
    if (best.product != nullptr && best.probability >= params_.add_probability_min &&
        !views_unmatched) {
      p.stage = Stage::kDone;
      AddProduct(p, *best.product, best.units, p.amount_g, p.sigma_g, best.probability,
                 EvidenceOf(p), out);
      MaybeFlagUnscanned(p, *best.product, best.probability, out);
      return;
    }
    // Not sure: unless it is most likely a packaged product (which is scanned, not picked on the
    // screen) and, with views, hardly loose produce, wait for the shopper's choice; then ask.
    // (With p_nic counting little, a weighing that fits many cartons gives them most of the mass
    // even when the views name produce; the produce's choice comes within the wait.)
    const bool views_name_produce = in.views != nullptr && LooseShare(hs) >= kLooseShareToWait;
    if (can_wait && (PackagedShare(hs) < 0.5 || views_name_produce)) {
      WaitForChoice(p, out);
      return;
    }
    AskWhatWasPlaced(p, hs, LooseShare(hs), out);
  }

  // A placement whose posterior gives loose produce this much waits for the shopper's screen
  // choice (the share above which a question about it asks to weigh the produce alone).
  static constexpr double kLooseShareToWait = 0.05;

  static double PackagedShare(const std::vector<Hypothesis>& hs) {
    double p_packaged = 0;
    for (const Hypothesis& h : hs) {
      if (h.product && !IsLoose(*h.product)) p_packaged += h.probability;
    }
    return p_packaged;
  }

  static double LooseShare(const std::vector<Hypothesis>& hs) {
    double p_loose = 0;
    for (const Hypothesis& h : hs) {
      if (h.product && IsLoose(*h.product)) p_loose += h.probability;
    }
    return p_loose;
  }

  void WaitForChoice(Placement& p, ReasonerOutput* out) {
    p.stage = Stage::kWaitChoice;
    p.deadline = p.t_settle + Duration::Milliseconds(params_.produce_choice_wait_ms);
    if (p.deadline <= now_) PromptForChoice(p, out);
  }

  void AskWhatWasPlaced(Placement& p, const std::vector<Hypothesis>& hs, double p_loose,
                        ReasonerOutput* out) {
    const double best = hs.front().probability;
    p.stage = Stage::kPrompted;
    const bool part_of_drop = p.PartOfDrop();
    if (p_loose >= 0.5 || best >= 0.3 || !modalities_.scan || part_of_drop) {
      // Nobody picked produce on the screen for this weight, so it may hold several things (a
      // drop's remainder, or a drop of unscanned items): produce named for it is weighed alone.
      const bool weigh_alone =
          p.has_weight && (part_of_drop || p.regions_seen >= 2 || p_loose >= kLooseShareToWait);
      p.prompt_id =
          Ask(weigh_alone ? PromptKind::kWeighAlone : PromptKind::kChooseProduct, Candidates(hs),
              std::string(p_loose >= 0.5 ? "Which produce did you just put in?"
                                         : "Which item did you just place?") +
                  (weigh_alone ? " If it is loose produce, lift it out and put it back on its own."
                               : ""),
              1 - best, EvidenceOf(p), p.id, 0, out);
    } else {
      p.prompt_id =
          Ask(PromptKind::kPleaseScan, Candidates(hs), "Please scan the item you just placed",
              1 - best, EvidenceOf(p), p.id, 0, out);
    }
  }

  void PromptForChoice(Placement& p, ReasonerOutput* out) {
    PosteriorInput in;
    if (p.has_weight) {
      in.amount_g = p.amount_g;
      in.sigma_g = p.sigma_g;
    }
    if (p.views && p.views->views > 0) in.views = &*p.views;
    const std::vector<Hypothesis> hs = Posterior(in);
    // No choice came and the item still looks like nothing the store sells. A multi-drop's
    // remainder is asked about instead: it came in with the shop's items.
    if (hs.front().product == nullptr &&
        hs.front().probability >= params_.unknown_probability_min && p.remainder_of == 0 &&
        p.leftover_of == 0 && p.regions_seen < 2) {
      p.stage = Stage::kDone;
      AddOwnItem(p,
                 "an item not in the catalogue (or the shopper's own) was put in" +
                     (p.has_weight ? ": " + FormatGrams(p.amount_g) : std::string()),
                 hs.front().probability, EvidenceOf(p), true, out);
      return;
    }
    AskWhatWasPlaced(p, hs, LooseShare(hs), out);
  }

  void MaybeFlagUnscanned(Placement& p, const catalog::Product& product, double probability,
                          ReasonerOutput* out) {
    if (!modalities_.scan || IsLoose(product) || p.unscanned_flagged || !p.scan_numbers.empty()) {
      return;
    }
    // A scan attempt the scanner could not decode: the shopper did scan.
    if (p.attempt_consumed || ConsumeAttempt(p)) return;
    p.unscanned_flagged = true;
    Flag(AuditFlagKind::kUnscannedItem, product.id, product.name + " was placed without a scan",
         probability, EvidenceOf(p), out);
  }

  // ---- removals (weight) ---------------------------------------------------------------------

  // A removal within transient_return_ms of an undecided addition of the same weight (a lean or
  // a bump that came back, an item put in and taken out at once) cancels it.
  bool CancelTransient(const sensors::WeightEvent& event, double sigma) {
    const double amount = -event.delta_g;
    for (auto it = placements_.rbegin(); it != placements_.rend(); ++it) {
      Placement& q = it->second;
      if (q.cancelled || q.sign < 0 || !q.has_weight || !q.item_ids.empty()) continue;
      if (q.stage != Stage::kWaitVision && q.stage != Stage::kWaitChoice &&
          q.stage != Stage::kPrompted) {
        continue;
      }
      if (event.t_settle - q.t_settle > Duration::Milliseconds(params_.transient_return_ms)) {
        continue;
      }
      if (std::abs(q.amount_g - amount) <=
          params_.weight_match_sigma * std::hypot(sigma, q.sigma_g)) {
        // A camera saw something appear for the addition (an item went in: a lean or a bump
        // shows no new region) and the load left from another place on the floor than it came
        // (the same item taken out again leaves from where it lies): another item of the same
        // weight was taken out, a removal of its own.
        const bool item_went_in =
            VisionActive() &&
            ((q.views && q.views->views > 0) || q.regions_seen > 0 || RegionsSeenBy(q, views_) > 0);
        const bool left_elsewhere = event.item_position && q.position &&
                                    std::hypot(event.item_position->x_mm - q.position->x_mm,
                                               event.item_position->y_mm - q.position->y_mm) >
                                        params_.views.max_floor_distance_mm;
        if (item_went_in && left_elsewhere) continue;
        q.cancelled = true;
        q.stage = Stage::kDone;
        ClosePrompt(q.prompt_id);
        return true;
      }
    }
    return false;
  }

  bool ReturnRecentlyRemoved(const sensors::WeightEvent& event, double sigma,
                             const std::string& weight_id, ReasonerOutput* out) {
    // The most recent removal decision within the window whose weight matches.
    for (auto it = placements_.rbegin(); it != placements_.rend(); ++it) {
      Placement& q = it->second;
      if (q.sign > 0 || q.cancelled || q.item_ids.empty() || q.stage != Stage::kDone) continue;
      if (event.t_settle - q.t_settle > Duration::Milliseconds(params_.transient_return_ms)) {
        return false;
      }
      if (std::abs(q.amount_g - event.delta_g) >
          params_.weight_match_sigma * std::hypot(sigma, q.sigma_g)) {
        continue;
      }
      q.cancelled = true;
      if (q.reweigh_of != 0 && placements_.contains(q.reweigh_of)) {
        PutBackWeighedAlone(q, event, sigma, weight_id, out);
        return true;
      }
      // Put the same items back (a produce line some pieces were taken from: whole again).
      if (Item* rest = q.partial_rest_item != 0 ? FindItem(q.partial_rest_item) : nullptr;
          rest != nullptr && rest->present) {
        RemoveItem(*rest, 0.9, {weight_id}, out);
      }
      std::vector<Item> back;
      for (int64_t id : q.item_ids) {
        Item* item = FindItem(id);
        if (item == nullptr || item->present) continue;
        back.push_back(*item);
      }
      for (Item& old : back) {
        Item item = old;
        item.present = true;
        item.view.item_id = ++item_count_;
        item.added_t = now_;
        item.evidence_ids = {weight_id};
        if (!item.view.own_item) {
          std::vector<std::string> evidence = {weight_id};
          for (const std::string& id : q.evidence_ids) evidence.push_back(id);
          out->actions.push_back(
              ActionForItem(item, BasketActionKind::kAdd, 0.9, std::move(evidence)));
        }
        items_.push_back(std::move(item));
      }
      return true;
    }
    return false;
  }

  // Produce lifted out to be weighed alone (removal placement `lifted`) came back as `event`: it
  // is billed at the weight it has alone. What it does not explain of the weight it was billed
  // from is one more thing that came in with it, decided (asked about) on its own.
  void PutBackWeighedAlone(const Placement& lifted, const sensors::WeightEvent& event, double sigma,
                           const std::string& weight_id, ReasonerOutput* out) {
    const int64_t source_id = lifted.reweigh_of;
    // Product, grams it was billed from: one entry per product (produce sold by the piece was
    // lifted out as several items, one per provisional piece).
    std::vector<std::pair<const catalog::Product*, double>> back;
    for (int64_t id : lifted.item_ids) {
      const Item* item = FindItemConst(id);
      if (item == nullptr || item->present) continue;
      const catalog::Product* product = catalogue_->FindById(item->view.product_id);
      const auto same = std::find_if(back.begin(), back.end(),
                                     [&](const auto& entry) { return entry.first == product; });
      if (same != back.end()) {
        same->second += item->view.measured_g;
      } else {
        back.emplace_back(product, item->view.measured_g);
      }
    }
    Placement& source = placements_.at(source_id);
    source.evidence_ids.push_back(weight_id);
    double billed_from_g = 0;
    for (const auto& [product, grams] : back) {
      if (product == nullptr) continue;
      source.event.below_min_capacity = event.below_min_capacity;
      const int units = product->sold_by == catalog::SoldBy::kWeight
                            ? EstimatePieces(*product, event.delta_g)
                            : LogWeightLikelihood(product, event.delta_g, sigma).second;
      const std::size_t first_new = items_.size();
      AddProduct(source, *product, units, event.delta_g, sigma, 1.0, EvidenceOf(source), out);
      // Weighed alone: its weight is known to the weighing's σ, not the catalogue's spread (a
      // later removal of it is matched by that).
      for (std::size_t i = first_new; i < items_.size(); ++i) {
        items_[i].view.measured_sigma_g = sigma / static_cast<double>(units);
      }
      billed_from_g += grams;
    }
    const double leftover_g = billed_from_g - event.delta_g;
    const double leftover_sigma_g = std::hypot(source.sigma_g, sigma);
    if (back.empty() || leftover_g < std::max(params_.ignore_below_g,
                                              params_.weight_match_sigma * leftover_sigma_g)) {
      return;
    }
    const std::vector<std::string> evidence = source.evidence_ids;
    const std::optional<sensors::PointMm> position = source.position;
    sensors::WeightEvent leftover_event = source.event;
    // It came in with the drop, at the drop's time: a screen row picked now is for a later
    // placement, not for it.
    const Timestamp drop_start = source.t_start;
    const Timestamp drop_settle = source.t_settle;
    Placement& rest = NewPlacement(+1, drop_start, drop_settle);
    rest.has_weight = true;
    rest.event = leftover_event;
    rest.event.delta_g = leftover_g;
    rest.event.below_min_capacity = leftover_g < params_.min_weighed_net_g;
    rest.amount_g = leftover_g;
    rest.sigma_g = leftover_sigma_g;
    rest.position = position;
    rest.evidence_ids = evidence;
    rest.leftover_of = source_id;
    rest.stage = Stage::kWaitChoice;  // the shopper is at the screen: ask now
    DecideAddition(rest, out);
  }

  // A placement for removal `event` (Δg < 0): its weight (|Δg|, σ), position and evidence id.
  Placement& NewRemovalPlacement(const sensors::WeightEvent& event, double sigma,
                                 const std::string& weight_id) {
    Placement& p = NewPlacement(-1, event.t_start, event.t_settle);
    p.has_weight = true;
    p.event = event;
    p.amount_g = -event.delta_g;
    p.sigma_g = sigma;
    p.position = event.item_position;
    p.evidence_ids.push_back(weight_id);
    return p;
  }

  void OnRemoval(const sensors::WeightEvent& event, ReasonerOutput* out) {
    const std::string weight_id = "weight:" + std::to_string(weight_count_);
    if (-event.delta_g < params_.ignore_below_g) return;
    const double sigma = EventSigma(event);
    int64_t reweigh_of = 0;
    if (Item* item = ReweighedItem(-event.delta_g, sigma, &reweigh_of)) {
      // Produce lifted out to be weighed alone: out of the basket until it comes back. All of
      // what was billed for it from the shared weight goes out: produce sold by the piece was
      // billed as one item per piece the whole weight suggested (three mangoes for a mango, a
      // papaya and an apple dropped together), and the pieces it really has are counted when
      // it comes back.
      const std::string product_id = item->view.product_id;
      Placement& source = placements_.at(reweigh_of);
      source.reweigh_pending = false;
      std::vector<int64_t> lifted_ids;
      for (int64_t id : source.item_ids) {
        const Item* billed = FindItemConst(id);
        if (billed != nullptr && billed->present && !billed->view.own_item &&
            billed->view.product_id == product_id) {
          lifted_ids.push_back(id);
        }
      }
      Placement& r = NewRemovalPlacement(event, sigma, weight_id);
      r.reweigh_of = reweigh_of;
      r.stage = Stage::kDone;
      for (int64_t id : lifted_ids) {
        r.item_ids.push_back(id);
        RemoveItem(*FindItem(id), 1.0, EvidenceOf(r), out);
      }
      return;
    }
    if (CancelTransient(event, sigma)) return;
    Placement& p = NewRemovalPlacement(event, sigma, weight_id);
    p.stage = Stage::kWaitVision;
    p.deadline =
        event.t_settle + Duration::Milliseconds(VisionActive() ? params_.vision_wait_ms : 0);
    // Decide at once when the weight alone is clear; else wait for the vanished regions.
    if (!DecideRemoval(p, /*final=*/!VisionActive(), out) && !VisionActive()) {
      // Decided (or prompted) inside.
    }
  }

  struct RemovalOption {
    std::vector<int64_t> item_ids;
    std::string key;  // the products, sorted: equal keys bill the same
    double log_score = kLogTiny;
    bool partial = false;  // part of one produce line sold per kg (some pieces of it)
  };

  // Subsets (1..3) of the basket's items that explain a removal of `amount_g`.
  std::vector<RemovalOption> RemovalOptions(const Placement& p) const {
    std::vector<const Item*> present;
    for (const Item& item : items_) {
      if (item.present) present.push_back(&item);
    }
    std::vector<RemovalOption> options;
    const std::array<double, 3> size_priors = {1.0, 0.1, 0.05};
    const auto item_mass = [&](const Item& item) -> std::pair<double, double> {
      if (item.view.measured_g > 0) {
        return {item.view.measured_g, std::max(item.view.measured_sigma_g, 0.5)};
      }
      const catalog::Product* product = catalogue_->FindById(item.view.product_id);
      if (product == nullptr) return {0, 1e6};
      return {product->unit_mass_g * static_cast<double>(item.view.quantity),
              ProductSigma(*product)};
    };
    const auto log_vision = [&](const Item& item) {
      if (!p.views || p.views->views == 0) return 0.0;
      const catalog::Product* product =
          item.view.own_item ? nullptr : catalogue_->FindById(item.view.product_id);
      return LogVision(product, *p.views);
    };
    const std::size_t n = present.size();
    const auto consider = [&](const std::vector<std::size_t>& members) {
      RemovalOption o;
      double mean = 0;
      double var = p.sigma_g * p.sigma_g;
      std::vector<std::string> keys;
      double vision = 0;
      for (std::size_t m : members) {
        const auto [mass, s] = item_mass(*present[m]);
        mean += mass;
        var += s * s;
        o.item_ids.push_back(present[m]->view.item_id);
        keys.push_back(present[m]->view.own_item ? "~own" : present[m]->view.product_id);
        vision = std::max(vision, log_vision(*present[m]));
        if (members.size() == 1) vision = log_vision(*present[m]);
      }
      std::sort(keys.begin(), keys.end());
      for (const std::string& k : keys) o.key += k + ";";
      o.log_score = std::log(size_priors[members.size() - 1]) +
                    (p.has_weight ? LogNormalDensity(p.amount_g, mean, std::sqrt(var)) : 0) +
                    vision;
      options.push_back(std::move(o));
    };
    // Without a weight only single items; triples only in baskets of up to 40 items.
    ForEachSmallSubset(n, !p.has_weight ? 1 : (n <= 40 ? 3 : 2), consider);
    // Some pieces of a produce line sold per kg (one pear of five): any weight from about a piece
    // up to the line's less a piece is as likely (uniform), less likely than one whole item (the
    // prior of a two-item subset).
    if (p.has_weight) {
      for (const Item* item : present) {
        if (item->view.own_item || item->view.priced_by != PricedBy::kWeight) continue;
        const catalog::Product* product = catalogue_->FindById(item->view.product_id);
        if (product == nullptr || product->sold_by != catalog::SoldBy::kWeight) continue;
        const double sigma = std::hypot(p.sigma_g, item->view.measured_sigma_g);
        const double least = params_.produce_min_piece_ratio * product->unit_mass_g;
        if (p.amount_g < least - params_.weight_match_sigma * sigma ||
            p.amount_g >
                item->view.measured_g - std::max(least, params_.weight_match_sigma * sigma)) {
          continue;
        }
        RemovalOption o;
        o.item_ids = {item->view.item_id};
        o.key = product->id + ";";
        o.partial = true;
        o.log_score = std::log(size_priors[1]) - std::log(std::max(item->view.measured_g, 1.0)) +
                      log_vision(*item);
        options.push_back(std::move(o));
      }
    }
    return options;
  }

  // Returns true when decided (removed, prompted or flagged).
  bool DecideRemoval(Placement& p, bool final, ReasonerOutput* out) {
    std::vector<RemovalOption> options = RemovalOptions(p);
    // Nothing in the basket explains it: a removal of what was never billed (or the weigh chain
    // erred).
    const double log_none = std::log(1e-3) - std::log(params_.unknown_item_max_weight_g);
    double total = log_none;
    std::map<std::string, double> by_key;
    std::map<std::string, const RemovalOption*> best_of_key;
    for (const RemovalOption& o : options) {
      total = LogSumExp(total, o.log_score);
      auto [it, inserted] = by_key.try_emplace(o.key, kLogTiny);
      it->second = LogSumExp(it->second, o.log_score);
      auto& slot = best_of_key[o.key];
      // Among equivalent items take the most recently added (ties: highest id).
      if (slot == nullptr || o.log_score > slot->log_score + 1e-9 ||
          (std::abs(o.log_score - slot->log_score) <= 1e-9 && o.item_ids > slot->item_ids)) {
        slot = &o;
      }
    }
    std::vector<std::pair<double, std::string>> ranked;
    ranked.reserve(by_key.size());
    for (const auto& [key, score] : by_key) ranked.emplace_back(std::exp(score - total), key);
    std::stable_sort(ranked.begin(), ranked.end(),
                     [](const auto& a, const auto& b) { return a.first > b.first; });
    const double p_none = std::exp(log_none - total);
    if (ranked.empty() || p_none > ranked.front().first) {
      if (!final) return false;
      p.stage = Stage::kDone;
      Flag(AuditFlagKind::kWeightMismatch, "",
           (p.has_weight ? FormatGrams(p.amount_g) : std::string("something")) +
               " left the basket but nothing in it explains that",
           p_none, EvidenceOf(p), out);
      return true;
    }
    const double best = ranked.front().first;
    const RemovalOption& option = *best_of_key.at(ranked.front().second);
    if (best >= params_.removal_probability_min) {
      p.stage = Stage::kDone;
      if (option.partial) {
        if (Item* item = FindItem(option.item_ids.front())) TakePartOf(p, *item, best, out);
        return true;
      }
      for (int64_t id : option.item_ids) {
        Item* item = FindItem(id);
        if (item != nullptr) RemoveItem(*item, best, EvidenceOf(p), out);
        p.item_ids.push_back(id);
      }
      ReconcileProduceLineWeight(p, option.item_ids, best, out);
      return true;
    }
    if (!final) return false;
    // Ambiguous: ask which item left.
    std::vector<std::string> candidates;
    for (const auto& [prob, key] : ranked) {
      const RemovalOption& o = *best_of_key.at(key);
      for (int64_t id : o.item_ids) {
        const Item* item = FindItemConst(id);
        if (item == nullptr || item->view.own_item) continue;
        if (std::find(candidates.begin(), candidates.end(), item->view.product_id) ==
            candidates.end()) {
          candidates.push_back(item->view.product_id);
        }
      }
      if (static_cast<int>(candidates.size()) >= params_.prompt_candidates) break;
    }
    p.stage = Stage::kPrompted;
    p.prompt_id = Ask(PromptKind::kConfirmRemoval, candidates, "Which item did you take out?",
                      1 - best, EvidenceOf(p), p.id, 0, out);
    return true;
  }

  // Whole items of loose produce sold per kg left (`removed`, all of one product) and some of
  // that product stays: the weight that left is the removal's measured weight, not what those
  // items weighed when they came in. A store bills such produce as one line by the weight of all
  // of it, and the pieces are not told apart: four tomatoes weighed together (623 g) and a fifth
  // on its own (146 g), then one taken out (155 g) leave 614 g, whichever piece it was. The
  // removal is credited to the item of 146 g (the nearest whole item), so the difference (9 g,
  // beyond the class III limit) moves to the latest item that stays. Differences within the
  // weighings' own sigma are left alone.
  void ReconcileProduceLineWeight(const Placement& p, const std::vector<int64_t>& removed,
                                  double probability, ReasonerOutput* out) {
    if (!p.has_weight || removed.empty()) return;
    std::string product_id;
    double removed_g = 0;
    double variance = p.sigma_g * p.sigma_g;
    for (int64_t id : removed) {
      const Item* item = FindItemConst(id);
      if (item == nullptr || item->view.own_item || item->view.measured_g <= 0) return;
      if (!product_id.empty() && item->view.product_id != product_id) return;
      product_id = item->view.product_id;
      removed_g += item->view.measured_g;
      variance += item->view.measured_sigma_g * item->view.measured_sigma_g;
    }
    const catalog::Product* product = catalogue_->FindById(product_id);
    if (product == nullptr || product->sold_by != catalog::SoldBy::kWeight) return;
    const double difference_g = removed_g - p.amount_g;
    if (std::abs(difference_g) <= std::sqrt(variance)) return;
    Item* stays = nullptr;
    for (Item* item : ProduceLineOf(product_id).items) {
      if (item->view.measured_g <= 0) continue;
      if (stays == nullptr || item->added_t >= stays->added_t) stays = item;
    }
    if (stays == nullptr) return;
    const double measured_g = stays->view.measured_g + difference_g;
    if (measured_g - params_.produce_bag_tare_g <= 0) return;  // not a weight it can have
    const std::vector<std::string> evidence = EvidenceOf(p);
    const bool billed_by_weight = stays->view.priced_by == PricedBy::kWeight;
    if (billed_by_weight) {
      out->actions.push_back(
          ActionForItem(*stays, BasketActionKind::kRemove, probability, evidence));
    }
    stays->view.measured_g = measured_g;
    stays->view.measured_sigma_g = std::hypot(stays->view.measured_sigma_g, std::sqrt(variance));
    if (billed_by_weight) {
      stays->view.net_weight_g = measured_g - params_.produce_bag_tare_g;
      out->actions.push_back(ActionForItem(*stays, BasketActionKind::kAdd, probability, evidence));
    }
    RepriceProduceLine(*product, probability, evidence, out);
  }

  // Removal p took some pieces of produce line `item` (sold per kg): the line is billed again for
  // what stays, its weight less the removal's.
  void TakePartOf(Placement& p, Item& item, double probability, ReasonerOutput* out) {
    const catalog::Product* product = catalogue_->FindById(item.view.product_id);
    RemoveItem(item, probability, EvidenceOf(p), out);
    p.item_ids.push_back(item.view.item_id);
    if (product == nullptr) return;
    Item rest = item;
    rest.present = true;
    rest.view.item_id = ++item_count_;
    rest.added_t = now_;
    rest.view.measured_g = item.view.measured_g - p.amount_g;
    rest.view.measured_sigma_g = std::hypot(item.view.measured_sigma_g, p.sigma_g);
    const int pieces_out = EstimatePieces(*product, p.amount_g);
    rest.view.quantity = std::max<int64_t>(1, item.view.quantity - pieces_out);
    const double net = rest.view.measured_g - params_.produce_bag_tare_g;
    if (net >= params_.min_weighed_net_g) {
      rest.view.priced_by = PricedBy::kWeight;
      rest.view.net_weight_g = net;
      rest.unit_price_minor = product->price_minor;
    } else {
      rest.view.priced_by = PricedBy::kUnit;
      rest.view.net_weight_g = 0;
      rest.unit_price_minor = PiecePriceMinor(product->price_minor, product->unit_mass_g);
    }
    rest.evidence_ids = EvidenceOf(p);
    p.partial_rest_item = rest.view.item_id;
    out->actions.push_back(ActionForItem(rest, BasketActionKind::kAdd, probability, EvidenceOf(p)));
    items_.push_back(std::move(rest));
    RepriceProduceLine(*product, probability, EvidenceOf(p), out);
  }

  const Item* FindItemConst(int64_t item_id) const {
    for (const Item& item : items_) {
      if (item.view.item_id == item_id) return &item;
    }
    return nullptr;
  }

  // ---- vision-driven additions and removals (no weight) -------------------------------------

  void OnVisionDriven(const VisionEvidence& vision, ReasonerOutput* out) {
    (void)out;
    if (vision.outcome != VisionEvidence::Outcome::kCompared) return;
    for (const RegionEvidence& region : vision.regions) {
      if (region.visible_share < params_.views.min_visible_share) continue;
      const int sign = region.vanished ? -1 : +1;
      Placement* group = nullptr;
      for (auto& [id, q] : placements_) {
        if (q.has_weight || q.cancelled || q.stage != Stage::kWaitVision || q.sign != sign) {
          continue;
        }
        if (q.region_cameras.contains(region.camera_id)) continue;
        if (vision.t - q.t_settle > Duration::Milliseconds(params_.vision_dedup_window_ms)) {
          continue;
        }
        if (q.position && region.floor_mm) {
          const double d = std::hypot(q.position->x_mm - region.floor_mm->x_mm,
                                      q.position->y_mm - region.floor_mm->y_mm);
          if (d > params_.vision_dedup_distance_mm) continue;
        }
        group = &q;
        break;
      }
      if (group == nullptr) {
        group = &NewPlacement(sign, vision.motion_start, vision.t);
        group->stage = Stage::kWaitVision;
        group->deadline = vision.t + Duration::Milliseconds(params_.vision_dedup_window_ms);
        group->position = region.floor_mm;
      }
      group->regions.push_back(region);
      group->region_cameras.insert(region.camera_id);
      group->evidence_ids.push_back(region.evidence_id);
      if (!group->position) group->position = region.floor_mm;
    }
  }

  void FinishVisionDriven(Placement& p, ReasonerOutput* out) {
    std::vector<const RegionEvidence*> regions;
    for (const RegionEvidence& r : p.regions) regions.push_back(&r);
    p.views = CombineViews(regions, params_.views);
    p.evidence_ids.clear();  // the views carry the region ids
    if (p.sign < 0) {
      DecideVisionRemoval(p, out);
    } else {
      DecideAddition(p, out);
    }
  }

  void DecideVisionRemoval(Placement& p, ReasonerOutput* out) {
    struct Option {
      const Item* item;
      double log_score;
    };
    std::vector<Option> options;
    for (const Item& item : items_) {
      if (!item.present) continue;
      const catalog::Product* product =
          item.view.own_item ? nullptr : catalogue_->FindById(item.view.product_id);
      double l = LogVision(product, *p.views);
      if (p.position && item.view.floor_mm) {
        const double d = std::hypot(p.position->x_mm - item.view.floor_mm->x_mm,
                                    p.position->y_mm - item.view.floor_mm->y_mm);
        const double s = params_.vision_dedup_distance_mm;
        l += std::max(-0.5 * (d / s) * (d / s), std::log(1e-3));
      }
      options.push_back({&item, l});
    }
    if (options.empty()) {
      p.stage = Stage::kDone;
      Flag(AuditFlagKind::kWeightMismatch, "",
           "something left the basket but the basket holds nothing", 0.5, EvidenceOf(p), out);
      return;
    }
    double total = kLogTiny;
    for (const Option& o : options) total = LogSumExp(total, o.log_score);
    // Same products are the same for the bill: sum them.
    std::map<std::string, double> by_product;
    std::map<std::string, const Item*> latest;
    for (const Option& o : options) {
      const std::string key = o.item->view.own_item ? "~own" : o.item->view.product_id;
      auto [it, inserted] = by_product.try_emplace(key, 0.0);
      it->second += std::exp(o.log_score - total);
      latest[key] = o.item;
    }
    std::vector<std::pair<double, std::string>> ranked;
    ranked.reserve(by_product.size());
    for (const auto& [key, prob] : by_product) ranked.emplace_back(prob, key);
    std::stable_sort(ranked.begin(), ranked.end(),
                     [](const auto& a, const auto& b) { return a.first > b.first; });
    if (ranked.front().first >= params_.removal_probability_min) {
      Item* item = FindItem(latest.at(ranked.front().second)->view.item_id);
      p.stage = Stage::kDone;
      p.item_ids.push_back(item->view.item_id);
      RemoveItem(*item, ranked.front().first, EvidenceOf(p), out);
      return;
    }
    std::vector<std::string> candidates;
    for (const auto& [prob, key] : ranked) {
      if (key == "~own") continue;
      candidates.push_back(key);
      if (static_cast<int>(candidates.size()) >= params_.prompt_candidates) break;
    }
    p.stage = Stage::kPrompted;
    p.prompt_id = Ask(PromptKind::kConfirmRemoval, candidates, "Which item did you take out?",
                      1 - ranked.front().first, EvidenceOf(p), p.id, 0, out);
  }

  // ---- the touchscreen -----------------------------------------------------------------------

  void OnChoice(const ShopperAction& action, ReasonerOutput* out) {
    const std::string choice_id = "choice:" + std::to_string(choice_count_);
    const catalog::Product* product = catalogue_->FindById(action.product_id);
    if (product == nullptr) {
      Flag(AuditFlagKind::kUnknownItem, "",
           "the shopper chose '" + action.product_id + "', which is not in the catalogue", 1.0,
           {choice_id}, out);
      return;
    }
    int pieces = 0;
    for (char c : action.answer) {
      if (c < '0' || c > '9') {
        pieces = 0;
        break;
      }
      pieces = std::min(pieces * 10 + (c - '0'), 1000);
    }
    // The placement it belongs to: the latest recent one without a scan whose weight fits.
    Placement* target = nullptr;
    for (auto it = placements_.rbegin(); it != placements_.rend(); ++it) {
      Placement& p = it->second;
      if (p.sign < 0 || p.cancelled || p.choice_attached || !p.scan_numbers.empty()) continue;
      if (p.t_settle > now_ ||
          now_ - p.t_settle > Duration::Milliseconds(params_.choice_after_place_max_ms)) {
        continue;
      }
      if (p.has_weight &&
          !WeightSupports(*product,
                          product->sold_by == catalog::SoldBy::kWeight ? 0 : std::max(pieces, 0),
                          p.amount_g, p.sigma_g)) {
        continue;
      }
      if (p.stage == Stage::kDone && p.item_ids.empty()) continue;  // a transient, nothing here
      target = &p;
      break;
    }
    if (target == nullptr) {
      if (!WeightActive() && !VisionActive()) {
        // Scanner only: the screen row is the add.
        Placement& p = NewPlacement(+1, now_, now_);
        p.evidence_ids.push_back(choice_id);
        p.choice_attached = true;
        p.stage = Stage::kDone;
        AddProduct(p, *product, std::max(pieces, 1), 0, 0, 1.0, {choice_id}, out);
        return;
      }
      OpenChoice choice;
      choice.evidence_id = choice_id;
      choice.t = now_;
      choice.product_id = product->id;
      choice.pieces = pieces;
      choices_.push_back(choice);
      return;
    }
    Placement& p = *target;
    p.choice_attached = true;
    p.evidence_ids.push_back(choice_id);
    const int units =
        product->sold_by == catalog::SoldBy::kWeight
            ? (pieces > 0 ? pieces : EstimatePieces(*product, p.amount_g))
            : (pieces > 0
                   ? pieces
                   : (p.has_weight ? LogWeightLikelihood(product, p.amount_g, p.sigma_g).second
                                   : 1));
    ResolveAddition(p, *product, units, 1.0, out);
  }

  // The shopper said what placement p is (a choice or an answer): bill it, correcting an
  // earlier decision if it differs.
  void ResolveAddition(Placement& p, const catalog::Product& product, int units, double probability,
                       ReasonerOutput* out) {
    ClosePrompt(p.prompt_id);
    // A drop's remainder named as a unit product whose weight is the whole drop, not the
    // remainder: one item was placed and the scans billed for it were for something else.
    if (const auto drop_it = placements_.find(p.remainder_of);
        p.remainder_of != 0 && drop_it != placements_.end() &&
        product.sold_by != catalog::SoldBy::kWeight &&
        !WeightSupports(product, 0, p.amount_g, p.sigma_g) &&
        WeightSupports(product, 0, drop_it->second.amount_g, drop_it->second.sigma_g)) {
      Placement& drop = drop_it->second;
      std::string scanned;
      for (const std::string& id : EvidenceOf(drop)) {
        if (id.rfind("scan:", 0) == 0) scanned += (scanned.empty() ? "" : ", ") + id;
      }
      Flag(AuditFlagKind::kTicketSwitch, product.id,
           "scanned (" + scanned + ") but the item placed (" + FormatGrams(drop.amount_g) +
               ") is " + product.name,
           probability * params_.scan_trust_probability, EvidenceOf(drop), out);
      UndoPlacement(drop, probability, EvidenceOf(drop), out);
      p.remainder_of = 0;
      p.amount_g = drop.amount_g;
      p.sigma_g = drop.sigma_g;
      p.event = drop.event;
      p.scan_numbers = drop.scan_numbers;  // the switch is flagged; not "unscanned"
      units = LogWeightLikelihood(&product, p.amount_g, p.sigma_g).second;
    }
    // Flagged as a switch, and the shopper names the scanned product the evidence contradicts:
    // not believed (a switcher says what they scanned); what the evidence favours is billed.
    const catalog::Product* billed_product = &product;
    if (!p.switch_flagged_scanned.empty() && product.id == p.switch_flagged_scanned) {
      if (const catalog::Product* looks_like = catalogue_->FindById(p.switch_flagged_looks_like)) {
        billed_product = looks_like;
        units = UnitsOfWeight(p, *looks_like);
      }
    }
    p.switch_flagged_scanned.clear();
    p.switch_flagged_looks_like.clear();
    ResolveAdditionAs(p, *billed_product, units, probability, out);
  }

  void ResolveAdditionAs(Placement& p, const catalog::Product& product, int units,
                         double probability, ReasonerOutput* out) {
    if (p.decided_product == product.id && !p.item_ids.empty()) {
      // Confirmed. Produce by the piece: bill the pieces the shopper counted.
      const Item* first = FindItemConst(p.item_ids.front());
      if (first != nullptr && first->present && first->view.priced_by == PricedBy::kUnit &&
          product.sold_by == catalog::SoldBy::kWeight && first->view.quantity != units) {
        UndoPlacement(p, probability, EvidenceOf(p), out);
        AddProduct(p, product, units, p.amount_g, p.sigma_g, probability, EvidenceOf(p), out);
      }
      p.stage = Stage::kDone;
      return;
    }
    if (!p.item_ids.empty()) UndoPlacement(p, probability, EvidenceOf(p), out);
    p.stage = Stage::kDone;
    AddProduct(p, product, units, p.has_weight ? p.amount_g : 0, p.sigma_g, probability,
               EvidenceOf(p), out);
    if (!ConsumeScanNamingPlacement(p, product, probability, out)) {
      MaybeFlagUnscanned(p, product, probability * params_.scan_trust_probability, out);
    }
  }

  // The shopper named a packaged product for placement p, which no scan explained when it was
  // decided. A scan open when p settled names p (a scan names the next item placed): of the named
  // product, it was scanned after all (no flag); of another product, the shopper scanned one
  // thing and placed another, a ticket switch. Either way the scan is consumed, so that it is
  // not billed for a later placement of its weight. Returns true when a scan was consumed.
  bool ConsumeScanNamingPlacement(Placement& p, const catalog::Product& product, double probability,
                                  ReasonerOutput* out) {
    // A drop's remainder (or what a weighed-alone produce left over) came in with scanned items:
    // other open scans were left out of that drop, not switched.
    if (!modalities_.scan || IsLoose(product) || !p.scan_numbers.empty() || !p.has_weight ||
        p.PartOfDrop()) {
      return false;
    }
    const Timestamp since = p.t_settle - Duration::Milliseconds(params_.scan_to_place_timeout_ms);
    OpenScan* latest = nullptr;
    OpenScan* same = nullptr;
    for (OpenScan* s : UsableScans(p.t_settle)) {
      if (s->t < since) continue;
      latest = s;
      if (s->product_id == product.id) same = s;
    }
    if (same != nullptr) {
      Consume(p, *same);
      return true;
    }
    if (latest == nullptr) return false;
    const catalog::Product* scanned = catalogue_->FindById(latest->product_id);
    Consume(p, *latest);
    p.unscanned_flagged = true;
    Flag(AuditFlagKind::kTicketSwitch, product.id,
         "scanned " + (scanned != nullptr ? scanned->name : latest->product_id) +
             " but the item placed (" + FormatGrams(p.amount_g) + ") is " + product.name,
         probability * params_.scan_trust_probability, EvidenceOf(p), out);
    return true;
  }

  void OnRemoveRow(const ShopperAction& action, ReasonerOutput* out) {
    // The shopper removed a line on the screen. With the scale working the weight tells whether
    // it left; without, the row is the removal.
    if (WeightActive()) return;
    for (auto it = items_.rbegin(); it != items_.rend(); ++it) {
      if (it->present && !it->view.own_item && it->view.product_id == action.product_id) {
        RemoveItem(*it, 1.0, {"choice:" + std::to_string(choice_count_)}, out);
        return;
      }
    }
  }

  void OnAnswer(const ShopperAction& action, ReasonerOutput* out) {
    const auto it = prompts_.find(action.prompt_id);
    if (it == prompts_.end() || !it->second.open) return;  // unknown or already settled
    OpenPrompt& prompt = it->second;
    prompt.open = false;
    const std::string answer_id = "answer:" + action.prompt_id;
    const catalog::Product* product =
        action.product_id.empty() ? nullptr : catalogue_->FindById(action.product_id);
    const bool own = action.answer == "own_item" || (action.answer == "product" && !product);
    const bool none = action.answer == "none";
    if (prompt.prompt.kind == PromptKind::kPlaceScannedItem) {
      if (none) {
        OpenScan* scan = FindScan(prompt.scan_number);
        if (scan != nullptr) scan->consumed = true;
      }
      return;
    }
    const auto pit = placements_.find(prompt.placement_id);
    if (pit == placements_.end() || pit->second.cancelled) return;
    Placement& p = pit->second;
    p.evidence_ids.push_back(answer_id);
    if (prompt.prompt.kind == PromptKind::kConfirmRemoval) {
      p.stage = Stage::kDone;
      if (none) return;
      // The item of that product (or own item) that best fits the weight, the latest first.
      Item* chosen = nullptr;
      double best_z = std::numeric_limits<double>::infinity();
      for (auto rit = items_.rbegin(); rit != items_.rend(); ++rit) {
        if (!rit->present) continue;
        const bool match =
            own ? rit->view.own_item
                : (!rit->view.own_item && product && rit->view.product_id == product->id);
        if (!match) continue;
        const double z = p.has_weight && rit->view.measured_g > 0
                             ? std::abs(rit->view.measured_g - p.amount_g)
                             : 0;
        if (z < best_z) {
          best_z = z;
          chosen = &*rit;
        }
      }
      if (chosen == nullptr) return;
      // Some pieces of a produce line: the line stays, lighter.
      if (const catalog::Product* named = catalogue_->FindById(chosen->view.product_id);
          p.has_weight && named != nullptr && named->sold_by == catalog::SoldBy::kWeight &&
          chosen->view.priced_by == PricedBy::kWeight &&
          chosen->view.measured_g - p.amount_g >
              std::max(params_.produce_min_piece_ratio * named->unit_mass_g,
                       params_.weight_match_sigma *
                           std::hypot(p.sigma_g, chosen->view.measured_sigma_g))) {
        TakePartOf(p, *chosen, 1.0, out);
        return;
      }
      p.item_ids.push_back(chosen->view.item_id);
      RemoveItem(*chosen, 1.0, EvidenceOf(p), out);
      return;
    }
    // kPleaseScan / kChooseProduct about an addition.
    if (none) {
      // Nothing of the shop's: remember the weight so its removal bills nothing.
      p.stage = Stage::kDone;
      if (!p.item_ids.empty()) UndoPlacement(p, 1.0, EvidenceOf(p), out);
      AddOwnItem(p, "", 1.0, EvidenceOf(p), false, out);
      return;
    }
    if (own) {
      p.stage = Stage::kDone;
      if (!p.item_ids.empty()) UndoPlacement(p, 1.0, EvidenceOf(p), out);
      AddOwnItem(p, "the shopper says the item placed is their own or not the shop's", 1.0,
                 EvidenceOf(p), true, out);
      return;
    }
    ResolveAddition(p, *product, UnitsOfWeight(p, *product), 1.0, out);
    // Loose produce named for a weight that may hold other things: billed from that weight for
    // now, and again from its own weight when it is lifted out and put back (OnRemoval,
    // ReturnRecentlyRemoved). Produce sold by the piece too: its pieces weigh ±20 % or more, so
    // only its own weight tells what else came in with it.
    if (prompt.prompt.kind == PromptKind::kWeighAlone && p.has_weight && IsLoose(*product) &&
        !p.item_ids.empty()) {
      p.reweigh_pending = true;
      p.reweigh_deadline = now_ + Duration::Milliseconds(params_.reweigh_wait_ms);
    }
  }

  // How many of `product` the placement's weight holds (1 without a weight): pieces of produce
  // sold by weight, else the unit count its weight likelihood favours.
  int UnitsOfWeight(const Placement& p, const catalog::Product& product) const {
    if (!p.has_weight) return 1;
    return product.sold_by == catalog::SoldBy::kWeight
               ? EstimatePieces(product, p.amount_g)
               : LogWeightLikelihood(&product, p.amount_g, p.sigma_g).second;
  }

  // A removal while produce waits to be weighed alone, not heavier than the weight it was billed
  // from: that produce lifted out. Returns the produce's item in the placement, or nullptr.
  Item* ReweighedItem(double amount_g, double sigma_g, int64_t* placement_id) {
    for (auto it = placements_.rbegin(); it != placements_.rend(); ++it) {
      Placement& q = it->second;
      if (!q.reweigh_pending || q.cancelled) continue;
      if (now_ > q.reweigh_deadline) {
        q.reweigh_pending = false;
        continue;
      }
      for (int64_t id : q.item_ids) {
        Item* item = FindItem(id);
        if (item == nullptr || !item->present || item->view.own_item) continue;
        const catalog::Product* product = catalogue_->FindById(item->view.product_id);
        if (product == nullptr || !IsLoose(*product)) continue;
        if (amount_g >
            q.amount_g +
                params_.weight_match_sigma *
                    std::hypot(sigma_g, std::max(q.sigma_g, item->view.measured_sigma_g))) {
          continue;
        }
        *placement_id = q.id;
        return item;
      }
    }
    return nullptr;
  }

  const catalog::Catalogue* catalogue_;
  ReasonerParams params_;
  Modalities modalities_;
  std::map<int, int> coarse_class_size_;  // products per coarse class (coarse_id)

  bool started_ = false;
  Timestamp now_;
  std::string mode_;
  sensors::ScaleStatus scale_;
  std::map<int, CameraHealthEvidence::State> cameras_;
  std::map<int, std::string> camera_messages_;

  int64_t weight_count_ = 0;
  int64_t scan_count_ = 0;
  int64_t choice_count_ = 0;
  int64_t prompt_count_ = 0;
  int64_t placement_count_ = 0;
  int64_t item_count_ = 0;

  std::optional<Timestamp> scale_recovered_t_;  // the scale's health last came back to ok
  std::vector<VisionEvidence> views_;
  std::set<std::string> used_regions_;
  std::deque<OpenScan> scans_;
  std::vector<OpenChoice> choices_;
  std::map<int64_t, Placement> placements_;
  std::vector<Item> items_;
  std::map<std::string, OpenPrompt> prompts_;
};

// ----------------------------------------------------------------------------------------------

Result<std::unique_ptr<Reasoner>> Reasoner::Create(const catalog::Catalogue* catalogue,
                                                   ReasonerParams params, Modalities modalities) {
  if (catalogue == nullptr) return InvalidArgumentError("reasoner: no catalogue");
  if (catalogue->products().empty()) return InvalidArgumentError("reasoner: empty catalogue");
  CS_RETURN_IF_ERROR(params.Validate().WithContext("reasoner parameters"));
  if (!modalities.weight && !modalities.vision && !modalities.scan) {
    return InvalidArgumentError("reasoner: no modality enabled");
  }
  return std::unique_ptr<Reasoner>(
      new Reasoner(std::make_unique<Impl>(catalogue, params, modalities)));
}

Reasoner::Reasoner(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
Reasoner::~Reasoner() = default;

Result<ReasonerOutput> Reasoner::OnWeightEvent(const sensors::WeightEvent& event) {
  return impl_->Weight(event);
}
Result<ReasonerOutput> Reasoner::OnScaleStatus(const sensors::ScaleStatus& status) {
  return impl_->Scale(status);
}
Result<ReasonerOutput> Reasoner::OnVision(const VisionEvidence& vision) {
  return impl_->Vision(vision);
}
Result<ReasonerOutput> Reasoner::OnCameraHealth(const CameraHealthEvidence& health) {
  return impl_->CameraHealth(health);
}
Result<ReasonerOutput> Reasoner::OnScan(const ScannerRead& scan) { return impl_->Scan(scan); }
Result<ReasonerOutput> Reasoner::OnShopper(const ShopperAction& action) {
  return impl_->Shopper(action);
}
Result<ReasonerOutput> Reasoner::AdvanceTo(Timestamp t) { return impl_->Advance(t); }
std::string Reasoner::ModeDescription() const { return impl_->mode(); }
std::vector<ReasonerItem> Reasoner::Items() const { return impl_->Items(); }
std::vector<ShopperPrompt> Reasoner::OpenPrompts() const { return impl_->OpenPrompts(); }
Timestamp Reasoner::last_time() const { return impl_->now(); }

}  // namespace cartsense::fusion
