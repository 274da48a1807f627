// `cartsense read-barcodes [--json] IMAGE...`: runs the barcode reader
// (src/vision/barcode_reader.h) on photos (PNG, JPEG, WebP) and prints every retail code found with
// its format and GTIN (UPC-A and UPC-E as 13 digits, EAN-8 as its 8 digits). For calibration,
// support and tests.
//
// `cartsense eval-scans --sessions DIR... [--json]`: the scan metrics of issue 7 on simulated
// sessions (src/vision/scan_eval.h).
//
// read-barcodes exit codes: 0 a code was read in every image; 1 some image held no readable code; 3
// some image could not be opened or decoded (the others are still read); 2 bad command line.
#include <iostream>
#include <memory>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "commands.h"
#include "session/session_format.h"
#include "vision/barcode_reader.h"
#include "vision/scan_eval.h"

namespace cartsense::app {
namespace {

struct ReadBarcodesOptions {
  std::vector<std::string> images;
  bool json = false;
  bool zxing_only = false;
};

int RunReadBarcodes(const ReadBarcodesOptions& options) {
  const vision::BarcodeReader reader;
  bool unreadable_file = false;
  bool image_without_code = false;
  for (const std::string& path : options.images) {
    Result<std::vector<vision::BarcodeRead>> codes =
        [&]() -> Result<std::vector<vision::BarcodeRead>> {
      CS_ASSIGN_OR_RETURN(const cv::Mat grey, vision::LoadBarcodePhoto(path));
      if (options.zxing_only) return vision::ReadWithZxingOnly(grey, /*try_harder=*/true);
      return reader.Read(grey);
    }();
    if (!codes.ok()) {
      unreadable_file = true;
      std::cerr << "cartsense read-barcodes: " << codes.status().ToString() << "\n";
      if (options.json) {
        std::cout << nlohmann::json{{"file", path}, {"error", codes.status().ToString()}}.dump()
                  << "\n";
      }
      continue;
    }
    image_without_code = image_without_code || codes->empty();
    if (options.json) {
      nlohmann::json list = nlohmann::json::array();
      for (const vision::BarcodeRead& code : *codes) {
        list.push_back({{"format", session::BarcodeFormatName(code.format)},
                        {"gtin", code.gtin},
                        {"x_px", code.centre_px().x},
                        {"y_px", code.centre_px().y}});
      }
      std::cout << nlohmann::json{{"file", path}, {"codes", list}}.dump() << "\n";
    } else {
      std::cout << path << ":";
      if (codes->empty()) std::cout << " no code found";
      for (const vision::BarcodeRead& code : *codes) {
        std::cout << " " << session::BarcodeFormatName(code.format) << " " << code.gtin << " at ("
                  << static_cast<int>(code.centre_px().x) << ", "
                  << static_cast<int>(code.centre_px().y) << ")";
      }
      std::cout << "\n";
    }
  }
  if (unreadable_file) return kExitUnavailable;
  return image_without_code ? kExitProblemFound : kExitOk;
}

struct EvalScansOptions {
  std::vector<std::string> sessions;
  bool json = false;
};

// The goals of issue 7 for scanning.
constexpr double kReadRateGoal = 0.99;

int RunEvalScans(const EvalScansOptions& options) {
  vision::ScanEvalCounts total;
  nlohmann::json per_session = nlohmann::json::array();
  for (const std::string& dir : options.sessions) {
    Result<vision::ScanEvalCounts> counts = vision::EvaluateScanSession(dir);
    if (!counts.ok()) {
      std::cerr << "cartsense eval-scans: " << counts.status().ToString() << "\n";
      return counts.status().code() == StatusCode::kNotFound ? kExitUnavailable : kExitProblemFound;
    }
    per_session.push_back({{"session", dir},
                           {"scan_actions", counts->scan_actions},
                           {"read_within_1s", counts->read_within_1s},
                           {"duplicate_reads", counts->duplicate_reads},
                           {"wrong_reads", counts->wrong_reads},
                           {"missed", counts->missed}});
    total += *counts;
  }
  const double ms_per_frame =
      total.frames == 0 ? 0.0 : 1e3 * total.reader_cpu_s / static_cast<double>(total.frames);
  const nlohmann::json report = {{"sessions", per_session},
                                 {"scan_actions", total.scan_actions},
                                 {"barcode_read_rate", total.read_rate()},
                                 {"barcode_duplicate_reads", total.duplicate_reads},
                                 {"barcode_wrong_reads", total.wrong_reads},
                                 {"read_later_than_1s", total.read_later},
                                 {"hard_scan_actions", total.hard_actions},
                                 {"hard_read_within_1s", total.hard_read_within_1s},
                                 {"scanner_frames", total.frames},
                                 {"reader_cpu_ms_per_frame", ms_per_frame}};
  if (options.json) {
    std::cout << report.dump(2) << "\n";
  } else {
    std::cout << "scan actions: " << total.scan_actions << " (" << total.hard_actions
              << " hard cases)\n"
              << "read within 1 s: " << total.read_within_1s << " (rate " << total.read_rate()
              << ", goal >= " << kReadRateGoal << "); hard cases " << total.hard_read_within_1s
              << "\n"
              << "duplicate reads: " << total.duplicate_reads << " (goal 0); wrong reads "
              << total.wrong_reads << "\n"
              << "scanner frames: " << total.frames << ", reader " << ms_per_frame
              << " ms CPU per frame\n";
  }
  const bool goals_met =
      total.read_rate() >= kReadRateGoal && total.duplicate_reads == 0 && total.wrong_reads == 0;
  return goals_met ? kExitOk : kExitProblemFound;
}

}  // namespace

void RegisterBarcodeCommands(CLI::App& app, CommandAction& action) {
  auto eval_options = std::make_shared<EvalScansOptions>();
  CLI::App* eval = app.add_subcommand(
      "eval-scans",
      "Run the scanner camera of sessions with truth through the barcode reader and the scan "
      "debouncer; report the share of scan actions read within 1 s and duplicate reads. Exit 1 "
      "when a goal (rate >= 0.99, no duplicate or wrong read) is not met.");
  eval->add_option("--sessions", eval_options->sessions, "session folders")->required();
  eval->add_flag("--json", eval_options->json, "print a JSON object");
  eval->callback([eval_options, &action] {
    action.run = [eval_options] { return RunEvalScans(*eval_options); };
  });

  auto options = std::make_shared<ReadBarcodesOptions>();
  CLI::App* command = app.add_subcommand(
      "read-barcodes",
      "Read EAN-13, UPC-A, EAN-8, UPC-E and GS1 DataBar codes in photos (PNG, JPEG, WebP). Exit 0 "
      "when every image held a code, 1 when some held none, 3 when some could not be opened or "
      "decoded.");
  command->add_option("images", options->images, "image files")->required();
  command->add_flag("--json", options->json,
                    "one JSON object a line per image: {file, codes: [{format, gtin, x_px, "
                    "y_px}]} or {file, error}");
  command->add_flag("--zxing-only", options->zxing_only,
                    "zxing-cpp alone (try-harder, try-rotate) instead of the reader, for "
                    "comparison");
  command->callback(
      [options, &action] { action.run = [options] { return RunReadBarcodes(*options); }; });
}

}  // namespace cartsense::app
