// Reading and validating session folders (format in session_format.h), and turning their
// streams into PacketSources for a ReplayTimeline.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "core/status.h"
#include "core/timeline.h"
#include "session/session_format.h"

namespace cartsense::session {

// Stream names a replay feeds to the pipeline.
inline constexpr std::string_view kLoadCellStream = "loadcell";
inline constexpr std::string_view kImuStream = "imu";
inline constexpr std::string_view kScannerStream = "scanner";
inline constexpr std::string_view kTouchscreenStream = "touchscreen";
// Camera streams are named "camera/<name>".
std::string CameraStreamName(const CameraInfo& camera);

struct OpenOptions {
  // Check every file against the manifest's sha256 and size, and refuse files the manifest does
  // not list. Off only for tools that inspect a damaged session.
  bool verify_files = true;
};

struct StreamSummary {
  std::string stream;
  int64_t packets = 0;
  Timestamp first;
  Timestamp last;
};

class SessionReader {
 public:
  // Reads and checks the manifest, then (by default) every file's size and sha256. Errors name
  // the file: "SESSION/cameras/left/000012.jpg: sha256 mismatch (altered or damaged)".
  static Result<SessionReader> Open(const std::string& dir, OpenOptions options = {});

  const SessionManifest& manifest() const { return manifest_; }
  const std::string& dir() const { return dir_; }

  // Parses every stream file and frame list in full: headers, every line, timestamps that do not
  // decrease, frame files that exist and are listed. Errors name file and line.
  Result<std::vector<StreamSummary>> Validate() const;

  // Sources over each stream, in file order. Packets: LoadCellSample, ImuSample, ScannerRead,
  // ShopperAction, CameraFrame (decoded from JPEG when read). Errors carry file and line.
  Result<std::unique_ptr<PacketSource>> LoadCellSource() const;
  Result<std::unique_ptr<PacketSource>> ImuSource() const;
  Result<std::unique_ptr<PacketSource>> ScannerSource() const;
  Result<std::unique_ptr<PacketSource>> TouchscreenSource() const;
  // decode_images false gives frames with an empty image (for order checks and summaries).
  Result<std::unique_ptr<PacketSource>> CameraSource(int camera_id,
                                                     bool decode_images = true) const;

  // Adds every stream the session has to `timeline`, in a fixed order (load cells, IMU,
  // cameras by id, scanner, touchscreen), so the same session always replays the same way.
  Status AddAllSources(ReplayTimeline& timeline, bool decode_images = true) const;

  // truth.json as text (NotFound when the session has none).
  Result<std::string> ReadTruth() const;

  std::string PathOf(std::string_view relative) const;

 private:
  SessionReader(std::string dir, SessionManifest manifest)
      : dir_(std::move(dir)), manifest_(std::move(manifest)) {}

  std::string dir_;
  SessionManifest manifest_;
};

}  // namespace cartsense::session
