#include "sim/scene_renderer.h"

#include <algorithm>
#include <cmath>
#include <numbers>
#include <random>

#include <opencv2/imgproc.hpp>

namespace cartsense::sim {
namespace {

cv::Vec3d Normalized(const cv::Vec3d& v) {
  const double n = cv::norm(v);
  return n > 0 ? v / n : v;
}

cv::Rect BoundingRect(const std::vector<cv::Point2d>& points, cv::Size size, int pad) {
  double x0 = 1e9, y0 = 1e9, x1 = -1e9, y1 = -1e9;
  for (const cv::Point2d& p : points) {
    x0 = std::min(x0, p.x);
    y0 = std::min(y0, p.y);
    x1 = std::max(x1, p.x);
    y1 = std::max(y1, p.y);
  }
  const cv::Rect rect(static_cast<int>(std::floor(x0)) - pad,
                      static_cast<int>(std::floor(y0)) - pad,
                      static_cast<int>(std::ceil(x1 - x0)) + 2 * pad + 1,
                      static_cast<int>(std::ceil(y1 - y0)) + 2 * pad + 1);
  return rect & cv::Rect(0, 0, size.width, size.height);
}

// Multiplies `frame` by (1 - strength * mask / 255) inside `roi`.
void ApplyShade(cv::Mat& frame, const cv::Mat& mask, double strength, cv::Rect roi) {
  for (int y = roi.y; y < roi.y + roi.height; ++y) {
    auto* px = frame.ptr<cv::Vec3b>(y);
    const auto* m = mask.ptr<uint8_t>(y);
    for (int x = roi.x; x < roi.x + roi.width; ++x) {
      if (m[x] == 0) continue;
      const double keep = 1.0 - strength * m[x] / 255.0;
      for (int c = 0; c < 3; ++c) px[x][c] = cv::saturate_cast<uint8_t>(px[x][c] * keep);
    }
  }
}

// Sprite pixels to the item's plane (mm): stretched over the footprint, rotated, moved.
cv::Matx33d SpriteToPlane(const ItemView& item) {
  const double s = item.sprite->bgr.cols;
  const double ca = std::cos(item.angle_rad);
  const double sa = std::sin(item.angle_rad);
  const double kx = item.size.long_mm / s;
  const double ky = item.size.short_mm / s;
  const cv::Matx33d scale_about_centre(kx, 0, -kx * s / 2, 0, ky, -ky * s / 2, 0, 0, 1);
  const cv::Matx33d rotate_move(ca, -sa, item.x_mm, sa, ca, item.y_mm, 0, 0, 1);
  return rotate_move * scale_about_centre;
}

cv::Point2d Apply(const cv::Matx33d& h, double x, double y) {
  const cv::Vec3d p = h * cv::Vec3d(x, y, 1);
  return {p[0] / p[2], p[1] / p[2]};
}

cv::Mat MotionKernel(cv::Point2d blur_px) {
  const double length = std::hypot(blur_px.x, blur_px.y);
  const int size = std::max(3, static_cast<int>(std::ceil(length)) | 1);
  cv::Mat kernel(size, size, CV_32F, cv::Scalar(0));
  const cv::Point2d centre((size - 1) / 2.0, (size - 1) / 2.0);
  const cv::Point2d half = blur_px * 0.5;
  cv::line(kernel, centre - half, centre + half, cv::Scalar(1.0), 1, cv::LINE_AA);
  const double total = cv::sum(kernel)[0];
  if (total <= 0) {
    kernel.at<float>(size / 2, size / 2) = 1.0F;
  } else {
    kernel /= total;
  }
  return kernel;
}

}  // namespace

std::array<CameraPose, 2> BasketCameraPoses(const BasketGeometry& basket) {
  const double w = basket.width_mm;
  const double d = basket.depth_mm;
  CameraPose a;
  a.name = "basket_a";
  a.position_mm = {0.22 * w, 0.80 * d, 2.35 * basket.height_mm};
  a.look_at_mm = {0.55 * w, 0.45 * d, 0};
  a.horizontal_fov_deg = 78;
  CameraPose b;
  b.name = "basket_b";
  b.position_mm = {0.80 * w, 0.18 * d, 2.2 * basket.height_mm};
  b.look_at_mm = {0.45 * w, 0.55 * d, 0};
  b.horizontal_fov_deg = 74;
  return {a, b};
}

CameraModel::CameraModel(const CameraPose& pose) : pose_(pose) {
  const cv::Vec3d forward = Normalized(pose.look_at_mm - pose.position_mm);
  cv::Vec3d up(0, 0, 1);
  if (std::abs(forward.dot(up)) > 0.999) up = cv::Vec3d(0, 1, 0);
  const cv::Vec3d right = Normalized(forward.cross(up));
  const cv::Vec3d down = forward.cross(right);
  rotation_ = cv::Matx33d(right[0], right[1], right[2], down[0], down[1], down[2], forward[0],
                          forward[1], forward[2]);
  fx_px_ = 0.5 * pose.width_px / std::tan(0.5 * pose.horizontal_fov_deg * std::numbers::pi / 180);
  intrinsics_ = cv::Matx33d(fx_px_, 0, cx_px(), 0, fx_px_, cy_px(), 0, 0, 1);
}

cv::Point2d CameraModel::Project(const cv::Vec3d& point_mm, double* depth_mm) const {
  const cv::Vec3d p = intrinsics_ * (rotation_ * (point_mm - pose_.position_mm));
  if (depth_mm != nullptr) *depth_mm = p[2];
  const double z = std::max(p[2], 1e-6);
  return {p[0] / z, p[1] / z};
}

double CameraModel::ScaleAt(const cv::Vec3d& point_mm) const {
  double depth = 0;
  Project(point_mm, &depth);
  return fx_px_ / std::max(depth, 1.0);
}

cv::Matx33d CameraModel::PlaneToImage(double z_mm) const {
  const cv::Vec3d t = rotation_ * (cv::Vec3d(0, 0, z_mm) - pose_.position_mm);
  const cv::Matx33d extrinsic(rotation_(0, 0), rotation_(0, 1), t[0], rotation_(1, 0),
                              rotation_(1, 1), t[1], rotation_(2, 0), rotation_(2, 1), t[2]);
  return intrinsics_ * extrinsic;
}

cv::Matx33d CameraModel::ImageToFloor() const {
  cv::Matx33d h = PlaneToImage(0).inv();
  return h * (1.0 / h(2, 2));
}

void AlphaBlend(cv::Mat& dst, const cv::Mat& layer_bgr, const cv::Mat& layer_alpha, cv::Rect roi) {
  for (int y = 0; y < roi.height; ++y) {
    auto* out = dst.ptr<cv::Vec3b>(roi.y + y) + roi.x;
    const auto* in = layer_bgr.ptr<cv::Vec3b>(y);
    const auto* a = layer_alpha.ptr<uint8_t>(y);
    for (int x = 0; x < roi.width; ++x) {
      const int alpha = a[x];
      if (alpha == 0) continue;
      for (int c = 0; c < 3; ++c) {
        out[x][c] =
            static_cast<uint8_t>((in[x][c] * alpha + out[x][c] * (255 - alpha) + 127) / 255);
      }
    }
  }
}

BasketCameraRenderer::BasketCameraRenderer(const CameraModel& camera, const BasketGeometry& basket,
                                           uint64_t seed)
    : camera_(camera), basket_(basket) {
  std::mt19937_64 rng(seed);
  std::uniform_real_distribution<double> unit(0, 1);
  const cv::Size size(camera.pose().width_px, camera.pose().height_px);
  // What lies beyond the rim: the store floor, far below and out of focus.
  background_ = cv::Mat(size, CV_8UC3);
  for (int y = 0; y < size.height; ++y) {
    for (int x = 0; x < size.width; ++x) {
      const double v = 150 + 30 * std::sin(0.01 * x + 0.02 * y);
      background_.at<cv::Vec3b>(y, x) =
          cv::Vec3b(cv::saturate_cast<uint8_t>(v * 0.95), cv::saturate_cast<uint8_t>(v),
                    cv::saturate_cast<uint8_t>(v * 1.02));
    }
  }
  // Basket colour: dark plastic of a random hue (carts differ).
  const double hue = unit(rng);
  const cv::Vec3d plastic = hue < 0.5 ? cv::Vec3d(95, 70, 50) : cv::Vec3d(60, 65, 70);
  const double w = basket.width_mm;
  const double d = basket.depth_mm;
  const double h = basket.height_mm;
  // Walls, each a shaded quad with the basket's mesh of slots.
  const std::array<std::array<cv::Vec3d, 4>, 4> walls = {{
      {cv::Vec3d(0, 0, 0), cv::Vec3d(w, 0, 0), cv::Vec3d(w, 0, h), cv::Vec3d(0, 0, h)},
      {cv::Vec3d(0, d, 0), cv::Vec3d(w, d, 0), cv::Vec3d(w, d, h), cv::Vec3d(0, d, h)},
      {cv::Vec3d(0, 0, 0), cv::Vec3d(0, d, 0), cv::Vec3d(0, d, h), cv::Vec3d(0, 0, h)},
      {cv::Vec3d(w, 0, 0), cv::Vec3d(w, d, 0), cv::Vec3d(w, d, h), cv::Vec3d(w, 0, h)},
  }};
  for (std::size_t i = 0; i < walls.size(); ++i) {
    std::vector<cv::Point> quad;
    bool visible = true;
    for (const cv::Vec3d& corner : walls[i]) {
      double depth = 0;
      const cv::Point2d p = camera_.Project(corner, &depth);
      if (depth < 10) visible = false;
      quad.emplace_back(cv::Point(static_cast<int>(std::lround(p.x * 4)),
                                  static_cast<int>(std::lround(p.y * 4))));
    }
    if (!visible) continue;
    const double shade = 0.8 + 0.1 * static_cast<double>(i);
    cv::fillConvexPoly(background_, quad, cv::Scalar(plastic * shade), cv::LINE_AA, 2);
    // Horizontal ribs of the mesh (few and soft: they cost JPEG bytes in every frame).
    for (int rib = 1; 100.0 * rib < h; ++rib) {
      const double z = 100.0 * rib;
      const cv::Vec3d a = walls[i][0] + (walls[i][3] - walls[i][0]) * (z / h);
      const cv::Vec3d b = walls[i][1] + (walls[i][2] - walls[i][1]) * (z / h);
      cv::line(background_, camera_.Project(a), camera_.Project(b),
               cv::Scalar(plastic * shade * 0.6), 2, cv::LINE_AA);
    }
    // The rim.
    cv::line(background_, camera_.Project(walls[i][3]), camera_.Project(walls[i][2]),
             cv::Scalar(plastic * 1.3), 6, cv::LINE_AA);
  }
  // Floor texture at 1 px per mm: plastic with a grid of slots, slightly uneven.
  cv::Mat floor(static_cast<int>(d), static_cast<int>(w), CV_8UC3, cv::Scalar(plastic));
  const double slot_mm = 22;
  for (int row = 0; 12 + slot_mm * row + 10 < d; ++row) {
    const double y = 12 + slot_mm * row;
    for (int column = 0; 12 + slot_mm * column + 10 < w; ++column) {
      const double x = 12 + slot_mm * column;
      cv::rectangle(floor, cv::Rect(static_cast<int>(x), static_cast<int>(y), 12, 12),
                    cv::Scalar(plastic * 0.8), cv::FILLED);
    }
  }
  for (int i = 0; i < 6; ++i) {  // scuffs
    const cv::Point centre(static_cast<int>(unit(rng) * w), static_cast<int>(unit(rng) * d));
    cv::circle(floor, centre, static_cast<int>(10 + 40 * unit(rng)), cv::Scalar(plastic * 1.15),
               cv::FILLED, cv::LINE_AA);
  }
  cv::GaussianBlur(floor, floor, cv::Size(0, 0), 1.8);
  cv::warpPerspective(floor, background_, cv::Mat(camera_.PlaneToImage(0)), size, cv::INTER_LINEAR,
                      cv::BORDER_TRANSPARENT);
  // Light fall-off towards the corners of the image.
  cv::Mat lit;
  background_.convertTo(lit, CV_32FC3);
  for (int y = 0; y < size.height; ++y) {
    auto* px = lit.ptr<cv::Vec3f>(y);
    for (int x = 0; x < size.width; ++x) {
      const double dx = (x - 0.5 * size.width) / size.width;
      const double dy = (y - 0.5 * size.height) / size.height;
      px[x] *= static_cast<float>(1.05 - 0.6 * (dx * dx + dy * dy));
    }
  }
  lit.convertTo(background_, CV_8UC3);
  cv::GaussianBlur(background_, background_, cv::Size(0, 0), 1.0);
}

void BasketCameraRenderer::DrawShadow(cv::Mat& shade, const ItemView& item,
                                      double softness_px) const {
  // The store's lights are above and a little to the front: shadows fall towards the back.
  const double lift = item.z_mm + item.size.height_mm;
  const double ca = std::cos(item.angle_rad);
  const double sa = std::sin(item.angle_rad);
  std::vector<cv::Point> outline;
  for (int i = 0; i < 24; ++i) {
    const double a = 2 * std::numbers::pi * i / 24;
    const double u = 0.55 * item.size.long_mm * std::cos(a);
    const double v = 0.55 * item.size.short_mm * std::sin(a);
    const cv::Vec3d p(item.x_mm + ca * u - sa * v + 0.1 * lift,
                      item.y_mm + sa * u + ca * v + 0.25 * lift, 0);
    const cv::Point2d q = camera_.Project(p);
    outline.emplace_back(static_cast<int>(q.x * 4), static_cast<int>(q.y * 4));
  }
  cv::Mat one(shade.size(), CV_8U, cv::Scalar(0));
  cv::fillPoly(one, std::vector<std::vector<cv::Point>>{outline}, cv::Scalar(255), cv::LINE_AA, 2);
  cv::GaussianBlur(one, one, cv::Size(0, 0), softness_px);
  cv::max(shade, one, shade);
}

cv::Matx33d SpriteToImage(const CameraModel& camera, const ItemView& item) {
  return camera.PlaneToImage(item.z_mm + item.size.height_mm) * SpriteToPlane(item);
}

void BasketCameraRenderer::DrawItem(cv::Mat& bgr, cv::Mat& alpha, const ItemView& item) const {
  const cv::Matx33d h = SpriteToImage(camera_, item);
  const double s = item.sprite->bgr.cols;
  const std::vector<cv::Point2d> corners = {Apply(h, 0, 0), Apply(h, s, 0), Apply(h, s, s),
                                            Apply(h, 0, s)};
  const cv::Rect roi = BoundingRect(corners, bgr.size(), 2);
  if (roi.area() <= 0) return;
  const cv::Matx33d shift(1, 0, -roi.x, 0, 1, -roi.y, 0, 0, 1);
  cv::Mat warped_bgr;
  cv::Mat warped_alpha;
  cv::warpPerspective(item.sprite->bgr, warped_bgr, cv::Mat(shift * h), roi.size(),
                      cv::INTER_LINEAR, cv::BORDER_REPLICATE);
  cv::warpPerspective(item.sprite->alpha, warped_alpha, cv::Mat(shift * h), roi.size(),
                      cv::INTER_LINEAR, cv::BORDER_CONSTANT, cv::Scalar(0));
  AlphaBlend(bgr, warped_bgr, warped_alpha, roi);
  if (!alpha.empty()) {
    cv::Mat target = alpha(roi);
    cv::max(target, warped_alpha, target);
  }
}

void BasketCameraRenderer::DrawHand(cv::Mat& bgr, cv::Mat& alpha, const HandView& hand) const {
  const cv::Vec3d along = Normalized(hand.shoulder_mm - hand.palm_mm);
  const cv::Vec3d wrist = hand.palm_mm + along * 70.0;
  const cv::Vec3d elbow = hand.palm_mm + along * 330.0;
  const cv::Vec3d fingertips = hand.palm_mm - along * 85.0;
  const double scale = camera_.ScaleAt(hand.palm_mm);
  const auto px = [&](const cv::Vec3d& p) {
    const cv::Point2d q = camera_.Project(p);
    return cv::Point(static_cast<int>(q.x * 4), static_cast<int>(q.y * 4));
  };
  const cv::Scalar sleeve(90, 60, 40);
  const auto thick = [&](double mm) { return std::max(2, static_cast<int>(mm * scale)); };
  const auto draw = [&](cv::Mat& img, bool colour) {
    const cv::Scalar skin = colour ? hand.skin_bgr : cv::Scalar(255);
    const cv::Scalar cloth = colour ? (hand.sleeve ? sleeve : hand.skin_bgr) : cv::Scalar(255);
    cv::line(img, px(elbow), px(wrist), cloth, thick(85), cv::LINE_AA, 2);
    cv::line(img, px(wrist), px(hand.palm_mm), skin, thick(60), cv::LINE_AA, 2);
    cv::circle(img, px(hand.palm_mm), 4 * thick(45), skin, cv::FILLED, cv::LINE_AA, 2);
    // Four fingers and a thumb, spread across the palm.
    const cv::Vec3d across = Normalized(along.cross(cv::Vec3d(0, 0, 1)));
    for (int f = -1; f <= 2; ++f) {
      const cv::Vec3d base = hand.palm_mm + across * (f * 18.0 - 9.0) - along * 30.0;
      const cv::Vec3d tip = fingertips + across * (f * 22.0 - 11.0);
      cv::line(img, px(base), px(tip), skin, thick(17), cv::LINE_AA, 2);
    }
    cv::line(img, px(hand.palm_mm + across * 35.0), px(hand.palm_mm + across * 75.0 - along * 40.0),
             skin, thick(20), cv::LINE_AA, 2);
  };
  draw(bgr, true);
  draw(alpha, false);
}

cv::Mat BasketCameraRenderer::RenderStatic(const std::vector<ItemView>& items) const {
  cv::Mat frame = background_.clone();
  if (items.empty()) return frame;
  cv::Mat shade(frame.size(), CV_8U, cv::Scalar(0));
  for (const ItemView& item : items) DrawShadow(shade, item, 5);
  ApplyShade(frame, shade, 0.45, cv::Rect(0, 0, frame.cols, frame.rows));
  cv::Mat no_alpha;
  for (const ItemView& item : items) DrawItem(frame, no_alpha, item);
  return frame;
}

cv::Mat BasketCameraRenderer::RenderFrame(const cv::Mat& still, const FrameState& state) const {
  cv::Mat frame = still.clone();
  const cv::Rect full(0, 0, frame.cols, frame.rows);
  if (!state.moving.empty() || state.hand) {
    // Soft shadows of what is in the air, then the moving layer, blurred along the motion.
    cv::Mat shade(frame.size(), CV_8U, cv::Scalar(0));
    for (const ItemView& item : state.moving) DrawShadow(shade, item, 6 + 0.05 * item.z_mm);
    ApplyShade(frame, shade, 0.35, full);
    cv::Mat layer = frame.clone();
    cv::Mat alpha(frame.size(), CV_8U, cv::Scalar(0));
    for (const ItemView& item : state.moving) DrawItem(layer, alpha, item);
    if (state.hand) DrawHand(layer, alpha, *state.hand);
    cv::Rect roi = cv::boundingRect(alpha);
    if (roi.area() > 0) {
      cv::Point2d blur(0, 0);
      if (state.hand) {
        blur = camera_.Project(state.hand->palm_mm) -
               camera_.Project(state.hand->palm_mm - state.motion_mm);
      }
      if (std::hypot(blur.x, blur.y) >= 1.5) {
        const int pad = static_cast<int>(std::ceil(std::hypot(blur.x, blur.y))) + 2;
        roi = cv::Rect(roi.x - pad, roi.y - pad, roi.width + 2 * pad, roi.height + 2 * pad) & full;
        const cv::Mat kernel = MotionKernel(blur);
        cv::Mat layer_roi = layer(roi);
        cv::Mat alpha_roi = alpha(roi);
        cv::filter2D(layer_roi, layer_roi, -1, kernel);
        cv::filter2D(alpha_roi, alpha_roi, -1, kernel);
      }
      AlphaBlend(frame, layer(roi), alpha(roi), roi);
    }
  }
  if (state.shake_px[0] != 0 || state.shake_px[1] != 0) {
    const cv::Matx23d shift(1, 0, state.shake_px[0], 0, 1, state.shake_px[1]);
    cv::warpAffine(frame, frame, cv::Mat(shift), frame.size(), cv::INTER_LINEAR,
                   cv::BORDER_REPLICATE);
  }
  if (state.cover > 0) {
    // A hand over the lens: out of focus, dark, coming in from the bottom edge.
    cv::Mat small;
    cv::resize(frame, small, cv::Size(frame.cols / 8, frame.rows / 8), 0, 0, cv::INTER_AREA);
    const double radius = 1.6 * small.cols * std::min(state.cover, 1.0);
    cv::circle(small, cv::Point(small.cols / 2, small.rows + static_cast<int>(0.2 * small.rows)),
               static_cast<int>(radius), cv::Scalar(40, 55, 85), cv::FILLED);
    cv::GaussianBlur(small, small, cv::Size(0, 0), 3);
    cv::Mat big;
    cv::resize(small, big, frame.size(), 0, 0, cv::INTER_LINEAR);
    const double mix = std::clamp(state.cover * 1.3, 0.0, 1.0);
    cv::addWeighted(big, mix, frame, 1 - mix, 0, frame);
  }
  const cv::Scalar gain(state.light_gain * state.tint_bgr[0], state.light_gain * state.tint_bgr[1],
                        state.light_gain * state.tint_bgr[2]);
  if (gain != cv::Scalar(1, 1, 1)) cv::multiply(frame, gain, frame);
  return frame;
}

}  // namespace cartsense::sim
