// Session format v1: one folder per shopping session, recorded on a cart or simulated. Documented
// in docs/session-format.md; this header is its single definition in C++.
//
//   SESSION/
//     manifest.json              what the session holds, cart geometry, cameras, load cells,
//                                catalogue version, and the sha256 of every other file
//     loadcell.csv               t_ns,c0,c1,c2,c3,temperature_c    (raw ADC counts)
//     imu.csv                    t_ns,ax_mps2,ay_mps2,az_mps2       (optional)
//     scanner.csv                t_ns,camera_id,format,gtin         (decoded reads, optional)
//     touchscreen.csv            t_ns,kind,prompt_id,product_id,answer (optional)
//     cameras/<name>/frames.csv  t_ns,frame_index,clip,file         (one row per frame)
//     cameras/<name>/<file>.jpg  the frames (JPEG sequence)
//     truth.json                 ground truth for simulated or labelled sessions (optional)
//
// The manifest is written last (atomically), so a session without one was never finished.
#pragma once

#include <array>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/packets.h"
#include "core/status.h"
#include "core/time.h"

namespace cartsense::session {

inline constexpr int kFormatVersion = 1;
inline constexpr std::string_view kFormatName = "cartsense-session";
inline constexpr std::string_view kManifestFile = "manifest.json";
inline constexpr std::string_view kLoadCellFile = "loadcell.csv";
inline constexpr std::string_view kImuFile = "imu.csv";
inline constexpr std::string_view kScannerFile = "scanner.csv";
inline constexpr std::string_view kTouchscreenFile = "touchscreen.csv";
inline constexpr std::string_view kTruthFile = "truth.json";
inline constexpr std::string_view kFramesFile = "frames.csv";

// Where a load cell sits under the basket floor and how its counts become grams:
// grams = (counts - offset_counts) * grams_per_count.
struct LoadCellInfo {
  std::string name;  // front_left, front_right, back_left, back_right
  double x_mm = 0;   // basket floor frame: origin at the front-left corner, x to the right,
  double y_mm = 0;   // y towards the back
  double offset_counts = 0;
  double grams_per_count = 1;
};

struct CameraIntrinsics {
  double fx_px = 0, fy_px = 0, cx_px = 0, cy_px = 0;
  std::vector<double> distortion;  // OpenCV order k1 k2 p1 p2 [k3 ...]; may be empty
};

enum class CameraRole { kBasket, kScanner };
enum class CaptureMode { kContinuous, kEventTriggered };

struct CameraInfo {
  int id = 0;
  std::string name;  // folder name under cameras/: [a-z0-9_]+
  CameraRole role = CameraRole::kBasket;
  int width_px = 0;
  int height_px = 0;
  double fps = 0;
  CaptureMode capture = CaptureMode::kContinuous;
  CameraIntrinsics intrinsics;
  // Row-major 3x3 homography from image pixels to the basket floor in mm; basket cameras only.
  std::optional<std::array<double, 9>> floor_homography;
};

struct ManifestFile {
  std::string path;  // relative to the session folder, '/'-separated
  std::string sha256;
  uint64_t bytes = 0;
};

struct SessionManifest {
  int format_version = kFormatVersion;
  std::string session_id;
  std::string origin;  // "recorded" or "simulated"
  std::string created_utc;
  Timestamp start;  // first timestamp of any stream
  Timestamp end;    // last timestamp of any stream
  double basket_width_mm = 0, basket_depth_mm = 0, basket_height_mm = 0;
  double load_cell_rate_hz = 0;
  std::vector<LoadCellInfo> load_cells;  // 3 or 4, in the order of the loadcell.csv columns
  bool has_temperature = false;
  std::optional<double> imu_rate_hz;  // present when imu.csv exists
  std::vector<CameraInfo> cameras;
  bool has_scanner_reads = false;
  bool has_touchscreen = false;
  bool has_truth = false;
  std::string catalogue_version;
  std::vector<ManifestFile> files;  // every file but the manifest
};

// Parses and checks a manifest. `source` names it in errors ("SESSION/manifest.json").
Result<SessionManifest> ParseManifest(std::string_view json_text, const std::string& source);
std::string ManifestToJson(const SessionManifest& manifest);

// One row of cameras/<name>/frames.csv.
struct FrameRecord {
  Timestamp t;
  int64_t frame_index = 0;
  int64_t clip = 0;  // event-triggered capture: frames of one clip share a number
  std::string file;  // relative to the camera folder
};

// Line parsers for the stream files. `line` has no line terminator. Errors say what is wrong
// with the line; callers add the file and line number.
Result<LoadCellSample> ParseLoadCellLine(std::string_view line, int cell_count);
Result<ImuSample> ParseImuLine(std::string_view line);
Result<FrameRecord> ParseFrameLine(std::string_view line);
Result<ScannerRead> ParseScannerLine(std::string_view line);
Result<ShopperAction> ParseTouchscreenLine(std::string_view line);

std::string FormatLoadCellLine(const LoadCellSample& sample);
std::string FormatImuLine(const ImuSample& sample);
std::string FormatFrameLine(const FrameRecord& frame);
std::string FormatScannerLine(const ScannerRead& read);
std::string FormatTouchscreenLine(const ShopperAction& action);

// The header line each stream file starts with.
std::string LoadCellHeader(int cell_count);
inline constexpr std::string_view kImuHeader = "t_ns,ax_mps2,ay_mps2,az_mps2";
inline constexpr std::string_view kFrameHeader = "t_ns,frame_index,clip,file";
inline constexpr std::string_view kScannerHeader = "t_ns,camera_id,format,gtin";
inline constexpr std::string_view kTouchscreenHeader = "t_ns,kind,prompt_id,product_id,answer";

std::string_view BarcodeFormatName(BarcodeFormat format);
Result<BarcodeFormat> ParseBarcodeFormat(std::string_view name);
std::string_view ShopperActionKindName(ShopperAction::Kind kind);
Result<ShopperAction::Kind> ParseShopperActionKind(std::string_view name);

}  // namespace cartsense::session
