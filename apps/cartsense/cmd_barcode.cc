// `cartsense read-barcodes [--json] IMAGE...`: runs the barcode reader
// (src/vision/barcode_reader.h) on photos (PNG, JPEG, WebP) and prints every retail code found with
// its format and GTIN (UPC-A and UPC-E as 13 digits, EAN-8 as its 8 digits). For calibration,
// support and tests.
//
// Exit codes: 0 a code was read in every image; 1 some image held no readable code; 3 some image
// could not be opened or decoded (the others are still read); 2 bad command line.
#include <iostream>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "commands.h"
#include "session/session_format.h"
#include "vision/barcode_reader.h"

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

}  // namespace

void RegisterBarcodeCommands(CLI::App& app, CommandAction& action) {
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
