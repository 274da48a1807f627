// Camera evidence: one basket camera's frames in, what the reasoner can use out.
//
// Per basket camera: a vision::ChangeDetector (what changed when the scene settled), a
// vision::CameraHealth (black, frozen, covered, disconnected), the camera's floor homography
// (session manifest: image px -> floor mm) and a shared catalog::Recognizer for the crops of the
// changed regions (added: from the new frame; vanished: from the reference).
//
// In:  frames (8-bit BGR, time order), weight events, clock ticks (AdvanceTo).
// Out: VisionEvidence at each comparison (region ids "region:<camera>:<n>", floor positions,
//      visible share, the recognizer's top-k) and CameraHealthEvidence when the health changes.
//      While the camera is not ok it gives no VisionEvidence, only its health.
//
// Event-triggered clips end without a marker: the detector's EndOfClip() is called when no frame
// came for `end_of_clip_after_ms` (about two frame periods), judged from AdvanceTo's clock.
//
// Floor position of a region: the mask's point selected by `floor_point` projected with the
// floor homography. The homography is for z = 0; a region is an item's top, so the projected
// point lies beyond the item, away from the camera (parallax of its height). "centroid" projects
// the mask's centroid; "near_edge" the centroid of the mask's rows nearest the image bottom
// (`near_edge_share` of its height), which for these downward-looking cameras is the item's
// side nearest the camera (less parallax, but off-centre). Measured in camera_evidence_test
// (simulation, 4 large items x 2 cameras, true position = footprint centre): mean error 43.7 mm
// for the centroid, 22.0 mm for near_edge (the default); on 6 small fruit 21.5 and 13.1 mm.
//
//   CameraEvidence camera(0, "basket_a", floor_homography, CameraEvidenceParams{}, &recognizer);
//   CS_ASSIGN_OR_RETURN(CameraEvidenceOutput out, camera.AddFrame(t, frame));
//   CS_ASSIGN_OR_RETURN(out, camera.AdvanceTo(clock_now));
#pragma once

#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include <opencv2/core.hpp>

#include "catalog/recognizer.h"
#include "core/config.h"
#include "core/status.h"
#include "core/time.h"
#include "fusion/evidence.h"
#include "sensors/weigh_chain.h"
#include "vision/camera_health.h"
#include "vision/change_detector.h"

namespace cartsense::fusion {

// A Recognizer several camera stages share (each stage runs on its own thread; the Recognizer
// is not thread-safe, so calls are serialised by the mutex). Not owned by the users.
struct SharedRecognizer {
  catalog::Recognizer* recognizer = nullptr;
  std::mutex mutex;
};

struct CameraEvidenceParams {
  vision::ChangeDetectorParams detector;
  vision::CameraHealthParams health;
  int64_t end_of_clip_after_ms = 140;  // ~2 frame periods at 15 fps
  enum class FloorPoint { kCentroid, kNearEdge };
  FloorPoint floor_point = FloorPoint::kNearEdge;
  double near_edge_share = 0.25;
  // Crops smaller than this (either side) are not sent to the recognizer.
  int min_crop_side_px = 16;

  // Keys: end_of_clip_after_ms, floor_point ("centroid" | "near_edge"), near_edge_share,
  // min_crop_side_px, and the sections change_detector
  // (settle_ms, max_settle_wait_ms, min_region_px) and camera_health (CameraHealthParams' keys).
  static Result<CameraEvidenceParams> FromConfig(const Config& config);
};

struct CameraEvidenceOutput {
  std::vector<VisionEvidence> vision;
  std::vector<CameraHealthEvidence> health;
};

// Share of a region's box that is inside the image, estimated when the box touches the border:
// per touched side, the region's depth away from that side over its extent along it (an item
// about as deep as it is wide), capped at 1. 1 when the box touches no border.
double EstimateVisibleShare(const cv::Rect& box_px, const cv::Size& image_size);

class CameraEvidence {
 public:
  // `image_to_floor`: row-major 3x3 (the manifest's floor_homography); nullopt: regions get no
  // floor position. `recognizer` may be null (regions without products).
  CameraEvidence(int camera_id, std::string camera_name, std::optional<cv::Matx33d> image_to_floor,
                 CameraEvidenceParams params, SharedRecognizer* recognizer);

  Result<CameraEvidenceOutput> AddFrame(Timestamp t, const cv::Mat& frame_bgr);
  // Time passed without (necessarily) a frame: ends a clip, judges disconnection.
  Result<CameraEvidenceOutput> AdvanceTo(Timestamp now);
  void NoteWeightEvent(const sensors::WeightEvent& event);

  int camera_id() const { return camera_id_; }
  vision::CameraHealthState health() const { return health_.state(); }
  // Image px -> floor mm (nullopt without a homography).
  std::optional<sensors::PointMm> ToFloor(const cv::Point2d& image_px) const;

 private:
  Result<std::optional<VisionEvidence>> ToEvidence(const vision::BasketChange& change);
  void AddHealth(const std::optional<vision::CameraHealthChange>& change,
                 CameraEvidenceOutput& out) const;

  int camera_id_;
  std::string camera_name_;
  std::optional<cv::Matx33d> image_to_floor_;
  CameraEvidenceParams params_;
  SharedRecognizer* recognizer_;
  vision::ChangeDetector detector_;
  vision::CameraHealth health_;
  cv::Size frame_size_;
  std::optional<Timestamp> last_frame_t_;
  bool clip_open_ = false;
  int next_region_ = 0;
};

}  // namespace cartsense::fusion
