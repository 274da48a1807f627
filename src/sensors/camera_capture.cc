#include "sensors/camera_capture.h"

#include <filesystem>
#include <thread>

#include <opencv2/videoio.hpp>

namespace cartsense::sensors {

CameraCapture::CameraCapture(CameraCaptureParams params)
    : params_(std::move(params)), capture_(std::make_unique<cv::VideoCapture>()) {}

CameraCapture::~CameraCapture() = default;

Result<std::unique_ptr<CameraCapture>> CameraCapture::Open(const CameraCaptureParams& params) {
  if (params.device.empty()) return InvalidArgumentError("camera device is empty");
  if (params.fps <= 0 || params.fps > 240) {
    return InvalidArgumentError("camera fps must be in (0, 240]");
  }
  auto camera = std::unique_ptr<CameraCapture>(new CameraCapture(params));
  std::error_code error;
  const bool is_device = params.device.rfind("/dev/video", 0) == 0;
  if (!is_device && !std::filesystem::is_regular_file(params.device, error)) {
    return NotFoundError(params.device + ": no such video file or /dev/video device");
  }
  camera->is_file_ = !is_device;
  const bool opened = is_device ? camera->capture_->open(params.device, cv::CAP_V4L2)
                                : camera->capture_->open(params.device, cv::CAP_ANY);
  if (!opened || !camera->capture_->isOpened()) {
    return UnavailableError(params.device + ": OpenCV cannot open it as a camera or video");
  }
  if (is_device) {
    camera->capture_->set(cv::CAP_PROP_FOURCC, cv::VideoWriter::fourcc('M', 'J', 'P', 'G'));
    camera->capture_->set(cv::CAP_PROP_FRAME_WIDTH, params.width_px);
    camera->capture_->set(cv::CAP_PROP_FRAME_HEIGHT, params.height_px);
    camera->capture_->set(cv::CAP_PROP_FPS, params.fps);
  }
  camera->file_start_ = MonotonicClock().Now();
  return camera;
}

Result<CameraCapture::Frame> CameraCapture::Read() {
  Frame frame;
  if (is_file_) {
    // Pace the file like a live camera: frame k is due at start + k / fps.
    const Timestamp due =
        file_start_ + Duration::FromSeconds(static_cast<double>(frames_read_) / params_.fps);
    MonotonicClock().SleepUntil(due);
  }
  if (!capture_->read(frame.image) || frame.image.empty()) {
    if (is_file_) return OutOfRangeError(params_.device + ": end of video file");
    return UnavailableError(params_.device + ": the camera stopped delivering frames");
  }
  frame.t = MonotonicClock().Now();
  ++frames_read_;
  return frame;
}

}  // namespace cartsense::sensors
