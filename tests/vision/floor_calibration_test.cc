// Floor calibration from a ChArUco board (src/vision/floor_calibration.h), on the simulator's
// basket cameras: the printed board is warped onto the empty basket's floor through each
// camera's true floor homography (sim::CameraModel), under uneven light, with blur, sensor noise
// and JPEG; the recovered homography must map a grid of floor points to within a few mm of the
// truth. Also: the board frame on a flat render, a mostly covered board, no board, a distorted
// lens with and without its intrinsics, bad specs and images.
#include "vision/floor_calibration.h"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <random>
#include <string>
#include <vector>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>
#include <opencv2/calib3d.hpp>
#include <opencv2/imgcodecs.hpp>
#include <opencv2/imgproc.hpp>
#include <unistd.h>

#include "sim/scene_renderer.h"
#include "support/run_command.h"

namespace cartsense::vision {
namespace {

constexpr int kSquarePx = 200;  // board render: 4 px per mm for 50 mm squares
constexpr int kMarginPx = 60;   // 15 mm of white paper around the squares

// Board image pixel (centre convention) -> floor mm, for a board drawn by DrawBoard(kSquarePx,
// kMarginPx) and lying at `placement`: x to the right, y up the printout (towards the back).
cv::Matx33d BoardPixelsToFloor(const CharucoBoardSpec& spec, const BoardPlacement& placement) {
  const double mm_per_px = spec.square_mm / kSquarePx;
  const double squares_height_px = spec.squares_y * kSquarePx;
  return {mm_per_px,
          0,
          placement.origin_x_mm + (0.5 - kMarginPx) * mm_per_px,
          0,
          -mm_per_px,
          placement.origin_y_mm + (squares_height_px + kMarginPx - 0.5) * mm_per_px,
          0,
          0,
          1};
}

struct SceneOptions {
  double blur_sigma_px = 0.8;
  double noise_sigma = 3.0;
  int jpeg_quality = 60;
  bool uneven_light = true;
  // Floor region (mm) covered by a dark cloth over the board, if any.
  std::optional<cv::Rect2d> cover_mm;
};

// The empty basket seen by `camera` with the printed board lying on its floor.
cv::Mat RenderBoardOnFloor(const sim::CameraModel& camera, const cv::Mat& board_grey,
                           const cv::Matx33d& board_to_floor, const SceneOptions& options,
                           uint64_t seed) {
  const sim::BasketGeometry basket;
  const sim::BasketCameraRenderer renderer(camera, basket, seed);
  const cv::Mat background = renderer.RenderStatic({});
  const cv::Size size = background.size();

  // Supersampled 4x, then averaged down (INTER_AREA), so the small markers are not aliased.
  constexpr int kSuper = 4;
  const cv::Matx33d to_super(kSuper, 0, 0.5 * (kSuper - 1), 0, kSuper, 0.5 * (kSuper - 1), 0, 0, 1);
  const cv::Matx33d board_to_image = to_super * camera.PlaneToImage(0) * board_to_floor;
  const cv::Size super_size(size.width * kSuper, size.height * kSuper);
  // Printed paper: white 0.88, black 0.10 of full reflectance.
  cv::Mat paper;
  board_grey.convertTo(paper, CV_32F, (0.88 - 0.10) / 255.0, 0.10);
  cv::Mat ones(board_grey.size(), CV_32F, cv::Scalar(1.0));
  if (options.cover_mm) {
    const cv::Matx33d floor_to_board = board_to_floor.inv();
    const cv::Rect2d r = *options.cover_mm;
    std::vector<cv::Point2f> floor{
        {static_cast<float>(r.x), static_cast<float>(r.y)},
        {static_cast<float>(r.x + r.width), static_cast<float>(r.y)},
        {static_cast<float>(r.x + r.width), static_cast<float>(r.y + r.height)},
        {static_cast<float>(r.x), static_cast<float>(r.y + r.height)}};
    std::vector<cv::Point2f> board_px;
    cv::perspectiveTransform(floor, board_px, cv::Matx33f(floor_to_board));
    std::vector<cv::Point> polygon;
    for (const cv::Point2f& p : board_px) polygon.emplace_back(cvRound(p.x), cvRound(p.y));
    cv::fillConvexPoly(paper, polygon, cv::Scalar(0.3));  // a grey cloth over the board
  }
  cv::Mat paper_warped;
  cv::Mat alpha_warped;
  cv::warpPerspective(paper, paper_warped, board_to_image, super_size, cv::INTER_LINEAR,
                      cv::BORDER_CONSTANT, cv::Scalar(0));
  cv::warpPerspective(ones, alpha_warped, board_to_image, super_size, cv::INTER_LINEAR,
                      cv::BORDER_CONSTANT, cv::Scalar(0));
  cv::resize(paper_warped, paper_warped, size, 0, 0, cv::INTER_AREA);
  cv::resize(alpha_warped, alpha_warped, size, 0, 0, cv::INTER_AREA);

  // The basket's own light fall-off is in the background; the paper gets the scene light: a
  // gradient across the image and a soft darker patch (a shadow of the rim).
  cv::Mat light(size, CV_32F, cv::Scalar(1.0));
  if (options.uneven_light) {
    for (int y = 0; y < size.height; ++y) {
      auto* row = light.ptr<float>(y);
      for (int x = 0; x < size.width; ++x) {
        const double gx = static_cast<double>(x) / size.width;
        const double gy = static_cast<double>(y) / size.height;
        const double shadow =
            0.45 * std::exp(-(std::pow(gx - 0.3, 2) + std::pow(gy - 0.6, 2)) / (2 * 0.12 * 0.12));
        row[x] = static_cast<float>(0.55 + 0.45 * gx + 0.15 * gy - shadow);
      }
    }
  }
  cv::Mat out(size, CV_8UC3);
  std::mt19937_64 rng(seed);
  std::normal_distribution<double> noise(0.0, options.noise_sigma);
  for (int y = 0; y < size.height; ++y) {
    const auto* bg = background.ptr<cv::Vec3b>(y);
    const auto* p = paper_warped.ptr<float>(y);
    const auto* a = alpha_warped.ptr<float>(y);
    const auto* l = light.ptr<float>(y);
    auto* o = out.ptr<cv::Vec3b>(y);
    for (int x = 0; x < size.width; ++x) {
      // Slightly warm light on the paper.
      const double lit = static_cast<double>(p[x]) * static_cast<double>(l[x]);
      const double paper_bgr[3] = {235.0 * lit, 245.0 * lit, 255.0 * lit};
      const double alpha = static_cast<double>(a[x]);
      for (int c = 0; c < 3; ++c) {
        const double v = (1.0 - alpha) * bg[x][c] + alpha * paper_bgr[c];
        o[x][c] = cv::saturate_cast<uint8_t>(v);
      }
    }
  }
  if (options.blur_sigma_px > 0) cv::GaussianBlur(out, out, cv::Size(), options.blur_sigma_px);
  if (options.noise_sigma > 0) {
    for (int y = 0; y < size.height; ++y) {
      auto* o = out.ptr<cv::Vec3b>(y);
      for (int x = 0; x < size.width; ++x) {
        for (int c = 0; c < 3; ++c) o[x][c] = cv::saturate_cast<uint8_t>(o[x][c] + noise(rng));
      }
    }
  }
  if (options.jpeg_quality > 0) {
    std::vector<uint8_t> jpeg;
    cv::imencode(".jpg", out, jpeg, {cv::IMWRITE_JPEG_QUALITY, options.jpeg_quality});
    out = cv::imdecode(jpeg, cv::IMREAD_COLOR);
  }
  return out;
}

struct GridError {
  double max_mm = 0;
  double rms_mm = 0;
  int points = 0;
};

// Floor points on a `step_mm` grid inside `region_mm`, visible to the camera: their true pixel
// (through the camera model) mapped back by `image_to_floor`, against where they are.
GridError GridErrorMm(const sim::CameraModel& camera, const cv::Matx33d& image_to_floor,
                      const cv::Rect2d& region_mm, double step_mm) {
  GridError out;
  double sum_squares = 0;
  const cv::Matx33d floor_to_image = camera.PlaneToImage(0);
  for (double y = region_mm.y; y <= region_mm.y + region_mm.height + 1e-9; y += step_mm) {
    for (double x = region_mm.x; x <= region_mm.x + region_mm.width + 1e-9; x += step_mm) {
      const cv::Vec3d p = floor_to_image * cv::Vec3d(x, y, 1);
      const double u = p[0] / p[2];
      const double v = p[1] / p[2];
      if (p[2] <= 0 || u < 0 || v < 0 || u > camera.pose().width_px - 1 ||
          v > camera.pose().height_px - 1) {
        continue;
      }
      const cv::Vec3d q = image_to_floor * cv::Vec3d(u, v, 1);
      const double error = std::hypot(q[0] / q[2] - x, q[1] / q[2] - y);
      out.max_mm = std::max(out.max_mm, error);
      sum_squares += error * error;
      ++out.points;
    }
  }
  out.rms_mm = out.points == 0 ? 0.0 : std::sqrt(sum_squares / out.points);
  return out;
}

class FloorCalibrationTest : public ::testing::Test {
 protected:
  void SetUp() override {
    Result<FloorCalibrator> calibrator = FloorCalibrator::Create(spec_, placement_);
    ASSERT_TRUE(calibrator.ok()) << calibrator.status().ToString();
    calibrator_.emplace(std::move(*calibrator));
    Result<cv::Mat> board = calibrator_->DrawBoard(kSquarePx, kMarginPx);
    ASSERT_TRUE(board.ok()) << board.status().ToString();
    board_ = *board;
  }

  sim::CameraModel Camera(int index) const {
    return sim::CameraModel(sim::BasketCameraPoses(basket_)[static_cast<std::size_t>(index)]);
  }

  sim::BasketGeometry basket_;
  CharucoBoardSpec spec_;
  BoardPlacement placement_{105, 75};  // the 350 x 250 mm board centred on the 560 x 400 floor
  std::optional<FloorCalibrator> calibrator_;
  cv::Mat board_;
};

TEST_F(FloorCalibrationTest, BoardFrameOnAFlatRenderIsThePrintedFrame) {
  // The render itself, as a camera looking straight down would see it: pixel -> floor is the
  // board's print scale, y up the printout.
  cv::Mat small;
  cv::resize(board_, small, cv::Size(), 0.25, 0.25, cv::INTER_AREA);  // 1 px per mm
  Result<FloorCalibration> calibration = calibrator_->Calibrate(small, std::nullopt);
  ASSERT_TRUE(calibration.ok()) << calibration.status().ToString();
  EXPECT_EQ(calibration->corners, spec_.inner_corners());
  // Pixel centre (u, v) of the 1 px/mm image lies at board (u + 0.5 - 15, 250 - (v + 0.5 - 15)).
  for (const cv::Point2d px : {cv::Point2d(100, 80), cv::Point2d(300, 200), cv::Point2d(20, 250)}) {
    const cv::Vec3d q = calibration->image_to_floor * cv::Vec3d(px.x, px.y, 1);
    EXPECT_NEAR(q[0] / q[2], placement_.origin_x_mm + px.x + 0.5 - 15, 0.2);
    EXPECT_NEAR(q[1] / q[2], placement_.origin_y_mm + 250 - (px.y + 0.5 - 15), 0.2);
  }
}

TEST_F(FloorCalibrationTest, RecoversEachSimulatedCameraFloorHomography) {
  const cv::Rect2d board_region(placement_.origin_x_mm, placement_.origin_y_mm, spec_.width_mm(),
                                spec_.height_mm());
  const cv::Rect2d floor_region(0, 0, basket_.width_mm, basket_.depth_mm);
  for (int index = 0; index < 2; ++index) {
    const sim::CameraModel camera = Camera(index);
    for (const uint64_t seed : {1U, 2U, 3U}) {
      SCOPED_TRACE(camera.pose().name + " seed " + std::to_string(seed));
      const cv::Mat image = RenderBoardOnFloor(
          camera, board_, BoardPixelsToFloor(spec_, placement_), SceneOptions{}, seed);
      Result<FloorCalibration> calibration = calibrator_->Calibrate(image, std::nullopt);
      ASSERT_TRUE(calibration.ok()) << calibration.status().ToString();
      const GridError on_board = GridErrorMm(camera, calibration->image_to_floor, board_region, 10);
      const GridError on_floor = GridErrorMm(camera, calibration->image_to_floor, floor_region, 10);
      std::printf(
          "%s seed %d: %d markers, %d corners, %d inliers, fit RMS %.3f max %.3f mm; truth on "
          "board RMS %.3f max %.3f mm (%d points), whole floor RMS %.3f max %.3f mm (%d)\n",
          camera.pose().name.c_str(), static_cast<int>(seed), calibration->markers,
          calibration->corners, calibration->inliers, calibration->rms_error_mm,
          calibration->max_error_mm, on_board.rms_mm, on_board.max_mm, on_board.points,
          on_floor.rms_mm, on_floor.max_mm, on_floor.points);
      EXPECT_GE(calibration->corners, 20);
      EXPECT_GT(on_board.points, 500);
      // Measured (seeds 1-3, both cameras): on the board at most 0.39 mm, whole floor at most
      // 1.02 mm.
      EXPECT_LT(on_board.max_mm, 1.0);
      EXPECT_LT(on_floor.max_mm, 2.5);
    }
  }
}

TEST_F(FloorCalibrationTest, BoardAnywhereOnTheFloorGivesTheSameHomography) {
  // The board pushed towards the back-left: the placement, not the board, fixes the floor frame.
  const BoardPlacement placement{40, 120};
  Result<FloorCalibrator> calibrator = FloorCalibrator::Create(spec_, placement);
  ASSERT_TRUE(calibrator.ok());
  const sim::CameraModel camera = Camera(1);
  const cv::Mat image =
      RenderBoardOnFloor(camera, board_, BoardPixelsToFloor(spec_, placement), SceneOptions{}, 11);
  Result<FloorCalibration> calibration = calibrator->Calibrate(image, std::nullopt);
  ASSERT_TRUE(calibration.ok()) << calibration.status().ToString();
  const GridError error = GridErrorMm(
      camera, calibration->image_to_floor,
      cv::Rect2d(placement.origin_x_mm, placement.origin_y_mm, spec_.width_mm(), spec_.height_mm()),
      10);
  EXPECT_GT(error.points, 500);
  EXPECT_LT(error.max_mm, 1.0);
}

TEST_F(FloorCalibrationTest, MostlyCoveredBoardIsRefusedWithTooFewCorners) {
  SceneOptions options;
  // A cloth over all but the board's first 1.5 columns of squares.
  options.cover_mm = cv::Rect2d(placement_.origin_x_mm + 75, placement_.origin_y_mm - 20, 400, 300);
  const sim::CameraModel camera = Camera(0);
  const cv::Mat image =
      RenderBoardOnFloor(camera, board_, BoardPixelsToFloor(spec_, placement_), options, 5);
  Result<FloorCalibration> calibration = calibrator_->Calibrate(image, std::nullopt);
  ASSERT_FALSE(calibration.ok());
  EXPECT_EQ(calibration.status().code(), StatusCode::kFailedPrecondition);
  EXPECT_NE(calibration.status().message().find("too few board corners"), std::string::npos)
      << calibration.status().message();
}

TEST_F(FloorCalibrationTest, EmptyBasketHasNoBoard) {
  const sim::CameraModel camera = Camera(0);
  const sim::BasketCameraRenderer renderer(camera, basket_, 3);
  Result<FloorCalibration> calibration =
      calibrator_->Calibrate(renderer.RenderStatic({}), std::nullopt);
  ASSERT_FALSE(calibration.ok());
  EXPECT_EQ(calibration.status().code(), StatusCode::kNotFound);
}

// The image a lens with `distortion` would take of the scene `ideal` (a pinhole image with the
// same camera matrix): each output pixel samples the ideal image where its undistorted ray
// lands.
cv::Mat Distort(const cv::Mat& ideal, const cv::Matx33d& camera_matrix,
                const std::vector<double>& distortion) {
  std::vector<cv::Point2f> distorted;
  for (int y = 0; y < ideal.rows; ++y) {
    for (int x = 0; x < ideal.cols; ++x) distorted.emplace_back(x, y);
  }
  std::vector<cv::Point2f> undistorted;
  cv::undistortPoints(distorted, undistorted, camera_matrix, distortion, cv::noArray(),
                      camera_matrix);
  cv::Mat map(ideal.size(), CV_32FC2, undistorted.data());
  cv::Mat out;
  cv::remap(ideal, out, map, cv::noArray(), cv::INTER_LINEAR, cv::BORDER_REPLICATE);
  return out;
}

TEST_F(FloorCalibrationTest, LensDistortionIsUndoneWithTheIntrinsics) {
  const sim::CameraModel camera = Camera(0);
  SceneOptions clean;
  clean.noise_sigma = 0;
  clean.jpeg_quality = 0;
  const cv::Mat ideal =
      RenderBoardOnFloor(camera, board_, BoardPixelsToFloor(spec_, placement_), clean, 7);
  session::CameraIntrinsics intrinsics;
  intrinsics.fx_px = camera.fx_px();
  intrinsics.fy_px = camera.fx_px();
  intrinsics.cx_px = camera.cx_px();
  intrinsics.cy_px = camera.cy_px();
  intrinsics.distortion = {-0.25, 0.08, 0.0, 0.0, 0.0};  // barrel, as wide webcam lenses
  const cv::Matx33d k(intrinsics.fx_px, 0, intrinsics.cx_px, 0, intrinsics.fy_px, intrinsics.cy_px,
                      0, 0, 1);
  const cv::Mat distorted = Distort(ideal, k, intrinsics.distortion);
  const cv::Rect2d board_region(placement_.origin_x_mm, placement_.origin_y_mm, spec_.width_mm(),
                                spec_.height_mm());

  Result<FloorCalibration> with = calibrator_->Calibrate(distorted, intrinsics);
  ASSERT_TRUE(with.ok()) << with.status().ToString();
  EXPECT_TRUE(with->undistorted);
  // The homography maps undistorted pixels: the truth grid's ideal pixels.
  const GridError with_error = GridErrorMm(camera, with->image_to_floor, board_region, 10);

  const cv::Rect2d floor_region(0, 0, basket_.width_mm, basket_.depth_mm);
  const GridError with_floor = GridErrorMm(camera, with->image_to_floor, floor_region, 10);

  // Without the intrinsics the homography maps the distorted pixels; the floor grid, seen
  // through the lens, is off by more away from the board.
  Result<FloorCalibration> without = calibrator_->Calibrate(distorted, std::nullopt);
  ASSERT_TRUE(without.ok()) << without.status().ToString();
  EXPECT_FALSE(without->undistorted);
  double without_max_mm = 0;
  const cv::Matx33d floor_to_image = camera.PlaneToImage(0);
  for (double y = 0; y <= basket_.depth_mm; y += 10) {
    for (double x = 0; x <= basket_.width_mm; x += 10) {
      const cv::Vec3d p = floor_to_image * cv::Vec3d(x, y, 1);
      const double xn = (p[0] / p[2] - intrinsics.cx_px) / intrinsics.fx_px;
      const double yn = (p[1] / p[2] - intrinsics.cy_px) / intrinsics.fy_px;
      const double r2 = xn * xn + yn * yn;
      const double radial = 1 + intrinsics.distortion[0] * r2 + intrinsics.distortion[1] * r2 * r2;
      const double u = intrinsics.cx_px + intrinsics.fx_px * xn * radial;
      const double v = intrinsics.cy_px + intrinsics.fy_px * yn * radial;
      if (u < 0 || v < 0 || u > distorted.cols - 1 || v > distorted.rows - 1) continue;
      const cv::Vec3d q = without->image_to_floor * cv::Vec3d(u, v, 1);
      without_max_mm = std::max(without_max_mm, std::hypot(q[0] / q[2] - x, q[1] / q[2] - y));
    }
  }
  std::printf(
      "distorted (k1 -0.25, k2 0.08): with intrinsics truth max %.3f mm on the board, %.3f mm "
      "whole floor; without: fit RMS %.3f mm, whole floor max %.3f mm\n",
      with_error.max_mm, with_floor.max_mm, without->rms_error_mm, without_max_mm);
  EXPECT_LT(with_error.max_mm, 1.0);
  EXPECT_LT(with_floor.max_mm, 2.5);
  EXPECT_GT(without_max_mm, 2 * with_floor.max_mm);
}

TEST(FloorCalibrationSpecTest, BadSpecsAndImagesAreRefused) {
  CharucoBoardSpec spec;
  spec.marker_mm = spec.square_mm;
  EXPECT_EQ(ValidateBoardSpec(spec).code(), StatusCode::kInvalidArgument);
  spec = {};
  spec.dictionary = "DICT_9X9_1";
  EXPECT_NE(ValidateBoardSpec(spec).message().find("unknown dictionary"), std::string::npos);
  spec = {};
  spec.squares_x = 2;
  EXPECT_FALSE(ValidateBoardSpec(spec).ok());
  spec = {};
  spec.squares_x = 12;
  spec.squares_y = 10;  // 60 markers, DICT_4X4_50 has 50
  EXPECT_NE(ValidateBoardSpec(spec).message().find("markers needed"), std::string::npos);
  EXPECT_FALSE(FloorCalibrator::Create(CharucoBoardSpec{}, {std::nan(""), 0}).ok());

  Result<FloorCalibrator> calibrator = FloorCalibrator::Create(CharucoBoardSpec{}, {});
  ASSERT_TRUE(calibrator.ok());
  EXPECT_EQ(calibrator->Calibrate(cv::Mat(), std::nullopt).status().code(),
            StatusCode::kInvalidArgument);
  EXPECT_EQ(
      calibrator->Calibrate(cv::Mat(48, 64, CV_16UC1, cv::Scalar(0)), std::nullopt).status().code(),
      StatusCode::kInvalidArgument);
  session::CameraIntrinsics bad;
  bad.fx_px = -1;
  EXPECT_EQ(calibrator->Calibrate(cv::Mat(48, 64, CV_8UC1, cv::Scalar(0)), bad).status().code(),
            StatusCode::kInvalidArgument);
  EXPECT_FALSE(calibrator->DrawBoard(2, 0).ok());
}

// `cartsense calibrate-cameras`: the built command on rendered images and bad input.
class CalibrateCamerasCliTest : public FloorCalibrationTest {
 protected:
  void SetUp() override {
    FloorCalibrationTest::SetUp();
    // One folder per test process: ctest runs the tests of this file in parallel.
    dir_ = std::filesystem::temp_directory_path() /
           ("cartsense_calibrate_cameras_cli_" + std::to_string(static_cast<long>(::getpid())));
    std::filesystem::remove_all(dir_);
    std::filesystem::create_directories(dir_);
    for (int index = 0; index < 2; ++index) {
      const cv::Mat image = RenderBoardOnFloor(
          Camera(index), board_, BoardPixelsToFloor(spec_, placement_), SceneOptions{}, 21);
      ASSERT_TRUE(cv::imwrite(Path("camera" + std::to_string(index) + ".jpg"), image));
    }
    const sim::BasketCameraRenderer renderer(Camera(0), basket_, 3);
    ASSERT_TRUE(cv::imwrite(Path("empty.png"), renderer.RenderStatic({})));
    std::ofstream(Path("notes.png")) << "not an image\n";
  }
  void TearDown() override { std::filesystem::remove_all(dir_); }

  std::string Path(const std::string& name) const { return (dir_ / name).string(); }

  std::filesystem::path dir_;
};

TEST_F(CalibrateCamerasCliTest, PrintsAndWritesEachCameraHomography) {
  const std::string out = Path("calibration.json");
  const test_support::RunResult run = test_support::RunCartsense(
      "calibrate-cameras --board-origin-mm 105 75 --image basket_a=" + Path("camera0.jpg") +
      " --image basket_b=" + Path("camera1.jpg") + " --json --out " + out);
  ASSERT_EQ(run.exit_code, 0) << run.out;
  const nlohmann::json printed = nlohmann::json::parse(run.out);
  std::ifstream file(out);
  const nlohmann::json written = nlohmann::json::parse(file);
  EXPECT_EQ(printed, written);
  EXPECT_EQ(written["format"], "cartsense-floor-calibration");
  ASSERT_EQ(written["cameras"].size(), 2U);
  for (int index = 0; index < 2; ++index) {
    const nlohmann::json& camera = written["cameras"][static_cast<std::size_t>(index)];
    EXPECT_EQ(camera["camera"], index == 0 ? "basket_a" : "basket_b");
    EXPECT_EQ(camera["corners"], spec_.inner_corners());
    const std::vector<double> h = camera["floor_homography"].get<std::vector<double>>();
    ASSERT_EQ(h.size(), 9U);
    EXPECT_DOUBLE_EQ(h[8], 1.0);
    const cv::Matx33d image_to_floor(h.data());
    const GridError error = GridErrorMm(Camera(index), image_to_floor,
                                        cv::Rect2d(0, 0, basket_.width_mm, basket_.depth_mm), 20);
    EXPECT_LT(error.max_mm, 2.5);
  }

  const test_support::RunResult text = test_support::RunCartsense(
      "calibrate-cameras --board-origin-mm 105 75 --image basket_a=" + Path("camera0.jpg"));
  EXPECT_EQ(text.exit_code, 0);
  EXPECT_NE(text.out.find("basket_a"), std::string::npos);
  EXPECT_NE(text.out.find("floor_homography: ["), std::string::npos) << text.out;
}

TEST_F(CalibrateCamerasCliTest, BadInputGivesAClearExitCode) {
  const std::string origin = "calibrate-cameras --board-origin-mm 105 75 ";
  const std::string out = Path("partial.json");
  // No board in view: exit 1, and no calibration file for a partial set.
  EXPECT_EQ(test_support::RunCartsense(origin + "--image basket_a=" + Path("camera0.jpg") +
                                       " --image basket_b=" + Path("empty.png") + " --out " + out)
                .exit_code,
            1);
  EXPECT_FALSE(std::filesystem::exists(out));
  // Missing or undecodable image: exit 3.
  EXPECT_EQ(
      test_support::RunCartsense(origin + "--image basket_a=" + Path("missing.png")).exit_code, 3);
  EXPECT_EQ(test_support::RunCartsense(origin + "--image basket_a=" + Path("notes.png")).exit_code,
            3);
  // Bad command lines: exit 2.
  const std::string image = " --image basket_a=" + Path("camera0.jpg");
  EXPECT_EQ(test_support::RunCartsense("calibrate-cameras" + image).exit_code, 2);  // no origin
  EXPECT_EQ(test_support::RunCartsense(origin + "--image " + Path("camera0.jpg")).exit_code, 2);
  EXPECT_EQ(test_support::RunCartsense(origin + "--marker-mm 60" + image).exit_code, 2);
  EXPECT_EQ(test_support::RunCartsense(origin + "--dictionary DICT_BOGUS" + image).exit_code, 2);
  EXPECT_EQ(
      test_support::RunCartsense(origin + image + " --intrinsics basket_a=400,400,320").exit_code,
      2);
  EXPECT_EQ(test_support::RunCartsense(origin + image + " --intrinsics basket_b=400,400,320,240")
                .exit_code,
            2);
  EXPECT_EQ(test_support::RunCartsense(origin + image + image).exit_code, 2);
}

TEST_F(CalibrateCamerasCliTest, PrintsABoardThatCalibrates) {
  const std::string png = Path("board.png");
  const test_support::RunResult run =
      test_support::RunCartsense("calibrate-cameras --print-board " + png + " --dpi 127");
  ASSERT_EQ(run.exit_code, 0);
  EXPECT_NE(run.out.find("squares of 50.00 mm"), std::string::npos) << run.out;
  const cv::Mat board = cv::imread(png, cv::IMREAD_GRAYSCALE);
  // 127 dpi = 5 px per mm: 250 px squares, 50 px margins.
  ASSERT_EQ(board.cols, 7 * 250 + 2 * 50);
  ASSERT_EQ(board.rows, 5 * 250 + 2 * 50);
  cv::Mat small;
  cv::resize(board, small, cv::Size(), 0.2, 0.2, cv::INTER_AREA);
  Result<FloorCalibration> calibration = calibrator_->Calibrate(small, std::nullopt);
  ASSERT_TRUE(calibration.ok()) << calibration.status().ToString();
  EXPECT_EQ(calibration->corners, spec_.inner_corners());
}

}  // namespace
}  // namespace cartsense::vision
