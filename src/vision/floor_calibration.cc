#include "vision/floor_calibration.h"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <string>
#include <utility>
#include <vector>

#include <opencv2/aruco.hpp>
#include <opencv2/aruco/charuco.hpp>
#include <opencv2/calib3d.hpp>
#include <opencv2/imgproc.hpp>

#include "vision/grey_image.h"

namespace cartsense::vision {
namespace {

struct NamedDictionary {
  const char* name;
  cv::aruco::PREDEFINED_DICTIONARY_NAME id;
  int size;  // markers in the dictionary
};

constexpr NamedDictionary kDictionaries[] = {
    {"DICT_4X4_50", cv::aruco::DICT_4X4_50, 50},
    {"DICT_4X4_100", cv::aruco::DICT_4X4_100, 100},
    {"DICT_4X4_250", cv::aruco::DICT_4X4_250, 250},
    {"DICT_4X4_1000", cv::aruco::DICT_4X4_1000, 1000},
    {"DICT_5X5_50", cv::aruco::DICT_5X5_50, 50},
    {"DICT_5X5_100", cv::aruco::DICT_5X5_100, 100},
    {"DICT_5X5_250", cv::aruco::DICT_5X5_250, 250},
    {"DICT_5X5_1000", cv::aruco::DICT_5X5_1000, 1000},
    {"DICT_6X6_50", cv::aruco::DICT_6X6_50, 50},
    {"DICT_6X6_100", cv::aruco::DICT_6X6_100, 100},
    {"DICT_6X6_250", cv::aruco::DICT_6X6_250, 250},
    {"DICT_6X6_1000", cv::aruco::DICT_6X6_1000, 1000},
    {"DICT_7X7_50", cv::aruco::DICT_7X7_50, 50},
    {"DICT_7X7_100", cv::aruco::DICT_7X7_100, 100},
    {"DICT_7X7_250", cv::aruco::DICT_7X7_250, 250},
    {"DICT_7X7_1000", cv::aruco::DICT_7X7_1000, 1000},
    {"DICT_ARUCO_ORIGINAL", cv::aruco::DICT_ARUCO_ORIGINAL, 1024},
    {"DICT_APRILTAG_16h5", cv::aruco::DICT_APRILTAG_16h5, 30},
    {"DICT_APRILTAG_25h9", cv::aruco::DICT_APRILTAG_25h9, 35},
    {"DICT_APRILTAG_36h10", cv::aruco::DICT_APRILTAG_36h10, 2320},
    {"DICT_APRILTAG_36h11", cv::aruco::DICT_APRILTAG_36h11, 587},
};

const NamedDictionary* FindDictionary(const std::string& name) {
  for (const NamedDictionary& dictionary : kDictionaries) {
    if (name == dictionary.name) return &dictionary;
  }
  return nullptr;
}

// A ChArUco board has a marker in every other square.
int MarkersOnBoard(const CharucoBoardSpec& spec) { return spec.squares_x * spec.squares_y / 2; }

std::string Mm(double value) {
  char text[32];
  std::snprintf(text, sizeof(text), "%.2f mm", value);
  return text;
}

struct CameraMatrices {
  cv::Mat camera_matrix;  // empty without intrinsics
  cv::Mat distortion;
};

Result<CameraMatrices> MakeCameraMatrices(
    const std::optional<session::CameraIntrinsics>& intrinsics) {
  CameraMatrices out;
  if (!intrinsics) return out;
  const session::CameraIntrinsics& k = *intrinsics;
  if (!(k.fx_px > 0) || !(k.fy_px > 0) || !std::isfinite(k.fx_px) || !std::isfinite(k.fy_px) ||
      !std::isfinite(k.cx_px) || !std::isfinite(k.cy_px)) {
    return InvalidArgumentError("intrinsics: fx_px and fy_px must be positive, all finite");
  }
  const std::size_t n = k.distortion.size();
  if (n != 0 && n != 4 && n != 5 && n != 8 && n != 12 && n != 14) {
    return InvalidArgumentError(
        "intrinsics: distortion needs 0, 4, 5, 8, 12 or 14 coefficients, got " + std::to_string(n));
  }
  for (const double d : k.distortion) {
    if (!std::isfinite(d)) return InvalidArgumentError("intrinsics: distortion must be finite");
  }
  out.camera_matrix = (cv::Mat_<double>(3, 3) << k.fx_px, 0, k.cx_px, 0, k.fy_px, k.cy_px, 0, 0, 1);
  out.distortion =
      n == 0 ? cv::Mat::zeros(1, 4, CV_64F) : cv::Mat(k.distortion, true).reshape(1, 1);
  return out;
}

cv::Point2d ApplyHomography(const cv::Matx33d& h, cv::Point2d p) {
  const cv::Vec3d q = h * cv::Vec3d(p.x, p.y, 1.0);
  return {q[0] / q[2], q[1] / q[2]};
}

// Refines interpolated chessboard corners with cv::cornerSubPix in its own coordinates (pixel
// centres at integers). OpenCV 4.6's interpolateCornersCharuco shifts the points by half a pixel
// around its cornerSubPix call (opencv_contrib PR #3024), which leaves every corner +0.5 px off
// in x and y: measured here as 0.5 px on a flat render and about 1.2 mm of floor error on the
// simulated cameras (see opencv/opencv issue #25539, fixed upstream for the newer detector).
// cornerSubPix converges to the saddle point whatever the start, so refining again removes it.
// The window stops short of the nearest marker corner, as OpenCV's own choice does.
void RefineCorners(const cv::Mat& grey, const std::vector<std::vector<cv::Point2f>>& markers,
                   std::vector<cv::Point2f>& corners) {
  const cv::TermCriteria criteria(cv::TermCriteria::MAX_ITER | cv::TermCriteria::EPS, 50, 0.001);
  for (cv::Point2f& corner : corners) {
    double nearest_px = 1e9;
    for (const std::vector<cv::Point2f>& marker : markers) {
      for (const cv::Point2f& p : marker) {
        nearest_px = std::min(nearest_px, static_cast<double>(cv::norm(p - corner)));
      }
    }
    const int half_window = std::clamp(static_cast<int>(nearest_px - 2.0), 1, 10);
    std::vector<cv::Point2f> point{corner};
    cv::cornerSubPix(grey, point, cv::Size(half_window, half_window), cv::Size(-1, -1), criteria);
    corner = point[0];
  }
}

}  // namespace

std::vector<std::string> BoardDictionaryNames() {
  std::vector<std::string> names;
  for (const NamedDictionary& dictionary : kDictionaries) names.emplace_back(dictionary.name);
  return names;
}

Status ValidateBoardSpec(const CharucoBoardSpec& spec) {
  if (spec.squares_x < 3 || spec.squares_x > 40 || spec.squares_y < 3 || spec.squares_y > 40) {
    return InvalidArgumentError("board: squares_x and squares_y must be 3..40, got " +
                                std::to_string(spec.squares_x) + "x" +
                                std::to_string(spec.squares_y));
  }
  if (!(spec.square_mm > 0) || !std::isfinite(spec.square_mm)) {
    return InvalidArgumentError("board: square_mm must be a positive number");
  }
  if (!(spec.marker_mm > 0) || !(spec.marker_mm < spec.square_mm)) {
    return InvalidArgumentError("board: marker_mm must be positive and smaller than square_mm (" +
                                Mm(spec.square_mm) + ")");
  }
  const NamedDictionary* dictionary = FindDictionary(spec.dictionary);
  if (dictionary == nullptr) {
    std::string names;
    for (const std::string& name : BoardDictionaryNames())
      names += (names.empty() ? "" : ", ") + name;
    return InvalidArgumentError("board: unknown dictionary '" + spec.dictionary + "' (one of " +
                                names + ")");
  }
  if (MarkersOnBoard(spec) > dictionary->size) {
    return InvalidArgumentError("board: " + std::to_string(MarkersOnBoard(spec)) +
                                " markers needed, dictionary " + spec.dictionary + " has " +
                                std::to_string(dictionary->size));
  }
  return Status::Ok();
}

std::array<double, 9> FloorCalibration::RowMajor() const {
  std::array<double, 9> out{};
  const double scale = image_to_floor(2, 2);
  for (int r = 0; r < 3; ++r) {
    for (int c = 0; c < 3; ++c) {
      out[static_cast<std::size_t>(r) * 3 + static_cast<std::size_t>(c)] =
          image_to_floor(r, c) / scale;
    }
  }
  return out;
}

Result<FloorCalibrator> FloorCalibrator::Create(const CharucoBoardSpec& spec,
                                                const BoardPlacement& placement,
                                                const FloorCalibrationParams& params) {
  CS_RETURN_IF_ERROR(ValidateBoardSpec(spec));
  if (!std::isfinite(placement.origin_x_mm) || !std::isfinite(placement.origin_y_mm)) {
    return InvalidArgumentError("board placement: origin must be finite");
  }
  if (params.min_corners < 5 || !(params.ransac_threshold_mm > 0) ||
      !(params.max_rms_error_mm > 0) || !(params.max_error_mm > 0)) {
    return InvalidArgumentError(
        "calibration params: min_corners >= 5 and positive error thresholds needed");
  }
  FloorCalibrator calibrator;
  calibrator.spec_ = spec;
  calibrator.placement_ = placement;
  calibrator.params_ = params;
  const cv::Ptr<cv::aruco::Dictionary> dictionary =
      cv::aruco::getPredefinedDictionary(FindDictionary(spec.dictionary)->id);
  calibrator.board_ = cv::aruco::CharucoBoard::create(
      spec.squares_x, spec.squares_y, static_cast<float>(spec.square_mm),
      static_cast<float>(spec.marker_mm), dictionary);
  // The printout's top row holds marker 0 (the first ids fill the board from its top row). Its
  // board y tells which way the board's y axis points on the printout: towards the bottom in
  // Debian's OpenCV 4.6 (a marker's first corner is its top-left as printed), towards the top in
  // older releases. The floor's y runs up the printout (its top edge lies towards the back of the
  // basket), from the bottom-left outer corner of the squares.
  const std::vector<cv::Point3f>& marker0 = calibrator.board_->objPoints.front();
  const double marker0_y =
      0.25 * static_cast<double>(marker0[0].y + marker0[1].y + marker0[2].y + marker0[3].y);
  const bool board_y_up = marker0_y > 0.5 * spec.height_mm();
  for (const cv::Point3f& corner : calibrator.board_->chessboardCorners) {
    const double up_mm = board_y_up ? static_cast<double>(corner.y)
                                    : spec.height_mm() - static_cast<double>(corner.y);
    calibrator.corner_floor_mm_.emplace_back(
        static_cast<float>(placement.origin_x_mm + static_cast<double>(corner.x)),
        static_cast<float>(placement.origin_y_mm + up_mm));
  }
  return calibrator;
}

Result<cv::Mat> FloorCalibrator::DrawBoard(int square_px, int margin_px) const {
  if (square_px < 8 || square_px > 2000 || margin_px < 0 || margin_px > 20000) {
    return InvalidArgumentError("board image: square_px must be 8..2000 and margin_px 0..20000");
  }
  const cv::Size size(spec_.squares_x * square_px + 2 * margin_px,
                      spec_.squares_y * square_px + 2 * margin_px);
  cv::Mat image;
  board_->draw(size, image, margin_px, /*borderBits=*/1);
  return image;
}

Result<FloorCalibration> FloorCalibrator::Calibrate(
    const cv::Mat& image, const std::optional<session::CameraIntrinsics>& intrinsics) const {
  CS_ASSIGN_OR_RETURN(const cv::Mat grey, ToGrey8(image));
  CS_ASSIGN_OR_RETURN(const CameraMatrices camera, MakeCameraMatrices(intrinsics));

  // Markers. Corner refinement of the markers is left off: the chessboard corners, which the
  // homography uses, are refined by interpolateCornersCharuco (cornerSubPix) on their own.
  const cv::Ptr<cv::aruco::DetectorParameters> detector = cv::aruco::DetectorParameters::create();
  std::vector<std::vector<cv::Point2f>> marker_corners;
  std::vector<std::vector<cv::Point2f>> rejected;
  std::vector<int> marker_ids;
  cv::aruco::detectMarkers(grey, board_->dictionary, marker_corners, marker_ids, detector,
                           rejected);
  // Markers of the same dictionary that are not on this board (another board, a stray label)
  // would be matched to nothing or to the wrong square: keep the board's ids only.
  {
    std::vector<std::vector<cv::Point2f>> kept_corners;
    std::vector<int> kept_ids;
    const int board_markers = static_cast<int>(board_->ids.size());
    for (std::size_t i = 0; i < marker_ids.size(); ++i) {
      if (marker_ids[i] >= 0 && marker_ids[i] < board_markers) {
        kept_corners.push_back(marker_corners[i]);
        kept_ids.push_back(marker_ids[i]);
      }
    }
    marker_corners = std::move(kept_corners);
    marker_ids = std::move(kept_ids);
  }
  if (marker_ids.empty()) {
    return NotFoundError("no marker of the ChArUco board (" + spec_.dictionary + ", " +
                         std::to_string(spec_.squares_x) + "x" + std::to_string(spec_.squares_y) +
                         " squares) found in the image");
  }
  // Markers missed at first are searched again where the board says they must be.
  cv::Ptr<cv::aruco::Board> board = board_.staticCast<cv::aruco::Board>();
  cv::aruco::refineDetectedMarkers(grey, board, marker_corners, marker_ids, rejected,
                                   camera.camera_matrix, camera.distortion);

  FloorCalibration out;
  out.markers = static_cast<int>(marker_ids.size());
  std::vector<cv::Point2f> corners;
  std::vector<int> ids;
  cv::Ptr<cv::aruco::CharucoBoard> charuco = board_;
  cv::aruco::interpolateCornersCharuco(marker_corners, marker_ids, grey, charuco, corners, ids,
                                       camera.camera_matrix, camera.distortion);
  RefineCorners(grey, marker_corners, corners);
  out.corners = static_cast<int>(ids.size());
  if (out.corners < params_.min_corners) {
    return FailedPreconditionError("too few board corners: " + std::to_string(out.corners) +
                                   " found (from " + std::to_string(out.markers) +
                                   " markers), at least " + std::to_string(params_.min_corners) +
                                   " needed: put the whole board in view, evenly lit and in focus");
  }
  if (cv::aruco::testCharucoCornersCollinear(charuco, ids)) {
    return FailedPreconditionError("the board corners found lie on one line: no homography");
  }

  std::vector<cv::Point2f> floor_mm;
  floor_mm.reserve(ids.size());
  for (const int id : ids) floor_mm.push_back(corner_floor_mm_[static_cast<std::size_t>(id)]);
  std::vector<cv::Point2f> pixels = corners;
  if (!camera.camera_matrix.empty()) {
    cv::undistortPoints(corners, pixels, camera.camera_matrix, camera.distortion, cv::noArray(),
                        camera.camera_matrix);
    out.undistorted = true;
  }

  // RANSAC (threshold in floor mm, the destination's unit) against a misplaced corner; OpenCV
  // then refines the homography on the inliers (Levenberg-Marquardt).
  std::vector<unsigned char> inlier_mask;
  const cv::Mat h = cv::findHomography(pixels, floor_mm, cv::RANSAC, params_.ransac_threshold_mm,
                                       inlier_mask, /*maxIters=*/2000, /*confidence=*/0.999);
  if (h.empty()) {
    return FailedPreconditionError("no homography fits the " + std::to_string(out.corners) +
                                   " board corners");
  }
  out.image_to_floor = cv::Matx33d(h);

  double sum_squares = 0;
  for (std::size_t i = 0; i < ids.size(); ++i) {
    if (inlier_mask[i] == 0) continue;
    const cv::Point2d mapped = ApplyHomography(out.image_to_floor, pixels[i]);
    const double error = std::hypot(mapped.x - static_cast<double>(floor_mm[i].x),
                                    mapped.y - static_cast<double>(floor_mm[i].y));
    sum_squares += error * error;
    out.max_error_mm = std::max(out.max_error_mm, error);
    ++out.inliers;
  }
  out.rms_error_mm = out.inliers == 0 ? 0.0 : std::sqrt(sum_squares / out.inliers);
  out.corner_ids = std::move(ids);
  out.corner_px = std::move(corners);
  out.corner_floor_mm = std::move(floor_mm);

  if (out.inliers < params_.min_corners) {
    return FailedPreconditionError(
        "only " + std::to_string(out.inliers) + " of " + std::to_string(out.corners) +
        " board corners agree with one homography (within " + Mm(params_.ransac_threshold_mm) +
        "), at least " + std::to_string(params_.min_corners) +
        " needed: is the board flat on the floor?");
  }
  if (out.rms_error_mm > params_.max_rms_error_mm || out.max_error_mm > params_.max_error_mm) {
    return FailedPreconditionError("floor error too large: RMS " + Mm(out.rms_error_mm) +
                                   " (limit " + Mm(params_.max_rms_error_mm) + "), max " +
                                   Mm(out.max_error_mm) + " (limit " + Mm(params_.max_error_mm) +
                                   ") over " + std::to_string(out.inliers) +
                                   " corners: is the board flat and the square size right?");
  }
  return out;
}

}  // namespace cartsense::vision
