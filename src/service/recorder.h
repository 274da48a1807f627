// The recorder: writes live sensor streams (cameras through OpenCV/V4L2, load cells and IMU
// through the serial line protocol) into a session folder of format v1, so that what a real
// cart sensed can be replayed, labelled and measured like a simulated session.
//
// Configuration (cart.yaml; keys carry units):
//
//   cart_id: cart-017
//   basket: {width_mm: 500, depth_mm: 350, height_mm: 250}
//   load_cells:
//     device: /dev/ttyUSB0          # the ADC bridge (a pseudo-terminal in tests)
//     baud: 115200
//     sample_rate_hz: 80
//     calibration_file: scale.yaml  # from `cartsense calibrate-scale`; relative to cart.yaml
//   cameras:                        # optional
//     - {id: 0, name: basket_left, role: basket, device: /dev/video0, width_px: 640,
//        height_px: 480, frame_rate_hz: 15, fx_px: 520, fy_px: 520, cx_px: 320, cy_px: 240,
//        floor_homography: [h11, h12, h13, h21, h22, h23, h31, h32, h33]}
//   catalogue_version: grocery-store-81
//
// Clocks: the bridge stamps samples in microseconds since it started; the recorder maps that
// clock onto the host's monotonic clock at the first sample (offset = host time - bridge time)
// and keeps the bridge's own spacing, so load-cell timing is as exact as the ADC's. Camera frames
// are stamped with the host's monotonic clock when read.
#pragma once

#include <atomic>
#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "core/config.h"
#include "core/status.h"
#include "session/session_format.h"
#include "session/session_writer.h"

namespace cartsense::sensors {
class SerialPort;
class CameraCapture;
}  // namespace cartsense::sensors

namespace cartsense::service {

struct RecorderCameraConfig {
  session::CameraInfo info;
  std::string device;
};

struct RecorderConfig {
  std::string cart_id;
  double basket_width_mm = 0, basket_depth_mm = 0, basket_height_mm = 0;
  std::string serial_device;
  int baud = 115200;
  double sample_rate_hz = 80;
  std::string calibration_file;  // resolved against the config file's folder
  std::vector<RecorderCameraConfig> cameras;
  std::string catalogue_version = "unknown";
};

Result<RecorderConfig> LoadRecorderConfig(const std::string& path);
Result<RecorderConfig> ParseRecorderConfig(const Config& config, const std::string& base_dir);

struct RecordingSummary {
  int64_t load_cell_samples = 0;
  int64_t imu_samples = 0;
  std::map<std::string, int64_t> frames;  // per camera name
  int64_t bad_serial_lines = 0;           // malformed or out of order: counted, skipped
  std::vector<std::string> problems;      // first few bad lines and stream errors
  session::SessionManifest manifest;
};

class Recorder {
 public:
  // Opens every device and starts recording into `out_dir` (which must not exist yet).
  static Result<std::unique_ptr<Recorder>> Start(const RecorderConfig& config,
                                                 const std::string& out_dir);
  ~Recorder();
  Recorder(const Recorder&) = delete;
  Recorder& operator=(const Recorder&) = delete;

  // Asks every reader to stop (safe from a signal-watching thread).
  void RequestStop() { stop_.store(true); }
  bool running() const;
  // Waits for the readers, then finishes the session (manifest last). A reader whose device
  // ended (a video file, an unplugged camera) stops on its own; the load-cell reader ending
  // ends the recording.
  Result<RecordingSummary> Finish();

 private:
  Recorder() = default;
  void SerialLoop(const std::shared_ptr<sensors::SerialPort>& port);
  void CameraLoop(std::size_t index, const std::shared_ptr<sensors::CameraCapture>& capture);
  void Problem(const std::string& text);

  RecorderConfig config_;
  std::unique_ptr<session::SessionWriter> writer_;
  std::mutex writer_mutex_;  // SessionWriter is not thread-safe
  std::atomic<bool> stop_{false};
  std::atomic<int> readers_running_{0};
  std::vector<std::thread> threads_;
  RecordingSummary summary_;
  std::mutex summary_mutex_;
};

}  // namespace cartsense::service
