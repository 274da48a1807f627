// A camera read through OpenCV's videoio: a V4L2 device on the cart (/dev/videoN), or a video
// file standing in for one (tests, bench rigs). A file is paced to its nominal frame rate so it
// behaves like a live camera.
#pragma once

#include <memory>
#include <string>

#include <opencv2/core/mat.hpp>

#include "core/status.h"
#include "core/time.h"

namespace cv {
class VideoCapture;
}

namespace cartsense::sensors {

struct CameraCaptureParams {
  std::string device;  // "/dev/video0" or a video file path
  int width_px = 640;  // requested from a device; a file keeps its own size
  int height_px = 480;
  double fps = 15;
};

class CameraCapture {
 public:
  static Result<std::unique_ptr<CameraCapture>> Open(const CameraCaptureParams& params);
  ~CameraCapture();
  CameraCapture(const CameraCapture&) = delete;
  CameraCapture& operator=(const CameraCapture&) = delete;

  struct Frame {
    Timestamp t;  // monotonic clock, when the frame was taken
    cv::Mat image;
  };
  // The next frame. OutOfRange at the end of a file; Unavailable when a device stops delivering.
  Result<Frame> Read();

  bool is_file() const { return is_file_; }
  const CameraCaptureParams& params() const { return params_; }

 private:
  explicit CameraCapture(CameraCaptureParams params);
  CameraCaptureParams params_;
  std::unique_ptr<cv::VideoCapture> capture_;
  bool is_file_ = false;
  int64_t frames_read_ = 0;
  Timestamp file_start_;
};

}  // namespace cartsense::sensors
