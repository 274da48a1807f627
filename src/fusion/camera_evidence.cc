#include "fusion/camera_evidence.h"

#include <algorithm>
#include <cmath>
#include <utility>

#include <opencv2/imgproc.hpp>

namespace cartsense::fusion {
namespace {

VisionEvidence::Outcome ToOutcome(vision::BasketChange::Outcome outcome) {
  switch (outcome) {
    case vision::BasketChange::Outcome::kCompared:
      return VisionEvidence::Outcome::kCompared;
    case vision::BasketChange::Outcome::kNotSettled:
      return VisionEvidence::Outcome::kNotSettled;
    case vision::BasketChange::Outcome::kSceneChangedTooMuch:
      return VisionEvidence::Outcome::kSceneChangedTooMuch;
  }
  return VisionEvidence::Outcome::kCompared;
}

}  // namespace

Result<CameraEvidenceParams> CameraEvidenceParams::FromConfig(const Config& config) {
  CameraEvidenceParams p;
  for (const std::string& key : config.Keys()) {
    if (key == "end_of_clip_after_ms") {
      CS_ASSIGN_OR_RETURN(p.end_of_clip_after_ms, config.GetInt(key));
    } else if (key == "floor_point") {
      CS_ASSIGN_OR_RETURN(const std::string value, config.GetString(key));
      if (value == "centroid") {
        p.floor_point = FloorPoint::kCentroid;
      } else if (value == "near_edge") {
        p.floor_point = FloorPoint::kNearEdge;
      } else {
        return InvalidArgumentError(config.Where(key) + ": 'centroid' or 'near_edge'");
      }
    } else if (key == "near_edge_share") {
      CS_ASSIGN_OR_RETURN(p.near_edge_share, config.GetDouble(key));
    } else if (key == "min_crop_side_px") {
      CS_ASSIGN_OR_RETURN(const int64_t value, config.GetInt(key));
      p.min_crop_side_px = static_cast<int>(std::clamp<int64_t>(value, 1, 10'000));
    } else if (key == "camera_health") {
      CS_ASSIGN_OR_RETURN(const Config section, config.Section(key));
      CS_ASSIGN_OR_RETURN(p.health, vision::CameraHealthParams::FromConfig(section));
    } else if (key == "change_detector") {
      CS_ASSIGN_OR_RETURN(const Config section, config.Section(key));
      for (const std::string& inner : section.Keys()) {
        if (inner == "settle_ms") {
          CS_ASSIGN_OR_RETURN(p.detector.settle_ms, section.GetInt(inner));
        } else if (inner == "max_settle_wait_ms") {
          CS_ASSIGN_OR_RETURN(p.detector.max_settle_wait_ms, section.GetInt(inner));
        } else if (inner == "min_region_px") {
          CS_ASSIGN_OR_RETURN(const int64_t value, section.GetInt(inner));
          p.detector.min_region_px = static_cast<int>(std::clamp<int64_t>(value, 1, 1'000'000));
        } else {
          return InvalidArgumentError(section.Where(inner) + ": unknown key");
        }
      }
      CS_RETURN_IF_ERROR(vision::ChangeDetector::Validate(p.detector));
    } else {
      return InvalidArgumentError(config.Where(key) + ": unknown key");
    }
  }
  if (p.end_of_clip_after_ms <= 0) {
    return InvalidArgumentError(config.Where("end_of_clip_after_ms") + ": must be > 0");
  }
  if (!(p.near_edge_share > 0 && p.near_edge_share <= 1)) {
    return InvalidArgumentError(config.Where("near_edge_share") + ": in (0, 1]");
  }
  return p;
}

double EstimateVisibleShare(const cv::Rect& box, const cv::Size& image) {
  double share = 1.0;
  const double w = std::max(box.width, 1);
  const double h = std::max(box.height, 1);
  if (box.x <= 0) share *= std::min(1.0, w / h);
  if (box.x + box.width >= image.width) share *= std::min(1.0, w / h);
  if (box.y <= 0) share *= std::min(1.0, h / w);
  if (box.y + box.height >= image.height) share *= std::min(1.0, h / w);
  return share;
}

CameraEvidence::CameraEvidence(int camera_id, std::string camera_name,
                               std::optional<cv::Matx33d> image_to_floor,
                               CameraEvidenceParams params, SharedRecognizer* recognizer)
    : camera_id_(camera_id),
      camera_name_(std::move(camera_name)),
      image_to_floor_(image_to_floor),
      params_(params),
      recognizer_(recognizer),
      detector_(params_.detector),
      health_(params_.health) {}

std::optional<sensors::PointMm> CameraEvidence::ToFloor(const cv::Point2d& p) const {
  if (!image_to_floor_) return std::nullopt;
  const cv::Vec3d q = *image_to_floor_ * cv::Vec3d(p.x, p.y, 1.0);
  if (std::abs(q[2]) < 1e-12) return std::nullopt;
  return sensors::PointMm{q[0] / q[2], q[1] / q[2]};
}

void CameraEvidence::AddHealth(const std::optional<vision::CameraHealthChange>& change,
                               CameraEvidenceOutput& out) const {
  if (!change) return;
  CameraHealthEvidence evidence;
  evidence.t = change->t;
  evidence.camera_id = camera_id_;
  evidence.state = change->state;
  evidence.message = "camera " + std::to_string(camera_id_) + " (" + camera_name_ +
                     "): " + vision::CameraHealthStateName(change->state) + ": " + change->reason;
  out.health.push_back(std::move(evidence));
}

Result<std::optional<VisionEvidence>> CameraEvidence::ToEvidence(
    const vision::BasketChange& change) {
  if (health_.state() != vision::CameraHealthState::kOk) return std::optional<VisionEvidence>();
  VisionEvidence evidence;
  evidence.t = change.t;
  evidence.motion_start = change.motion_start;
  evidence.camera_id = camera_id_;
  evidence.outcome = ToOutcome(change.outcome);
  std::vector<cv::Mat> crops;
  std::vector<std::size_t> crop_of;  // region index per crop
  for (const vision::ChangeRegion& region : change.regions) {
    RegionEvidence r;
    r.evidence_id = "region:" + std::to_string(camera_id_) + ":" + std::to_string(next_region_++);
    r.camera_id = camera_id_;
    r.vanished = region.kind == vision::ChangeRegion::Kind::kVanished;
    r.box_px = region.box_px;
    r.area_px = region.area_px;
    r.visible_share = EstimateVisibleShare(region.box_px, frame_size_);
    // The mask point to project (box coordinates).
    cv::Mat mask = region.mask;
    int row_offset = 0;
    if (params_.floor_point == CameraEvidenceParams::FloorPoint::kNearEdge) {
      const int rows =
          std::max(1, static_cast<int>(std::lround(params_.near_edge_share * mask.rows)));
      row_offset = mask.rows - rows;
      mask = mask.rowRange(row_offset, mask.rows);
    }
    const cv::Moments moments = cv::moments(mask, true);
    if (moments.m00 > 0) {
      const cv::Point2d centre(region.box_px.x + moments.m10 / moments.m00,
                               region.box_px.y + row_offset + moments.m01 / moments.m00);
      r.floor_mm = ToFloor(centre);
    }
    if (recognizer_ != nullptr && recognizer_->recognizer != nullptr &&
        region.box_px.width >= params_.min_crop_side_px &&
        region.box_px.height >= params_.min_crop_side_px && !region.crop_bgr.empty()) {
      crops.push_back(region.crop_bgr);
      crop_of.push_back(evidence.regions.size());
    }
    evidence.regions.push_back(std::move(r));
  }
  if (!crops.empty()) {
    std::vector<catalog::Recognition> recognitions;
    {
      std::lock_guard<std::mutex> lock(recognizer_->mutex);
      CS_ASSIGN_OR_RETURN(recognitions, recognizer_->recognizer->Recognize(crops));
    }
    for (std::size_t i = 0; i < recognitions.size() && i < crop_of.size(); ++i) {
      RegionEvidence& r = evidence.regions[crop_of[i]];
      for (const catalog::ProductMatch& match : recognitions[i].top) {
        r.top.push_back({match.product_id, static_cast<double>(match.cosine)});
      }
      r.not_in_catalogue_probability = recognitions[i].not_in_catalogue_probability;
    }
  }
  return std::optional<VisionEvidence>(std::move(evidence));
}

Result<CameraEvidenceOutput> CameraEvidence::AddFrame(Timestamp t, const cv::Mat& frame_bgr) {
  CameraEvidenceOutput out;
  frame_size_ = frame_bgr.size();
  AddHealth(health_.AddFrame(t, frame_bgr), out);
  last_frame_t_ = t;
  clip_open_ = true;
  CS_ASSIGN_OR_RETURN(std::optional<vision::BasketChange> change, detector_.AddFrame(t, frame_bgr));
  if (change) {
    CS_ASSIGN_OR_RETURN(std::optional<VisionEvidence> evidence, ToEvidence(*change));
    if (evidence) out.vision.push_back(std::move(*evidence));
  }
  return out;
}

Result<CameraEvidenceOutput> CameraEvidence::AdvanceTo(Timestamp now) {
  CameraEvidenceOutput out;
  AddHealth(health_.AdvanceTo(now), out);
  if (clip_open_ && last_frame_t_ &&
      now - *last_frame_t_ > Duration::Milliseconds(params_.end_of_clip_after_ms)) {
    clip_open_ = false;
    if (std::optional<vision::BasketChange> change = detector_.EndOfClip()) {
      CS_ASSIGN_OR_RETURN(std::optional<VisionEvidence> evidence, ToEvidence(*change));
      if (evidence) {
        // Stamped no earlier than now: the clip's end is known only now.
        out.vision.push_back(std::move(*evidence));
      }
    }
  }
  return out;
}

void CameraEvidence::NoteWeightEvent(const sensors::WeightEvent& event) {
  detector_.NoteWeightEvent(event.t_start, event.delta_g);
  health_.NoteWeightEvent(event.t_start, event.delta_g);
}

}  // namespace cartsense::fusion
