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
#include <cstdint>
#include <iomanip>
#include <iostream>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "catalog/catalogue.h"
#include "commands.h"
#include "paths.h"
#include "service/simulated_geometry.h"
#include "service/vision_eval.h"
#include "session/session_reader.h"
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

Status EvaluateSession(const std::string& dir, const EvalChangesOptions& options,
                       const catalog::Catalogue& catalogue, Tally& tally) {
  CS_ASSIGN_OR_RETURN(const session::SessionReader reader, session::SessionReader::Open(dir));
  CS_ASSIGN_OR_RETURN(
      const service::SimulatedSession simulated,
      service::ReplanSimulatedSession(reader, catalogue, options.images, RepoRoot()));
  const std::vector<service::PlacementView> views = service::PlacementViews(simulated);
  for (int camera_id = 0; camera_id < 2; ++camera_id) {
    // Every change the detector reports on this camera.
    CS_ASSIGN_OR_RETURN(const service::DetectorRun run,
                        service::RunChangeDetector(reader, camera_id));
    tally.cpu_s += run.cpu_s;
    tally.frames += run.frames;
    const std::vector<vision::BasketChange>& changes = run.changes;
    for (const service::PlacementView& view : views) {
      if (view.camera != camera_id) continue;
      if (view.visibility == service::PlacementView::Visibility::kCameraCovered) {
        ++tally.skipped_covered;
        continue;
      }
      if (view.visibility == service::PlacementView::Visibility::kUnderHalfVisible) {
        ++tally.skipped_hidden;
        continue;
      }
      // The first comparison after the hand left, before the next reach.
      const vision::BasketChange* after = nullptr;
      for (const vision::BasketChange& change : changes) {
        const double t = change.t.seconds();
        if (t >= view.leave_s && t < view.next_enter_s) {
          after = &change;
          break;
        }
      }
      ++tally.pairs;
      tally.single_pairs += view.single_item_reach ? 1 : 0;
      if (after == nullptr) {
        ++tally.not_compared;
        continue;
      }
      for (const vision::ChangeRegion& region : after->regions) {
        if (region.kind == vision::ChangeRegion::Kind::kAdded &&
            service::BoxIou(region.box_px, view.true_box) >= 0.5) {
          ++tally.localised;
          tally.single_localised += view.single_item_reach ? 1 : 0;
          break;
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
