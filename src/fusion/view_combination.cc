#include "fusion/view_combination.h"

#include <algorithm>
#include <cmath>
#include <limits>
#include <map>
#include <unordered_map>

namespace cartsense::fusion {
namespace {

double FloorDistanceMm(const sensors::PointMm& a, const sensors::PointMm& b) {
  return std::hypot(a.x_mm - b.x_mm, a.y_mm - b.y_mm);
}

// Sorted best first; equal probabilities by product id, so the order is deterministic.
void SortBestFirst(std::vector<ProductProbability>& products) {
  std::sort(products.begin(), products.end(),
            [](const ProductProbability& a, const ProductProbability& b) {
              if (a.probability != b.probability) return a.probability > b.probability;
              return a.product_id < b.product_id;
            });
}

}  // namespace

std::vector<const RegionEvidence*> SelectRegionsForEvent(
    const std::vector<VisionEvidence>& views, int sign, Timestamp t_start, Timestamp t_settle,
    const std::optional<sensors::PointMm>& position, const ViewCombinationParams& params) {
  const bool want_vanished = sign < 0;
  const Timestamp window_end =
      t_settle + Duration::Milliseconds(params.max_compare_after_settle_ms);
  // Per camera the best candidate: nearest to `position`, or the largest without one. The
  // score is "smaller is better" in both cases (distance, or minus the area).
  struct Candidate {
    const RegionEvidence* region = nullptr;
    double score = 0;
  };
  std::map<int, Candidate> best_by_camera;  // ordered: the result lists cameras in id order
  for (const VisionEvidence& view : views) {
    if (view.outcome != VisionEvidence::Outcome::kCompared) continue;
    if (view.t < t_start || view.t > window_end) continue;
    for (const RegionEvidence& region : view.regions) {
      if (region.vanished != want_vanished) continue;
      if (region.visible_share < params.min_visible_share) continue;
      double score = 0;
      if (position) {
        // A region that cannot be placed on the floor cannot be matched to the event's place.
        if (!region.floor_mm) continue;
        score = FloorDistanceMm(*region.floor_mm, *position);
        if (score > params.max_floor_distance_mm) continue;
      } else {
        score = -static_cast<double>(region.area_px);
      }
      auto [it, inserted] = best_by_camera.try_emplace(region.camera_id, Candidate{&region, score});
      if (inserted) continue;
      Candidate& current = it->second;
      // Ties go to the smaller evidence id, so the choice does not depend on the views' order.
      if (score < current.score ||
          (score == current.score && region.evidence_id < current.region->evidence_id)) {
        current = Candidate{&region, score};
      }
    }
  }
  std::vector<const RegionEvidence*> selected;
  selected.reserve(best_by_camera.size());
  for (const auto& [camera_id, candidate] : best_by_camera) selected.push_back(candidate.region);
  return selected;
}

std::vector<ProductProbability> ViewDistribution(const RegionEvidence& region,
                                                 const ViewCombinationParams& params) {
  std::vector<ProductProbability> distribution;
  if (region.top.empty()) return distribution;
  // Softmax, shifted by the largest logit so that exp never overflows.
  double max_logit = -std::numeric_limits<double>::infinity();
  for (const ProductScore& score : region.top) {
    max_logit = std::max(max_logit, score.cosine / params.softmax_temperature);
  }
  // The top-k is meant to hold distinct products; if a product repeats, its best score counts.
  std::unordered_map<std::string, double> weight_by_product;
  for (const ProductScore& score : region.top) {
    const double weight = std::exp(score.cosine / params.softmax_temperature - max_logit);
    double& slot = weight_by_product[score.product_id];
    slot = std::max(slot, weight);
  }
  double total = 0;
  for (const auto& [product_id, weight] : weight_by_product) total += weight;
  distribution.reserve(weight_by_product.size());
  for (const auto& [product_id, weight] : weight_by_product) {
    distribution.push_back({product_id, weight / total});
  }
  SortBestFirst(distribution);
  return distribution;
}

CombinedViews CombineViews(const std::vector<const RegionEvidence*>& regions,
                           const ViewCombinationParams& params) {
  CombinedViews combined;
  std::vector<std::vector<ProductProbability>> distributions;
  double not_in_catalogue_sum = 0;
  for (const RegionEvidence* region : regions) {
    if (region == nullptr) continue;
    ++combined.views;
    combined.evidence_ids.push_back(region->evidence_id);
    not_in_catalogue_sum += region->not_in_catalogue_probability;
    std::vector<ProductProbability> distribution = ViewDistribution(*region, params);
    if (!distribution.empty()) distributions.push_back(std::move(distribution));
  }
  if (combined.views == 0) return combined;
  combined.not_in_catalogue_probability = not_in_catalogue_sum / combined.views;
  if (distributions.empty()) return combined;

  // The union of the views' top-k, in a fixed order.
  std::map<std::string, double> log_score;  // product -> sum over views of exponent * log p_v
  for (const auto& distribution : distributions) {
    for (const ProductProbability& p : distribution) log_score.try_emplace(p.product_id, 0.0);
  }
  for (const auto& distribution : distributions) {
    // A product this view did not rank gets the view's smallest probability, discounted.
    const double missing =
        distribution.back().probability * params.missing_product_factor;  // sorted best first
    std::unordered_map<std::string, double> p_of;
    for (const ProductProbability& p : distribution) p_of[p.product_id] = p.probability;
    for (auto& [product_id, sum] : log_score) {
      const auto it = p_of.find(product_id);
      const double p = it != p_of.end() ? it->second : missing;
      // p can underflow to 0 for a far-behind product; clamp so the log stays finite.
      sum += params.view_exponent * std::log(std::max(p, std::numeric_limits<double>::min()));
    }
  }
  double max_log = -std::numeric_limits<double>::infinity();
  for (const auto& [product_id, sum] : log_score) max_log = std::max(max_log, sum);
  double total = 0;
  combined.products.reserve(log_score.size());
  for (const auto& [product_id, sum] : log_score) {
    const double weight = std::exp(sum - max_log);
    combined.products.push_back({product_id, weight});
    total += weight;
  }
  for (ProductProbability& p : combined.products) p.probability /= total;
  SortBestFirst(combined.products);
  return combined;
}

}  // namespace cartsense::fusion
