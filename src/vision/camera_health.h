// Camera health: is a basket camera giving pictures of the basket, or is it black, frozen,
// covered or gone? A camera that is not ok gives the reasoner no vision evidence, only its state
// ("no vision from camera 1: covered"), never garbage regions.
//
// Judged per frame, at 1/work_downscale of the frame, with hysteresis (a state must hold for
// `confirm_frames` frames before it is reported, and ok must hold as long to come back):
//   - black:   the mean grey level is below `black_max_mean_grey` (lens cap, dead sensor, lights
//              off);
//   - covered: most of the view has no detail: more than `covered_min_share` of the cells of a
//              grid have a mean gradient below `covered_max_gradient_grey` (grey levels per
//              work pixel). A hand over the lens is out of focus: dark-ish and smooth (the
//              simulator draws exactly that: skin colour, blurred with sigma 3 at 1/8 size). A
//              basket, even dimly lit, has edges (rim, walls, floor texture, items).
//   - frozen:  the camera repeats its picture: `frozen_min_frames` consecutive frames whose mean
//              absolute grey difference to the previous frame (on a grid of raw pixels, every
//              `frozen_sample_step_px`, unsmoothed so sensor noise is kept) is below
//              `frozen_max_mean_abs_diff_grey`. A live sensor's noise alone makes consecutive
//              frames of a still basket differ by about 1 grey level (sigma 2 noise, JPEG 55);
//              a stuck driver repeats the same bytes (difference 0).
//   - disconnected: judged from a clock (AdvanceTo), not from frames: a continuous camera that
//              sent no frame for `max_frame_gap_ms`; an event-triggered camera (which is silent
//              while nothing moves) that sent no frame around `disconnected_missed_events`
//              weight events in a row (a load change means a hand was in the basket, so the
//              camera should have recorded a clip). A frame ends the disconnection at once.
// Priority when several hold: black, covered, frozen.
//
// In:  8-bit BGR frames of one camera in time order; clock ticks; weight events.
// Out: a CameraHealthChange whenever the reported state changes.
//
//   CameraHealth health(CameraHealthParams{});
//   if (auto change = health.AddFrame(t, frame_bgr)) report(*change);
//   if (auto change = health.AdvanceTo(clock_now)) report(*change);
//
// Config (keys carry units): camera_health: {black_max_mean_grey: 12, frozen_min_frames: 30,
//   max_frame_gap_ms: 1000, ...}
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include <opencv2/core.hpp>

#include "core/config.h"
#include "core/status.h"
#include "core/time.h"

namespace cartsense::vision {

enum class CameraHealthState { kOk, kBlack, kFrozen, kCovered, kDisconnected };

// "ok", "black", "frozen", "covered", "disconnected".
const char* CameraHealthStateName(CameraHealthState state);

struct CameraHealthParams {
  int work_downscale = 4;  // 640x480 -> 160x120
  int confirm_frames = 3;  // a new state must hold this many frames to be reported
  double black_max_mean_grey = 12.0;
  // Covered: cells of a grid (grid_columns x grid_rows) with a mean |gradient| below this.
  double covered_max_gradient_grey = 1.2;
  double covered_min_share = 0.85;
  int grid_columns = 8;
  int grid_rows = 6;
  // Frozen.
  int frozen_min_frames = 30;  // 2 s at 15 fps
  double frozen_max_mean_abs_diff_grey = 0.25;
  int frozen_sample_step_px = 4;
  // Disconnected. Continuous capture: no frame for this long (0: not judged by gaps).
  int64_t max_frame_gap_ms = 0;
  // Event-triggered capture: a weight event of at least this much with no frame from
  // `event_frame_lead_ms` before its start to `event_frame_timeout_ms` after it counts as a miss;
  // this many misses in a row is a disconnection (0: not judged by events).
  int disconnected_missed_events = 3;
  double event_min_weight_change_g = 20.0;
  int64_t event_frame_lead_ms = 3000;
  int64_t event_frame_timeout_ms = 3000;

  // Reads the keys above from `config` (all optional); errors name the key.
  static Result<CameraHealthParams> FromConfig(const Config& config);
};

struct CameraHealthChange {
  Timestamp t;
  CameraHealthState state = CameraHealthState::kOk;
  std::string reason;  // e.g. "30 identical frames", "no frame for 1200 ms"
};

// What one frame looks like to the health checks (exposed for tests and tuning).
struct FrameHealthMeasures {
  double mean_grey = 0;
  double flat_cell_share = 0;  // cells with a mean |gradient| below covered_max_gradient_grey
  std::optional<double> mean_abs_diff_grey;  // to the previous frame; none for the first
};

class CameraHealth {
 public:
  explicit CameraHealth(CameraHealthParams params = {});

  // Checks ranges; errors name the field.
  static Status Validate(const CameraHealthParams& params);

  // One frame (8-bit BGR or grey). Returns the new state when the reported state changes.
  std::optional<CameraHealthChange> AddFrame(Timestamp t, const cv::Mat& frame);
  // Time passed (any clock: load-cell samples, the pipeline clock). Judges disconnection.
  std::optional<CameraHealthChange> AdvanceTo(Timestamp now);
  // A weight event (start time, Δg): an event-triggered camera should record a clip around it.
  void NoteWeightEvent(Timestamp t_start, double delta_g);

  CameraHealthState state() const { return state_; }
  const FrameHealthMeasures& last_measures() const { return measures_; }

 private:
  FrameHealthMeasures Measure(const cv::Mat& frame);
  std::optional<CameraHealthChange> Report(Timestamp t, CameraHealthState state,
                                           std::string reason);

  CameraHealthParams params_;
  CameraHealthState state_ = CameraHealthState::kOk;
  CameraHealthState candidate_ = CameraHealthState::kOk;
  int candidate_frames_ = 0;
  int identical_run_ = 0;  // consecutive frames (counting the first) without a difference
  FrameHealthMeasures measures_;
  cv::Mat previous_samples_;  // grey at the sample grid of the previous frame
  std::optional<Timestamp> last_frame_t_;
  std::optional<Timestamp> last_advance_t_;
  // Weight events waiting for a frame (start times), and misses in a row.
  std::vector<Timestamp> pending_events_;
  int missed_events_ = 0;
};

}  // namespace cartsense::vision
