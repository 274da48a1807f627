#include "vision/preprocessing.h"

#include <cmath>
#include <cstdint>
#include <fstream>
#include <sstream>

#include <nlohmann/json.hpp>
#include <opencv2/imgproc.hpp>

namespace cartsense {
namespace {

using Json = nlohmann::json;

Result<std::array<float, 3>> ReadTriple(const Json& root, const char* key,
                                        const std::string& source) {
  const auto found = root.find(key);
  if (found == root.end()) return std::array<float, 3>{};
  if (!found->is_array() || found->size() != 3) {
    return InvalidArgumentError(source + ": key '" + key + "': expected a list of 3 numbers");
  }
  std::array<float, 3> values{};
  for (std::size_t i = 0; i < 3; ++i) {
    if (!(*found)[i].is_number()) {
      return InvalidArgumentError(source + ": key '" + key + "': expected a list of 3 numbers");
    }
    values[i] = (*found)[i].get<float>();
    if (!std::isfinite(values[i])) {
      return InvalidArgumentError(source + ": key '" + key + "': values must be finite floats");
    }
  }
  return values;
}

// The string at `key`, or `fallback` when absent; an error when it is there but not a string
// (Json::value would throw on that).
Result<std::string> ReadString(const Json& root, const char* key, const std::string& fallback,
                               const std::string& source) {
  const auto found = root.find(key);
  if (found == root.end()) return fallback;
  if (!found->is_string()) {
    return InvalidArgumentError(source + ": key '" + key + "': expected a string, got " +
                                found->dump());
  }
  return found->get<std::string>();
}

Status CheckString(const Json& root, const char* key, std::string_view expected,
                   const std::string& source) {
  const auto found = root.find(key);
  if (found == root.end()) return Status::Ok();
  if (!found->is_string() || found->get<std::string>() != expected) {
    return InvalidArgumentError(source + ": key '" + key + "': only \"" + std::string(expected) +
                                "\" is supported, got " + found->dump());
  }
  return Status::Ok();
}

}  // namespace

Result<PreprocessingSpec> ParsePreprocessing(std::string_view json_text,
                                             const std::string& source) {
  Json root;
  try {
    root = Json::parse(json_text);
  } catch (const Json::exception& error) {  // parse_error, and out_of_range for numbers too big
    return InvalidArgumentError(source + ": not valid JSON: " + error.what());
  }
  if (!root.is_object()) return InvalidArgumentError(source + ": expected a JSON object");
  PreprocessingSpec spec;
  const auto size = root.find("input_size");
  if (size == root.end() || !size->is_number_integer() || size->get<int64_t>() < 8 ||
      size->get<int64_t>() > 4096) {
    return InvalidArgumentError(source + ": key 'input_size': expected an integer in 8..4096");
  }
  spec.input_size_px = size->get<int>();

  CS_ASSIGN_OR_RETURN(const std::string interpolation,
                      ReadString(root, "interpolation", "area", source));
  if (interpolation == "area") {
    spec.interpolation = cv::INTER_AREA;
  } else if (interpolation == "linear") {
    spec.interpolation = cv::INTER_LINEAR;
  } else {
    return InvalidArgumentError(source +
                                ": key 'interpolation': expected \"area\" or "
                                "\"linear\", got \"" +
                                interpolation + "\"");
  }
  CS_ASSIGN_OR_RETURN(const std::string color, ReadString(root, "color_order", "RGB", source));
  if (color != "RGB" && color != "BGR") {
    return InvalidArgumentError(source + ": key 'color_order': expected \"RGB\" or \"BGR\"");
  }
  spec.swap_to_rgb = color == "RGB";
  if (root.contains("mean")) {
    CS_ASSIGN_OR_RETURN(spec.mean, ReadTriple(root, "mean", source));
  }
  if (root.contains("std")) {
    CS_ASSIGN_OR_RETURN(spec.std, ReadTriple(root, "std", source));
  }
  for (const float value : spec.std) {
    if (!(value > 0.0F) || !std::isfinite(value)) {
      return InvalidArgumentError(source + ": key 'std': every value must be > 0");
    }
  }
  CS_RETURN_IF_ERROR(
      CheckString(root, "resize", "shorter_side_to_input_size_then_center_crop", source));
  CS_RETURN_IF_ERROR(CheckString(root, "pixel_range", "0-255", source));
  CS_RETURN_IF_ERROR(CheckString(root, "layout", "NCHW", source));
  CS_RETURN_IF_ERROR(CheckString(root, "dtype", "float32", source));
  CS_ASSIGN_OR_RETURN(spec.input_name, ReadString(root, "input_name", "image", source));
  if (spec.input_name.empty()) {
    return InvalidArgumentError(source + ": key 'input_name': must not be empty");
  }
  return spec;
}

Result<PreprocessingSpec> LoadPreprocessing(const std::string& path) {
  std::ifstream file(path, std::ios::binary);
  if (!file) return NotFoundError("cannot read " + path);
  std::ostringstream text;
  text << file.rdbuf();
  return ParsePreprocessing(text.str(), path);
}

Result<cv::Mat> ResizeAndCrop(const cv::Mat& image_bgr, const PreprocessingSpec& spec) {
  if (image_bgr.empty() || image_bgr.type() != CV_8UC3) {
    return InvalidArgumentError("preprocessing: expected a non-empty 8-bit BGR image");
  }
  const int size = spec.input_size_px;
  const double scale = static_cast<double>(size) / std::min(image_bgr.cols, image_bgr.rows);
  // Python's round() rounds halves to even; std::nearbyint does the same in the default mode.
  const int width = std::max(size, static_cast<int>(std::nearbyint(image_bgr.cols * scale)));
  const int height = std::max(size, static_cast<int>(std::nearbyint(image_bgr.rows * scale)));
  cv::Mat resized;
  cv::resize(image_bgr, resized, cv::Size(width, height), 0, 0, spec.interpolation);
  const int x0 = (width - size) / 2;
  const int y0 = (height - size) / 2;
  return resized(cv::Rect(x0, y0, size, size));
}

void NormalizeToChw(const cv::Mat& crop_bgr, const PreprocessingSpec& spec, float* chw) {
  const int size = spec.input_size_px;
  // table[c][v]: network channel c for the 8-bit value v.
  std::array<std::array<float, 256>, 3> table{};
  for (std::size_t c = 0; c < 3; ++c) {
    for (std::size_t v = 0; v < 256; ++v) {
      table[c][v] = (static_cast<float>(v) - spec.mean[c]) / spec.std[c];
    }
  }
  const std::size_t plane = static_cast<std::size_t>(size) * static_cast<std::size_t>(size);
  // Network channel c reads BGR channel source[c].
  const std::array<int, 3> source =
      spec.swap_to_rgb ? std::array<int, 3>{2, 1, 0} : std::array<int, 3>{0, 1, 2};
  float* const out0 = chw;
  float* const out1 = chw + plane;
  float* const out2 = chw + 2 * plane;
  for (int y = 0; y < size; ++y) {
    const auto* row = crop_bgr.ptr<unsigned char>(y);
    const std::size_t base = static_cast<std::size_t>(y) * static_cast<std::size_t>(size);
    for (int x = 0; x < size; ++x) {
      const unsigned char* pixel = row + 3 * x;
      out0[base + x] = table[0][pixel[source[0]]];
      out1[base + x] = table[1][pixel[source[1]]];
      out2[base + x] = table[2][pixel[source[2]]];
    }
  }
}

Result<Tensor> PreprocessBatch(const std::vector<cv::Mat>& images_bgr,
                               const PreprocessingSpec& spec) {
  if (images_bgr.empty()) return InvalidArgumentError("preprocessing: empty batch");
  const int64_t size = spec.input_size_px;
  Tensor batch = Tensor::Zeros({static_cast<int64_t>(images_bgr.size()), 3, size, size});
  const std::size_t per_image = static_cast<std::size_t>(3 * size * size);
  for (std::size_t i = 0; i < images_bgr.size(); ++i) {
    CS_ASSIGN_OR_RETURN(
        const cv::Mat crop,
        ResizeAndCrop(images_bgr[i], spec).WithContext("image " + std::to_string(i)));
    NormalizeToChw(crop, spec, batch.data.data() + i * per_image);
  }
  return batch;
}

}  // namespace cartsense
