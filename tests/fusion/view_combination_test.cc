#include "fusion/view_combination.h"

#include <cmath>
#include <map>
#include <random>
#include <string>
#include <vector>

#include <gtest/gtest.h>

namespace cartsense::fusion {
namespace {

RegionEvidence Region(int camera_id, int n, bool vanished, std::optional<sensors::PointMm> floor,
                      std::vector<ProductScore> top = {}, int area_px = 1000) {
  RegionEvidence region;
  region.evidence_id = "region:" + std::to_string(camera_id) + ":" + std::to_string(n);
  region.camera_id = camera_id;
  region.vanished = vanished;
  region.floor_mm = floor;
  region.area_px = area_px;
  region.top = std::move(top);
  return region;
}

VisionEvidence View(int camera_id, double t_s, std::vector<RegionEvidence> regions) {
  VisionEvidence view;
  view.camera_id = camera_id;
  view.t = Timestamp::FromSeconds(t_s);
  view.motion_start = Timestamp::FromSeconds(t_s - 1.0);
  view.regions = std::move(regions);
  return view;
}

std::vector<std::string> Ids(const std::vector<const RegionEvidence*>& regions) {
  std::vector<std::string> ids;
  for (const RegionEvidence* r : regions) ids.push_back(r->evidence_id);
  return ids;
}

// The header's formula written out directly: softmax per view, product of tempered
// probabilities over the union, missing products at the view's smallest probability x factor.
std::map<std::string, double> NaiveCombination(const std::vector<RegionEvidence>& regions,
                                               const ViewCombinationParams& params) {
  std::vector<std::map<std::string, double>> views;
  for (const RegionEvidence& region : regions) {
    double z = 0;
    for (const ProductScore& s : region.top) z += std::exp(s.cosine / params.softmax_temperature);
    std::map<std::string, double> p;
    for (const ProductScore& s : region.top) {
      p[s.product_id] = std::exp(s.cosine / params.softmax_temperature) / z;
    }
    views.push_back(p);
  }
  std::map<std::string, double> product;
  for (const auto& view : views) {
    for (const auto& [id, p] : view) product[id] = 1.0;
  }
  for (const auto& view : views) {
    double smallest = 1.0;
    for (const auto& [id, p] : view) smallest = std::min(smallest, p);
    for (auto& [id, value] : product) {
      const auto it = view.find(id);
      const double p = it != view.end() ? it->second : smallest * params.missing_product_factor;
      value *= std::pow(p, params.view_exponent);
    }
  }
  double total = 0;
  for (const auto& [id, value] : product) total += value;
  for (auto& [id, value] : product) value /= total;
  return product;
}

TEST(ViewDistributionTest, SoftmaxOfCosineOverTemperature) {
  ViewCombinationParams params;
  const RegionEvidence region = Region(0, 0, false, std::nullopt, {{"a", 0.8}, {"b", 0.7}});
  const auto distribution = ViewDistribution(region, params);
  ASSERT_EQ(distribution.size(), 2U);
  EXPECT_EQ(distribution[0].product_id, "a");
  // exp(0.8 * 30) / (exp(0.8 * 30) + exp(0.7 * 30)) = 1 / (1 + exp(-3)).
  EXPECT_NEAR(distribution[0].probability, 1.0 / (1.0 + std::exp(-3.0)), 1e-12);
  EXPECT_NEAR(distribution[0].probability + distribution[1].probability, 1.0, 1e-12);
}

TEST(ViewDistributionTest, EmptyTopGivesNoDistributionAndLargeCosinesDoNotOverflow) {
  ViewCombinationParams params;
  params.softmax_temperature = 1e-4;  // logits of 10^4: exp would overflow without the shift
  EXPECT_TRUE(ViewDistribution(Region(0, 0, false, std::nullopt), params).empty());
  const auto distribution =
      ViewDistribution(Region(0, 0, false, std::nullopt, {{"a", 1.0}, {"b", 0.99}}), params);
  ASSERT_EQ(distribution.size(), 2U);
  EXPECT_TRUE(std::isfinite(distribution[1].probability));
  EXPECT_NEAR(distribution[0].probability, 1.0, 1e-12);
}

TEST(CombineViewsTest, NoRegionsMeansNoVision) {
  const CombinedViews combined = CombineViews({}, ViewCombinationParams{});
  EXPECT_EQ(combined.views, 0);
  EXPECT_TRUE(combined.products.empty());
  EXPECT_TRUE(combined.evidence_ids.empty());
}

TEST(CombineViewsTest, OneViewIsItsOwnDistributionTempered) {
  ViewCombinationParams params;
  const RegionEvidence region = Region(1, 3, false, std::nullopt, {{"a", 0.8}, {"b", 0.7}});
  const CombinedViews combined = CombineViews({&region}, params);
  ASSERT_EQ(combined.products.size(), 2U);
  EXPECT_EQ(combined.views, 1);
  EXPECT_EQ(combined.evidence_ids, std::vector<std::string>{"region:1:3"});
  // p^0.7 renormalised: odds exp(3)^0.7.
  EXPECT_NEAR(combined.products[0].probability, 1.0 / (1.0 + std::exp(-3.0 * 0.7)), 1e-12);
}

TEST(CombineViewsTest, AgreeingViewsSharpenAndDisagreeingViewsAreSettledByTheStronger) {
  ViewCombinationParams params;
  const RegionEvidence a = Region(0, 0, false, std::nullopt, {{"milk", 0.80}, {"oat", 0.76}});
  const RegionEvidence b = Region(1, 0, false, std::nullopt, {{"milk", 0.78}, {"oat", 0.74}});
  const CombinedViews alone = CombineViews({&a}, params);
  const CombinedViews both = CombineViews({&a, &b}, params);
  EXPECT_EQ(both.products[0].product_id, "milk");
  EXPECT_GT(both.products[0].probability, alone.products[0].probability);

  // One view weakly for oat, the other strongly for milk: milk wins.
  const RegionEvidence weak = Region(0, 1, false, std::nullopt, {{"oat", 0.70}, {"milk", 0.69}});
  const RegionEvidence strong = Region(1, 1, false, std::nullopt, {{"milk", 0.85}, {"oat", 0.70}});
  EXPECT_EQ(CombineViews({&weak, &strong}, params).products[0].product_id, "milk");
}

TEST(CombineViewsTest, MatchesTheNaiveFormulaOnSeededRandomViews) {
  std::mt19937 rng(7);
  std::uniform_real_distribution<double> cosine(0.2, 0.95);
  std::uniform_int_distribution<int> product(0, 9);
  std::uniform_int_distribution<int> view_count(1, 4);
  ViewCombinationParams params;
  for (int trial = 0; trial < 200; ++trial) {
    std::vector<RegionEvidence> regions;
    const int views = view_count(rng);
    for (int v = 0; v < views; ++v) {
      std::vector<ProductScore> top;
      std::vector<bool> used(10, false);
      for (int k = 0; k < 5; ++k) {
        const int p = product(rng);
        if (used[p]) continue;
        used[p] = true;
        top.push_back({"p" + std::to_string(p), cosine(rng)});
      }
      RegionEvidence region = Region(v, trial, false, std::nullopt, std::move(top));
      region.not_in_catalogue_probability = 0.1 * v;
      regions.push_back(std::move(region));
    }
    std::vector<const RegionEvidence*> pointers;
    for (const RegionEvidence& r : regions) pointers.push_back(&r);
    const CombinedViews combined = CombineViews(pointers, params);
    const auto expected = NaiveCombination(regions, params);
    ASSERT_EQ(combined.products.size(), expected.size()) << "trial " << trial;
    double total = 0;
    for (std::size_t i = 0; i < combined.products.size(); ++i) {
      const ProductProbability& p = combined.products[i];
      EXPECT_NEAR(p.probability, expected.at(p.product_id), 1e-9) << "trial " << trial;
      if (i > 0) {
        EXPECT_GE(combined.products[i - 1].probability, p.probability);
      }
      total += p.probability;
    }
    EXPECT_NEAR(total, 1.0, 1e-9);
    EXPECT_NEAR(combined.not_in_catalogue_probability, 0.1 * (views - 1) / 2.0, 1e-12);
    EXPECT_EQ(combined.views, views);
  }
}

TEST(SelectRegionsForEventTest, NearestRegionOfTheRightKindPerCameraWithinTheWindow) {
  ViewCombinationParams params;
  const sensors::PointMm where{200, 150};
  std::vector<VisionEvidence> views;
  views.push_back(View(0, 10.5,
                       {Region(0, 0, false, sensors::PointMm{400, 300}),  // too far
                        Region(0, 1, false, sensors::PointMm{230, 160}),
                        Region(0, 2, false, sensors::PointMm{210, 150}),    // nearest
                        Region(0, 3, true, sensors::PointMm{200, 150})}));  // wrong kind
  views.push_back(View(1, 10.6, {Region(1, 0, false, sensors::PointMm{260, 120})}));
  views.push_back(View(2, 9.0, {Region(2, 0, false, sensors::PointMm{200, 150})}));   // before
  views.push_back(View(3, 20.0, {Region(3, 0, false, sensors::PointMm{200, 150})}));  // too late
  VisionEvidence not_settled = View(4, 10.5, {Region(4, 0, false, sensors::PointMm{200, 150})});
  not_settled.outcome = VisionEvidence::Outcome::kNotSettled;
  views.push_back(not_settled);

  const auto selected = SelectRegionsForEvent(views, +1, Timestamp::FromSeconds(10.0),
                                              Timestamp::FromSeconds(10.4), where, params);
  EXPECT_EQ(Ids(selected), (std::vector<std::string>{"region:0:2", "region:1:0"}));

  const auto removed = SelectRegionsForEvent(views, -1, Timestamp::FromSeconds(10.0),
                                             Timestamp::FromSeconds(10.4), where, params);
  EXPECT_EQ(Ids(removed), std::vector<std::string>{"region:0:3"});
}

TEST(SelectRegionsForEventTest, OneRegionPerCameraAcrossSeveralComparisons) {
  ViewCombinationParams params;
  std::vector<VisionEvidence> views;
  views.push_back(View(0, 10.5, {Region(0, 0, false, sensors::PointMm{300, 200})}));
  views.push_back(View(0, 11.5, {Region(0, 1, false, sensors::PointMm{290, 200})}));
  const auto selected =
      SelectRegionsForEvent(views, +1, Timestamp::FromSeconds(10.0), Timestamp::FromSeconds(10.4),
                            sensors::PointMm{280, 200}, params);
  EXPECT_EQ(Ids(selected), std::vector<std::string>{"region:0:1"});
}

TEST(SelectRegionsForEventTest, WithoutAPositionTheLargestRegionAndBorderCutRegionsAreSkipped) {
  ViewCombinationParams params;
  RegionEvidence cut = Region(0, 2, false, sensors::PointMm{0, 0}, {}, 50000);
  cut.visible_share = 0.1;
  std::vector<VisionEvidence> views;
  views.push_back(View(0, 10.5,
                       {Region(0, 0, false, std::nullopt, {}, 800),
                        Region(0, 1, false, std::nullopt, {}, 3000), cut}));
  const auto selected = SelectRegionsForEvent(views, +1, Timestamp::FromSeconds(10.0),
                                              Timestamp::FromSeconds(10.4), std::nullopt, params);
  EXPECT_EQ(Ids(selected), std::vector<std::string>{"region:0:1"});

  // With a position, a region that has no floor position cannot be matched.
  const auto placed =
      SelectRegionsForEvent(views, +1, Timestamp::FromSeconds(10.0), Timestamp::FromSeconds(10.4),
                            sensors::PointMm{100, 100}, params);
  EXPECT_TRUE(placed.empty());
}

}  // namespace
}  // namespace cartsense::fusion
