#include "service/vision_eval.h"

#include <algorithm>
#include <map>
#include <memory>
#include <optional>
#include <utility>

#include <opencv2/imgcodecs.hpp>
#include <opencv2/imgproc.hpp>
#include <time.h>

#include "core/packets.h"
#include "fusion/evidence.h"
#include "service/session_evidence.h"
#include "service/simulated_geometry.h"
#include "sim/product_images.h"

namespace cartsense::service {
namespace {

constexpr double kIouThreshold = 0.5;
// A weight event belongs to a reach when it starts between half a second before the hand
// enters and a second after it leaves (the load settles after the hand lets go).
constexpr double kEventBeforeEnterS = 0.5;
constexpr double kEventAfterLeaveS = 1.0;

double ThreadCpuSeconds() {
  timespec now{};
  clock_gettime(CLOCK_THREAD_CPUTIME_ID, &now);
  return static_cast<double>(now.tv_sec) + 1e-9 * static_cast<double>(now.tv_nsec);
}

double Share(int num, int den) { return den > 0 ? static_cast<double>(num) / den : 0.0; }

int SizeBin(const cv::Rect& box) {
  const int side = std::min(box.width, box.height);
  if (side < 48) return 0;
  if (side < 96) return 1;
  return 2;
}

// The first comparison of `camera` whose time is in [from_s, to_s).
template <typename Change, typename TimeOf>
const Change* FirstIn(const std::vector<Change>& changes, double from_s, double to_s,
                      TimeOf time_of) {
  for (const Change& change : changes) {
    const double t = time_of(change);
    if (t >= from_s && t < to_s) return &change;
  }
  return nullptr;
}

// The sprite as the renderer pastes it, on mid grey (no basket behind it).
cv::Mat SpriteOnGrey(const sim::Sprite& sprite) {
  cv::Mat out(sprite.bgr.size(), CV_8UC3);
  for (int y = 0; y < out.rows; ++y) {
    for (int x = 0; x < out.cols; ++x) {
      const double a = sprite.alpha.at<uint8_t>(y, x) / 255.0;
      const cv::Vec3b& c = sprite.bgr.at<cv::Vec3b>(y, x);
      cv::Vec3b& o = out.at<cv::Vec3b>(y, x);
      for (int k = 0; k < 3; ++k) o[k] = cv::saturate_cast<uint8_t>(a * c[k] + (1 - a) * 128.0);
    }
  }
  return out;
}

cv::Mat ShrinkTo(const cv::Mat& image, const cv::Size& size) {
  cv::Mat out;
  cv::resize(image, out, cv::Size(std::max(1, size.width), std::max(1, size.height)), 0, 0,
             cv::INTER_AREA);
  return out;
}

Result<bool> Top1Is(catalog::Recognizer& recognizer, const cv::Mat& crop,
                    const std::string& product_id) {
  CS_ASSIGN_OR_RETURN(std::vector<catalog::Recognition> recognitions, recognizer.Recognize({crop}));
  return !recognitions.empty() && !recognitions[0].top.empty() &&
         recognitions[0].top[0].product_id == product_id;
}

}  // namespace

Result<DetectorRun> RunChangeDetector(const session::SessionReader& reader, int camera_id,
                                      const vision::ChangeDetectorParams& params) {
  DetectorRun run;
  vision::ChangeDetector detector(params);
  CS_ASSIGN_OR_RETURN(std::unique_ptr<PacketSource> source, reader.CameraSource(camera_id));
  while (true) {
    CS_ASSIGN_OR_RETURN(std::optional<Packet> packet, source->Next());
    if (!packet) break;
    CS_ASSIGN_OR_RETURN(std::shared_ptr<const CameraFrame> frame, packet->Get<CameraFrame>());
    const double started = ThreadCpuSeconds();
    CS_ASSIGN_OR_RETURN(std::optional<vision::BasketChange> change,
                        detector.AddFrame(frame->t, frame->image));
    run.cpu_s += ThreadCpuSeconds() - started;
    ++run.frames;
    if (change && change->outcome == vision::BasketChange::Outcome::kCompared) {
      run.changes.push_back(std::move(*change));
    }
  }
  const double started = ThreadCpuSeconds();
  std::optional<vision::BasketChange> last = detector.EndOfClip();
  run.cpu_s += ThreadCpuSeconds() - started;
  if (last && last->outcome == vision::BasketChange::Outcome::kCompared) {
    run.changes.push_back(std::move(*last));
  }
  return run;
}

std::vector<DetectorView> LocaliseDetectorViews(const std::vector<PlacementView>& placement_views,
                                                int camera, const DetectorRun& run) {
  std::vector<DetectorView> views;
  for (const PlacementView& pv : placement_views) {
    if (pv.camera != camera || !pv.counted()) continue;
    const vision::BasketChange* after =
        FirstIn(run.changes, pv.leave_s, pv.next_enter_s,
                [](const vision::BasketChange& change) { return change.t.seconds(); });
    if (after == nullptr) continue;
    DetectorView view{&pv, nullptr, kIouThreshold};
    for (const vision::ChangeRegion& region : after->regions) {
      if (region.kind != vision::ChangeRegion::Kind::kAdded) continue;
      const double iou = BoxIou(region.box_px, pv.true_box);
      if (iou >= view.iou) {
        view.region = &region;
        view.iou = iou;
      }
    }
    if (view.region != nullptr) views.push_back(view);
  }
  return views;
}

VisionEvalCounts& VisionEvalCounts::operator+=(const VisionEvalCounts& o) {
  sessions += o.sessions;
  pairs += o.pairs;
  localised += o.localised;
  single_pairs += o.single_pairs;
  single_localised += o.single_localised;
  not_compared += o.not_compared;
  skipped_hidden += o.skipped_hidden;
  skipped_covered += o.skipped_covered;
  views += o.views;
  views_top1 += o.views_top1;
  for (std::size_t c = 0; c < camera_views.size(); ++c) {
    camera_views[c] += o.camera_views[c];
    camera_views_top1[c] += o.camera_views_top1[c];
  }
  views_without_recognition += o.views_without_recognition;
  for (std::size_t b = 0; b < size_views.size(); ++b) {
    size_views[b] += o.size_views[b];
    size_views_top1[b] += o.size_views_top1[b];
  }
  placements += o.placements;
  combined_top1 += o.combined_top1;
  clean_top1 += o.clean_top1;
  two_view_placements += o.two_view_placements;
  two_view_combined_top1 += o.two_view_combined_top1;
  two_view_views_top1 += o.two_view_views_top1;
  reaches += o.reaches;
  reaches_with_event += o.reaches_with_event;
  reaches_with_regions += o.reaches_with_regions;
  selected_regions += o.selected_regions;
  selected_regions_right += o.selected_regions_right;
  reaches_combined_top1 += o.reaches_combined_top1;
  scans += o.scans;
  detector_frames += o.detector_frames;
  detector_cpu_s += o.detector_cpu_s;
  session_s += o.session_s;
  diag_views += o.diag_views;
  diag_box_top1 += o.diag_box_top1;
  diag_masked_top1 += o.diag_masked_top1;
  diag_sprite_top1 += o.diag_sprite_top1;
  diag_sprite_small_top1 += o.diag_sprite_small_top1;
  diag_photo_small_top1 += o.diag_photo_small_top1;
  return *this;
}

double VisionEvalCounts::localisation_iou50_rate() const { return Share(localised, pairs); }
double VisionEvalCounts::top1_per_view() const { return Share(views_top1, views); }
double VisionEvalCounts::top1_combined() const { return Share(combined_top1, placements); }
double VisionEvalCounts::top1_clean() const { return Share(clean_top1, placements); }
double VisionEvalCounts::cpu_ms_per_frame() const {
  return detector_frames > 0 ? 1e3 * detector_cpu_s / static_cast<double>(detector_frames) : 0.0;
}
double VisionEvalCounts::change_detection_core_share() const {
  constexpr double kCameras = 2;
  constexpr double kFramesPerSecond = 15;
  return kCameras * kFramesPerSecond * cpu_ms_per_frame() / 1e3;
}
double VisionEvalCounts::change_detection_core_share_recorded() const {
  return session_s > 0 ? detector_cpu_s / session_s : 0.0;
}

Result<VisionEvalCounts> EvaluateVisionSession(const std::string& dir,
                                               const catalog::Catalogue& catalogue,
                                               const VisionEvalOptions& options) {
  if (options.recognizer == nullptr) {
    return InvalidArgumentError("vision evaluation needs a recognizer");
  }
  catalog::Recognizer& recognizer = *options.recognizer;
  VisionEvalCounts counts;
  counts.sessions = 1;
  CS_ASSIGN_OR_RETURN(const session::SessionReader reader, session::SessionReader::Open(dir));
  CS_ASSIGN_OR_RETURN(
      const SimulatedSession simulated,
      ReplanSimulatedSession(reader, catalogue, options.split_override, options.repo_root));
  const std::vector<PlacementView> placement_views = PlacementViews(simulated);
  const sim::SessionPlan& plan = simulated.plan;
  counts.session_s = plan.end_s;

  // 1. The cart's evidence path.
  SessionEvidenceOptions evidence_options;
  evidence_options.scan = false;  // barcodes are scored by EvaluateScanSession below
  evidence_options.recognizer = &recognizer;
  CS_ASSIGN_OR_RETURN(const SessionEvidence evidence,
                      ExtractSessionEvidence(reader, evidence_options));
  std::vector<fusion::VisionEvidence> all_views;
  std::array<std::vector<const fusion::VisionEvidence*>, 2> compared_by_camera;
  std::vector<sensors::WeightEvent> weight_events;
  for (const EvidenceRecord& record : evidence.records) {
    if (record.kind == EvidenceRecord::Kind::kVision) {
      all_views.push_back(record.packet.Value<fusion::VisionEvidence>());
    } else if (record.kind == EvidenceRecord::Kind::kWeightEvent) {
      weight_events.push_back(record.packet.Value<sensors::WeightEvent>());
    }
  }
  for (const fusion::VisionEvidence& view : all_views) {
    if (view.outcome == fusion::VisionEvidence::Outcome::kCompared && view.camera_id >= 0 &&
        view.camera_id < 2) {
      compared_by_camera[static_cast<std::size_t>(view.camera_id)].push_back(&view);
    }
  }

  // 2-3. Localisation and recognition per view; views grouped by placed item.
  std::map<int, std::vector<const fusion::RegionEvidence*>> views_of_item;
  std::map<std::pair<int, int>, const PlacementView*> view_of_pair;  // (uid, camera)
  for (const PlacementView& pv : placement_views) {
    view_of_pair[{pv.item_uid, pv.camera}] = &pv;
    if (pv.visibility == PlacementView::Visibility::kCameraCovered) {
      ++counts.skipped_covered;
      continue;
    }
    if (pv.visibility == PlacementView::Visibility::kUnderHalfVisible) {
      ++counts.skipped_hidden;
      continue;
    }
    ++counts.pairs;
    counts.single_pairs += pv.single_item_reach ? 1 : 0;
    const std::vector<const fusion::VisionEvidence*>& compared =
        compared_by_camera[static_cast<std::size_t>(pv.camera)];
    const fusion::VisionEvidence* const* after =
        FirstIn(compared, pv.leave_s, pv.next_enter_s,
                [](const fusion::VisionEvidence* view) { return view->t.seconds(); });
    if (after == nullptr) {
      ++counts.not_compared;
      continue;
    }
    const fusion::RegionEvidence* best = nullptr;
    double best_iou = kIouThreshold;
    for (const fusion::RegionEvidence& region : (*after)->regions) {
      if (region.vanished) continue;
      const double iou = BoxIou(region.box_px, pv.true_box);
      if (iou >= best_iou) {
        best = &region;
        best_iou = iou;
      }
    }
    if (best == nullptr) continue;
    ++counts.localised;
    counts.single_localised += pv.single_item_reach ? 1 : 0;
    if (best->top.empty()) {
      ++counts.views_without_recognition;
      continue;
    }
    const std::string& product_id = plan.items[static_cast<std::size_t>(pv.item_uid)].product->id;
    const bool right = best->top[0].product_id == product_id;
    ++counts.views;
    counts.views_top1 += right ? 1 : 0;
    ++counts.camera_views[static_cast<std::size_t>(pv.camera)];
    counts.camera_views_top1[static_cast<std::size_t>(pv.camera)] += right ? 1 : 0;
    ++counts.size_views[static_cast<std::size_t>(SizeBin(best->box_px))];
    counts.size_views_top1[static_cast<std::size_t>(SizeBin(best->box_px))] += right ? 1 : 0;
    views_of_item[pv.item_uid].push_back(best);
  }
  for (const auto& [uid, regions] : views_of_item) {
    const std::string& product_id = plan.items[static_cast<std::size_t>(uid)].product->id;
    const fusion::CombinedViews combined = fusion::CombineViews(regions, options.views);
    const bool right = !combined.products.empty() && combined.products[0].product_id == product_id;
    ++counts.placements;
    counts.combined_top1 += right ? 1 : 0;
    if (regions.size() >= 2) {
      ++counts.two_view_placements;
      counts.two_view_combined_top1 += right ? 1 : 0;
      for (const fusion::RegionEvidence* region : regions) {
        counts.two_view_views_top1 += region->top[0].product_id == product_id ? 1 : 0;
      }
    }
    const cv::Mat photo = cv::imread(simulated.photo_paths.at(uid), cv::IMREAD_COLOR);
    if (photo.empty()) return DataLossError(simulated.photo_paths.at(uid) + ": cannot decode");
    CS_ASSIGN_OR_RETURN(const bool clean_right, Top1Is(recognizer, photo, product_id));
    counts.clean_top1 += clean_right ? 1 : 0;
  }

  // 4. The reasoner's association on reaches that put one product in.
  for (const sim::HandMove& move : plan.moves) {
    if (move.kind != sim::HandMove::Kind::kPlace || move.items.size() != 1) continue;
    const int uid = move.items[0];
    const sim::PlannedItem& item = plan.items[static_cast<std::size_t>(uid)];
    if (item.product == nullptr) continue;
    ++counts.reaches;
    const sensors::WeightEvent* event = nullptr;
    for (const sensors::WeightEvent& e : weight_events) {
      const double t = e.t_start.seconds();
      if (e.delta_g > 0 && t >= move.enter_s - kEventBeforeEnterS &&
          t <= move.leave_s + kEventAfterLeaveS) {
        event = &e;
        break;
      }
    }
    if (event == nullptr) continue;
    ++counts.reaches_with_event;
    const std::vector<const fusion::RegionEvidence*> selected = fusion::SelectRegionsForEvent(
        all_views, +1, event->t_start, event->t_settle, event->item_position, options.views);
    if (selected.empty()) continue;
    ++counts.reaches_with_regions;
    for (const fusion::RegionEvidence* region : selected) {
      ++counts.selected_regions;
      const auto it = view_of_pair.find({uid, region->camera_id});
      if (it != view_of_pair.end() && it->second->counted() &&
          BoxIou(region->box_px, it->second->true_box) >= kIouThreshold) {
        ++counts.selected_regions_right;
      }
    }
    const fusion::CombinedViews combined = fusion::CombineViews(selected, options.views);
    counts.reaches_combined_top1 +=
        !combined.products.empty() && combined.products[0].product_id == item.product->id ? 1 : 0;
  }

  // 5. Barcodes.
  if (options.barcodes) {
    CS_ASSIGN_OR_RETURN(counts.scans, vision::EvaluateScanSession(dir));
  }

  // 6-7. The change detector alone, timed; with `diagnose`, its crops.
  for (int camera = 0; camera < 2; ++camera) {
    CS_ASSIGN_OR_RETURN(const DetectorRun run, RunChangeDetector(reader, camera));
    counts.detector_frames += run.frames;
    counts.detector_cpu_s += run.cpu_s;
    if (!options.diagnose) continue;
    for (const DetectorView& view : LocaliseDetectorViews(placement_views, camera, run)) {
      const PlacementView& pv = *view.placement;
      const vision::ChangeRegion* best = view.region;
      if (best->crop_bgr.empty()) continue;
      const std::string& product_id = plan.items[static_cast<std::size_t>(pv.item_uid)].product->id;
      ++counts.diag_views;
      CS_ASSIGN_OR_RETURN(bool right, Top1Is(recognizer, best->crop_bgr, product_id));
      counts.diag_box_top1 += right ? 1 : 0;
      cv::Mat masked(best->crop_bgr.size(), CV_8UC3, cv::Scalar(128, 128, 128));
      best->crop_bgr.copyTo(masked, best->mask);
      CS_ASSIGN_OR_RETURN(right, Top1Is(recognizer, masked, product_id));
      counts.diag_masked_top1 += right ? 1 : 0;
      const cv::Mat sprite = SpriteOnGrey(simulated.sprites.at(pv.item_uid));
      CS_ASSIGN_OR_RETURN(right, Top1Is(recognizer, sprite, product_id));
      counts.diag_sprite_top1 += right ? 1 : 0;
      CS_ASSIGN_OR_RETURN(right,
                          Top1Is(recognizer, ShrinkTo(sprite, pv.true_box.size()), product_id));
      counts.diag_sprite_small_top1 += right ? 1 : 0;
      const cv::Mat photo = cv::imread(simulated.photo_paths.at(pv.item_uid), cv::IMREAD_COLOR);
      if (photo.empty()) {
        return DataLossError(simulated.photo_paths.at(pv.item_uid) + ": cannot decode");
      }
      CS_ASSIGN_OR_RETURN(right,
                          Top1Is(recognizer, ShrinkTo(photo, pv.true_box.size()), product_id));
      counts.diag_photo_small_top1 += right ? 1 : 0;
    }
  }
  return counts;
}

}  // namespace cartsense::service
