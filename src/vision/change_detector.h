// Basket change detection: one basket camera's frames in, what changed in the basket out.
//
// Per camera, the detector keeps the basket as it looked when it was last stable (the
// reference) and, from the first stable frames, the empty basket. It measures motion between
// consecutive frames (across the gaps between event-triggered clips too); after motion (a hand
// in view, a bump) it waits, bounded by `max_settle_wait_ms`, until the scene has been still for
// `settle_ms`, then compares the still frames (averaged, which lowers the sensor noise) with the
// reference:
//   - exposure and light colour: a robust per-channel gain (median ratio) maps the reference
//     onto the new frame before comparing;
//   - shadows: a darkening that keeps the chromaticity is a shadow, not a change;
//   - sensor noise: frames are blurred and thresholds scale with the noise level measured from
//     the frames themselves (median absolute difference);
//   - items that shift or get covered: a changed pixel whose neighbourhood matches the reference
//     displaced by a few pixels is a shifted item, not a new one; a changed pixel that matches
//     the empty basket is where something vanished.
// It reports added regions (an item put in) and vanished regions (an item taken out) with box,
// mask and crop, then the new stable frame becomes the reference. A weight event (Δg) tells it
// which kind of change to expect and triggers a comparison even if the camera saw no motion.
// A scene that changed almost everywhere (a covered or moved camera) is reported as such and the
// reference is kept. Deterministic, no threads: time comes only from the frames' timestamps.
//
// In:  8-bit BGR frames of one camera in time order; optional weight events.
// Out: BasketChange at each settle: regions (kind, box_px, mask, crop_bgr), or an outcome that
//      says why there are none (not settled in time, scene changed too much).
//
//   ChangeDetector detector(ChangeDetectorParams{});     // the basket is empty at the start
//   detector.NoteWeightEvent(t_event, +412.0);            // optional, from the weigh chain
//   std::optional<BasketChange> change = detector.AddFrame(t, frame_bgr);
//   if (change) for (const ChangeRegion& r : change->regions) embed(r.crop_bgr, r.mask);
//
// Config (all keys carry their unit):
//   change_detector: {settle_ms: 130, max_settle_wait_ms: 6000, min_region_px: 600, ...}
#pragma once

#include <cstdint>
#include <optional>
#include <vector>

#include <opencv2/core.hpp>

#include "core/status.h"
#include "core/time.h"

namespace cartsense::vision {

struct ChangeDetectorParams {
  // Frames are compared at 1/work_downscale of their size (2: 640x480 -> 320x240).
  int work_downscale = 2;
  double blur_sigma_px = 1.0;  // at work scale
  // Motion: a frame moves when more than motion_share of its pixels differ from the previous
  // frame by more than max(motion_min_diff_grey, motion_noise_factor * noise).
  double motion_min_diff_grey = 6.0;
  double motion_noise_factor = 5.0;
  double motion_share = 0.0015;
  // Settling: still for settle_ms (and at least min_still_frames frames, counting the frame the
  // still run started from) after motion. Longer than a hand holds still while putting an item
  // down (up to about 0.5 s in the simulator). Event-triggered clips keep only 150 ms after the
  // hand leaves: the still run goes on with the next clip's first frames, or ends with
  // EndOfClip().
  int64_t settle_ms = 700;
  int min_still_frames = 2;
  int64_t max_settle_wait_ms = 6000;  // then report kNotSettled once and keep waiting
  // Change: relative brightening, darkening beyond a shadow, or a chromaticity change.
  double brighten_ratio = 0.18;       // I_new / I_ref above 1 + this
  double shadow_min_ratio = 0.42;     // darker than this is not a shadow
  double chroma_change = 0.07;        // L1 distance of (b, g, r) / (b + g + r)
  double chroma_min_level_grey = 25;  // mean grey level below which chromaticity is not trusted
  double noise_factor = 4.0;          // thresholds are at least this many noise sigmas
  // Shifted items: neighbourhoods matched against the reference displaced up to this far.
  int shift_search_px = 6;        // at work scale
  double shift_match_grey = 9.0;  // mean absolute difference of a matched 7x7 neighbourhood
  // Regions. An added region is split (items put down together touch or overlap), in turn:
  //  - into its cores, the parts farther from its edge than split_core_share of the farthest
  //    (0: not), each pixel going to its nearest core;
  //  - at a saddle of its distance-to-edge map lower than split_neck_ratio of the lower of the
  //    two peaks around it (0: not), both peaks at least split_min_radius_px from the edge (work
  //    scale); each pixel going to its nearest peak;
  //  - between two concavities of its outline, each at least split_min_concavity_px deep (work
  //    scale), the cut no longer than split_max_cut_per_depth times their summed depth (0: not).
  // The last two only where the changed pixels fill at least split_min_fill of the region: an
  // item on other items of like colour gives a ragged outline whose notches are not boundaries.
  double split_core_share = 0.45;
  double split_neck_ratio = 0.75;
  double split_min_radius_px = 3.0;
  double split_min_concavity_px = 2.0;
  double split_max_cut_per_depth = 3.0;
  double split_min_fill = 0.95;
  int min_region_px = 300;           // area at full resolution
  double max_changed_share = 0.5;    // more changed than this: covered or moved camera
  double min_weight_change_g = 5.0;  // weight events smaller than this give no kind hint
};

struct ChangeRegion {
  enum class Kind { kAdded, kVanished };
  Kind kind = Kind::kAdded;
  cv::Rect box_px;   // in the full frame
  cv::Mat mask;      // 8-bit, box-sized, 255 inside
  cv::Mat crop_bgr;  // box-sized: from the new frame (added) or the reference (vanished)
  int area_px = 0;   // pixels of the mask
};

struct BasketChange {
  enum class Outcome { kCompared, kNotSettled, kSceneChangedTooMuch };
  Outcome outcome = Outcome::kCompared;
  Timestamp t;             // the last still frame compared (or the frame that timed out)
  Timestamp motion_start;  // the first moving frame of this episode
  std::vector<ChangeRegion> regions;
  double changed_share = 0;  // share of the frame that changed
  double noise_grey = 0;     // noise sigma measured between the two frames (work scale)
};

// The comparison alone, at full resolution in and out. `expected_sign`: +1 an item went in, -1
// one came out, 0 unknown. `empty_bgr` may be empty (then nothing is classified as vanished
// unless expected_sign is -1).
BasketChange CompareStableFrames(const cv::Mat& reference_bgr, const cv::Mat& current_bgr,
                                 const cv::Mat& empty_bgr, int expected_sign,
                                 const ChangeDetectorParams& params);

class ChangeDetector {
 public:
  explicit ChangeDetector(ChangeDetectorParams params = {});

  // Checks ranges; errors name the field.
  static Status Validate(const ChangeDetectorParams& params);

  // One frame (8-bit BGR, same size every time, timestamps increasing). Returns a change when
  // the scene settled after motion or a weight event, or when the wait ran out.
  Result<std::optional<BasketChange>> AddFrame(Timestamp t, const cv::Mat& frame_bgr);
  // The camera stopped recording (an event-triggered clip ended because motion stopped, or the
  // stream ended): a still run of min_still_frames frames counts as settled.
  std::optional<BasketChange> EndOfClip();
  // A weight event from the weigh chain: the next comparison expects an addition (Δ > 0) or a
  // removal (Δ < 0), and happens at the next still frame even without seen motion.
  void NoteWeightEvent(Timestamp t, double delta_g);

  bool has_reference() const { return !reference_.empty(); }
  bool moving() const { return moving_; }
  const cv::Mat& reference_bgr() const { return reference_; }
  int64_t settle_timeouts() const { return settle_timeouts_; }

 private:
  bool IsMoving(const cv::Mat& work_grey) const;
  std::optional<BasketChange> Settle(Timestamp t);  // compares the still run ending at t

  ChangeDetectorParams params_;
  cv::Mat reference_;  // full resolution, last stable
  cv::Mat empty_;      // full resolution, the first stable frames
  cv::Size frame_size_;
  cv::Mat previous_grey_;
  cv::Mat previous_bgr_;
  std::optional<Timestamp> previous_t_;
  bool moving_ = true;  // until the first settle
  bool timeout_reported_ = false;
  std::optional<Timestamp> motion_start_;
  std::optional<Timestamp> last_compare_t_;
  std::optional<Timestamp> still_since_;
  cv::Mat still_sum_;  // CV_32FC3 sum of the still frames since still_since_
  int still_frames_ = 0;
  std::optional<double> pending_weight_g_;
  int64_t settle_timeouts_ = 0;
};

}  // namespace cartsense::vision
