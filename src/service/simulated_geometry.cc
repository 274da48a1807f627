#include "service/simulated_geometry.h"

#include <cstdint>
#include <filesystem>
#include <utility>

#include <nlohmann/json.hpp>
#include <opencv2/imgproc.hpp>

namespace cartsense::service {
namespace {

// The item's solid pixels (alpha over half) on a canvas three times the image, the image in the
// middle, warped as the renderer draws it (sim::SpriteToImage).
cv::Mat CanvasMask(const sim::CameraModel& camera, const sim::PlannedItem& item,
                   const sim::Sprite& sprite) {
  sim::ItemView view;
  view.sprite = &sprite;
  view.x_mm = item.x_mm;
  view.y_mm = item.y_mm;
  view.angle_rad = item.angle_rad;
  view.size = item.size;
  const int w = camera.pose().width_px;
  const int h = camera.pose().height_px;
  const cv::Matx33d offset(1, 0, w, 0, 1, h, 0, 0, 1);
  const cv::Matx33d to_canvas = offset * sim::SpriteToImage(camera, view);
  cv::Mat alpha;
  cv::warpPerspective(sprite.alpha, alpha, cv::Mat(to_canvas), cv::Size(3 * w, 3 * h),
                      cv::INTER_LINEAR, cv::BORDER_CONSTANT, cv::Scalar(0));
  return alpha > 127;
}

}  // namespace

double BoxIou(const cv::Rect& a, const cv::Rect& b) {
  const double inter = (a & b).area();
  const double uni = a.area() + b.area() - inter;
  return uni > 0 ? inter / uni : 0;
}

Result<SimulatedSession> ReplanSimulatedSession(const session::SessionReader& reader,
                                                const catalog::Catalogue& catalogue,
                                                const std::string& split_override,
                                                const std::string& repo_root) {
  CS_ASSIGN_OR_RETURN(const std::string truth_text, reader.ReadTruth());
  const nlohmann::json truth = nlohmann::json::parse(truth_text, nullptr, false);
  if (truth.is_discarded() || !truth.contains("simulator") || !truth["simulator"].is_object()) {
    return InvalidArgumentError("truth.json: not a simulated session's truth");
  }
  const nlohmann::json& simulator = truth["simulator"];
  SimulatedSession session;
  session.plan_options.scenario = simulator.value("scenario", "");
  session.plan_options.items = simulator.value("items", 0);
  session.plan_options.seed = simulator.value("seed", uint64_t{0});
  session.split =
      split_override.empty() ? simulator.value("images", std::string()) : split_override;
  if (session.split.empty()) return InvalidArgumentError("truth.json: simulator.images missing");
  namespace fs = std::filesystem;
  if (!fs::exists(session.split) && fs::path(session.split).is_relative() && !repo_root.empty() &&
      fs::exists(fs::path(repo_root) / session.split)) {
    session.split = (fs::path(repo_root) / session.split).string();
  }
  CS_ASSIGN_OR_RETURN(const sim::ProductImages images, sim::ProductImages::Load(session.split));
  // The products the simulator drew from, in its order (sim/session_simulator.cc).
  std::vector<const catalog::Product*> products;
  std::vector<int> photo_counts;
  for (int fine_id : images.FineIds()) {
    const catalog::Product* product = catalogue.FindByFineId(fine_id);
    if (product == nullptr) continue;
    products.push_back(product);
    photo_counts.push_back(static_cast<int>(images.PhotosOf(fine_id).size()));
  }
  CS_ASSIGN_OR_RETURN(session.plan, sim::PlanSession(session.plan_options, products, photo_counts));
  for (const sim::PlannedItem& item : session.plan.items) {
    if (item.product == nullptr) continue;
    const std::vector<std::string>& photos = images.PhotosOf(item.product->fine_id);
    if (photos.empty()) return NotFoundError(session.split + ": no photo of " + item.product->id);
    const std::string& photo = photos[static_cast<std::size_t>(item.photo_index) % photos.size()];
    CS_ASSIGN_OR_RETURN(session.sprites[item.uid], sim::LoadSprite(photo));
    session.photo_paths[item.uid] = photo;
  }
  session.poses = sim::BasketCameraPoses(session.plan_options.basket);
  return session;
}

std::vector<PlacementView> PlacementViews(const SimulatedSession& session) {
  std::vector<PlacementView> views;
  const sim::SessionPlan& plan = session.plan;
  for (int camera_id = 0; camera_id < 2; ++camera_id) {
    const sim::CameraModel camera(session.poses[static_cast<std::size_t>(camera_id)]);
    const cv::Rect image(camera.pose().width_px, camera.pose().height_px, camera.pose().width_px,
                         camera.pose().height_px);
    for (std::size_t m = 0; m < plan.moves.size(); ++m) {
      const sim::HandMove& move = plan.moves[m];
      if (move.kind != sim::HandMove::Kind::kPlace) continue;
      bool covered = false;
      for (const sim::CoverSpan& cover : plan.covers) {
        if (cover.camera == camera_id && cover.start_s - 0.3 < move.leave_s + 0.5 &&
            cover.end_s + 0.3 > move.enter_s) {
          covered = true;
        }
      }
      for (int uid : move.items) {
        const sim::PlannedItem& item = plan.items[static_cast<std::size_t>(uid)];
        if (item.product == nullptr) continue;
        PlacementView view;
        view.move_index = m;
        view.item_uid = uid;
        view.camera = camera_id;
        view.single_item_reach = move.items.size() == 1;
        view.leave_s = move.leave_s;
        view.next_enter_s = m + 1 < plan.moves.size() ? plan.moves[m + 1].enter_s : plan.end_s + 1;
        if (covered) {
          view.visibility = PlacementView::Visibility::kCameraCovered;
          views.push_back(view);
          continue;
        }
        // Drawn over it: items lying when the hand has left that come later in placement order.
        const cv::Mat own = CanvasMask(camera, item, session.sprites.at(uid));
        cv::Mat visible = own.clone();
        for (const sim::PlannedItem& other : plan.items) {
          if (other.uid <= uid || other.product == nullptr) continue;
          if (!(other.placed_s <= move.leave_s && other.removed_s > move.leave_s)) continue;
          visible &= ~CanvasMask(camera, other, session.sprites.at(other.uid));
        }
        const cv::Mat inside = visible(image);
        const int total = cv::countNonZero(own);
        if (total == 0 || cv::countNonZero(inside) < 0.5 * total) {
          view.visibility = PlacementView::Visibility::kUnderHalfVisible;
        } else {
          view.true_box = cv::boundingRect(inside);
        }
        views.push_back(view);
      }
    }
  }
  return views;
}

}  // namespace cartsense::service
