// Shopper behaviours and scenarios: turns a scenario name, a number of items and a seed into a
// SessionPlan, the timeline of everything that happens in a simulated session (hand moves the
// cameras see, scans, forces on the load cells, camera covers, sensor failures) and its ground
// truth. Rendering and physics (session_simulator.h) only execute the plan.
//
//   PlanOptions options{.scenario = "random", .items = 25, .seed = 7};
//   Result<SessionPlan> plan = PlanSession(options, products_with_photos, photo_counts);
#pragma once

#include <cstdint>
#include <limits>
#include <map>
#include <string>
#include <string_view>
#include <vector>

#include "catalog/catalogue.h"
#include "core/packets.h"
#include "core/status.h"
#include "sim/barcode_renderer.h"
#include "sim/load_cell_model.h"
#include "sim/product_images.h"
#include "sim/scene_renderer.h"

namespace cartsense::sim {

// Behaviour tags written into truth.json.
enum class Behaviour {
  kScanThenPlace,
  kPlaceWithoutScan,
  kProduceWeighed,
  kRemoveItem,
  kSwap,
  kMultiDrop,
  kBumpPush,
  kLean,
  kPersonalItem,
  kCoverCamera,
  kSensorDropout,
};
std::string_view BehaviourTag(Behaviour behaviour);

struct ScenarioInfo {
  std::string name;
  std::string description;
};
// The named scenarios (at least 12) and "random".
const std::vector<ScenarioInfo>& Scenarios();

// Probabilities of the random shopper, per step (documented in docs/simulator.md).
struct RandomMix {
  // What the next step does with the next product(s); normalised over the sum.
  double scan_then_place = 0.50;
  double place_without_scan = 0.08;
  double produce_weighed = 0.18;
  double swap = 0.04;
  double multi_drop = 0.08;
  // Extra events, each drawn independently after a step.
  double remove_item = 0.06;
  double bump_push = 0.10;
  double lean = 0.05;
  double personal_item = 0.03;
  double cover_camera = 0.03;
  double sensor_dropout = 0.02;
};

struct PlanOptions {
  std::string scenario = "scan_and_place";
  int items = 5;  // products put in the basket (a produce step puts several pieces of one)
  uint64_t seed = 1;
  BasketGeometry basket;
  RandomMix mix;
  HardCaseShares hard_cases;
};

// One physical thing that goes into the basket.
struct PlannedItem {
  int uid = 0;
  const catalog::Product* product = nullptr;  // null for a personal item
  std::string personal_kind;                  // "bag" or "phone" for personal items
  int photo_index = 0;                        // which photo of the product
  double mass_g = 0;
  double x_mm = 0, y_mm = 0, angle_rad = 0;  // where it lies (manifest floor frame)
  ItemSize size;
  double placed_s = std::numeric_limits<double>::infinity();   // released in the basket
  double removed_s = std::numeric_limits<double>::infinity();  // lifted out
};

// A reach into the basket, seen by the basket cameras.
struct HandMove {
  enum class Kind { kPlace, kRemove, kLean };
  Kind kind = Kind::kPlace;
  double enter_s = 0;         // the hand crosses the rim
  double touch_s = 0;         // the item touches the floor (place) or the hand grips it (remove)
  double release_s = 0;       // the hand lets go (place) or the item is off the floor (remove)
  double leave_s = 0;         // the hand is out of view
  std::vector<int> items;     // uids carried in or out
  double x_mm = 0, y_mm = 0;  // where the hand goes (lean: the spot on the rim)
  cv::Scalar skin_bgr;
};

struct ScanMove {
  double start_s = 0, centre_s = 0, end_s = 0;
  const catalog::Product* product = nullptr;
  int photo_index = 0;
  ScanView view;
};

struct CoverSpan {
  int camera = 0;  // index into BasketCameraPoses
  double start_s = 0, end_s = 0;
};

struct TruthAction {
  double t_s = 0;
  std::string kind;  // scan, place, remove, bump, lean, cover_camera, sensor_dropout
  std::string product_id;
  Behaviour behaviour = Behaviour::kScanThenPlace;
  std::map<std::string, std::string> details;  // values are JSON literals (numbers, quoted text)
};

struct SessionPlan {
  std::vector<PlannedItem> items;
  std::vector<HandMove> moves;
  std::vector<ScanMove> scans;
  std::vector<CoverSpan> covers;
  std::vector<double> bump_times_s;
  Schedule physics;  // load-cell model coordinates (centre of the floor)
  std::vector<TruthAction> truth;
  std::vector<ShopperAction> touchscreen;
  std::vector<ScannerRead> scanner_reads;  // what the cart's scanner decodes (easy scans only)
  double end_s = 0;
};

// Plans a session. `products` are the catalogue products that have photos (photo_counts[i]
// photos of products[i]). Unknown scenario names are InvalidArgument errors.
Result<SessionPlan> PlanSession(const PlanOptions& options,
                                const std::vector<const catalog::Product*>& products,
                                const std::vector<int>& photo_counts);

// One product's mass from the catalogue's weight model (normal around unit_mass_g with
// unit_mass_sigma_g, kept above 40 % of the typical mass).
double DrawMassG(const catalog::Product& product, std::mt19937_64& rng);

}  // namespace cartsense::sim
