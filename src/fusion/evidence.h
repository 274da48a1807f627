// The evidence the basket reasoner consumes, besides what lower layers already define
// (sensors::WeightEvent and sensors::ScaleStatus from the weigh chain, ScannerRead and
// ShopperAction from core/packets.h): what the basket cameras saw, product hypotheses per
// changed region, and camera health.
//
// Producers: fusion/camera_evidence (change detector + floor projection + recognizer, one per
// basket camera). Consumer: fusion/reasoner. Every piece of evidence carries an id that the
// reasoner copies into the actions, prompts and flags it decides on ("region:1:17"), so that a
// basket line can be explained from the ledger.
//
// Floor frame. All positions the reasoner compares are on the basket floor, origin at its
// front-left corner, x to the right, y to the back, mm (the session manifest's frame). The weigh
// chain reports positions (WeightEvent::item_position, cop_before, cop_after) relative to the
// load cells' centre; whoever feeds weight events to the reasoner shifts them into the floor
// frame first (ShiftToFloorFrame below), so the reasoner and the cameras speak one frame.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include <opencv2/core/types.hpp>

#include "core/time.h"
#include "sensors/scale_calibration.h"
#include "sensors/weigh_chain.h"
#include "vision/camera_health.h"

namespace cartsense::fusion {

// One product the recognizer proposes for a region: cosine similarity of the region's crop to
// the product's nearest prototype (-1..1).
struct ProductScore {
  std::string product_id;
  double cosine = 0;
};

// One changed region in one basket camera, with what the recognizer makes of its crop.
struct RegionEvidence {
  std::string evidence_id;  // "region:<camera_id>:<n>", n counting the camera's regions
  int camera_id = 0;
  bool vanished = false;  // false: something was added here; true: something left
  cv::Rect box_px;
  int area_px = 0;
  // Centre of the region's mask projected to the basket floor (the camera's floor homography),
  // in the load cells' frame (origin front-left corner of the floor, x right, y back, mm).
  std::optional<sensors::PointMm> floor_mm;
  // Share of the region inside the image and not covered by the frame border (0..1); a crop cut
  // by the border is weaker evidence.
  double visible_share = 1.0;
  std::vector<ProductScore> top;  // distinct products, best first (the recognizer's top-k)
  double not_in_catalogue_probability = 0;
};

// What one basket camera reported when its scene settled after motion or a weight event.
struct VisionEvidence {
  enum class Outcome {
    kCompared,             // regions holds what changed (may be empty: nothing changed)
    kNotSettled,           // motion did not stop within the bounded wait
    kSceneChangedTooMuch,  // most of the view changed (covered or moved camera)
  };
  Timestamp t;             // the last still frame compared
  Timestamp motion_start;  // the first moving frame of the episode
  int camera_id = 0;
  Outcome outcome = Outcome::kCompared;
  std::vector<RegionEvidence> regions;
};

// A basket camera's health changed. While a camera is not ok the reasoner uses no vision from
// it and says so ("no vision from camera 2: frozen").
struct CameraHealthEvidence {
  // vision::CameraHealth judges the state (vision/camera_health.h); the enum lives there so the
  // vision layer need not include fusion.
  using State = vision::CameraHealthState;
  Timestamp t;
  int camera_id = 0;
  State state = State::kOk;
  std::string message;  // e.g. "camera 1 (basket_b): frozen: 30 identical frames"
};

// The weigh chain's positions are relative to the load cells' centre; the floor frame's origin is
// the floor's front-left corner. `cells_centre_floor_mm` is where the cells' centre lies on the
// floor (the mean of the manifest's cell positions, e.g. (280, 200) on the simulated cart).
inline sensors::WeightEvent ShiftToFloorFrame(sensors::WeightEvent event,
                                              const sensors::PointMm& cells_centre_floor_mm) {
  const auto shift = [&](std::optional<sensors::PointMm>& p) {
    if (p) {
      p->x_mm += cells_centre_floor_mm.x_mm;
      p->y_mm += cells_centre_floor_mm.y_mm;
    }
  };
  shift(event.item_position);
  shift(event.cop_before);
  shift(event.cop_after);
  return event;
}

}  // namespace cartsense::fusion
