// Preprocessing against a naive per-pixel reference on seeded random images, and
// preprocessing.json validation.
#include "vision/preprocessing.h"

#include <cmath>
#include <random>

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <opencv2/imgproc.hpp>

namespace cartsense {
namespace {

using ::testing::HasSubstr;

cv::Mat RandomImage(int width, int height, std::mt19937& rng) {
  cv::Mat image(height, width, CV_8UC3);
  std::uniform_int_distribution<int> value(0, 255);
  for (int y = 0; y < height; ++y) {
    for (int x = 0; x < width; ++x) {
      for (int c = 0; c < 3; ++c) {
        image.at<cv::Vec3b>(y, x)[c] = static_cast<unsigned char>(value(rng));
      }
    }
  }
  return image;
}

// The rule written out the slow way: Python's round() (halves to even) for the resized size,
// cv::resize, the crop offsets, then every output value from its pixel.
std::vector<float> NaivePreprocess(const cv::Mat& bgr, const PreprocessingSpec& spec) {
  const int size = spec.input_size_px;
  const double scale = static_cast<double>(size) / std::min(bgr.cols, bgr.rows);
  auto round_half_even = [](double value) {
    const double floor_value = std::floor(value);
    const double fraction = value - floor_value;
    if (fraction > 0.5) return static_cast<int>(floor_value) + 1;
    if (fraction < 0.5) return static_cast<int>(floor_value);
    const int even = static_cast<int>(floor_value);
    return even % 2 == 0 ? even : even + 1;
  };
  const int width = std::max(size, round_half_even(bgr.cols * scale));
  const int height = std::max(size, round_half_even(bgr.rows * scale));
  cv::Mat resized;
  cv::resize(bgr, resized, cv::Size(width, height), 0, 0, spec.interpolation);
  const int x0 = (width - size) / 2;
  const int y0 = (height - size) / 2;
  std::vector<float> out(static_cast<std::size_t>(3 * size * size));
  for (int c = 0; c < 3; ++c) {
    const int source_channel = spec.swap_to_rgb ? 2 - c : c;
    for (int y = 0; y < size; ++y) {
      for (int x = 0; x < size; ++x) {
        const auto pixel =
            static_cast<float>(resized.at<cv::Vec3b>(y0 + y, x0 + x)[source_channel]);
        out[static_cast<std::size_t>((c * size + y) * size + x)] =
            (pixel - spec.mean[static_cast<std::size_t>(c)]) /
            spec.std[static_cast<std::size_t>(c)];
      }
    }
  }
  return out;
}

TEST(PreprocessingTest, MatchesNaiveReferenceOnSeededImages) {
  std::mt19937 rng(5);
  std::uniform_int_distribution<int> side(20, 300);
  std::uniform_real_distribution<float> mean(0.0F, 255.0F);
  std::uniform_real_distribution<float> stddev(1.0F, 128.0F);
  for (int trial = 0; trial < 40; ++trial) {
    PreprocessingSpec spec;
    spec.input_size_px = (trial % 3 == 0) ? 16 : 32 + trial;
    spec.interpolation = trial % 2 == 0 ? cv::INTER_AREA : cv::INTER_LINEAR;
    spec.swap_to_rgb = trial % 4 != 3;
    for (std::size_t c = 0; c < 3; ++c) {
      spec.mean[c] = mean(rng);
      spec.std[c] = stddev(rng);
    }
    std::vector<cv::Mat> images{RandomImage(side(rng), side(rng), rng),
                                RandomImage(side(rng), side(rng), rng)};
    auto batch = PreprocessBatch(images, spec);
    ASSERT_TRUE(batch.ok()) << batch.status().ToString();
    const int64_t size = spec.input_size_px;
    ASSERT_EQ(batch->shape, (std::vector<int64_t>{2, 3, size, size}));
    for (std::size_t i = 0; i < images.size(); ++i) {
      const std::vector<float> expected = NaivePreprocess(images[i], spec);
      const float* got = batch->data.data() + i * expected.size();
      for (std::size_t k = 0; k < expected.size(); ++k) {
        ASSERT_EQ(got[k], expected[k]) << "trial " << trial << " image " << i << " value " << k;
      }
    }
  }
}

TEST(PreprocessingTest, ExactSizeImageIsOnlyNormalized) {
  std::mt19937 rng(7);
  PreprocessingSpec spec;
  spec.input_size_px = 24;
  const cv::Mat image = RandomImage(24, 24, rng);
  auto crop = ResizeAndCrop(image, spec);
  ASSERT_TRUE(crop.ok());
  EXPECT_EQ(cv::norm(*crop, image, cv::NORM_INF), 0.0);
}

TEST(PreprocessingTest, RejectsEmptyAndNonBgrImages) {
  PreprocessingSpec spec;
  EXPECT_FALSE(PreprocessBatch({}, spec).ok());
  auto gray = PreprocessBatch({cv::Mat(30, 30, CV_8UC1, cv::Scalar(1))}, spec);
  ASSERT_FALSE(gray.ok());
  EXPECT_THAT(gray.status().message(), HasSubstr("image 0"));
}

TEST(PreprocessingTest, ParsesTheBundleFormat) {
  auto spec = ParsePreprocessing(
      R"({"input_size": 160, "resize": "shorter_side_to_input_size_then_center_crop",
          "interpolation": "area", "color_order": "RGB", "mean": [127.0, 127.0, 127.0],
          "std": [128.0, 128.0, 128.0], "pixel_range": "0-255", "layout": "NCHW",
          "dtype": "float32", "input_name": "image", "opencv": {"resize": "..."}})",
      "p.json");
  ASSERT_TRUE(spec.ok()) << spec.status().ToString();
  EXPECT_EQ(spec->input_size_px, 160);
  EXPECT_EQ(spec->interpolation, cv::INTER_AREA);
  EXPECT_TRUE(spec->swap_to_rgb);
  EXPECT_EQ(spec->std[2], 128.0F);
  EXPECT_EQ(spec->input_name, "image");
}

TEST(PreprocessingTest, ErrorsNameTheFileAndKey) {
  auto message = [](const std::string& text) {
    auto spec = ParsePreprocessing(text, "p.json");
    EXPECT_FALSE(spec.ok()) << text;
    return spec.ok() ? std::string() : spec.status().message();
  };
  EXPECT_THAT(message("{"), HasSubstr("p.json: not valid JSON"));
  EXPECT_THAT(message(R"({"mean": [1, 2, 3]})"), HasSubstr("'input_size'"));
  EXPECT_THAT(message(R"({"input_size": 96, "interpolation": "cubic"})"),
              HasSubstr("'interpolation'"));
  EXPECT_THAT(message(R"({"input_size": 96, "std": [1, 0, 1]})"), HasSubstr("'std'"));
  EXPECT_THAT(message(R"({"input_size": 96, "mean": [1, 2]})"), HasSubstr("'mean'"));
  EXPECT_THAT(message(R"({"input_size": 96, "layout": "NHWC"})"), HasSubstr("'layout'"));
  EXPECT_THAT(message(R"({"input_size": 96, "color_order": "YUV"})"), HasSubstr("'color_order'"));
  // Keys of the wrong JSON type are errors, not exceptions.
  EXPECT_THAT(message(R"({"input_size": 96, "interpolation": 5})"), HasSubstr("'interpolation'"));
  EXPECT_THAT(message(R"({"input_size": 96, "color_order": ["RGB"]})"), HasSubstr("'color_order'"));
  EXPECT_THAT(message(R"({"input_size": 96, "input_name": null})"), HasSubstr("'input_name'"));
  EXPECT_THAT(message(R"({"input_size": 96, "input_name": ""})"), HasSubstr("'input_name'"));
  // An integer that would wrap to a valid int, and a mean that is not a finite float.
  EXPECT_THAT(message(R"({"input_size": 4294967456})"), HasSubstr("'input_size'"));
  EXPECT_THAT(message(R"({"input_size": 96, "mean": [1e300, 0, 0]})"), HasSubstr("'mean'"));
  EXPECT_FALSE(LoadPreprocessing("/nonexistent/preprocessing.json").ok());
}

}  // namespace
}  // namespace cartsense
