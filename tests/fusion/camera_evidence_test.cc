// Camera evidence on frames rendered by the simulator's basket cameras (real photos of
// data/grocery-store-mini, light drift, sensor noise, JPEG): an item put in gives one added
// region at its floor position with its product on top; a covered camera gives health, not
// regions. Event-triggered clips: frames stop after the hand leaves and AdvanceTo ends the clip.
// Figures here are simulation.
#include "fusion/camera_evidence.h"

#include <cmath>
#include <cstdio>
#include <memory>
#include <numbers>
#include <random>
#include <string>
#include <vector>

#include <gtest/gtest.h>
#include <opencv2/imgcodecs.hpp>
#include <opencv2/imgproc.hpp>

#include "catalog/catalogue.h"
#include "core/packets.h"
#include "fusion/camera_evidence_stage.h"
#include "sim/product_images.h"
#include "sim/scene_renderer.h"
#include "support/basket_camera_sim.h"

namespace cartsense::fusion {
namespace {

const std::string kRepo = CARTSENSE_SOURCE_DIR;

using test_support::HandAt;

struct Fixture {
  test_support::MiniSprites mini;
  std::vector<cv::Mat> photos;
  std::unique_ptr<catalog::Recognizer> recognizer;
  SharedRecognizer shared;
};

Fixture& Data() {
  static Fixture* fixture = [] {
    auto* f = new Fixture;
    test_support::LoadMiniSprites(f->mini);
    for (const std::string& path : f->mini.photo_paths) {
      f->photos.push_back(cv::imread(path, cv::IMREAD_COLOR));
    }
    catalog::RecognizerOptions options;
    options.catalogue = &f->mini.catalogue;
    auto recognizer = catalog::Recognizer::Open(kRepo + "/models/recognizer/v1", options);
    if (recognizer.ok()) {
      f->recognizer = std::move(*recognizer);
      f->shared.recognizer = f->recognizer.get();
    }
    return f;
  }();
  return *fixture;
}

Timestamp FrameTime(int i) { return Timestamp::FromMilliseconds(1000 + i * 1000 / 15); }

// One basket camera as the cart has it (light drift, noise sigma 2, JPEG 55).
class Camera {
 public:
  Camera(int index, uint64_t seed)
      : model_(sim::BasketCameraPoses(sim::BasketGeometry{})[static_cast<std::size_t>(index)]),
        renderer_(model_, sim::BasketGeometry{}, seed),
        rng_(seed * 7919 + 1) {}
  const sim::CameraModel& model() const { return model_; }
  cv::Mat Still(const std::vector<sim::ItemView>& items) const {
    return renderer_.RenderStatic(items);
  }
  cv::Mat Frame(const cv::Mat& still, sim::FrameState state, int i) {
    const double t_s = i / 15.0;
    state.light_gain *= 1.0 + 0.10 * std::sin(2 * std::numbers::pi * t_s / 23.0);
    return test_support::CartCameraFrame(renderer_.RenderFrame(still, state), rng_, 2.0);
  }

 private:
  sim::CameraModel model_;
  sim::BasketCameraRenderer renderer_;
  cv::RNG rng_;
};

struct Outputs {
  std::vector<VisionEvidence> vision;
  std::vector<CameraHealthEvidence> health;
  void Take(Result<CameraEvidenceOutput> out) {
    ASSERT_TRUE(out.ok()) << out.status().ToString();
    for (auto& v : out->vision) vision.push_back(std::move(v));
    for (auto& h : out->health) health.push_back(std::move(h));
  }
};

// An empty basket (a clip of 6 frames), then a clip where a hand puts `item` down and leaves
// (frames stop 2 frames after it left, as event-triggered capture does), then the clock runs on.
Outputs PlaceOne(CameraEvidence& evidence, Camera& camera, const sim::ItemView& item,
                 double cover) {
  Outputs run;
  const cv::Mat empty = camera.Still({});
  const cv::Mat after = camera.Still({item});
  int i = 0;
  for (; i < 6; ++i) {
    run.Take(evidence.AddFrame(FrameTime(i), camera.Frame(empty, {}, i)));
    run.Take(evidence.AdvanceTo(FrameTime(i) + Duration::Milliseconds(5)));
  }
  run.Take(evidence.AdvanceTo(FrameTime(i + 10)));  // the first clip ends
  i += 30;
  const cv::Vec3d entry(item.x_mm, -60, 460);
  const cv::Vec3d low(item.x_mm, item.y_mm, item.size.height_mm + 30);
  for (int k = 0; k < 16; ++k, ++i) {
    sim::FrameState state;
    state.cover = cover;
    if (k < 14) {
      const double u = k < 7 ? k / 7.0 : (14 - k) / 7.0;
      const cv::Vec3d palm = entry + (low - entry) * (u * u * (3 - 2 * u));
      state.hand = HandAt(palm);
      if (k < 7) {
        sim::ItemView carried = item;
        carried.x_mm += palm[0] - low[0];
        carried.y_mm += palm[1] - low[1];
        carried.z_mm = std::max(0.0, palm[2] - low[2]);
        state.moving.push_back(carried);
      }
    }
    run.Take(evidence.AddFrame(FrameTime(i), camera.Frame(k < 7 ? empty : after, state, i)));
    run.Take(evidence.AdvanceTo(FrameTime(i) + Duration::Milliseconds(5)));
  }
  for (int k = 1; k <= 10; ++k) run.Take(evidence.AdvanceTo(FrameTime(i + k)));
  return run;
}

cv::Matx33d FloorHomography(const Camera& camera) { return camera.model().ImageToFloor(); }

sim::ItemView ItemOf(std::size_t k, std::mt19937_64& rng) {
  const Fixture& data = Data();
  std::uniform_real_distribution<double> x(180, 380);
  std::uniform_real_distribution<double> y(130, 270);
  std::uniform_real_distribution<double> angle(0, std::numbers::pi);
  sim::ItemView item;
  item.sprite = &data.mini.sprites[k];
  item.size = sim::SizeFromMass(*data.mini.products[k], data.mini.products[k]->unit_mass_g);
  item.x_mm = x(rng);
  item.y_mm = y(rng);
  item.angle_rad = angle(rng);
  return item;
}

TEST(CameraEvidenceTest, VisibleShareOfBorderCutBoxes) {
  const cv::Size image(640, 480);
  EXPECT_EQ(EstimateVisibleShare(cv::Rect(100, 100, 50, 50), image), 1.0);
  EXPECT_NEAR(EstimateVisibleShare(cv::Rect(0, 100, 20, 80), image), 0.25, 1e-12);
  EXPECT_EQ(EstimateVisibleShare(cv::Rect(0, 100, 80, 20), image), 1.0);
}

TEST(CameraEvidenceTest, AnItemPutInGivesOneAddedRegionAtItsPlaceWithItsProduct) {
  Fixture& data = Data();
  ASSERT_FALSE(data.mini.sprites.empty());
  if (data.recognizer == nullptr) GTEST_SKIP() << "no recognizer bundle in models/recognizer/v1";
  // "Clearly rendered" items: products whose clean photo the recognizer gets right and whose
  // footprint is large (packs and big produce: the simulator shrinks a whole shelf photo onto a
  // single apple's 40x40 px, which no recognizer reads).
  std::vector<std::size_t> clear;
  for (std::size_t k = 0; k < data.photos.size() && clear.size() < 4; ++k) {
    const sim::ItemSize size =
        sim::SizeFromMass(*data.mini.products[k], data.mini.products[k]->unit_mass_g);
    if (size.long_mm * size.short_mm < 100 * 60) continue;
    auto result = data.recognizer->Recognize({data.photos[k]});
    ASSERT_TRUE(result.ok());
    if (!(*result)[0].top.empty() && (*result)[0].top[0].product_id == data.mini.products[k]->id) {
      clear.push_back(k);
    }
  }
  ASSERT_GE(clear.size(), 3U);
  std::mt19937_64 rng(5);
  int views = 0;
  int right = 0;
  double error_sum[2] = {0, 0};
  for (std::size_t n = 0; n < clear.size(); ++n) {
    const sim::ItemView item = ItemOf(clear[n], rng);
    for (int c = 0; c < 2; ++c) {
      for (const auto point : {CameraEvidenceParams::FloorPoint::kCentroid,
                               CameraEvidenceParams::FloorPoint::kNearEdge}) {
        SCOPED_TRACE("item " + std::to_string(n) + " camera " + std::to_string(c));
        Camera camera(c, 100 + n);
        CameraEvidenceParams params;
        params.floor_point = point;
        CameraEvidence evidence(c, "basket", FloorHomography(camera), params, &data.shared);
        const Outputs run = PlaceOne(evidence, camera, item, 0);
        EXPECT_TRUE(run.health.empty());
        std::vector<const RegionEvidence*> added;
        for (const VisionEvidence& v : run.vision) {
          EXPECT_EQ(v.camera_id, c);
          for (const RegionEvidence& r : v.regions) {
            if (!r.vanished) added.push_back(&r);
          }
        }
        ASSERT_EQ(added.size(), 1U);
        const RegionEvidence& region = *added[0];
        EXPECT_EQ(region.evidence_id.rfind("region:" + std::to_string(c) + ":", 0), 0U);
        ASSERT_TRUE(region.floor_mm.has_value());
        const double error =
            std::hypot(region.floor_mm->x_mm - item.x_mm, region.floor_mm->y_mm - item.y_mm);
        error_sum[point == CameraEvidenceParams::FloorPoint::kNearEdge ? 1 : 0] += error;
        if (point == CameraEvidenceParams::FloorPoint::kNearEdge) {  // the default
          EXPECT_LT(error, 50.0);
          ++views;
          ASSERT_FALSE(region.top.empty());
          right += region.top[0].product_id == data.mini.products[clear[n]]->id ? 1 : 0;
          std::printf("%s -> %s (cosine %.3f), box %dx%d px\n",
                      data.mini.products[clear[n]]->id.c_str(), region.top[0].product_id.c_str(),
                      region.top[0].cosine, region.box_px.width, region.box_px.height);
        }
      }
    }
  }
  std::printf(
      "simulation: %d views, top-1 right %d; mean floor error centroid %.1f mm, "
      "near_edge %.1f mm\n",
      views, right, error_sum[0] / views, error_sum[1] / views);
  // Measured at the time of writing: 5 of 8 (the banana, seen end-on at 26-36 px across, and one
  // view of the galia melon fail).
  EXPECT_GE(2 * right, views);
}

TEST(CameraEvidenceTest, ACoveredCameraGivesHealthAndNoRegions) {
  Fixture& data = Data();
  ASSERT_FALSE(data.mini.sprites.empty());
  std::mt19937_64 rng(9);
  const sim::ItemView item = ItemOf(0, rng);
  Camera camera(0, 77);
  CameraEvidence evidence(0, "basket_a", FloorHomography(camera), CameraEvidenceParams{}, nullptr);
  const Outputs run = PlaceOne(evidence, camera, item, 1.0);
  ASSERT_FALSE(run.health.empty());
  EXPECT_EQ(run.health[0].state, vision::CameraHealthState::kCovered);
  EXPECT_NE(run.health[0].message.find("camera 0 (basket_a): covered"), std::string::npos)
      << run.health[0].message;
  for (const VisionEvidence& v : run.vision) {
    EXPECT_LT(v.t, run.health[0].t) << "vision evidence while covered";
  }
}

// Collects what a stage emits.
class Collector final : public OutputEmitter {
 public:
  Timestamp now() const override { return now_; }
  Status EmitPacket(const std::string& port, Packet packet) override {
    if (packet.timestamp() < now_) return InvalidArgumentError("emitted into the past");
    packets.emplace_back(port, std::move(packet));
    return Status::Ok();
  }
  void set_now(Timestamp t) { now_ = t; }
  std::vector<std::pair<std::string, Packet>> packets;

 private:
  Timestamp now_;
};

TEST(CameraEvidenceStageTest, ConfigIsCheckedAndFramesOfItsCameraGiveHealth) {
  StageRegistry registry;
  ASSERT_TRUE(RegisterCameraEvidenceStages(registry, nullptr).ok());
  MetricsRegistry metrics;
  StageContext context{"camera1", &metrics, nullptr};
  {
    auto stage = registry.Create("CameraEvidenceStage");
    ASSERT_TRUE(stage.ok());
    auto config = Config::Parse("{camera_id: 1, floor_homography: [1, 0, 0]}");
    ASSERT_TRUE(config.ok());
    EXPECT_FALSE((*stage)->Open(context, *config).ok());
    auto unknown = Config::Parse("{camera_id: 1, settle: 3}");
    ASSERT_TRUE(unknown.ok());
    EXPECT_FALSE((*stage)->Open(context, *unknown).ok());
  }
  auto stage = registry.Create("CameraEvidenceStage");
  ASSERT_TRUE(stage.ok());
  auto config = Config::Parse(
      "{camera_id: 1, camera_name: basket_b, floor_homography: [1, 0, 0, 0, 1, 0, 0, 0, 1], "
      "camera_health: {confirm_frames: 2}}");
  ASSERT_TRUE(config.ok());
  ASSERT_TRUE((*stage)->Open(context, *config).ok());
  Collector out;
  const cv::Mat black(480, 640, CV_8UC3, cv::Scalar(2, 2, 2));
  for (int i = 0; i < 6; ++i) {
    CameraFrame frame{FrameTime(i), i % 2 == 0 ? 1 : 0, i, black};  // camera 0's are ignored
    out.set_now(frame.t);
    ASSERT_TRUE((*stage)->Process("frames", Packet::Make(frame.t, frame), out).ok());
    LoadCellSample tick;
    tick.t = frame.t + Duration::Milliseconds(5);
    out.set_now(tick.t);
    ASSERT_TRUE((*stage)->Process("clock", Packet::Make(tick.t, tick), out).ok());
  }
  ASSERT_TRUE((*stage)->Close(out).ok());
  ASSERT_EQ(out.packets.size(), 1U);
  EXPECT_EQ(out.packets[0].first, "camera_health");
  auto health = out.packets[0].second.Get<CameraHealthEvidence>();
  ASSERT_TRUE(health.ok());
  EXPECT_EQ((*health)->camera_id, 1);
  EXPECT_EQ((*health)->state, vision::CameraHealthState::kBlack);
  EXPECT_EQ((*health)->t, FrameTime(2));  // the second frame of camera 1
}

}  // namespace
}  // namespace cartsense::fusion
