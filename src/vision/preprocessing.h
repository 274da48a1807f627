// The recognizer's preprocessing, read from the bundle's preprocessing.json (written by
// training/cartsense_training/preprocessing.py; both sides follow the same OpenCV rule):
//   1. a decoded 8-bit BGR image,
//   2. shorter side resized to `input_size` (aspect kept, sizes rounded to nearest), INTER_AREA,
//   3. centre crop input_size x input_size at ((w' - size) / 2, (h' - size) / 2),
//   4. BGR -> RGB when color_order is "RGB", float32 (pixel - mean) / std per channel,
//   5. NCHW.
//
//   {"input_size": 160, "interpolation": "area", "color_order": "RGB",
//    "mean": [127, 127, 127], "std": [128, 128, 128], "pixel_range": "0-255",
//    "layout": "NCHW", "dtype": "float32", "input_name": "image"}
#pragma once

#include <array>
#include <string>
#include <string_view>
#include <vector>

#include <opencv2/core.hpp>

#include "core/status.h"
#include "vision/inference_backend.h"

namespace cartsense {

struct PreprocessingSpec {
  int input_size_px = 224;
  int interpolation = 0;  // cv::InterpolationFlags: INTER_AREA or INTER_LINEAR
  bool swap_to_rgb = true;
  std::array<float, 3> mean{127.0F, 127.0F, 127.0F};  // in the network's channel order
  std::array<float, 3> std{128.0F, 128.0F, 128.0F};
  std::string input_name = "image";
};

// Parses and validates preprocessing.json text; errors name `source` and the key.
Result<PreprocessingSpec> ParsePreprocessing(std::string_view json_text, const std::string& source);
Result<PreprocessingSpec> LoadPreprocessing(const std::string& path);

// Steps 2-3: uint8 BGR in, uint8 BGR input_size x input_size out (a view into a new image).
Result<cv::Mat> ResizeAndCrop(const cv::Mat& image_bgr, const PreprocessingSpec& spec);

// Steps 2-5 for a batch of decoded BGR crops (any sizes): {n, 3, size, size}.
Result<Tensor> PreprocessBatch(const std::vector<cv::Mat>& images_bgr,
                               const PreprocessingSpec& spec);

// Steps 4-5 for one input_size x input_size uint8 BGR image into `chw` (3 * size * size floats),
// through a per-channel table of the 256 values, so each output is computed exactly as
// float32 (pixel - mean) / std.
void NormalizeToChw(const cv::Mat& crop_bgr, const PreprocessingSpec& spec, float* chw);

}  // namespace cartsense
