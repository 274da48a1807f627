#include "vision/camera_health.h"

#include <algorithm>
#include <array>
#include <cmath>
#include <cstdio>
#include <set>
#include <utility>

#include <opencv2/imgproc.hpp>

namespace cartsense::vision {

const char* CameraHealthStateName(CameraHealthState state) {
  switch (state) {
    case CameraHealthState::kOk:
      return "ok";
    case CameraHealthState::kBlack:
      return "black";
    case CameraHealthState::kFrozen:
      return "frozen";
    case CameraHealthState::kCovered:
      return "covered";
    case CameraHealthState::kDisconnected:
      return "disconnected";
  }
  return "unknown";
}

Result<CameraHealthParams> CameraHealthParams::FromConfig(const Config& config) {
  CameraHealthParams p;
  const std::array<std::pair<const char*, double*>, 5> numbers = {{
      {"black_max_mean_grey", &p.black_max_mean_grey},
      {"covered_max_gradient_grey", &p.covered_max_gradient_grey},
      {"covered_min_share", &p.covered_min_share},
      {"frozen_max_mean_abs_diff_grey", &p.frozen_max_mean_abs_diff_grey},
      {"event_min_weight_change_g", &p.event_min_weight_change_g},
  }};
  const std::array<std::pair<const char*, int*>, 7> ints = {{
      {"work_downscale", &p.work_downscale},
      {"confirm_frames", &p.confirm_frames},
      {"grid_columns", &p.grid_columns},
      {"grid_rows", &p.grid_rows},
      {"frozen_min_frames", &p.frozen_min_frames},
      {"frozen_sample_step_px", &p.frozen_sample_step_px},
      {"disconnected_missed_events", &p.disconnected_missed_events},
  }};
  const std::array<std::pair<const char*, int64_t*>, 3> millis = {{
      {"max_frame_gap_ms", &p.max_frame_gap_ms},
      {"event_frame_lead_ms", &p.event_frame_lead_ms},
      {"event_frame_timeout_ms", &p.event_frame_timeout_ms},
  }};
  std::set<std::string> known;
  for (const auto& [key, target] : numbers) {
    known.insert(key);
    if (config.Has(key)) {
      CS_ASSIGN_OR_RETURN(*target, config.GetDouble(key));
    }
  }
  for (const auto& [key, target] : ints) {
    known.insert(key);
    if (config.Has(key)) {
      CS_ASSIGN_OR_RETURN(const int64_t value, config.GetInt(key));
      if (value < -1'000'000 || value > 1'000'000) {
        return InvalidArgumentError(config.Where(key) + ": out of range");
      }
      *target = static_cast<int>(value);
    }
  }
  for (const auto& [key, target] : millis) {
    known.insert(key);
    if (config.Has(key)) {
      CS_ASSIGN_OR_RETURN(*target, config.GetInt(key));
    }
  }
  for (const std::string& key : config.Keys()) {
    if (!known.contains(key)) return InvalidArgumentError(config.Where(key) + ": unknown key");
  }
  const Status valid = CameraHealth::Validate(p);
  if (!valid.ok()) return InvalidArgumentError(config.source() + ": " + valid.message());
  return p;
}

CameraHealth::CameraHealth(CameraHealthParams params) : params_(params) {}

Status CameraHealth::Validate(const CameraHealthParams& p) {
  const auto fail = [](const char* field, const char* why) {
    return InvalidArgumentError(std::string("camera_health.") + field + ": " + why);
  };
  if (p.work_downscale < 1 || p.work_downscale > 16) return fail("work_downscale", "1..16");
  if (p.confirm_frames < 1) return fail("confirm_frames", "at least 1");
  if (!(p.black_max_mean_grey >= 0 && p.black_max_mean_grey < 255)) {
    return fail("black_max_mean_grey", "0..255");
  }
  if (!(p.covered_max_gradient_grey >= 0)) return fail("covered_max_gradient_grey", ">= 0");
  if (!(p.covered_min_share > 0 && p.covered_min_share <= 1)) {
    return fail("covered_min_share", "in (0, 1]");
  }
  if (p.grid_columns < 1 || p.grid_rows < 1) return fail("grid_columns", "grid of at least 1x1");
  if (p.frozen_min_frames < 2) return fail("frozen_min_frames", "at least 2");
  if (!(p.frozen_max_mean_abs_diff_grey >= 0)) return fail("frozen_max_mean_abs_diff_grey", ">= 0");
  if (p.frozen_sample_step_px < 1) return fail("frozen_sample_step_px", "at least 1");
  if (p.max_frame_gap_ms < 0) return fail("max_frame_gap_ms", ">= 0 (0: off)");
  if (p.disconnected_missed_events < 0) return fail("disconnected_missed_events", ">= 0 (0: off)");
  if (p.event_frame_lead_ms < 0 || p.event_frame_timeout_ms <= 0) {
    return fail("event_frame_timeout_ms", "lead >= 0 and timeout > 0");
  }
  return Status::Ok();
}

FrameHealthMeasures CameraHealth::Measure(const cv::Mat& frame) {
  cv::Mat grey;
  if (frame.channels() == 3) {
    cv::cvtColor(frame, grey, cv::COLOR_BGR2GRAY);
  } else {
    grey = frame;
  }
  FrameHealthMeasures m;
  // Frozen: raw pixels on a sparse grid (nearest neighbour keeps each pixel's own noise).
  cv::Mat samples;
  const int step = params_.frozen_sample_step_px;
  cv::resize(grey, samples, cv::Size(std::max(1, grey.cols / step), std::max(1, grey.rows / step)),
             0, 0, cv::INTER_NEAREST);
  if (!previous_samples_.empty() && previous_samples_.size() == samples.size()) {
    cv::Mat diff;
    cv::absdiff(samples, previous_samples_, diff);
    m.mean_abs_diff_grey = cv::mean(diff)[0];
  }
  previous_samples_ = samples;

  // Black and covered at work scale (area averaging lowers the sensor noise).
  cv::Mat work;
  const int k = params_.work_downscale;
  cv::resize(grey, work, cv::Size(std::max(2, grey.cols / k), std::max(2, grey.rows / k)), 0, 0,
             cv::INTER_AREA);
  m.mean_grey = cv::mean(work)[0];
  cv::Mat work_f;
  work.convertTo(work_f, CV_32F);
  // |d/dx| + |d/dy| by forward differences, on the common (cols-1) x (rows-1) area.
  const cv::Rect inner(0, 0, work_f.cols - 1, work_f.rows - 1);
  cv::Mat dx;
  cv::Mat dy;
  cv::absdiff(work_f(inner), work_f(inner + cv::Point(1, 0)), dx);
  cv::absdiff(work_f(inner), work_f(inner + cv::Point(0, 1)), dy);
  const cv::Mat gradient = dx + dy;
  cv::Mat cells;
  cv::resize(gradient, cells, cv::Size(params_.grid_columns, params_.grid_rows), 0, 0,
             cv::INTER_AREA);
  const int flat = cv::countNonZero(cells < params_.covered_max_gradient_grey);
  m.flat_cell_share = flat / static_cast<double>(cells.total());
  return m;
}

std::optional<CameraHealthChange> CameraHealth::Report(Timestamp t, CameraHealthState state,
                                                       std::string reason) {
  if (state == state_) return std::nullopt;
  state_ = state;
  candidate_ = state;
  candidate_frames_ = 0;
  return CameraHealthChange{t, state, std::move(reason)};
}

std::optional<CameraHealthChange> CameraHealth::AddFrame(Timestamp t, const cv::Mat& frame) {
  // Frames more than this apart are not "consecutive" (a gap between event-triggered clips).
  constexpr Duration kMaxConsecutiveGap = Duration::Milliseconds(1000);
  if (last_frame_t_ && t - *last_frame_t_ > kMaxConsecutiveGap) {
    // Frames far apart (between event-triggered clips) are not "consecutive": a basket that did
    // not change between two clips looks the same without the camera being stuck.
    previous_samples_.release();
    identical_run_ = 0;
  }
  last_frame_t_ = t;
  // Weight events this frame answers.
  const Duration timeout = Duration::Milliseconds(params_.event_frame_timeout_ms);
  std::erase_if(pending_events_, [&](Timestamp start) { return t <= start + timeout; });
  missed_events_ = 0;

  measures_ = Measure(frame);
  if (measures_.mean_abs_diff_grey &&
      *measures_.mean_abs_diff_grey <= params_.frozen_max_mean_abs_diff_grey) {
    identical_run_ = std::max(identical_run_, 1) + 1;
  } else {
    identical_run_ = 1;
  }

  if (state_ == CameraHealthState::kDisconnected) {
    return Report(t, CameraHealthState::kOk, "frames again");
  }
  CameraHealthState judged = CameraHealthState::kOk;
  std::string reason;
  char text[160];
  if (measures_.mean_grey < params_.black_max_mean_grey) {
    judged = CameraHealthState::kBlack;
    std::snprintf(text, sizeof(text), "mean grey level %.1f", measures_.mean_grey);
    reason = text;
  } else if (measures_.flat_cell_share >= params_.covered_min_share) {
    judged = CameraHealthState::kCovered;
    std::snprintf(text, sizeof(text), "%.0f%% of the view without detail, mean grey level %.1f",
                  100 * measures_.flat_cell_share, measures_.mean_grey);
    reason = text;
  } else if (identical_run_ >= params_.frozen_min_frames) {
    judged = CameraHealthState::kFrozen;
    reason = std::to_string(identical_run_) + " identical frames";
  }
  if (judged == state_) {
    candidate_ = state_;
    candidate_frames_ = 0;
    return std::nullopt;
  }
  if (judged != candidate_) {
    candidate_ = judged;
    candidate_frames_ = 0;
  }
  if (++candidate_frames_ < params_.confirm_frames) return std::nullopt;
  if (judged == CameraHealthState::kOk) reason = "pictures of the basket again";
  return Report(t, judged, std::move(reason));
}

void CameraHealth::NoteWeightEvent(Timestamp t_start, double delta_g) {
  if (params_.disconnected_missed_events == 0) return;
  if (std::abs(delta_g) < params_.event_min_weight_change_g) return;
  if (last_frame_t_ &&
      *last_frame_t_ >= t_start - Duration::Milliseconds(params_.event_frame_lead_ms)) {
    missed_events_ = 0;  // the camera recorded around this event
    return;
  }
  pending_events_.push_back(t_start);
}

std::optional<CameraHealthChange> CameraHealth::AdvanceTo(Timestamp now) {
  if (!last_advance_t_) last_advance_t_ = now;
  std::optional<CameraHealthChange> change;
  if (params_.max_frame_gap_ms > 0) {
    const Timestamp since = last_frame_t_ ? *last_frame_t_ : *last_advance_t_;
    if (now - since > Duration::Milliseconds(params_.max_frame_gap_ms)) {
      change = Report(now, CameraHealthState::kDisconnected,
                      "no frame for " + std::to_string((now - since).ns / 1'000'000) + " ms");
    }
  }
  const Duration timeout = Duration::Milliseconds(params_.event_frame_timeout_ms);
  const auto expired = std::remove_if(pending_events_.begin(), pending_events_.end(),
                                      [&](Timestamp start) { return now > start + timeout; });
  missed_events_ += static_cast<int>(pending_events_.end() - expired);
  pending_events_.erase(expired, pending_events_.end());
  if (params_.disconnected_missed_events > 0 &&
      missed_events_ >= params_.disconnected_missed_events) {
    auto missed =
        Report(now, CameraHealthState::kDisconnected,
               "no clip around " + std::to_string(missed_events_) + " weight events in a row");
    if (missed) change = std::move(missed);
  }
  return change;
}

}  // namespace cartsense::vision
