// Camera health on synthetic frames (black, repeated bytes, fresh noise, clock gaps, missed
// clips) and on frames rendered by the simulator's basket cameras (a basket in normal and dim
// light with sensor noise and JPEG, and the simulator's covering hand). Figures are simulation.
#include "vision/camera_health.h"

#include <string>
#include <vector>

#include <gtest/gtest.h>
#include <opencv2/imgcodecs.hpp>
#include <opencv2/imgproc.hpp>

#include "catalog/catalogue.h"
#include "sim/product_images.h"
#include "sim/scene_renderer.h"
#include "support/basket_camera_sim.h"

namespace cartsense::vision {
namespace {

const std::string kRepo = CARTSENSE_SOURCE_DIR;

Timestamp FrameTime(int i) { return Timestamp::FromMilliseconds(1000 + i * 1000 / 15); }

using test_support::CartCameraFrame;  // the cart's sensor noise and JPEG on a frame

// A textured stand-in for a basket: blocks and lines of different levels.
cv::Mat Textured(uint64_t seed) {
  cv::RNG rng(seed);
  cv::Mat image(480, 640, CV_8UC3, cv::Scalar(110, 120, 130));
  for (int i = 0; i < 60; ++i) {
    const cv::Point a(rng.uniform(0, 640), rng.uniform(0, 480));
    const cv::Point b(rng.uniform(0, 640), rng.uniform(0, 480));
    const cv::Scalar colour(rng.uniform(30, 230), rng.uniform(30, 230), rng.uniform(30, 230));
    if (i % 2 == 0) {
      cv::rectangle(image, a, a + cv::Point(rng.uniform(10, 90), rng.uniform(10, 90)), colour,
                    cv::FILLED);
    } else {
      cv::line(image, a, b, colour, rng.uniform(1, 5));
    }
  }
  return image;
}

struct Changes {
  std::vector<CameraHealthChange> all;
  void Add(std::optional<CameraHealthChange> change) {
    if (change) all.push_back(std::move(*change));
  }
};

TEST(CameraHealthTest, ValidatesParamsAndReadsConfig) {
  CameraHealthParams bad;
  bad.covered_min_share = 0;
  EXPECT_FALSE(CameraHealth::Validate(bad).ok());
  EXPECT_TRUE(CameraHealth::Validate(CameraHealthParams{}).ok());

  auto config = Config::Parse("{black_max_mean_grey: 20, max_frame_gap_ms: 900}");
  ASSERT_TRUE(config.ok());
  auto params = CameraHealthParams::FromConfig(*config);
  ASSERT_TRUE(params.ok()) << params.status().ToString();
  EXPECT_EQ(params->black_max_mean_grey, 20);
  EXPECT_EQ(params->max_frame_gap_ms, 900);
  auto unknown = Config::Parse("{black_max_mean: 20}");
  ASSERT_TRUE(unknown.ok());
  const auto rejected = CameraHealthParams::FromConfig(*unknown);
  ASSERT_FALSE(rejected.ok());
  EXPECT_NE(rejected.status().message().find("black_max_mean"), std::string::npos);
}

TEST(CameraHealthTest, BlackFramesAfterConfirmationAndBack) {
  CameraHealth health;
  cv::RNG rng(1);
  const cv::Mat scene = Textured(1);
  Changes changes;
  int i = 0;
  for (; i < 10; ++i) changes.Add(health.AddFrame(FrameTime(i), CartCameraFrame(scene, rng, 2)));
  EXPECT_TRUE(changes.all.empty());
  const cv::Mat black(480, 640, CV_8UC3, cv::Scalar(3, 3, 3));
  for (int k = 0; k < 10; ++k, ++i)
    changes.Add(health.AddFrame(FrameTime(i), CartCameraFrame(black, rng, 2)));
  ASSERT_EQ(changes.all.size(), 1U);
  EXPECT_EQ(changes.all[0].state, CameraHealthState::kBlack);
  EXPECT_EQ(changes.all[0].t, FrameTime(12));  // the third black frame
  for (int k = 0; k < 10; ++k, ++i)
    changes.Add(health.AddFrame(FrameTime(i), CartCameraFrame(scene, rng, 2)));
  ASSERT_EQ(changes.all.size(), 2U);
  EXPECT_EQ(changes.all[1].state, CameraHealthState::kOk);
}

TEST(CameraHealthTest, RepeatedBytesAreFrozenButFreshNoiseIsNot) {
  cv::RNG rng(2);
  const cv::Mat scene = Textured(2);
  {
    CameraHealth health;
    Changes changes;
    for (int i = 0; i < 120; ++i)
      changes.Add(health.AddFrame(FrameTime(i), CartCameraFrame(scene, rng, 2)));
    EXPECT_TRUE(changes.all.empty()) << CameraHealthStateName(changes.all[0].state);
    ASSERT_TRUE(health.last_measures().mean_abs_diff_grey.has_value());
    EXPECT_GT(*health.last_measures().mean_abs_diff_grey, 0.5);
  }
  {
    // A low-noise sensor (sigma 1) is still live.
    CameraHealth health;
    Changes changes;
    for (int i = 0; i < 120; ++i)
      changes.Add(health.AddFrame(FrameTime(i), CartCameraFrame(scene, rng, 1)));
    EXPECT_TRUE(changes.all.empty());
  }
  {
    CameraHealth health;
    Changes changes;
    const cv::Mat stuck = CartCameraFrame(scene, rng, 2);
    for (int i = 0; i < 5; ++i)
      changes.Add(health.AddFrame(FrameTime(i), CartCameraFrame(scene, rng, 2)));
    for (int i = 5; i < 60; ++i) changes.Add(health.AddFrame(FrameTime(i), stuck.clone()));
    ASSERT_EQ(changes.all.size(), 1U);
    EXPECT_EQ(changes.all[0].state, CameraHealthState::kFrozen);
    // 30 identical frames (the first stuck one and 29 repeats), then confirm_frames of them.
    EXPECT_EQ(changes.all[0].t, FrameTime(5 + 29 + 2));
    for (int i = 60; i < 70; ++i)
      changes.Add(health.AddFrame(FrameTime(i), CartCameraFrame(scene, rng, 2)));
    ASSERT_EQ(changes.all.size(), 2U);
    EXPECT_EQ(changes.all[1].state, CameraHealthState::kOk);
  }
}

TEST(CameraHealthTest, ContinuousCameraWithoutFramesIsDisconnected) {
  CameraHealthParams params;
  params.max_frame_gap_ms = 1000;
  CameraHealth health(params);
  cv::RNG rng(3);
  const cv::Mat scene = Textured(3);
  Changes changes;
  for (int i = 0; i < 15; ++i) {
    changes.Add(health.AddFrame(FrameTime(i), CartCameraFrame(scene, rng, 2)));
    changes.Add(health.AdvanceTo(FrameTime(i) + Duration::Milliseconds(10)));
  }
  EXPECT_TRUE(changes.all.empty());
  changes.Add(health.AdvanceTo(FrameTime(14) + Duration::Milliseconds(900)));
  EXPECT_TRUE(changes.all.empty());
  changes.Add(health.AdvanceTo(FrameTime(14) + Duration::Milliseconds(1100)));
  ASSERT_EQ(changes.all.size(), 1U);
  EXPECT_EQ(changes.all[0].state, CameraHealthState::kDisconnected);
  changes.Add(health.AdvanceTo(FrameTime(14) + Duration::Milliseconds(3000)));
  EXPECT_EQ(changes.all.size(), 1U);  // reported once
  changes.Add(health.AddFrame(FrameTime(60), CartCameraFrame(scene, rng, 2)));
  ASSERT_EQ(changes.all.size(), 2U);
  EXPECT_EQ(changes.all[1].state, CameraHealthState::kOk);
}

TEST(CameraHealthTest, EventTriggeredCameraMissingClipsAroundWeightEventsIsDisconnected) {
  CameraHealth health;  // max_frame_gap_ms 0: silence alone is normal
  cv::RNG rng(4);
  const cv::Mat scene = Textured(4);
  Changes changes;
  // A clip around an event: fine.
  for (int i = 0; i < 10; ++i)
    changes.Add(health.AddFrame(FrameTime(i), CartCameraFrame(scene, rng, 2)));
  health.NoteWeightEvent(FrameTime(5), 300);
  changes.Add(health.AdvanceTo(Timestamp::FromSeconds(60)));  // a minute of silence
  EXPECT_TRUE(changes.all.empty());
  // Small changes do not count; three real events without a clip do.
  health.NoteWeightEvent(Timestamp::FromSeconds(70), 5);
  health.NoteWeightEvent(Timestamp::FromSeconds(80), 250);
  changes.Add(health.AdvanceTo(Timestamp::FromSeconds(85)));
  health.NoteWeightEvent(Timestamp::FromSeconds(90), -250);
  changes.Add(health.AdvanceTo(Timestamp::FromSeconds(95)));
  EXPECT_TRUE(changes.all.empty());
  health.NoteWeightEvent(Timestamp::FromSeconds(100), 400);
  changes.Add(health.AdvanceTo(Timestamp::FromSeconds(102)));
  EXPECT_TRUE(changes.all.empty());  // still within the timeout
  changes.Add(health.AdvanceTo(Timestamp::FromSeconds(104)));
  ASSERT_EQ(changes.all.size(), 1U);
  EXPECT_EQ(changes.all[0].state, CameraHealthState::kDisconnected);
}

// The simulator's basket camera: a basket with items, light drift, noise, JPEG.
class RenderedCameraTest : public ::testing::Test {
 protected:
  void SetUp() override {
    catalogue_ = catalog::Catalogue::Load(kRepo + "/data/catalogue/grocery-store-81.csv").value();
    const sim::ProductImages images =
        sim::ProductImages::Load(kRepo + "/data/grocery-store-mini/dev.txt").value();
    for (int fine_id : images.FineIds()) {
      const catalog::Product* product = catalogue_.FindByFineId(fine_id);
      if (product == nullptr || images.PhotosOf(fine_id).empty()) continue;
      sprites_.push_back(sim::LoadSprite(images.PhotosOf(fine_id)[0]).value());
      products_.push_back(product);
      if (sprites_.size() == 4) break;
    }
  }

  std::vector<sim::ItemView> Items() const {
    std::vector<sim::ItemView> items;
    for (std::size_t k = 0; k < sprites_.size(); ++k) {
      sim::ItemView item;
      item.sprite = &sprites_[k];
      item.size = sim::SizeFromMass(*products_[k], products_[k]->unit_mass_g);
      item.x_mm = 120 + 110.0 * static_cast<double>(k);
      item.y_mm = 140 + 40.0 * static_cast<double>(k % 2);
      item.angle_rad = 0.4 * static_cast<double>(k);
      items.push_back(item);
    }
    return items;
  }

  catalog::Catalogue catalogue_;
  std::vector<sim::Sprite> sprites_;
  std::vector<const catalog::Product*> products_;
};

TEST_F(RenderedCameraTest, LiveBasketInNormalAndDimLightIsOkAndACoveringHandIsCovered) {
  ASSERT_FALSE(sprites_.empty());
  for (int camera_index = 0; camera_index < 2; ++camera_index) {
    const sim::CameraModel camera(
        sim::BasketCameraPoses(sim::BasketGeometry{})[static_cast<std::size_t>(camera_index)]);
    const sim::BasketCameraRenderer renderer(camera, sim::BasketGeometry{}, 11);
    for (const bool with_items : {false, true}) {
      const cv::Mat still =
          renderer.RenderStatic(with_items ? Items() : std::vector<sim::ItemView>{});
      for (const double gain : {1.0, 0.4}) {
        SCOPED_TRACE("camera " + std::to_string(camera_index) + " items " +
                     std::to_string(with_items) + " gain " + std::to_string(gain));
        CameraHealth health;
        cv::RNG rng(5);
        Changes changes;
        sim::FrameState state;
        state.light_gain = gain;
        const cv::Mat clean = renderer.RenderFrame(still, state);
        for (int i = 0; i < 45; ++i)
          changes.Add(health.AddFrame(FrameTime(i), CartCameraFrame(clean, rng, 2)));
        EXPECT_TRUE(changes.all.empty());
        EXPECT_LT(health.last_measures().flat_cell_share, 0.6);
        // The simulator's covering hand, coming and going as in a session (cover 0 -> 1 -> 0
        // over 0.4 s each way, a second fully covered).
        std::vector<CameraHealthState> states;
        for (int i = 45; i < 45 + 45; ++i) {
          const double s = (i - 45) / 15.0;
          state.cover = std::clamp(std::min(s / 0.4, (2.4 - s) / 0.4), 0.0, 1.0);
          changes.Add(health.AddFrame(FrameTime(i),
                                      CartCameraFrame(renderer.RenderFrame(still, state), rng, 2)));
        }
        ASSERT_EQ(changes.all.size(), 2U);
        EXPECT_EQ(changes.all[0].state, CameraHealthState::kCovered) << changes.all[0].reason;
        EXPECT_EQ(changes.all[1].state, CameraHealthState::kOk);
        EXPECT_LT(changes.all[0].t, FrameTime(45 + 15));  // within a second of the hand arriving
      }
    }
  }
}

}  // namespace
}  // namespace cartsense::vision
