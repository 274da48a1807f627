// `cartsense eval-changes`: the basket change detector (src/vision/change_detector.h) on
// simulated sessions, against the simulator's geometry.
//
//   cartsense eval-changes --session /tmp/s7 [--session ...] [--images SPLIT] [--json]
//
// The session's truth.json names the scenario, items, seed and split it was simulated from; the
// plan is made again from them (the planner is deterministic), which gives every item's pose,
// footprint and photo, hence its true box in each basket camera. Each basket camera's frames go
// through a ChangeDetector (no weight events: the harder case). For every (placement, camera)
// pair where at least half the item is visible (inside the image, not under items drawn over
// it) and the camera was not covered, the pair counts as localised when an added region of the
// first comparison after the hand left has IoU >= 0.5 with the box of the item's visible part.
// Personal items (bags, phones) are not products and are not scored. Also printed: the thread
// CPU time per frame and the share of one core two cameras at 15 fps would take.
// Exit 1 when the localisation rate is under the goal (0.97).
#include <algorithm>
#include <cmath>
#include <cstdint>
#include <iomanip>
#include <iostream>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>
#include <opencv2/imgproc.hpp>
#include <time.h>

#include "catalog/catalogue.h"
#include "commands.h"
#include "core/packets.h"
#include "paths.h"
#include "session/session_reader.h"
#include "sim/product_images.h"
#include "sim/scene_renderer.h"
#include "sim/shopper.h"
#include "vision/change_detector.h"

namespace cartsense::app {
namespace {

constexpr double kGoal = 0.97;

struct EvalChangesOptions {
  std::vector<std::string> sessions;
  std::string images;
  std::string catalogue;
  bool json = false;
};

struct Tally {
  int pairs = 0;
  int localised = 0;
  int single_pairs = 0;  // of those, pairs of a reach that put one item in
  int single_localised = 0;
  int not_compared = 0;    // no comparison between the hand leaving and the next reach
  int skipped_hidden = 0;  // less than half visible
  int skipped_covered = 0;
  int64_t frames = 0;
  double cpu_s = 0;
};

double ThreadCpuSeconds() {
  timespec now{};
  clock_gettime(CLOCK_THREAD_CPUTIME_ID, &now);
  return static_cast<double>(now.tv_sec) + 1e-9 * static_cast<double>(now.tv_nsec);
}

// The item's solid pixels (alpha over half) on a canvas three times the image, the image in the
// middle: how the renderer warps the sprite (scene_renderer.cc, DrawItem).
cv::Mat CanvasMask(const sim::CameraModel& camera, const sim::PlannedItem& item,
                   const sim::Sprite& sprite) {
  const double s = sprite.alpha.cols;
  const double ca = std::cos(item.angle_rad);
  const double sa = std::sin(item.angle_rad);
  const double kx = item.size.long_mm / s;
  const double ky = item.size.short_mm / s;
  const cv::Matx33d scale(kx, 0, -kx * s / 2, 0, ky, -ky * s / 2, 0, 0, 1);
  const cv::Matx33d place(ca, -sa, item.x_mm, sa, ca, item.y_mm, 0, 0, 1);
  const int w = camera.pose().width_px;
  const int h = camera.pose().height_px;
  const cv::Matx33d offset(1, 0, w, 0, 1, h, 0, 0, 1);
  const cv::Matx33d to_canvas = offset * camera.PlaneToImage(item.size.height_mm) * place * scale;
  cv::Mat alpha;
  cv::warpPerspective(sprite.alpha, alpha, cv::Mat(to_canvas), cv::Size(3 * w, 3 * h),
                      cv::INTER_LINEAR, cv::BORDER_CONSTANT, cv::Scalar(0));
  return alpha > 127;
}

double Iou(const cv::Rect& a, const cv::Rect& b) {
  const double inter = (a & b).area();
  const double uni = a.area() + b.area() - inter;
  return uni > 0 ? inter / uni : 0;
}

Status EvaluateSession(const std::string& dir, const EvalChangesOptions& options,
                       const catalog::Catalogue& catalogue, Tally& tally) {
  CS_ASSIGN_OR_RETURN(const session::SessionReader reader, session::SessionReader::Open(dir));
  CS_ASSIGN_OR_RETURN(const std::string truth_text, reader.ReadTruth());
  const nlohmann::json truth = nlohmann::json::parse(truth_text, nullptr, false);
  if (truth.is_discarded() || !truth.contains("simulator")) {
    return InvalidArgumentError(dir + "/truth.json: not a simulated session's truth");
  }
  const nlohmann::json& simulator = truth["simulator"];
  sim::PlanOptions plan_options;
  plan_options.scenario = simulator.value("scenario", "");
  plan_options.items = simulator.value("items", 0);
  plan_options.seed = simulator.value("seed", uint64_t{0});
  const std::string split =
      options.images.empty() ? simulator.value("images", std::string()) : options.images;
  CS_ASSIGN_OR_RETURN(const sim::ProductImages images, sim::ProductImages::Load(split));
  // The products the simulator drew from, in its order (session_simulator.cc).
  std::vector<const catalog::Product*> products;
  std::vector<int> photo_counts;
  for (int fine_id : images.FineIds()) {
    const catalog::Product* product = catalogue.FindByFineId(fine_id);
    if (product == nullptr) continue;
    products.push_back(product);
    photo_counts.push_back(static_cast<int>(images.PhotosOf(fine_id).size()));
  }
  CS_ASSIGN_OR_RETURN(const sim::SessionPlan plan,
                      sim::PlanSession(plan_options, products, photo_counts));
  std::map<int, sim::Sprite> sprites;
  for (const sim::PlannedItem& item : plan.items) {
    if (item.product == nullptr) continue;
    const std::vector<std::string>& photos = images.PhotosOf(item.product->fine_id);
    if (photos.empty()) return NotFoundError(split + ": no photo of " + item.product->id);
    CS_ASSIGN_OR_RETURN(
        sprites[item.uid],
        sim::LoadSprite(photos[static_cast<std::size_t>(item.photo_index) % photos.size()]));
  }
  const std::array<sim::CameraPose, 2> poses = sim::BasketCameraPoses(plan_options.basket);
  for (int camera_id = 0; camera_id < 2; ++camera_id) {
    const sim::CameraModel camera(poses[static_cast<std::size_t>(camera_id)]);
    // Every change the detector reports on this camera.
    vision::ChangeDetector detector;
    std::vector<vision::BasketChange> changes;
    CS_ASSIGN_OR_RETURN(std::unique_ptr<PacketSource> source, reader.CameraSource(camera_id));
    while (true) {
      CS_ASSIGN_OR_RETURN(std::optional<Packet> packet, source->Next());
      if (!packet) break;
      CS_ASSIGN_OR_RETURN(std::shared_ptr<const CameraFrame> frame, packet->Get<CameraFrame>());
      const double started = ThreadCpuSeconds();
      CS_ASSIGN_OR_RETURN(std::optional<vision::BasketChange> change,
                          detector.AddFrame(frame->t, frame->image));
      tally.cpu_s += ThreadCpuSeconds() - started;
      ++tally.frames;
      if (change && change->outcome == vision::BasketChange::Outcome::kCompared) {
        changes.push_back(std::move(*change));
      }
    }
    std::optional<vision::BasketChange> last = detector.EndOfClip();
    if (last && last->outcome == vision::BasketChange::Outcome::kCompared) {
      changes.push_back(std::move(*last));
    }
    const cv::Rect image(camera.pose().width_px, camera.pose().height_px, camera.pose().width_px,
                         camera.pose().height_px);
    for (std::size_t m = 0; m < plan.moves.size(); ++m) {
      const sim::HandMove& move = plan.moves[m];
      if (move.kind != sim::HandMove::Kind::kPlace) continue;
      const double next_enter_s =
          m + 1 < plan.moves.size() ? plan.moves[m + 1].enter_s : plan.end_s + 1;
      const vision::BasketChange* after = nullptr;
      for (const vision::BasketChange& change : changes) {
        const double t = change.t.seconds();
        if (t >= move.leave_s && t < next_enter_s) {
          after = &change;
          break;
        }
      }
      bool covered = false;
      for (const sim::CoverSpan& cover : plan.covers) {
        if (cover.camera == camera_id && cover.start_s - 0.3 < move.leave_s + 0.5 &&
            cover.end_s + 0.3 > move.enter_s) {
          covered = true;
        }
      }
      for (int uid : move.items) {
        const sim::PlannedItem& item = plan.items[static_cast<std::size_t>(uid)];
        if (item.product == nullptr) continue;
        if (covered) {
          ++tally.skipped_covered;
          continue;
        }
        // Drawn over it: items lying when the hand has left that come later in placement order.
        const cv::Mat own = CanvasMask(camera, item, sprites.at(uid));
        cv::Mat visible = own.clone();
        for (const sim::PlannedItem& other : plan.items) {
          if (other.uid <= uid || other.product == nullptr) continue;
          if (!(other.placed_s <= move.leave_s && other.removed_s > move.leave_s)) continue;
          visible &= ~CanvasMask(camera, other, sprites.at(other.uid));
        }
        const cv::Mat inside = visible(image);
        const int total = cv::countNonZero(own);
        if (total == 0 || cv::countNonZero(inside) < 0.5 * total) {
          ++tally.skipped_hidden;
          continue;
        }
        ++tally.pairs;
        const bool single = move.items.size() == 1;
        tally.single_pairs += single ? 1 : 0;
        if (after == nullptr) {
          ++tally.not_compared;
          continue;
        }
        const cv::Rect truth_box = cv::boundingRect(inside);
        for (const vision::ChangeRegion& region : after->regions) {
          if (region.kind == vision::ChangeRegion::Kind::kAdded &&
              Iou(region.box_px, truth_box) >= 0.5) {
            ++tally.localised;
            tally.single_localised += single ? 1 : 0;
            break;
          }
        }
      }
    }
  }
  return Status::Ok();
}

int RunEvalChanges(const EvalChangesOptions& options) {
  const std::string catalogue_path = options.catalogue.empty()
                                         ? DefaultRepoPath("data/catalogue/grocery-store-81.csv")
                                         : options.catalogue;
  auto catalogue = catalog::Catalogue::Load(catalogue_path);
  if (!catalogue.ok()) {
    std::cerr << "cartsense eval-changes: " << catalogue.status().ToString() << "\n";
    return kExitUnavailable;
  }
  Tally tally;
  for (const std::string& dir : options.sessions) {
    const Status status = EvaluateSession(dir, options, *catalogue, tally);
    if (!status.ok()) {
      std::cerr << "cartsense eval-changes: " << dir << ": " << status.ToString() << "\n";
      return status.code() == StatusCode::kInvalidArgument ? kExitUsage : kExitUnavailable;
    }
  }
  const double rate = tally.pairs > 0 ? tally.localised / static_cast<double>(tally.pairs) : 0;
  const double single_rate =
      tally.single_pairs > 0 ? tally.single_localised / static_cast<double>(tally.single_pairs) : 0;
  const double ms_per_frame =
      tally.frames > 0 ? 1e3 * tally.cpu_s / static_cast<double>(tally.frames) : 0;
  const double core_share = 2 * 15 * ms_per_frame / 1e3;
  if (options.json) {
    const nlohmann::ordered_json out = {{"sessions", options.sessions.size()},
                                        {"pairs", tally.pairs},
                                        {"localised", tally.localised},
                                        {"localisation_iou50_rate", rate},
                                        {"single_item_pairs", tally.single_pairs},
                                        {"single_item_localisation_iou50_rate", single_rate},
                                        {"not_compared", tally.not_compared},
                                        {"skipped_under_half_visible", tally.skipped_hidden},
                                        {"skipped_camera_covered", tally.skipped_covered},
                                        {"frames", tally.frames},
                                        {"cpu_ms_per_frame", ms_per_frame},
                                        {"change_detection_core_share", core_share}};
    std::cout << out.dump() << "\n";
  } else {
    std::cout << std::fixed << std::setprecision(3) << "simulation, " << options.sessions.size()
              << " session(s): localisation_iou50_rate " << rate << " (" << tally.localised << "/"
              << tally.pairs << " (placement, camera) pairs; " << tally.not_compared
              << " without a comparison; skipped: " << tally.skipped_hidden
              << " under half visible, " << tally.skipped_covered << " camera covered)\n"
              << "  reaches that put one item in: " << single_rate << " (" << tally.single_localised
              << "/" << tally.single_pairs << ")\n"
              << "change detection: " << ms_per_frame << " ms CPU per frame over " << tally.frames
              << " frames; two cameras at 15 fps: " << core_share << " of one core\n";
  }
  return rate >= kGoal ? kExitOk : kExitProblemFound;
}

}  // namespace

void RegisterChangeCommands(CLI::App& app, CommandAction& action) {
  auto options = std::make_shared<EvalChangesOptions>();
  CLI::App* eval = app.add_subcommand(
      "eval-changes", "Basket change detection on simulated sessions: added-item localisation");
  eval->add_option("--session", options->sessions, "Simulated session folder (repeatable)")
      ->required();
  eval->add_option("--images", options->images,
                   "Split file the sessions were simulated from (default: truth.json's)");
  eval->add_option("--catalogue", options->catalogue,
                   "Catalogue CSV (default data/catalogue/grocery-store-81.csv)");
  eval->add_flag("--json", options->json, "Print one JSON object");
  eval->callback(
      [options, &action] { action.run = [options] { return RunEvalChanges(*options); }; });
}

}  // namespace cartsense::app
