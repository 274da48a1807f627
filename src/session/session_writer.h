// Writes a session folder (format in session_format.h). Used by the recorder, the simulator
// and tests. Streams are appended as they come; Finish() flushes and syncs every file, then
// writes manifest.json with every file's sha256 atomically (temporary file, fsync, rename), so
// a crash leaves either a complete session or a folder without a manifest, never a session that
// validates but lacks data.
#pragma once

#include <fstream>
#include <map>
#include <memory>
#include <string>
#include <string_view>

#include <opencv2/core/mat.hpp>

#include "core/status.h"
#include "session/session_format.h"

namespace cartsense::session {

struct WriterOptions {
  int jpeg_quality = 85;  // 0..100, for AddFrame
};

class SessionWriter {
 public:
  // `header` describes the session: id, origin, basket, load cells, cameras, which optional
  // streams it will hold (imu_rate_hz, has_scanner_reads, has_touchscreen, has_truth),
  // catalogue version. Its files, start and end are filled in by Finish(). `dir` must not exist
  // or be an empty folder.
  static Result<std::unique_ptr<SessionWriter>> Create(const std::string& dir,
                                                       SessionManifest header,
                                                       WriterOptions options = {});
  ~SessionWriter();
  SessionWriter(const SessionWriter&) = delete;
  SessionWriter& operator=(const SessionWriter&) = delete;

  // Each stream's timestamps must not decrease; violations are errors, nothing is written.
  Status AddLoadCell(const LoadCellSample& sample);
  Status AddImu(const ImuSample& sample);
  Status AddScannerRead(const ScannerRead& read);
  Status AddTouchscreen(const ShopperAction& action);
  // Encodes `image` (8-bit BGR or grey) as JPEG.
  Status AddFrame(int camera_id, Timestamp t, int64_t clip, const cv::Mat& image);
  // Stores already-encoded JPEG bytes as they are (the recorder's MJPEG cameras).
  Status AddFrameJpeg(int camera_id, Timestamp t, int64_t clip, std::string_view jpeg);
  // Ground truth (JSON text; checked to be a JSON object).
  Status SetTruth(std::string_view json_text);

  // Completes the session. Afterwards the writer accepts nothing more.
  Result<SessionManifest> Finish();

  const std::string& dir() const { return dir_; }

 private:
  struct Stream {
    std::ofstream out;
    std::string path;  // relative
    Timestamp last = Timestamp::Min();
    int64_t rows = 0;
  };
  struct CameraState {
    Stream frames;
    int64_t next_index = 0;
  };
  SessionWriter(std::string dir, SessionManifest header, WriterOptions options);
  Status OpenStream(Stream& stream, const std::string& relative, std::string_view header);
  Status Append(Stream& stream, Timestamp t, const std::string& line);
  Status WriteFileAtomically(const std::string& relative, std::string_view bytes);
  std::string PathOfRelative(const std::string& relative) const;

  std::string dir_;
  SessionManifest manifest_;
  WriterOptions options_;
  Stream loadcell_;
  Stream imu_;
  Stream scanner_;
  Stream touchscreen_;
  std::map<int, CameraState> cameras_;
  bool truth_written_ = false;
  bool finished_ = false;
  Timestamp first_ = Timestamp::Max();
  Timestamp last_ = Timestamp::Min();
};

}  // namespace cartsense::session
