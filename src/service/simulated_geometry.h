// What a simulated session's basket cameras should have seen: the plan made again from the
// session's truth.json (scenario, items, seed, split: the planner is deterministic), every item's
// sprite, and per (placement, camera) pair the box of the item's visible part. Used by
// `cartsense eval-changes` and `cartsense eval-vision` (docs/cameras.md).
//
// In:  a simulated session (truth.json with a "simulator" object), the catalogue it was made
//      with, optionally the split file its photos came from (default: truth.json's).
// Out: SimulatedSession (plan, sprites, photo paths) and PlacementViews: for every product put
//      in (personal items are not products) and every basket camera, whether the pair counts (at
//      least half the item visible: inside the image and not under items drawn over it; camera
//      not covered around the reach) and the true box of the visible part.
//
//   CS_ASSIGN_OR_RETURN(SimulatedSession s, ReplanSimulatedSession(reader, catalogue, "", root));
//   for (const PlacementView& view : PlacementViews(s)) { if (view.counted()) ...view.true_box }
#pragma once

#include <array>
#include <cstddef>
#include <map>
#include <string>
#include <vector>

#include <opencv2/core.hpp>

#include "catalog/catalogue.h"
#include "core/status.h"
#include "session/session_reader.h"
#include "sim/product_images.h"
#include "sim/scene_renderer.h"
#include "sim/shopper.h"

namespace cartsense::service {

struct SimulatedSession {
  sim::PlanOptions plan_options;
  std::string split;  // the split file the photos came from (as resolved)
  sim::SessionPlan plan;
  std::map<int, sim::Sprite> sprites;      // by item uid, products only
  std::map<int, std::string> photo_paths;  // by item uid, products only
  std::array<sim::CameraPose, 2> poses;    // basket cameras; index = manifest camera id
};

// Re-plans the session at `reader` from its truth.json. `split_override` replaces truth.json's
// split when not empty; a relative split path that does not exist from the current folder is
// tried under `repo_root` (sessions store the path they were simulated with). `catalogue` must
// outlive the result (the plan points into it). InvalidArgument: not a simulated session.
Result<SimulatedSession> ReplanSimulatedSession(const session::SessionReader& reader,
                                                const catalog::Catalogue& catalogue,
                                                const std::string& split_override,
                                                const std::string& repo_root);

// One (placement, camera) pair.
struct PlacementView {
  enum class Visibility { kCounted, kUnderHalfVisible, kCameraCovered };
  std::size_t move_index = 0;  // into plan.moves (a kPlace move)
  int item_uid = 0;
  int camera = 0;                 // basket camera (manifest id, index into poses)
  bool single_item_reach = true;  // the reach put this one item in
  double leave_s = 0;             // the hand left the view
  double next_enter_s = 0;        // the next reach (or the session's end + 1 s)
  Visibility visibility = Visibility::kCounted;
  cv::Rect true_box;  // box of the visible part, image px (empty unless counted)
  bool counted() const { return visibility == Visibility::kCounted; }
};

// Every (placement of a product, basket camera) pair, in move order, camera order.
std::vector<PlacementView> PlacementViews(const SimulatedSession& session);

double BoxIou(const cv::Rect& a, const cv::Rect& b);

}  // namespace cartsense::service
