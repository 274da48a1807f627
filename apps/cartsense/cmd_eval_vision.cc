// `cartsense eval-vision`: the basket cameras and the scanner camera on simulated sessions
// (issue 7): added-item localisation, recognition of the changed regions' crops per view and
// combined across views (against the same products' clean dev photos), barcode scans and the
// change detector's CPU cost. Definitions: service/vision_eval.h and docs/cameras.md.
//
//   cartsense eval-vision --sessions DIR... [--images SPLIT] [--bundle DIR]
//                         [--precision fp32|int8] [--no-barcodes] [--diagnose] [--json]
//
// A DIR is a simulated session folder, or a folder whose sub-folders are sessions. Fractions are
// 0-1 and labelled simulation. Exit 0 when it ran (the goals are reported, not enforced: the
// figures are for docs/benchmarks.md), 2 bad command line, 3 a session, model or photo could not
// be used.
#include <iomanip>
#include <iostream>
#include <memory>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "catalog/catalogue.h"
#include "catalog/recognizer.h"
#include "commands.h"
#include "paths.h"
#include "service/vision_eval.h"
#include "vision/model_bundle.h"

namespace cartsense::app {
namespace {

struct EvalVisionOptions {
  std::vector<std::string> sessions;
  std::string images;
  std::string catalogue;
  std::string bundle;
  std::string precision = "fp32";
  bool no_barcodes = false;
  bool diagnose = false;
  bool json = false;
};

int Fail(const Status& status, int code) {
  std::cerr << "cartsense eval-vision: " << status.ToString() << "\n";
  return code;
}

double Share(int num, int den) { return den > 0 ? static_cast<double>(num) / den : 0.0; }

nlohmann::ordered_json ToJson(const service::VisionEvalCounts& c, const EvalVisionOptions& options,
                              const std::string& bundle, const std::string& backend) {
  nlohmann::ordered_json out;
  out["label"] = "simulation";
  out["sessions"] = c.sessions;
  out["localisation_iou50_rate"] = c.localisation_iou50_rate();
  out["top1_per_view"] = c.top1_per_view();
  out["top1_combined"] = c.top1_combined();
  out["top1_clean"] = c.top1_clean();
  out["barcode_read_rate"] = !options.no_barcodes ? nlohmann::ordered_json(c.scans.read_rate())
                                                  : nlohmann::ordered_json(nullptr);
  out["barcode_duplicate_reads"] = !options.no_barcodes
                                       ? nlohmann::ordered_json(c.scans.duplicate_reads)
                                       : nlohmann::ordered_json(nullptr);
  out["change_detection_core_share"] = c.change_detection_core_share();
  out["localisation"] = {
      {"pairs", c.pairs},
      {"localised", c.localised},
      {"single_item_pairs", c.single_pairs},
      {"single_item_localisation_iou50_rate", Share(c.single_localised, c.single_pairs)},
      {"not_compared", c.not_compared},
      {"skipped_under_half_visible", c.skipped_hidden},
      {"skipped_camera_covered", c.skipped_covered}};
  out["recognition"] = {
      {"views", c.views},
      {"views_top1", c.views_top1},
      {"views_without_recognition", c.views_without_recognition},
      {"top1_per_camera",
       {Share(c.camera_views_top1[0], c.camera_views[0]),
        Share(c.camera_views_top1[1], c.camera_views[1])}},
      {"views_per_camera", {c.camera_views[0], c.camera_views[1]}},
      {"top1_by_box_short_side",
       {{"under_48_px", Share(c.size_views_top1[0], c.size_views[0])},
        {"48_to_95_px", Share(c.size_views_top1[1], c.size_views[1])},
        {"96_px_and_over", Share(c.size_views_top1[2], c.size_views[2])}}},
      {"views_by_box_short_side", {c.size_views[0], c.size_views[1], c.size_views[2]}},
      {"placements", c.placements},
      {"combined_top1", c.combined_top1},
      {"clean_top1", c.clean_top1},
      {"two_view_placements", c.two_view_placements},
      {"two_view_top1_combined", Share(c.two_view_combined_top1, c.two_view_placements)},
      {"two_view_top1_per_view", Share(c.two_view_views_top1, 2 * c.two_view_placements)},
      {"bundle", bundle},
      {"backend", backend},
      {"precision", options.precision}};
  out["association"] = {{"single_item_reaches", c.reaches},
                        {"with_weight_event", c.reaches_with_event},
                        {"with_selected_regions", c.reaches_with_regions},
                        {"selected_regions", c.selected_regions},
                        {"selected_regions_on_item", c.selected_regions_right},
                        {"top1_combined", Share(c.reaches_combined_top1, c.reaches_with_regions)}};
  if (!options.no_barcodes) {
    out["barcodes"] = {{"scan_actions", c.scans.scan_actions},
                       {"read_within_1s", c.scans.read_within_1s},
                       {"read_later", c.scans.read_later},
                       {"wrong_reads", c.scans.wrong_reads},
                       {"hard_actions", c.scans.hard_actions},
                       {"hard_read_within_1s", c.scans.hard_read_within_1s}};
  }
  out["change_detection"] = {
      {"frames", c.detector_frames},
      {"cpu_ms_per_frame", c.cpu_ms_per_frame()},
      {"simulated_s", c.session_s},
      {"core_share_recorded_frames", c.change_detection_core_share_recorded()}};
  if (options.diagnose) {
    out["diagnosis"] = {{"views", c.diag_views},
                        {"top1_box_crop", Share(c.diag_box_top1, c.diag_views)},
                        {"top1_masked_crop", Share(c.diag_masked_top1, c.diag_views)},
                        {"top1_sprite", Share(c.diag_sprite_top1, c.diag_views)},
                        {"top1_sprite_at_box_size", Share(c.diag_sprite_small_top1, c.diag_views)},
                        {"top1_photo_at_box_size", Share(c.diag_photo_small_top1, c.diag_views)}};
  }
  return out;
}

int RunEvalVision(const EvalVisionOptions& options) {
  auto sessions = ExpandSessionDirs(options.sessions);
  if (!sessions.ok()) return Fail(sessions.status(), kExitUnavailable);
  const std::string catalogue_path = options.catalogue.empty()
                                         ? DefaultRepoPath("data/catalogue/grocery-store-81.csv")
                                         : options.catalogue;
  auto catalogue = catalog::Catalogue::Load(catalogue_path);
  if (!catalogue.ok()) return Fail(catalogue.status(), kExitUnavailable);
  std::string bundle = options.bundle;
  if (bundle.empty()) {
    auto newest = FindNewestBundle(DefaultRepoPath("models/recognizer"));
    if (!newest.ok() || newest->empty()) {
      return Fail(NotFoundError("no recognizer bundle under models/recognizer"), kExitUnavailable);
    }
    bundle = *newest;
  }
  catalog::RecognizerOptions recognizer_options;
  recognizer_options.catalogue = &*catalogue;
  recognizer_options.embedder.precision = options.precision;
  auto recognizer = catalog::Recognizer::Open(bundle, recognizer_options);
  if (!recognizer.ok()) return Fail(recognizer.status(), kExitUnavailable);

  service::VisionEvalOptions eval_options;
  eval_options.recognizer = recognizer->get();
  eval_options.split_override = options.images;
  // Sessions store their split path as simulated, often relative to the repository.
  eval_options.repo_root = RepoRoot();
  eval_options.barcodes = !options.no_barcodes;
  eval_options.diagnose = options.diagnose;
  service::VisionEvalCounts total;
  for (const std::string& dir : *sessions) {
    auto counts = service::EvaluateVisionSession(dir, *catalogue, eval_options);
    if (!counts.ok()) {
      const Status status = counts.status().WithContext(dir);
      return Fail(status,
                  status.code() == StatusCode::kInvalidArgument ? kExitUsage : kExitUnavailable);
    }
    total += *counts;
  }
  const std::string backend((*recognizer)->embedder().backend_name());
  const nlohmann::ordered_json out = ToJson(total, options, bundle, backend);
  if (options.json) {
    std::cout << out.dump(2) << "\n";
    return kExitOk;
  }
  const auto& c = total;
  std::cout << std::fixed << std::setprecision(3) << "simulation, " << c.sessions << " session(s), "
            << bundle << " (" << backend << ", " << options.precision << ")\n"
            << "  localisation_iou50_rate      " << c.localisation_iou50_rate() << "  ("
            << c.localised << "/" << c.pairs << " (placement, camera) pairs)\n"
            << "  top1_per_view                " << c.top1_per_view() << "  (" << c.views_top1
            << "/" << c.views << " localised views)\n"
            << "  top1_combined                " << c.top1_combined() << "  (" << c.combined_top1
            << "/" << c.placements << " placements)\n"
            << "  top1_clean (same photos)     " << c.top1_clean() << "\n"
            << "  reasoner association         " << c.reaches_with_regions << "/" << c.reaches
            << " single-item reaches with regions, " << c.selected_regions_right << "/"
            << c.selected_regions << " selected regions on the item, combined top-1 "
            << Share(c.reaches_combined_top1, c.reaches_with_regions) << "\n";
  if (!options.no_barcodes) {
    std::cout << "  barcode_read_rate            " << c.scans.read_rate() << "  ("
              << c.scans.read_within_1s << "/" << c.scans.scan_actions << ")\n"
              << "  barcode_duplicate_reads      " << c.scans.duplicate_reads << "\n";
  }
  std::cout << "  change_detection_core_share  " << c.change_detection_core_share() << "  ("
            << c.cpu_ms_per_frame() << " ms CPU per frame, " << c.detector_frames
            << " frames; two cameras at 15 fps)\n";
  if (options.diagnose) std::cout << "  diagnosis " << out["diagnosis"].dump() << "\n";
  return kExitOk;
}

}  // namespace

void RegisterEvalVisionCommands(CLI::App& app, CommandAction& action) {
  auto options = std::make_shared<EvalVisionOptions>();
  CLI::App* eval = app.add_subcommand(
      "eval-vision",
      "Cameras on simulated sessions: localisation, recognition per view and combined, barcode "
      "scans, change-detection CPU");
  eval->add_option("--sessions", options->sessions,
                   "Simulated session folders, or folders of session folders")
      ->required()
      ->expected(1, -1);
  eval->add_option("--images", options->images,
                   "Split file the sessions were simulated from (default: truth.json's)");
  eval->add_option("--catalogue", options->catalogue,
                   "Catalogue CSV (default data/catalogue/grocery-store-81.csv)");
  eval->add_option("--bundle", options->bundle, "Recognizer bundle folder (default: newest)");
  eval->add_option("--precision", options->precision, "fp32 or int8")
      ->check(CLI::IsMember({"fp32", "int8"}))
      ->capture_default_str();
  eval->add_flag("--no-barcodes", options->no_barcodes, "Skip the scanner camera");
  eval->add_flag("--diagnose", options->diagnose,
                 "Also recognise masked crops, the sprites and the photos at crop size");
  eval->add_flag("--json", options->json, "Print one JSON object");
  eval->callback(
      [options, &action] { action.run = [options] { return RunEvalVision(*options); }; });
}

}  // namespace cartsense::app
