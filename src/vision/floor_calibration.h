// Floor calibration of a basket camera: one image of a ChArUco board lying flat on the basket
// floor in, the camera's floor homography (image pixels -> floor mm) out, with its error.
//
// The board is OpenCV contrib's ChArUco board (a chessboard whose white squares hold ArUco
// markers), so a partly visible or partly covered board still gives identified corners. Lay the
// printout face up with its top edge (the row of marker 0) towards the back of the basket and its
// squares parallel to the basket's sides: along the printout, right is the floor's x and up is
// its y (back). `BoardPlacement` says where on the floor the bottom-left outer corner of the
// squares lies; a chessboard corner then lies at that origin + its distance (right, up) from
// that corner. (OpenCV 4.6's own board frame has y down the printout; the code maps it.)
//
// Steps: ArUco markers are detected (cv::aruco::detectMarkers, then refineDetectedMarkers with
// the board), the chessboard corners between them interpolated and refined to sub-pixel
// (cv::aruco::interpolateCornersCharuco); with intrinsics, the corner pixels are undistorted
// (cv::undistortPoints, back to pixel units); cv::findHomography with RANSAC (threshold in floor
// mm) maps them to their floor positions, refined on the inliers. The error is each inlier
// corner's image point mapped through the homography against its floor position, in mm.
//
// In:  an 8-bit grey or BGR image; optionally the camera's intrinsics and distortion.
// Out: FloorCalibration (homography, corners found and used, RMS and max error in mm), or a
//      Status: no board in view, too few corners (< min_corners), error over the limits.
//
//   FloorCalibrator calibrator = *FloorCalibrator::Create(CharucoBoardSpec{}, {100, 75});
//   Result<FloorCalibration> calibration = calibrator.Calibrate(image, manifest_intrinsics);
//   if (calibration.ok()) camera.floor_homography = calibration->RowMajor();
//
// With distortion the homography maps undistorted pixels (as the session manifest pairs it with
// the intrinsics): undistort a pixel with the same intrinsics before applying it.
#pragma once

#include <array>
#include <optional>
#include <string>
#include <vector>

#include <opencv2/core.hpp>

#include "core/status.h"
#include "session/session_format.h"

namespace cv::aruco {
class CharucoBoard;
}  // namespace cv::aruco

namespace cartsense::vision {

// The printed board. Default: 7 x 5 squares of 50 mm (350 x 250 mm, fits A3 paper with room for
// a margin), 4x4-bit markers of 37 mm: at the basket cameras' 0.6-0.9 m a marker cell is about
// 3 px, enough to decode at an oblique view.
struct CharucoBoardSpec {
  int squares_x = 7;
  int squares_y = 5;
  double square_mm = 50;
  double marker_mm = 37;
  std::string dictionary = "DICT_4X4_50";  // a cv::aruco::PREDEFINED_DICTIONARY_NAME

  double width_mm() const { return squares_x * square_mm; }
  double height_mm() const { return squares_y * square_mm; }
  int inner_corners() const { return (squares_x - 1) * (squares_y - 1); }
};

// Checks the spec: 3..40 squares each way, marker smaller than the square, a known dictionary
// with enough markers for the board's white squares. Errors name the field.
Status ValidateBoardSpec(const CharucoBoardSpec& spec);

// The names accepted for CharucoBoardSpec::dictionary (DICT_4X4_50 ... DICT_APRILTAG_36h11).
std::vector<std::string> BoardDictionaryNames();

// Where the board lies: the floor position (mm; origin at the basket floor's front-left corner,
// x right, y back) of the board's origin, the bottom-left outer corner of its squares (the
// printout's top edge towards the back of the basket).
struct BoardPlacement {
  double origin_x_mm = 0;
  double origin_y_mm = 0;
};

struct FloorCalibrationParams {
  // Fewer identified corners than this is refused: a homography has 8 degrees of freedom, and
  // the RANSAC check and the error figures need redundancy.
  int min_corners = 12;
  // RANSAC inlier threshold: a corner's floor position error in mm.
  double ransac_threshold_mm = 3.0;
  // Refused above these (over the inlier corners).
  double max_rms_error_mm = 2.0;
  double max_error_mm = 5.0;
};

struct FloorCalibration {
  cv::Matx33d image_to_floor;  // pixels (undistorted when intrinsics were given) -> floor mm
  int markers = 0;             // ArUco markers of the board decoded
  int corners = 0;             // chessboard corners identified
  int inliers = 0;             // corners the homography was fitted to (RANSAC inliers)
  double rms_error_mm = 0;     // over the inliers
  double max_error_mm = 0;
  bool undistorted = false;  // intrinsics were given and the corners undistorted
  std::vector<int> corner_ids;
  std::vector<cv::Point2f> corner_px;        // as detected (distorted) pixels
  std::vector<cv::Point2f> corner_floor_mm;  // where each lies on the floor

  // Row-major, normalised so that the last element is 1: the manifest's floor_homography.
  std::array<double, 9> RowMajor() const;
};

class FloorCalibrator {
 public:
  static Result<FloorCalibrator> Create(const CharucoBoardSpec& spec,
                                        const BoardPlacement& placement,
                                        const FloorCalibrationParams& params = {});

  const CharucoBoardSpec& spec() const { return spec_; }
  const BoardPlacement& placement() const { return placement_; }

  // Calibrates from one image of the board on the floor. Errors: kInvalidArgument for an empty
  // or non-8-bit image or bad intrinsics; kNotFound when no marker of the board is seen;
  // kFailedPrecondition for too few corners or an error over the limits (the message gives the
  // figures).
  Result<FloorCalibration> Calibrate(
      const cv::Mat& image, const std::optional<session::CameraIntrinsics>& intrinsics) const;

  // The board as an 8-bit grey image to print: `square_px` pixels per square (so the squares
  // span squares_x * square_px by squares_y * square_px pixels, pixel edges) inside a white margin
  // of `margin_px`. Printed at D pixels per mm, a square is square_px / D mm: it must come out as
  // square_mm (check with a ruler).
  Result<cv::Mat> DrawBoard(int square_px, int margin_px) const;

  // Floor position (mm) of every chessboard corner, indexed by ChArUco corner id.
  const std::vector<cv::Point2f>& corner_floor_mm() const { return corner_floor_mm_; }

 private:
  FloorCalibrator() = default;

  CharucoBoardSpec spec_;
  BoardPlacement placement_;
  FloorCalibrationParams params_;
  cv::Ptr<cv::aruco::CharucoBoard> board_;
  std::vector<cv::Point2f> corner_floor_mm_;
};

}  // namespace cartsense::vision
