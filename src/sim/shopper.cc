#include "sim/shopper.h"

#include <algorithm>
#include <cmath>
#include <numbers>
#include <sstream>

namespace cartsense::sim {
namespace {

constexpr int kCameraCount = 2;

std::string Number(double v) {
  std::ostringstream out;
  out.precision(10);
  out << v;
  return out.str();
}
std::string Quoted(const std::string& s) { return "\"" + s + "\""; }

class Planner {
 public:
  Planner(const PlanOptions& options, const std::vector<const catalog::Product*>& products,
          const std::vector<int>& photo_counts)
      : options_(options), products_(products), photo_counts_(photo_counts), rng_(options.seed) {
    for (std::size_t i = 0; i < products.size(); ++i) {
      (products[i]->gtin.empty() ? loose_ : packaged_).push_back(i);
    }
    static const std::array<cv::Scalar, 5> kSkins = {
        cv::Scalar(120, 150, 205), cv::Scalar(95, 125, 180), cv::Scalar(70, 95, 140),
        cv::Scalar(50, 70, 105), cv::Scalar(140, 170, 220)};
    skin_ = kSkins[static_cast<std::size_t>(Uniform(0, 4.999))];
  }

  Result<SessionPlan> Run();

 private:
  double Uniform(double lo, double hi) {
    return lo + (hi - lo) * std::uniform_real_distribution<double>(0, 1)(rng_);
  }
  bool Chance(double p) { return Uniform(0, 1) < p; }
  int Below(int n) { return std::min(n - 1, static_cast<int>(Uniform(0, n))); }
  double Sign() { return Chance(0.5) ? -1 : 1; }

  std::size_t PickFrom(const std::vector<std::size_t>& pool) {
    return pool[static_cast<std::size_t>(Below(static_cast<int>(pool.size())))];
  }
  std::size_t PickPackaged() { return PickFrom(packaged_.empty() ? loose_ : packaged_); }
  std::size_t PickLoose() { return PickFrom(loose_.empty() ? packaged_ : loose_); }
  std::size_t PickAny() {
    return static_cast<std::size_t>(Below(static_cast<int>(products_.size())));
  }

  PointMm ToModel(double x_mm, double y_mm) const {
    return {x_mm - options_.basket.width_mm / 2, y_mm - options_.basket.depth_mm / 2};
  }

  int NewItem(std::size_t product_index, double mass_g) {
    PlannedItem item;
    item.uid = static_cast<int>(plan_.items.size());
    item.product = products_[product_index];
    item.photo_index = Below(std::max(1, photo_counts_[product_index]));
    item.mass_g = mass_g;
    item.size = SizeFromMass(*item.product, mass_g);
    item.angle_rad = Uniform(0, std::numbers::pi);
    item.x_mm = Uniform(0.15, 0.85) * options_.basket.width_mm;
    item.y_mm = Uniform(0.18, 0.82) * options_.basket.depth_mm;
    plan_.items.push_back(item);
    return item.uid;
  }

  void AddTruth(double t_s, std::string kind, const std::string& product_id, Behaviour behaviour,
                std::map<std::string, std::string> details = {}) {
    plan_.truth.push_back({t_s, std::move(kind), product_id, behaviour, std::move(details)});
  }

  LoadChange MakeChange(double t0_s, double mass_g, PointMm at) {
    LoadChange change;
    change.t0_s = t0_s;
    change.mass_g = mass_g;
    change.at = at;
    const double m = std::abs(mass_g);
    const double hand_press_max_g = 300;
    if (mass_g > 0) {
      change.contact_s = Uniform(0.1, 0.4);
      change.hand_g = Uniform(-0.2, 0.2) * m + Uniform(-0.5, 1.0) * hand_press_max_g;
      change.ring_g = Sign() * (Uniform(0.05, 0.3) * m + Uniform(0, 5));
    } else {
      change.contact_s = Uniform(0.15, 0.4);
      change.hand_g = Uniform(-0.15, 0.15) * m + Uniform(-0.5, 0.75) * hand_press_max_g;
      change.ring_g = Sign() * (Uniform(0.02, 0.15) * m + Uniform(0, 3));
    }
    change.ring_hz = Uniform(8, 15);
    change.tremor_g = 3 + 0.04 * (m + std::abs(change.hand_g));
    change.tremor_hz = Uniform(8, 12);
    // Settling time 150-400 ms after the hand lets go; the decay rate belongs to the plate, not
    // to the size of the ring (RingDecayPerS, docs/weighing.md "Ringing").
    change.decay_per_s = RingDecayPerS(change.ring_g, Uniform(0.15, 0.4));
    return change;
  }

  // Pushing the cart to the next shelf: vibration, sometimes with bumps.
  void Walk(bool rough) {
    Vibration push;
    push.t0_s = t_;
    push.duration_s = Uniform(2.5, 6.0);
    push.rms_mps2 = rough ? Uniform(1.0, 2.0) : Uniform(0.3, 0.9);
    push.seed = rng_();
    const int bumps = rough ? 1 + Below(3) : 0;
    for (int b = 0; b < bumps; ++b) {
      push.bump_times_s.push_back(t_ + Uniform(0.3, push.duration_s - 0.3));
      push.bump_peak_mps2.push_back(Sign() * Uniform(2, 5));
    }
    std::sort(push.bump_times_s.begin(), push.bump_times_s.end());
    for (double bump : push.bump_times_s) {
      plan_.bump_times_s.push_back(bump);
      AddTruth(bump, "bump", "", Behaviour::kBumpPush);
    }
    if (rough) {
      AddTruth(t_, "push", "", Behaviour::kBumpPush,
               {{"duration_s", Number(push.duration_s)}, {"rms_mps2", Number(push.rms_mps2)}});
    }
    plan_.physics.vibrations.push_back(push);
    t_ += push.duration_s + Uniform(0.5, 1.0);
  }

  void Scan(std::size_t product_index, Behaviour behaviour) {
    ScanMove scan;
    scan.start_s = t_;
    scan.centre_s = t_ + 0.4;
    scan.end_s = t_ + 0.8;
    scan.product = products_[product_index];
    scan.photo_index = Below(std::max(1, photo_counts_[product_index]));
    scan.view = DrawScanView(rng_, hard_cases_);
    if (force_hard_ && !scan.view.hard()) {
      // Make it hard in one drawn way.
      const int way = Below(3);
      if (way == 0) {
        scan.view.hard_rotation = true;
        scan.view.rotation_deg = Sign() * Uniform(32, 75);
      } else if (way == 1) {
        scan.view.hard_small_modules = true;
        scan.view.module_px = Uniform(1.2, 1.9);
      } else {
        scan.view.hard_motion_blur = true;
        scan.view.motion_blur_px = Uniform(4, 12);
      }
    }
    plan_.scans.push_back(scan);
    const std::string& gtin = scan.product->gtin;
    AddTruth(scan.centre_s, "scan", scan.product->id, behaviour,
             {{"gtin", Quoted(gtin)},
              {"format", Quoted(BarcodeFormatTag(PrintedFormat(gtin)))},
              {"module_px", Number(scan.view.module_px)},
              {"rotation_deg", Number(scan.view.rotation_deg)},
              {"motion_blur_px", Number(scan.view.motion_blur_px)},
              {"hard_rotation", scan.view.hard_rotation ? "true" : "false"},
              {"hard_small_modules", scan.view.hard_small_modules ? "true" : "false"},
              {"hard_motion_blur", scan.view.hard_motion_blur ? "true" : "false"}});
    if (!scan.view.hard()) {
      ScannerRead read;
      read.t = Timestamp::FromSeconds(scan.centre_s + 0.05);
      read.format = PrintedFormat(gtin);
      read.gtin = gtin;
      read.camera_id = kCameraCount;  // the scanner camera
      plan_.scanner_reads.push_back(read);
    }
    t_ = scan.end_s + Uniform(0.3, 1.0);
  }

  static std::string BarcodeFormatTag(BarcodeFormat format) {
    switch (format) {
      case BarcodeFormat::kEan8:
        return "EAN8";
      case BarcodeFormat::kUpcA:
        return "UPCA";
      default:
        return "EAN13";
    }
  }

  // One hand carrying `uids` into the basket. `one_load`: they land as one load (loose produce
  // put down together) rather than one after the other.
  double Place(const std::vector<int>& uids, bool one_load) {
    HandMove move;
    move.kind = HandMove::Kind::kPlace;
    move.enter_s = t_;
    move.touch_s = t_ + Uniform(0.6, 0.9);
    move.items = uids;
    move.skin_bgr = skin_;
    double total = 0;
    double cx = 0;
    double cy = 0;
    for (int uid : uids) {
      total += plan_.items[static_cast<std::size_t>(uid)].mass_g;
      cx += plan_.items[static_cast<std::size_t>(uid)].x_mm;
      cy += plan_.items[static_cast<std::size_t>(uid)].y_mm;
    }
    cx /= static_cast<double>(uids.size());
    cy /= static_cast<double>(uids.size());
    move.x_mm = cx;
    move.y_mm = cy;
    double release = move.touch_s;
    std::vector<LoadChange> changes;
    if (one_load) {
      const LoadChange change = MakeChange(move.touch_s, total, ToModel(cx, cy));
      plan_.physics.changes.push_back(change);
      changes.push_back(change);
      release = move.touch_s + change.contact_s;
      for (int uid : uids) plan_.items[static_cast<std::size_t>(uid)].placed_s = release;
    } else {
      double t0 = move.touch_s;
      for (int uid : uids) {
        PlannedItem& item = plan_.items[static_cast<std::size_t>(uid)];
        const LoadChange change = MakeChange(t0, item.mass_g, ToModel(item.x_mm, item.y_mm));
        plan_.physics.changes.push_back(change);
        changes.push_back(change);
        item.placed_s = t0 + change.contact_s;
        release = std::max(release, item.placed_s);
        t0 += Uniform(0.03, 0.15);
      }
    }
    // The physical settle of the placement (truth.json `settle_s`): the evaluation measures the
    // time from it to the basket action.
    last_settle_s_ = PhysicalSettleS(changes);
    move.release_s = release;
    move.leave_s = release + Uniform(0.4, 0.6);
    if (pending_cover_ >= 0) {
      CoverSpan cover{pending_cover_, move.enter_s - Uniform(0.5, 1.0),
                      move.leave_s + Uniform(0.5, 1.5)};
      cover.start_s = std::max(cover.start_s, last_cover_end_s_ + 0.1);
      plan_.covers.push_back(cover);
      last_cover_end_s_ = cover.end_s;
      AddTruth(cover.start_s, "cover_camera", "", Behaviour::kCoverCamera,
               {{"camera", Number(cover.camera)}, {"end_s", Number(cover.end_s)}});
      pending_cover_ = -1;
    }
    plan_.moves.push_back(move);
    for (int uid : uids) in_basket_.push_back(uid);
    t_ = move.leave_s + Uniform(0.8, 2.0);
    if (!plan_.covers.empty()) t_ = std::max(t_, plan_.covers.back().end_s + 0.3);
    return release;
  }

  std::map<std::string, std::string> PlaceDetails(const std::vector<int>& uids, bool scanned) {
    const PlannedItem& first = plan_.items[static_cast<std::size_t>(uids.front())];
    double mass = 0;
    std::string list;
    for (int uid : uids) {
      mass += plan_.items[static_cast<std::size_t>(uid)].mass_g;
      list += (list.empty() ? "" : ",") + std::to_string(uid);
    }
    return {{"mass_g", Number(mass)},
            {"pieces", Number(static_cast<double>(uids.size()))},
            {"x_mm", Number(first.x_mm)},
            {"y_mm", Number(first.y_mm)},
            {"item_uids", "[" + list + "]"},
            {"scanned", scanned ? "true" : "false"},
            {"settle_s", Number(last_settle_s_)}};
  }

  void ScanThenPlace(std::size_t product_index, bool scan, Behaviour behaviour) {
    const catalog::Product& product = *products_[product_index];
    if (product.gtin.empty()) {
      ProduceWeighed(product_index);
      return;
    }
    if (scan) Scan(product_index, behaviour);
    const int uid = NewItem(product_index, DrawMassG(product, rng_));
    const double placed = Place({uid}, false);
    AddTruth(plan_.moves.back().touch_s, "place", product.id, behaviour, PlaceDetails({uid}, scan));
    (void)placed;
    ++placed_products_;
  }

  void ProduceWeighed(std::size_t product_index) {
    const catalog::Product& product = *products_[product_index];
    const double unit = std::max(product.unit_mass_g, 1.0);
    int pieces = 1;
    if (product.sold_by == catalog::SoldBy::kWeight && unit < 400) {
      pieces = 1 + Below(std::clamp(static_cast<int>(1200 / unit), 1, 5));
    }
    std::vector<int> uids;
    const double cx = Uniform(0.25, 0.75) * options_.basket.width_mm;
    const double cy = Uniform(0.28, 0.72) * options_.basket.depth_mm;
    for (int p = 0; p < pieces; ++p) {
      const int uid = NewItem(product_index, DrawMassG(product, rng_));
      PlannedItem& item = plan_.items[static_cast<std::size_t>(uid)];
      item.x_mm = cx + Uniform(-70, 70);
      item.y_mm = cy + Uniform(-55, 55);
      uids.push_back(uid);
    }
    const double released = Place(uids, true);
    AddTruth(plan_.moves.back().touch_s, "place", product.id, Behaviour::kProduceWeighed,
             PlaceDetails(uids, false));
    // The shopper picks the product on the touchscreen.
    const double t_choose = std::max(released + Uniform(1.0, 2.5), last_touch_s_ + 0.01);
    ShopperAction choose;
    choose.t = Timestamp::FromSeconds(t_choose);
    choose.kind = ShopperAction::Kind::kChooseProduct;
    choose.product_id = product.id;
    choose.answer = std::to_string(pieces);
    plan_.touchscreen.push_back(choose);
    last_touch_s_ = t_choose;
    AddTruth(t_choose, "choose_product", product.id, Behaviour::kProduceWeighed,
             {{"pieces", Number(pieces)}});
    t_ = std::max(t_, t_choose + 0.5);
    ++placed_products_;
  }

  void Swap() {
    if (packaged_.size() < 2) {
      ScanThenPlace(PickPackaged(), true, Behaviour::kScanThenPlace);
      return;
    }
    const std::size_t scanned = PickFrom(packaged_);
    std::size_t placed = scanned;
    while (placed == scanned) placed = PickFrom(packaged_);
    Scan(scanned, Behaviour::kSwap);
    const int uid = NewItem(placed, DrawMassG(*products_[placed], rng_));
    Place({uid}, false);
    AddTruth(plan_.moves.back().touch_s, "place", products_[placed]->id, Behaviour::kSwap,
             PlaceDetails({uid}, false));
    ++placed_products_;
  }

  void MultiDrop(int count) {
    std::vector<int> uids;
    std::vector<std::size_t> chosen;
    const double cx = Uniform(0.3, 0.7) * options_.basket.width_mm;
    const double cy = Uniform(0.3, 0.7) * options_.basket.depth_mm;
    for (int i = 0; i < count; ++i) {
      const std::size_t index = PickAny();
      chosen.push_back(index);
      const int uid = NewItem(index, DrawMassG(*products_[index], rng_));
      PlannedItem& item = plan_.items[static_cast<std::size_t>(uid)];
      item.x_mm = std::clamp(cx + Uniform(-110, 110), 60.0, options_.basket.width_mm - 60);
      item.y_mm = std::clamp(cy + Uniform(-80, 80), 60.0, options_.basket.depth_mm - 60);
      uids.push_back(uid);
    }
    for (std::size_t index : chosen) {
      if (!products_[index]->gtin.empty()) Scan(index, Behaviour::kMultiDrop);
    }
    Place(uids, false);
    for (std::size_t i = 0; i < uids.size(); ++i) {
      AddTruth(plan_.moves.back().touch_s, "place", products_[chosen[i]]->id, Behaviour::kMultiDrop,
               PlaceDetails({uids[i]}, !products_[chosen[i]]->gtin.empty()));
    }
    placed_products_ += count;
  }

  void Remove(bool personal) {
    std::vector<int> candidates;
    for (int uid : in_basket_) {
      const bool is_personal = plan_.items[static_cast<std::size_t>(uid)].product == nullptr;
      if (is_personal == personal) candidates.push_back(uid);
    }
    if (candidates.empty()) return;
    const int uid =
        candidates[static_cast<std::size_t>(Below(static_cast<int>(candidates.size())))];
    PlannedItem& item = plan_.items[static_cast<std::size_t>(uid)];
    HandMove move;
    move.kind = HandMove::Kind::kRemove;
    move.enter_s = t_;
    move.touch_s = t_ + Uniform(0.6, 0.9);
    move.items = {uid};
    move.x_mm = item.x_mm;
    move.y_mm = item.y_mm;
    move.skin_bgr = skin_;
    const LoadChange change = MakeChange(move.touch_s, -item.mass_g, ToModel(item.x_mm, item.y_mm));
    plan_.physics.changes.push_back(change);
    last_settle_s_ = PhysicalSettleS({change});
    move.release_s = move.touch_s + change.contact_s;
    move.leave_s = move.release_s + Uniform(0.5, 0.7);
    item.removed_s = move.touch_s;
    plan_.moves.push_back(move);
    in_basket_.erase(std::find(in_basket_.begin(), in_basket_.end(), uid));
    AddTruth(move.touch_s, "remove", item.product ? item.product->id : "",
             personal ? Behaviour::kPersonalItem : Behaviour::kRemoveItem,
             {{"mass_g", Number(item.mass_g)},
              {"item_uid", Number(uid)},
              {"settle_s", Number(last_settle_s_)}});
    t_ = move.leave_s + Uniform(0.8, 2.0);
  }

  void Lean() {
    HandPress press;
    press.t0_s = t_ + Uniform(0.5, 0.8);
    press.duration_s = Uniform(2.0, 5.0);
    press.force_g = Uniform(1500, 6000);
    const double x = Uniform(0.2, 0.8) * options_.basket.width_mm;
    press.at = ToModel(x, 15);
    press.tremor_g = 3 + 0.04 * press.force_g;
    press.tremor_hz = Uniform(8, 12);
    plan_.physics.hands.push_back(press);
    HandMove move;
    move.kind = HandMove::Kind::kLean;
    move.enter_s = t_;
    move.touch_s = press.t0_s;
    move.release_s = press.t0_s + press.duration_s;
    move.leave_s = move.release_s + 0.4;
    move.x_mm = x;
    move.y_mm = 15;
    move.skin_bgr = skin_;
    plan_.moves.push_back(move);
    AddTruth(press.t0_s, "lean", "", Behaviour::kLean,
             {{"force_g", Number(press.force_g)}, {"duration_s", Number(press.duration_s)}});
    t_ = move.leave_s + Uniform(0.8, 1.5);
  }

  void Bump() {
    Vibration bump;
    bump.t0_s = t_;
    bump.duration_s = 0.1;
    bump.rms_mps2 = 0;
    bump.bump_times_s.push_back(t_ + 0.05);
    bump.bump_peak_mps2.push_back(Sign() * Uniform(2, 5));
    bump.seed = rng_();
    plan_.physics.vibrations.push_back(bump);
    plan_.bump_times_s.push_back(t_ + 0.05);
    AddTruth(t_ + 0.05, "bump", "", Behaviour::kBumpPush,
             {{"peak_mps2", Number(bump.bump_peak_mps2.front())}});
    t_ += Uniform(1.0, 2.0);
  }

  void PersonalItem() {
    PlannedItem item;
    item.uid = static_cast<int>(plan_.items.size());
    const bool bag = Chance(0.6);
    item.personal_kind = bag ? "bag" : "phone";
    item.mass_g = bag ? Uniform(400, 1500) : Uniform(150, 230);
    item.size = bag ? ItemSize{Uniform(280, 340), Uniform(180, 230), 110}
                    : ItemSize{Uniform(145, 165), Uniform(70, 78), 8};
    item.angle_rad = Uniform(0, std::numbers::pi);
    item.x_mm = Uniform(0.3, 0.7) * options_.basket.width_mm;
    item.y_mm = Uniform(0.3, 0.7) * options_.basket.depth_mm;
    plan_.items.push_back(item);
    Place({item.uid}, false);
    AddTruth(plan_.moves.back().touch_s, "place", "", Behaviour::kPersonalItem,
             {{"personal", Quoted(item.personal_kind)},
              {"mass_g", Number(item.mass_g)},
              {"item_uid", Number(item.uid)}});
  }

  void CoverCamera() { pending_cover_ = Below(kCameraCount); }

  void SensorDropout() {
    CellFailure failure;
    failure.t_s = t_ + Uniform(0.0, 1.0);
    failure.cell = Below(kCellCount);
    failure.kind = Chance(0.7) ? CellFailure::Kind::kDisconnected : CellFailure::Kind::kStuck;
    failure.until_s = failure.t_s + Uniform(8, 20);
    plan_.physics.failures.push_back(failure);
    AddTruth(
        failure.t_s, "sensor_dropout", "", Behaviour::kSensorDropout,
        {{"cell", Number(failure.cell)},
         {"failure", Quoted(failure.kind == CellFailure::Kind::kStuck ? "stuck" : "disconnected")},
         {"until_s", Number(failure.until_s)}});
  }

  void RandomStep() {
    const RandomMix& m = options_.mix;
    const double total =
        m.scan_then_place + m.place_without_scan + m.produce_weighed + m.swap + m.multi_drop;
    const double u = Uniform(0, total);
    const int left = options_.items - placed_products_;
    // Cumulative shares pick the behaviour; a multi-drop needs two items left, else the shopper
    // scans and places the last one.
    const double place_without_scan_edge = m.scan_then_place + m.place_without_scan;
    const double produce_edge = place_without_scan_edge + m.produce_weighed;
    const double swap_edge = produce_edge + m.swap;
    if (u < m.scan_then_place || (u >= swap_edge && left < 2)) {
      ScanThenPlace(PickPackaged(), true, Behaviour::kScanThenPlace);
    } else if (u < place_without_scan_edge) {
      ScanThenPlace(PickPackaged(), false, Behaviour::kPlaceWithoutScan);
    } else if (u < produce_edge) {
      ProduceWeighed(PickLoose());
    } else if (u < swap_edge) {
      Swap();
    } else {
      MultiDrop(std::min(left, 2 + Below(2)));
    }
    if (Chance(m.remove_item)) Remove(false);
    if (Chance(m.bump_push)) Bump();
    if (Chance(m.lean)) Lean();
    if (Chance(m.personal_item)) PersonalItem();
    if (Chance(m.cover_camera)) CoverCamera();
    if (Chance(m.sensor_dropout)) SensorDropout();
  }

  const PlanOptions& options_;
  const std::vector<const catalog::Product*>& products_;
  const std::vector<int>& photo_counts_;
  std::mt19937_64 rng_;
  std::vector<std::size_t> packaged_, loose_;
  SessionPlan plan_;
  std::vector<int> in_basket_;
  double t_ = 1.5;
  double last_touch_s_ = 0;
  double last_cover_end_s_ = -1;
  double last_settle_s_ = 0;  // physical settle of the last placement or removal
  int placed_products_ = 0;
  int pending_cover_ = -1;
  bool force_hard_ = false;
  HardCaseShares hard_cases_;
  cv::Scalar skin_;
};

Result<SessionPlan> Planner::Run() {
  if (products_.empty()) {
    return InvalidArgumentError("no catalogue product has photos in the split file");
  }
  if (options_.items < 1) return InvalidArgumentError("items must be at least 1");
  hard_cases_ = options_.hard_cases;
  const std::string& name = options_.scenario;
  const int n = options_.items;
  bool known = false;
  for (const ScenarioInfo& info : Scenarios()) known = known || info.name == name;
  if (!known) return InvalidArgumentError("unknown scenario '" + name + "' (see --list-scenarios)");
  if (name == "hard_barcodes") {
    hard_cases_ = {0.4, 0.4, 0.4};
    force_hard_ = true;
  }
  if (name == "personal_item") PersonalItem();
  int step = 0;
  while (placed_products_ < n) {
    const bool first = step == 0;
    const bool middle = step == std::max(0, n / 3);
    if (step > 0) Walk(name == "bumps_and_pushes");
    if (name == "random") {
      RandomStep();
    } else if (name == "place_without_scan") {
      ScanThenPlace(PickPackaged(), !(first || Chance(0.5)), Behaviour::kPlaceWithoutScan);
    } else if (name == "produce_by_weight") {
      ProduceWeighed(PickLoose());
    } else if (name == "swap" && (middle || Chance(0.3))) {
      Swap();
    } else if (name == "multi_drop" && n - placed_products_ >= 2 && (first || Chance(0.4))) {
      MultiDrop(std::min(n - placed_products_, 2 + Below(2)));
    } else if (name == "camera_covered" && (first || Chance(0.2))) {
      CoverCamera();
      ScanThenPlace(PickAny(), true, Behaviour::kScanThenPlace);
    } else if (name == "sensor_dropout" && middle) {
      SensorDropout();
      ScanThenPlace(PickAny(), true, Behaviour::kScanThenPlace);
    } else {
      ScanThenPlace(PickAny(), true, Behaviour::kScanThenPlace);
    }
    if (name == "remove_item" &&
        (placed_products_ == std::max(1, n / 2) || placed_products_ == n)) {
      Remove(false);
    }
    if (name == "leaning" && (first || Chance(0.3))) Lean();
    if (name == "bumps_and_pushes" && Chance(0.5)) Bump();
    ++step;
  }
  if (name == "personal_item") Remove(true);
  if (name == "bumps_and_pushes") Walk(true);
  plan_.end_s = t_ + 2.0;
  for (const CoverSpan& cover : plan_.covers) plan_.end_s = std::max(plan_.end_s, cover.end_s + 1);
  for (const CellFailure& failure : plan_.physics.failures) {
    plan_.end_s = std::max(plan_.end_s, std::min(failure.until_s, plan_.end_s + 20) + 1);
  }
  const auto by_time = [](const auto& a, const auto& b) { return a.t0_s < b.t0_s; };
  std::stable_sort(plan_.physics.changes.begin(), plan_.physics.changes.end(), by_time);
  std::stable_sort(plan_.physics.hands.begin(), plan_.physics.hands.end(), by_time);
  std::stable_sort(plan_.physics.vibrations.begin(), plan_.physics.vibrations.end(), by_time);
  std::stable_sort(plan_.truth.begin(), plan_.truth.end(),
                   [](const TruthAction& a, const TruthAction& b) { return a.t_s < b.t_s; });
  return std::move(plan_);
}

}  // namespace

std::string_view BehaviourTag(Behaviour behaviour) {
  switch (behaviour) {
    case Behaviour::kScanThenPlace:
      return "scan_then_place";
    case Behaviour::kPlaceWithoutScan:
      return "place_without_scan";
    case Behaviour::kProduceWeighed:
      return "produce_weighed";
    case Behaviour::kRemoveItem:
      return "remove_item";
    case Behaviour::kSwap:
      return "swap";
    case Behaviour::kMultiDrop:
      return "multi_drop";
    case Behaviour::kBumpPush:
      return "bump_push";
    case Behaviour::kLean:
      return "lean";
    case Behaviour::kPersonalItem:
      return "personal_item";
    case Behaviour::kCoverCamera:
      return "cover_camera";
    case Behaviour::kSensorDropout:
      return "sensor_dropout";
  }
  return "unknown";
}

const std::vector<ScenarioInfo>& Scenarios() {
  static const std::vector<ScenarioInfo> kScenarios = {
      {"scan_and_place", "every packaged product scanned then placed; loose produce weighed"},
      {"place_without_scan",
       "the first and about half the other packaged products placed unscanned"},
      {"produce_by_weight",
       "loose produce only: pieces placed together to be weighed, chosen on screen"},
      {"remove_item", "items scanned and placed; one taken out half-way and one at the end"},
      {"swap", "the shopper scans one product and places another (about a third of the steps)"},
      {"multi_drop", "two or three items dropped into the basket together"},
      {"bumps_and_pushes", "rough floor: strong pushes with bumps between and after items"},
      {"leaning", "the shopper leans on the basket rim (first step, then 30 % of steps)"},
      {"personal_item", "a bag or phone goes in first and comes out at the end"},
      {"camera_covered", "a hand covers one basket camera while an item is placed"},
      {"sensor_dropout", "a load cell disconnects or sticks for 8-20 s across placements"},
      {"hard_barcodes", "every scan is a hard case: steep rotation, tiny modules or motion blur"},
      {"random", "a shopper mixing every behaviour with set probabilities (docs/simulator.md)"},
  };
  return kScenarios;
}

double DrawMassG(const catalog::Product& product, std::mt19937_64& rng) {
  const double mean = std::max(product.unit_mass_g, 1.0);
  const double sigma = std::max(product.unit_mass_sigma_g, 0.0);
  if (sigma <= 0) return mean;
  std::normal_distribution<double> normal(mean, sigma);
  return std::max(normal(rng), 0.4 * mean);
}

Result<SessionPlan> PlanSession(const PlanOptions& options,
                                const std::vector<const catalog::Product*>& products,
                                const std::vector<int>& photo_counts) {
  if (products.size() != photo_counts.size()) {
    return InvalidArgumentError("products and photo_counts differ in length");
  }
  return Planner(options, products, photo_counts).Run();
}

}  // namespace cartsense::sim
