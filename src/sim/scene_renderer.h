// Renders what the two top-down basket cameras see: the basket (floor texture, walls, light
// fall-off), the items lying in it with their shadows (later items occlude earlier ones), items
// moving in a shopper's hand (with the hand, motion blur and a soft shadow), lighting that
// changes as the cart moves, and a hand covering the lens.
//
// Frames: the basket, origin at the front-left corner of its floor, x to the right, y to the
// back, z up, in mm (the session manifest's floor frame). A camera is a pinhole at a pose in
// that frame; its floor homography and intrinsics go into the manifest.
//
//   CameraModel camera(BasketCameraPoses(basket)[0]);
//   BasketCameraRenderer renderer(camera, basket, seed);
//   cv::Mat still = renderer.RenderStatic(items_in_basket);        // cached while nothing moves
//   cv::Mat frame = renderer.RenderFrame(still, frame_state);      // 8-bit BGR, 640x480
#pragma once

#include <array>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include <opencv2/core.hpp>

#include "sim/product_images.h"

namespace cartsense::sim {

struct BasketGeometry {
  double width_mm = 560;
  double depth_mm = 400;
  double height_mm = 300;
};

struct CameraPose {
  std::string name;
  cv::Vec3d position_mm;
  cv::Vec3d look_at_mm;
  double horizontal_fov_deg = 70;
  int width_px = 640;
  int height_px = 480;
};

// The two basket cameras: one above the back-left, one above the front-right, both looking
// down into the basket at different angles.
std::array<CameraPose, 2> BasketCameraPoses(const BasketGeometry& basket);

class CameraModel {
 public:
  explicit CameraModel(const CameraPose& pose);

  const CameraPose& pose() const { return pose_; }
  double fx_px() const { return fx_px_; }
  double cx_px() const { return 0.5 * pose_.width_px; }
  double cy_px() const { return 0.5 * pose_.height_px; }
  // Point in the basket frame (mm) to pixels; depth (mm along the optical axis) if asked.
  cv::Point2d Project(const cv::Vec3d& point_mm, double* depth_mm = nullptr) const;
  // Pixels per mm for a small object at `point_mm`.
  double ScaleAt(const cv::Vec3d& point_mm) const;
  // Homography from (x_mm, y_mm, 1) on the horizontal plane z = z_mm to pixels.
  cv::Matx33d PlaneToImage(double z_mm) const;
  // Homography from pixels to the floor (z = 0) in mm: what the manifest stores.
  cv::Matx33d ImageToFloor() const;

 private:
  CameraPose pose_;
  double fx_px_ = 0;
  cv::Matx33d rotation_;  // rows: camera right, down, forward in the basket frame
  cv::Matx33d intrinsics_;
};

// An item as the cameras see it: its sprite stretched over its footprint, at a position and
// rotation on the plane z = z_mm (0 when it lies on the floor).
struct ItemView {
  const Sprite* sprite = nullptr;
  double x_mm = 0, y_mm = 0, z_mm = 0;
  double angle_rad = 0;
  ItemSize size;
};

// Sprite pixels (x, y in [0, sprite width]) to image pixels of `camera`: the sprite stretched
// over the item's footprint, rotated and moved on the plane of its top (z_mm + height). The
// renderer draws items with it; evaluations use it for the items' true boxes.
cv::Matx33d SpriteToImage(const CameraModel& camera, const ItemView& item);

struct HandView {
  cv::Vec3d palm_mm;      // centre of the palm
  cv::Vec3d shoulder_mm;  // where the arm comes from (outside the basket, at the handle)
  cv::Scalar skin_bgr{120, 150, 200};
  bool sleeve = true;
};

struct FrameState {
  std::vector<ItemView> moving;  // items in the hand (drawn over the basket)
  std::optional<HandView> hand;
  cv::Vec3d motion_mm{0, 0, 0};  // how far the hand moved during the exposure: motion blur
  double light_gain = 1.0;       // overall brightness as the cart moves under store lights
  cv::Vec3d tint_bgr{1, 1, 1};   // colour of the light
  double cover = 0;              // 0..1: a hand over the lens
  cv::Vec2d shake_px{0, 0};      // camera shake (bumps)
};

class BasketCameraRenderer {
 public:
  BasketCameraRenderer(const CameraModel& camera, const BasketGeometry& basket, uint64_t seed);

  const CameraModel& camera() const { return camera_; }
  // The basket with `items` lying in it, in the order they were placed (later ones on top).
  cv::Mat RenderStatic(const std::vector<ItemView>& items) const;
  // One frame: `still` (from RenderStatic) with the moving items, hand, blur and light applied.
  cv::Mat RenderFrame(const cv::Mat& still, const FrameState& state) const;

 private:
  void DrawShadow(cv::Mat& shade, const ItemView& item, double softness_px) const;
  void DrawItem(cv::Mat& bgr, cv::Mat& alpha, const ItemView& item) const;
  void DrawHand(cv::Mat& bgr, cv::Mat& alpha, const HandView& hand) const;

  CameraModel camera_;
  BasketGeometry basket_;
  cv::Mat background_;  // empty basket, 8-bit BGR
};

// Composites `layer_bgr` over `dst` with `layer_alpha` (8-bit) inside `roi`.
void AlphaBlend(cv::Mat& dst, const cv::Mat& layer_bgr, const cv::Mat& layer_alpha, cv::Rect roi);

}  // namespace cartsense::sim
