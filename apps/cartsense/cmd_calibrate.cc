// `cartsense calibrate-cameras`: each basket camera's floor homography (image px -> basket floor
// mm) from one image of a ChArUco board lying flat on the basket floor
// (src/vision/floor_calibration.h), and the board to print.
//
//   cartsense calibrate-cameras --print-board board.png [--dpi 300] [board options]
//   cartsense calibrate-cameras --board-origin-mm 105 75 --image basket_a=a.jpg
//       --image basket_b=b.jpg [--intrinsics basket_a=fx,fy,cx,cy[,k1,k2,p1,p2[,k3]]]
//       [--out cameras-calibration.json] [--json] [board options]
//   board options: --squares 7 5 --square-mm 50 --marker-mm 37 --dictionary DICT_4X4_50
//
// Per camera it prints the markers and corners found, the fit error (RMS and max, mm) and the
// homography, as the `floor_homography: [...]` line of that camera in cart.yaml (what `cartsense
// record` puts in the session manifest). --out writes them all as one JSON file (format below),
// only when every camera calibrated; --json prints that JSON object instead of the text.
//
//   {"format": "cartsense-floor-calibration", "version": 1,
//    "board": {squares_x, squares_y, square_mm, marker_mm, dictionary, origin_x_mm, origin_y_mm},
//    "cameras": [{"camera", "image", "floor_homography": [9, row-major, last 1], "markers",
//                 "corners", "inliers", "rms_error_mm", "max_error_mm", "undistorted"}
//                | {"camera", "image", "error"}]}
//
// Exit codes: 0 every camera calibrated (or the board written); 1 a camera's image held no board,
// too few corners or an error over the limits; 2 bad command line (board spec, --image or
// --intrinsics syntax); 3 an image could not be read or the output not written.
#include <algorithm>
#include <array>
#include <charconv>
#include <cmath>
#include <cstdio>
#include <fstream>
#include <iostream>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>
#include <opencv2/imgcodecs.hpp>

#include "commands.h"
#include "core/status.h"
#include "session/session_format.h"
#include "vision/floor_calibration.h"

namespace cartsense::app {
namespace {

struct CalibrateCamerasOptions {
  std::vector<int> squares{7, 5};
  double square_mm = 50;
  double marker_mm = 37;
  std::string dictionary = "DICT_4X4_50";
  std::vector<double> origin_mm;
  std::vector<std::string> images;      // CAMERA=PATH
  std::vector<std::string> intrinsics;  // CAMERA=fx,fy,cx,cy[,k1,...]
  std::string out;
  bool json = false;
  std::string print_board;
  double dpi = 300;
  double margin_mm = 10;
};

constexpr double kMmPerInch = 25.4;

// "name=value" with a camera name as the session format allows ([a-z0-9_]+).
Result<std::pair<std::string, std::string>> SplitCameraArgument(const std::string& text,
                                                                const std::string& flag) {
  const std::size_t eq = text.find('=');
  if (eq == std::string::npos || eq == 0 || eq + 1 == text.size()) {
    return InvalidArgumentError(flag + " '" + text + "': expected CAMERA=VALUE");
  }
  std::string name = text.substr(0, eq);
  for (const char c : name) {
    if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_')) {
      return InvalidArgumentError(flag + " '" + text + "': camera names are [a-z0-9_]+");
    }
  }
  return std::pair{std::move(name), text.substr(eq + 1)};
}

// "fx,fy,cx,cy[,k1,k2,p1,p2[,k3...]]" in pixels and OpenCV's distortion order.
Result<session::CameraIntrinsics> ParseIntrinsics(const std::string& text) {
  std::vector<double> values;
  std::size_t start = 0;
  while (start <= text.size()) {
    const std::size_t comma = std::min(text.find(',', start), text.size());
    double value = 0;
    const char* first = text.data() + start;
    const char* last = text.data() + comma;
    const auto [end, error] = std::from_chars(first, last, value);
    if (first == last || error != std::errc() || end != last || !std::isfinite(value)) {
      return InvalidArgumentError("--intrinsics: '" + text.substr(start, comma - start) +
                                  "' is not a finite number");
    }
    values.push_back(value);
    start = comma + 1;
  }
  if (values.size() < 4) {
    return InvalidArgumentError("--intrinsics: expected fx,fy,cx,cy[,k1,k2,p1,p2[,k3...]]");
  }
  session::CameraIntrinsics out;
  out.fx_px = values[0];
  out.fy_px = values[1];
  out.cx_px = values[2];
  out.cy_px = values[3];
  out.distortion.assign(values.begin() + 4, values.end());
  return out;
}

std::string Fixed(double value, int digits) {
  char text[64];
  std::snprintf(text, sizeof(text), "%.*f", digits, value);
  return text;
}

std::string HomographyYaml(const std::array<double, 9>& h) {
  std::string out = "floor_homography: [";
  for (std::size_t i = 0; i < h.size(); ++i) {
    char text[32];
    std::snprintf(text, sizeof(text), "%.9g", h[i]);
    out += (i == 0 ? "" : ", ") + std::string(text);
  }
  return out + "]";
}

Result<vision::CharucoBoardSpec> BoardSpec(const CalibrateCamerasOptions& options) {
  vision::CharucoBoardSpec spec;
  if (options.squares.size() != 2) return InvalidArgumentError("--squares: expected X Y");
  spec.squares_x = options.squares[0];
  spec.squares_y = options.squares[1];
  spec.square_mm = options.square_mm;
  spec.marker_mm = options.marker_mm;
  spec.dictionary = options.dictionary;
  CS_RETURN_IF_ERROR(vision::ValidateBoardSpec(spec));
  return spec;
}

int RunPrintBoard(const CalibrateCamerasOptions& options, const vision::CharucoBoardSpec& spec) {
  if (!(options.dpi >= 50 && options.dpi <= 2400) ||
      !(options.margin_mm >= 0 && options.margin_mm <= 200)) {
    std::cerr << "cartsense calibrate-cameras: --dpi must be 50..2400 and --margin-mm 0..200\n";
    return kExitUsage;
  }
  const double px_per_mm = options.dpi / kMmPerInch;
  const int square_px = static_cast<int>(std::lround(spec.square_mm * px_per_mm));
  const int margin_px = static_cast<int>(std::lround(options.margin_mm * px_per_mm));
  Result<vision::FloorCalibrator> calibrator = vision::FloorCalibrator::Create(spec, {});
  if (!calibrator.ok()) {
    std::cerr << "cartsense calibrate-cameras: " << calibrator.status().ToString() << "\n";
    return kExitUsage;
  }
  Result<cv::Mat> board = calibrator->DrawBoard(square_px, margin_px);
  if (!board.ok()) {
    std::cerr << "cartsense calibrate-cameras: " << board.status().ToString() << "\n";
    return kExitUsage;
  }
  bool written = false;
  try {
    written = cv::imwrite(options.print_board, *board);
  } catch (const cv::Exception& e) {
    std::cerr << "cartsense calibrate-cameras: " << e.what() << "\n";
  }
  if (!written) {
    std::cerr << "cartsense calibrate-cameras: cannot write " << options.print_board << "\n";
    return kExitUnavailable;
  }
  // The square as printed: square_px pixels at the chosen dpi.
  const double printed_square_mm = square_px / px_per_mm;
  std::cout << options.print_board << ": " << board->cols << "x" << board->rows << " px; print at "
            << Fixed(options.dpi, 0) << " dpi (100 %, no fit-to-page): " << spec.squares_x << "x"
            << spec.squares_y << " squares of " << Fixed(printed_square_mm, 2) << " mm, "
            << spec.dictionary << " markers; measure a square and pass its size as --square-mm\n";
  return kExitOk;
}

int RunCalibrateCameras(const CalibrateCamerasOptions& options) {
  const std::string prefix = "cartsense calibrate-cameras: ";
  Result<vision::CharucoBoardSpec> spec = BoardSpec(options);
  if (!spec.ok()) {
    std::cerr << prefix << spec.status().ToString() << "\n";
    return kExitUsage;
  }
  if (!options.print_board.empty()) return RunPrintBoard(options, *spec);

  if (options.images.empty()) {
    std::cerr << prefix << "give --image CAMERA=PATH (one per camera) or --print-board FILE\n";
    return kExitUsage;
  }
  if (options.origin_mm.size() != 2) {
    std::cerr << prefix
              << "--board-origin-mm X Y is required: where on the basket floor (mm, from its "
                 "front-left corner) the bottom-left corner of the board's squares lies\n";
    return kExitUsage;
  }
  const vision::BoardPlacement placement{options.origin_mm[0], options.origin_mm[1]};
  Result<vision::FloorCalibrator> calibrator = vision::FloorCalibrator::Create(*spec, placement);
  if (!calibrator.ok()) {
    std::cerr << prefix << calibrator.status().ToString() << "\n";
    return kExitUsage;
  }

  std::vector<std::pair<std::string, std::string>> cameras;
  for (const std::string& argument : options.images) {
    Result<std::pair<std::string, std::string>> camera = SplitCameraArgument(argument, "--image");
    if (!camera.ok()) {
      std::cerr << prefix << camera.status().ToString() << "\n";
      return kExitUsage;
    }
    for (const auto& [name, path] : cameras) {
      if (name == camera->first) {
        std::cerr << prefix << "--image: camera '" << name << "' given twice\n";
        return kExitUsage;
      }
    }
    cameras.push_back(std::move(*camera));
  }
  std::map<std::string, session::CameraIntrinsics> intrinsics;
  for (const std::string& argument : options.intrinsics) {
    Result<std::pair<std::string, std::string>> camera =
        SplitCameraArgument(argument, "--intrinsics");
    Result<session::CameraIntrinsics> parsed =
        camera.ok() ? ParseIntrinsics(camera->second)
                    : Result<session::CameraIntrinsics>(camera.status());
    if (!parsed.ok()) {
      std::cerr << prefix << parsed.status().ToString() << "\n";
      return kExitUsage;
    }
    bool known = false;
    for (const auto& [name, path] : cameras) known = known || name == camera->first;
    if (!known) {
      std::cerr << prefix << "--intrinsics: no --image for camera '" << camera->first << "'\n";
      return kExitUsage;
    }
    intrinsics[camera->first] = *parsed;
  }

  nlohmann::json report = {{"format", "cartsense-floor-calibration"},
                           {"version", 1},
                           {"board",
                            {{"squares_x", spec->squares_x},
                             {"squares_y", spec->squares_y},
                             {"square_mm", spec->square_mm},
                             {"marker_mm", spec->marker_mm},
                             {"dictionary", spec->dictionary},
                             {"origin_x_mm", placement.origin_x_mm},
                             {"origin_y_mm", placement.origin_y_mm}}},
                           {"cameras", nlohmann::json::array()}};
  bool unreadable = false;
  bool failed = false;
  for (const auto& [name, path] : cameras) {
    nlohmann::json entry = {{"camera", name}, {"image", path}};
    cv::Mat image;
    try {
      image = cv::imread(path, cv::IMREAD_COLOR);
    } catch (const cv::Exception& e) {
      image.release();
    }
    if (image.empty()) {
      unreadable = true;
      entry["error"] = "cannot read image " + path + " (missing, or not PNG/JPEG/WebP/...)";
      std::cerr << prefix << name << ": " << entry["error"].get<std::string>() << "\n";
      report["cameras"].push_back(entry);
      continue;
    }
    const auto found = intrinsics.find(name);
    const std::optional<session::CameraIntrinsics> camera_intrinsics =
        found == intrinsics.end() ? std::nullopt
                                  : std::optional<session::CameraIntrinsics>(found->second);
    Result<vision::FloorCalibration> calibration = calibrator->Calibrate(image, camera_intrinsics);
    if (!calibration.ok()) {
      if (calibration.status().code() == StatusCode::kInvalidArgument) {
        unreadable = true;  // an image the calibrator cannot use (e.g. 16-bit)
      } else {
        failed = true;
      }
      entry["error"] = calibration.status().ToString();
      std::cerr << prefix << name << " (" << path << "): " << calibration.status().ToString()
                << "\n";
      report["cameras"].push_back(entry);
      continue;
    }
    const std::array<double, 9> h = calibration->RowMajor();
    entry["floor_homography"] = h;
    entry["markers"] = calibration->markers;
    entry["corners"] = calibration->corners;
    entry["inliers"] = calibration->inliers;
    entry["rms_error_mm"] = calibration->rms_error_mm;
    entry["max_error_mm"] = calibration->max_error_mm;
    entry["undistorted"] = calibration->undistorted;
    report["cameras"].push_back(entry);
    if (!options.json) {
      std::cout << name << " (" << path << "): " << calibration->markers << " markers, "
                << calibration->corners << " corners, " << calibration->inliers
                << " used; floor error RMS " << Fixed(calibration->rms_error_mm, 2) << " mm, max "
                << Fixed(calibration->max_error_mm, 2) << " mm"
                << (calibration->undistorted ? " (undistorted pixels)" : "") << "\n"
                << "  " << HomographyYaml(h) << "\n";
    }
  }
  if (options.json) std::cout << report.dump(2) << "\n";

  if (unreadable) return kExitUnavailable;
  if (failed) return kExitProblemFound;
  if (!options.out.empty()) {
    std::ofstream file(options.out, std::ios::trunc);
    file << report.dump(2) << "\n";
    file.close();
    if (!file) {
      std::cerr << prefix << "cannot write " << options.out << "\n";
      return kExitUnavailable;
    }
    if (!options.json) std::cout << "wrote " << options.out << "\n";
  }
  return kExitOk;
}

}  // namespace

void RegisterCalibrateCommands(CLI::App& app, CommandAction& action) {
  auto options = std::make_shared<CalibrateCamerasOptions>();
  CLI::App* command = app.add_subcommand(
      "calibrate-cameras",
      "Calibrate basket cameras to the basket floor from an image of a ChArUco board lying flat "
      "on it (printout's top edge towards the back of the basket), or write the board to print "
      "(--print-board). Prints each camera's floor homography (image px -> floor mm) and its "
      "error. Exit 1 when a camera's image gives no calibration, 3 when an image cannot be read.");
  command->add_option("--image", options->images, "CAMERA=PATH, one per camera");
  command
      ->add_option("--board-origin-mm", options->origin_mm,
                   "floor position (mm; origin at the floor's front-left corner, x right, y "
                   "back) of the bottom-left corner of the board's squares")
      ->expected(2);
  command->add_option("--intrinsics", options->intrinsics,
                      "CAMERA=fx,fy,cx,cy[,k1,k2,p1,p2[,k3...]] (px): undistort that camera's "
                      "corners first; the homography then maps undistorted pixels");
  command->add_option("--out", options->out,
                      "write the calibration of every camera as one JSON file (only when all "
                      "calibrated)");
  command->add_flag("--json", options->json, "print the calibration as a JSON object");
  command->add_option("--print-board", options->print_board,
                      "write the board as a PNG to print instead of calibrating");
  command->add_option("--dpi", options->dpi, "print resolution for --print-board")
      ->capture_default_str();
  command->add_option("--margin-mm", options->margin_mm, "white margin for --print-board")
      ->capture_default_str();
  command->add_option("--squares", options->squares, "board squares across and up")
      ->expected(2)
      ->capture_default_str();
  command->add_option("--square-mm", options->square_mm, "side of a printed square, mm")
      ->capture_default_str();
  command->add_option("--marker-mm", options->marker_mm, "side of a printed marker, mm")
      ->capture_default_str();
  command->add_option("--dictionary", options->dictionary, "ArUco dictionary of the markers")
      ->capture_default_str();
  command->callback(
      [options, &action] { action.run = [options] { return RunCalibrateCameras(*options); }; });
}

}  // namespace cartsense::app
