// Camera evaluation on simulated sessions (`cartsense eval-vision`, issue 7; docs/cameras.md).
//
// Per session (a simulated one: its truth.json gives the plan, service/simulated_geometry.h):
//
//   1. The cart's own evidence path (service/session_evidence.h: weigh chain, one
//      fusion::CameraEvidence stage per basket camera with the recognizer) gives each camera's
//      comparisons (regions with boxes and the recognizer's top-k) and the weight events.
//   2. Localisation: every (placement, camera) pair where at least half the item is visible and
//      the camera was not covered counts; it is localised when the camera's first comparison
//      after the hand left (before the next reach) has an added region with IoU >= 0.5 with the
//      box of the item's visible part. The region with the best IoU is the pair's view.
//   3. Recognition per view: of the localised pairs, the share whose region's top-1 product is
//      the item's (top1_per_view; also per camera). Combined: per placement with at least one
//      localised view, fusion::CombineViews (the reasoner's combination) over its views, top-1.
//      Clean: the same placements' own dev photos (the photo the simulator rendered), whole,
//      through the same recognizer.
//   4. Association as the reasoner does it: for each reach that put one product in, the first
//      weight event of Δ > 0 starting within it; fusion::SelectRegionsForEvent over all
//      comparisons (the event's floor position); how many selected regions are the item's
//      (IoU >= 0.5 with its true box) and the combined top-1.
//   5. Barcodes: vision::EvaluateScanSession (scan actions read within 1 s, duplicate reads).
//   6. CPU: a vision::ChangeDetector alone per basket camera over the recorded frames (no
//      weight events, no recognizer, no health check), its thread CPU time per AddFrame call
//      (JPEG decoding not included).
//   7. With `diagnose`: why recognition of crops is weak, on the localised pairs of step 6's
//      detector (which keeps the crops): the box crop as the cart sends it; the same with the
//      pixels outside the region's mask set to grey; the simulator's sprite of the item (the
//      dev photo cut with its feathered ellipse, on grey) at full size and shrunk to the true
//      box's size (INTER_AREA), and the whole dev photo shrunk the same way.
#pragma once

#include <array>
#include <cstdint>
#include <string>
#include <vector>

#include "catalog/catalogue.h"
#include "catalog/recognizer.h"
#include "core/status.h"
#include "fusion/view_combination.h"
#include "service/simulated_geometry.h"
#include "session/session_reader.h"
#include "vision/change_detector.h"
#include "vision/scan_eval.h"

namespace cartsense::service {

// One basket camera's recorded frames through a ChangeDetector alone.
struct DetectorRun {
  std::vector<vision::BasketChange> changes;  // kCompared ones, with crops and masks
  int64_t frames = 0;
  double cpu_s = 0;  // thread CPU time inside AddFrame / EndOfClip
};
Result<DetectorRun> RunChangeDetector(const session::SessionReader& reader, int camera_id,
                                      const vision::ChangeDetectorParams& params = {});

// The detector-alone view of each counted (placement, camera) pair of `camera`: the added region
// of the camera's first comparison after the hand left (before the next reach) whose box has the
// best IoU with the true box, at least 0.5. Pairs without one are left out. Points into the
// arguments.
struct DetectorView {
  const PlacementView* placement = nullptr;
  const vision::ChangeRegion* region = nullptr;
  double iou = 0;
};
std::vector<DetectorView> LocaliseDetectorViews(const std::vector<PlacementView>& placement_views,
                                                int camera, const DetectorRun& run);

struct VisionEvalOptions {
  catalog::Recognizer* recognizer = nullptr;  // required; not owned
  std::string split_override;                 // "" = each truth.json's
  std::string repo_root;                      // for relative split paths (simulated_geometry.h)
  fusion::ViewCombinationParams views;
  bool barcodes = true;
  bool diagnose = false;
};

// Shares and counts; fractions are computed by the accessors (0 when the denominator is 0).
struct VisionEvalCounts {
  int sessions = 0;
  // Localisation (pairs counted: >= half visible, camera not covered).
  int pairs = 0, localised = 0;
  int single_pairs = 0, single_localised = 0;  // reaches that put one item in
  int not_compared = 0;                        // no comparison between leaving and next reach
  int skipped_hidden = 0, skipped_covered = 0;
  // Recognition of localised views.
  int views = 0, views_top1 = 0;
  std::array<int, 2> camera_views{}, camera_views_top1{};
  int views_without_recognition = 0;  // crop under the recognizer's minimum size
  // By the region box's shorter side: < 48 px, 48-95 px, >= 96 px.
  std::array<int, 3> size_views{}, size_views_top1{};
  // Combined per placement (>= 1 localised view), and among placements with two views.
  int placements = 0, combined_top1 = 0, clean_top1 = 0;
  int two_view_placements = 0, two_view_combined_top1 = 0, two_view_views_top1 = 0;
  // The reasoner's association on single-item reaches.
  int reaches = 0, reaches_with_event = 0, reaches_with_regions = 0;
  int selected_regions = 0, selected_regions_right = 0, reaches_combined_top1 = 0;
  // Barcodes.
  vision::ScanEvalCounts scans;
  // Change detector alone.
  int64_t detector_frames = 0;
  double detector_cpu_s = 0;
  double session_s = 0;  // simulated time covered by the sessions
  // Diagnosis (detector alone, localised pairs).
  int diag_views = 0, diag_box_top1 = 0, diag_masked_top1 = 0;
  int diag_sprite_top1 = 0, diag_sprite_small_top1 = 0, diag_photo_small_top1 = 0;

  VisionEvalCounts& operator+=(const VisionEvalCounts& other);
  double localisation_iou50_rate() const;
  double top1_per_view() const;
  double top1_combined() const;
  double top1_clean() const;
  double cpu_ms_per_frame() const;
  // Two cameras streaming at 15 fps: CPU per frame x 30 frames/s (share of one core).
  double change_detection_core_share() const;
  // The recorded frames' detector CPU over the sessions' simulated time (event-triggered clips).
  double change_detection_core_share_recorded() const;
};

Result<VisionEvalCounts> EvaluateVisionSession(const std::string& dir,
                                               const catalog::Catalogue& catalogue,
                                               const VisionEvalOptions& options);

}  // namespace cartsense::service
