#include "sim/barcode_renderer.h"

#include <algorithm>
#include <cmath>
#include <numbers>

#include <ZXing/BarcodeFormat.h>
#include <ZXing/BitMatrix.h>
#include <ZXing/MultiFormatWriter.h>
#include <opencv2/imgproc.hpp>

namespace cartsense::sim {
namespace {

constexpr double kDegToRad = std::numbers::pi / 180;

double Uniform(std::mt19937_64& rng, double lo, double hi) {
  return lo + (hi - lo) * std::uniform_real_distribution<double>(0, 1)(rng);
}

}  // namespace

ScanView DrawScanView(std::mt19937_64& rng, const HardCaseShares& shares) {
  ScanView view;
  view.hard_rotation = Uniform(rng, 0, 1) < shares.rotation;
  view.hard_small_modules = Uniform(rng, 0, 1) < shares.small_modules;
  view.hard_motion_blur = Uniform(rng, 0, 1) < shares.motion_blur;
  const double sign = Uniform(rng, 0, 1) < 0.5 ? -1 : 1;
  view.rotation_deg = sign * (view.hard_rotation ? Uniform(rng, 32, 75) : Uniform(rng, 0, 15));
  view.module_px = view.hard_small_modules ? Uniform(rng, 1.2, 1.9) : Uniform(rng, 2.5, 4.0);
  view.tilt_deg = Uniform(rng, -20, 20);
  view.defocus_sigma_px = Uniform(rng, 0.2, 0.8);
  view.motion_blur_px = view.hard_motion_blur ? Uniform(rng, 4, 12) : Uniform(rng, 0, 1.5);
  view.motion_angle_deg = Uniform(rng, -20, 20);
  view.light = Uniform(rng, 0.8, 1.15);
  return view;
}

ScanView DrawBucketView(std::mt19937_64& rng, const ScanViewBucket& bucket) {
  ScanView view;
  const double sign = Uniform(rng, 0, 1) < 0.5 ? -1 : 1;
  view.rotation_deg = sign * Uniform(rng, bucket.rotation_min_deg, bucket.rotation_max_deg);
  view.module_px = Uniform(rng, bucket.module_min_px, bucket.module_max_px);
  view.tilt_deg = Uniform(rng, -20, 20);
  view.defocus_sigma_px = bucket.defocus_sigma_px;
  view.motion_blur_px = bucket.motion_blur_px;
  view.motion_angle_deg = Uniform(rng, -20, 20);
  view.light = Uniform(rng, 0.8, 1.15);
  view.glare = bucket.glare;
  view.hard_rotation = std::abs(view.rotation_deg) > 30;
  view.hard_small_modules = view.module_px < 2;
  view.hard_motion_blur = view.motion_blur_px >= 4;
  return view;
}

BarcodeFormat PrintedFormat(const std::string& gtin) {
  if (gtin.size() == 8) return BarcodeFormat::kEan8;
  if (gtin.size() == 13 && gtin.front() == '0') return BarcodeFormat::kUpcA;
  return BarcodeFormat::kEan13;
}

Result<cv::Mat> RenderBarcodeLabel(const std::string& gtin) {
  if (gtin.size() != 8 && gtin.size() != 13) {
    return InvalidArgumentError("gtin '" + gtin + "': expected 8 or 13 digits");
  }
  ZXing::BarcodeFormat format = ZXing::BarcodeFormat::EAN13;
  std::string contents = gtin;
  switch (PrintedFormat(gtin)) {
    case BarcodeFormat::kEan8:
      format = ZXing::BarcodeFormat::EAN8;
      break;
    case BarcodeFormat::kUpcA:
      format = ZXing::BarcodeFormat::UPCA;
      contents = gtin.substr(1);
      break;
    default:
      break;
  }
  ZXing::BitMatrix modules;
  try {
    // Width 0 and margin 0: one pixel per module, no quiet zone; we add our own.
    modules = ZXing::MultiFormatWriter(format).setMargin(0).encode(contents, 0, 1);
  } catch (const std::exception& e) {
    return InvalidArgumentError("gtin '" + gtin + "': zxing cannot encode it: " + e.what());
  }
  const int module_count = modules.width();
  const int quiet = 11;
  const int bar_height = static_cast<int>(0.6 * module_count);
  const int margin_y = 8;
  cv::Mat label(bar_height + 2 * margin_y, (module_count + 2 * quiet), CV_8U, cv::Scalar(250));
  for (int x = 0; x < module_count; ++x) {
    if (modules.get(x, 0)) {
      label(cv::Rect(quiet + x, margin_y, 1, bar_height)).setTo(cv::Scalar(15));
    }
  }
  cv::Mat scaled;
  cv::resize(label, scaled, cv::Size(), kLabelModulePx, kLabelModulePx, cv::INTER_NEAREST);
  return scaled;
}

ScannerRenderer::ScannerRenderer(int width_px, int height_px, uint64_t seed) {
  background_ = cv::Mat(height_px, width_px, CV_8U);
  const double phase = static_cast<double>(seed % 97) * 0.1;
  for (int y = 0; y < height_px; ++y) {
    auto* row = background_.ptr<uint8_t>(y);
    for (int x = 0; x < width_px; ++x) {
      row[x] =
          cv::saturate_cast<uint8_t>(95 + 40 * std::sin(0.006 * x + phase) + 25.0 * y / height_px);
    }
  }
  // The cart's handle crossing the bottom of the view.
  cv::rectangle(background_, cv::Rect(0, height_px * 5 / 6, width_px, height_px / 12),
                cv::Scalar(45), cv::FILLED);
  cv::GaussianBlur(background_, background_, cv::Size(0, 0), 2.0);
}

cv::Mat ScannerRenderer::RenderEmpty(double light) const {
  cv::Mat frame;
  background_.convertTo(frame, -1, light);
  return frame;
}

cv::Mat ScannerRenderer::RenderFrame(const Sprite* sprite, const cv::Mat& label,
                                     const ScanView& view, double progress) const {
  // The package face: the product photo with the label stuck in its middle, at the label's
  // resolution (kLabelModulePx per module).
  const int face_px = static_cast<int>(label.cols / 0.62);
  cv::Mat face;
  if (sprite != nullptr) {
    cv::Mat grey;
    cv::cvtColor(sprite->bgr, grey, cv::COLOR_BGR2GRAY);
    cv::resize(grey, face, cv::Size(face_px, face_px), 0, 0, cv::INTER_LINEAR);
  } else {
    face = cv::Mat(face_px, face_px, CV_8U, cv::Scalar(170));
  }
  const cv::Rect label_at((face_px - label.cols) / 2, (face_px - label.rows) / 2, label.cols,
                          label.rows);
  label.copyTo(face(label_at));
  cv::Mat face_alpha;
  if (sprite != nullptr) {
    cv::resize(sprite->alpha, face_alpha, face.size(), 0, 0, cv::INTER_LINEAR);
    face_alpha(label_at).setTo(cv::Scalar(255));
  } else {
    face_alpha = cv::Mat(face.size(), CV_8U, cv::Scalar(255));
  }
  // Anti-alias before shrinking to the drawn module size.
  const double scale = view.module_px / kLabelModulePx;
  if (scale < 1) cv::GaussianBlur(face, face, cv::Size(0, 0), 0.45 / scale);

  // Face pixels -> image: centre, scale, tilt (perspective), rotate, move across the view.
  const double c = face_px / 2.0;
  const double tilt = view.tilt_deg * kDegToRad;
  const double rot = view.rotation_deg * kDegToRad;
  const double focal = 900;  // pixels, for the perspective of the tilt
  const cv::Point2d centre(background_.cols / 2.0 + progress * 0.75 * background_.cols,
                           background_.rows * 0.45);
  const auto to_image = [&](double u, double v) {
    const double x = (u - c) * scale;
    const double y = (v - c) * scale;
    // Tilt about the vertical axis: x shrinks and gains depth.
    const double xz = x * std::cos(tilt);
    const double z = focal + x * std::sin(tilt);
    const double px = xz * focal / z;
    const double py = y * focal / z;
    return cv::Point2f(static_cast<float>(centre.x + px * std::cos(rot) - py * std::sin(rot)),
                       static_cast<float>(centre.y + px * std::sin(rot) + py * std::cos(rot)));
  };
  const double f = face_px;
  const std::vector<cv::Point2f> from = {{0, 0},
                                         {static_cast<float>(f), 0},
                                         {static_cast<float>(f), static_cast<float>(f)},
                                         {0, static_cast<float>(f)}};
  const std::vector<cv::Point2f> to = {to_image(0, 0), to_image(f, 0), to_image(f, f),
                                       to_image(0, f)};
  const cv::Mat h = cv::getPerspectiveTransform(from, to);
  cv::Mat frame = background_.clone();
  cv::Mat warped;
  cv::Mat warped_alpha;
  cv::warpPerspective(face, warped, h, frame.size(), cv::INTER_LINEAR, cv::BORDER_REPLICATE);
  cv::warpPerspective(face_alpha, warped_alpha, h, frame.size(), cv::INTER_LINEAR,
                      cv::BORDER_CONSTANT, cv::Scalar(0));
  for (int y = 0; y < frame.rows; ++y) {
    auto* out = frame.ptr<uint8_t>(y);
    const auto* in = warped.ptr<uint8_t>(y);
    const auto* a = warped_alpha.ptr<uint8_t>(y);
    for (int x = 0; x < frame.cols; ++x) {
      out[x] = static_cast<uint8_t>((in[x] * a[x] + out[x] * (255 - a[x]) + 127) / 255);
    }
  }
  if (view.glare > 0) {
    // A soft highlight off-centre on the label (where a glossy pack reflects the store lights),
    // added before the optics blur it.
    const cv::Point2f spot = to_image(c + 0.18 * label.cols, c - 0.1 * label.rows);
    const double sigma = 0.18 * label.cols * scale;
    for (int y = 0; y < frame.rows; ++y) {
      auto* row = frame.ptr<uint8_t>(y);
      for (int x = 0; x < frame.cols; ++x) {
        const double dx = x - static_cast<double>(spot.x);
        const double dy = y - static_cast<double>(spot.y);
        const double d2 = dx * dx + dy * dy;
        if (d2 > 9 * sigma * sigma) continue;
        const double gain = view.glare * std::exp(-d2 / (2 * sigma * sigma));
        row[x] = cv::saturate_cast<uint8_t>(row[x] + gain * (255 - row[x]));
      }
    }
  }
  if (view.defocus_sigma_px > 0.05) {
    cv::GaussianBlur(frame, frame, cv::Size(0, 0), view.defocus_sigma_px);
  }
  if (view.motion_blur_px >= 1) {
    const double length = view.motion_blur_px;
    const int size = std::max(3, static_cast<int>(std::ceil(length)) | 1);
    cv::Mat kernel(size, size, CV_32F, cv::Scalar(0));
    const cv::Point2d mid((size - 1) / 2.0, (size - 1) / 2.0);
    const cv::Point2d half(0.5 * length * std::cos(view.motion_angle_deg * kDegToRad),
                           0.5 * length * std::sin(view.motion_angle_deg * kDegToRad));
    cv::line(kernel, mid - half, mid + half, cv::Scalar(1.0), 1, cv::LINE_AA);
    kernel /= cv::sum(kernel)[0];
    cv::filter2D(frame, frame, -1, kernel);
  }
  if (view.light != 1.0) frame.convertTo(frame, -1, view.light);
  return frame;
}

}  // namespace cartsense::sim
