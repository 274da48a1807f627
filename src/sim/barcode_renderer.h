// The scanner camera: a product held up to it with its barcode (EAN-13, or UPC-A for GTINs that
// start with 0, EAN-8 for 8-digit ones) rendered by zxing-cpp's writer, seen at a drawn angle,
// distance and blur. A documented share of scans are hard cases: rotation past 30 degrees, under
// 2 px per module, or motion blur (see docs/simulator.md).
//
//   ScanView view = DrawScanView(rng, HardCaseShares{});
//   cv::Mat label = *RenderBarcodeLabel("7310865004703");
//   ScannerRenderer scanner(640, 480, seed);
//   cv::Mat grey = scanner.RenderFrame(&sprite, label, view, /*progress=*/0.0);
#pragma once

#include <cstdint>
#include <random>
#include <string>

#include <opencv2/core.hpp>

#include "core/packets.h"
#include "core/status.h"
#include "sim/product_images.h"

namespace cartsense::sim {

// Share of scans drawn as each hard case (independently; a scan can be hard in several ways).
struct HardCaseShares {
  double rotation = 0.10;       // in-plane rotation of 32-75 degrees
  double small_modules = 0.10;  // 1.2-1.9 px per module
  double motion_blur = 0.10;    // 4-12 px of motion blur
};

struct ScanView {
  double module_px = 3;     // width of one module in the image
  double rotation_deg = 0;  // in-plane
  double tilt_deg = 0;      // out of plane, about the barcode's vertical axis
  double defocus_sigma_px = 0.5;
  double motion_blur_px = 0;
  double motion_angle_deg = 0;
  double light = 1.0;  // exposure
  // Specular glare: a highlight this bright (0..1 of full white) over part of the label, as off
  // a glossy pack. DrawScanView never draws it (sessions stay as they were); measurement
  // buckets do.
  double glare = 0;
  bool hard_rotation = false;
  bool hard_small_modules = false;
  bool hard_motion_blur = false;
  bool hard() const { return hard_rotation || hard_small_modules || hard_motion_blur; }
};

ScanView DrawScanView(std::mt19937_64& rng, const HardCaseShares& shares);

// A family of scan views for measuring barcode readers case by case (docs/benchmarks.md): each
// parameter drawn uniformly from its range, the rotation's sign at random.
struct ScanViewBucket {
  std::string name;
  double rotation_min_deg = 0, rotation_max_deg = 0;
  double module_min_px = 3, module_max_px = 3;
  double defocus_sigma_px = 0.5;
  double motion_blur_px = 0;
  double glare = 0;
};
ScanView DrawBucketView(std::mt19937_64& rng, const ScanViewBucket& bucket);

// The barcode format a GTIN is printed as.
BarcodeFormat PrintedFormat(const std::string& gtin);

// A white label with the barcode at kLabelModulePx per module, quiet zones included; 8-bit grey.
inline constexpr int kLabelModulePx = 4;
Result<cv::Mat> RenderBarcodeLabel(const std::string& gtin);

class ScannerRenderer {
 public:
  ScannerRenderer(int width_px, int height_px, uint64_t seed);
  // The product (sprite, may be null) with `label` on its face, `progress` from -1 (entering on
  // the left) through 0 (barcode at the centre) to 1 (leaving on the right). 8-bit grey.
  cv::Mat RenderFrame(const Sprite* sprite, const cv::Mat& label, const ScanView& view,
                      double progress) const;
  cv::Mat RenderEmpty(double light) const;

 private:
  cv::Mat background_;
};

}  // namespace cartsense::sim
