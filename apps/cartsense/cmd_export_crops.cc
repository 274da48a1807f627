// `cartsense export-crops`: the basket cameras' crops of simulated sessions, labelled from the
// sessions' truth, as an image folder with a split file of the dataset's format (issue 7:
// training and scoring the recognizer on what the cameras see; service/crop_export.h).
//
//   cartsense export-crops --sessions DIR... --out OUT [--images SPLIT] [--json]
//
// A DIR is a simulated session folder, or a folder whose sub-folders are sessions. OUT must not
// hold an export already. Exit 0 when every session was exported, 2 bad command line or session,
// 3 a session, photo or output file could not be used.
#include <iostream>
#include <memory>
#include <set>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "catalog/catalogue.h"
#include "commands.h"
#include "paths.h"
#include "service/crop_export.h"

namespace cartsense::app {
namespace {

struct ExportCropsOptions {
  std::vector<std::string> sessions;
  std::string out;
  std::string images;
  std::string catalogue;
  bool json = false;
};

int Fail(const Status& status, int code) {
  std::cerr << "cartsense export-crops: " << status.ToString() << "\n";
  return code;
}

int RunExportCrops(const ExportCropsOptions& options) {
  auto sessions = ExpandSessionDirs(options.sessions);
  if (!sessions.ok()) return Fail(sessions.status(), kExitUnavailable);
  // Names name the images: refuse a repeated one before exporting anything.
  std::set<std::string> names;
  for (const std::string& dir : *sessions) {
    if (!names.insert(service::CropExportWriter::SessionName(dir)).second) {
      return Fail(InvalidArgumentError(dir + ": a session of the same folder name is listed too"),
                  kExitUsage);
    }
  }
  const std::string catalogue_path = options.catalogue.empty()
                                         ? DefaultRepoPath("data/catalogue/grocery-store-81.csv")
                                         : options.catalogue;
  auto catalogue = catalog::Catalogue::Load(catalogue_path);
  if (!catalogue.ok()) return Fail(catalogue.status(), kExitUnavailable);
  service::CropExportOptions export_options;
  export_options.split_override = options.images;
  export_options.repo_root = RepoRoot();
  service::CropExportWriter writer;
  if (Status status = writer.Open(options.out); !status.ok()) {
    return Fail(status,
                status.code() == StatusCode::kAlreadyExists ? kExitUsage : kExitUnavailable);
  }
  service::CropExportCounts total;
  for (const std::string& dir : *sessions) {
    auto counts = writer.AddSession(dir, *catalogue, export_options);
    if (!counts.ok()) {
      const Status status = counts.status().WithContext(dir);
      return Fail(status,
                  status.code() == StatusCode::kInvalidArgument ? kExitUsage : kExitUnavailable);
    }
    total += *counts;
  }
  if (Status status = writer.Close(); !status.ok()) return Fail(status, kExitUnavailable);
  if (options.json) {
    const nlohmann::ordered_json out = {
        {"label", "simulation"},        {"sessions", total.sessions},
        {"pairs", total.pairs},         {"exported", total.exported},
        {"too_small", total.too_small}, {"split", options.out + "/crops.txt"}};
    std::cout << out.dump(2) << "\n";
    return kExitOk;
  }
  std::cout << "simulation, " << total.sessions << " session(s): " << total.exported << " crops of "
            << total.pairs << " counted (placement, camera) pairs (" << total.too_small
            << " too small) in " << options.out << "/crops.txt\n";
  return kExitOk;
}

}  // namespace

void RegisterCropExportCommands(CLI::App& app, CommandAction& action) {
  auto options = std::make_shared<ExportCropsOptions>();
  CLI::App* command = app.add_subcommand(
      "export-crops",
      "Labelled basket-camera crops of simulated sessions, as images and a split file");
  command
      ->add_option("--sessions", options->sessions,
                   "Simulated session folders, or folders of session folders")
      ->required()
      ->expected(1, -1);
  command->add_option("--out", options->out, "New folder for images/, crops.txt, crops.jsonl")
      ->required();
  command->add_option("--images", options->images,
                      "Split file the sessions were simulated from (default: truth.json's)");
  command->add_option("--catalogue", options->catalogue,
                      "Catalogue CSV (default data/catalogue/grocery-store-81.csv)");
  command->add_flag("--json", options->json, "Print one JSON object");
  command->callback(
      [options, &action] { action.run = [options] { return RunExportCrops(*options); }; });
}

}  // namespace cartsense::app
