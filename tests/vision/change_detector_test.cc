// The basket change detector on frames rendered by the simulator's basket cameras (real product
// photos of data/grocery-store-mini, seeded placements, light drift, sensor noise and JPEG), with
// the true box of every item computed from the renderer's geometry. Figures here are simulation.
#include "vision/change_detector.h"

#include <cstdio>
#include <numbers>
#include <random>
#include <string>
#include <vector>

#include <gtest/gtest.h>
#include <opencv2/imgcodecs.hpp>
#include <opencv2/imgproc.hpp>

#include "sim/scene_renderer.h"
#include "support/basket_camera_sim.h"

namespace cartsense::vision {
namespace {

constexpr double kFps = 15;

using test_support::HandAt;
using Fixture = test_support::MiniSprites;

const Fixture& Data() {
  static const Fixture* fixture = [] {
    auto* f = new Fixture;
    test_support::LoadMiniSprites(*f);
    return f;
  }();
  return *fixture;
}

// Where the renderer draws an item: the sprite's alpha (> half) warped into the image, on a
// canvas three times the image so the part outside the view is counted too.
struct TrueView {
  cv::Rect box;
  double visible_share = 0;
};

cv::Mat CanvasSolid(const sim::CameraModel& camera, const sim::ItemView& item) {
  const int w = camera.pose().width_px;
  const int h = camera.pose().height_px;
  const cv::Matx33d offset(1, 0, w, 0, 1, h, 0, 0, 1);
  const cv::Matx33d to_canvas = offset * sim::SpriteToImage(camera, item);
  cv::Mat alpha;
  cv::warpPerspective(item.sprite->alpha, alpha, cv::Mat(to_canvas), cv::Size(3 * w, 3 * h),
                      cv::INTER_LINEAR, cv::BORDER_CONSTANT, cv::Scalar(0));
  return alpha > 127;
}

// `drawn_over`: items the renderer draws after this one (later in its list), which hide part
// of it; the box is then the visible part's.
TrueView TrueViewOf(const sim::CameraModel& camera, const sim::ItemView& item,
                    const std::vector<sim::ItemView>& drawn_over = {}) {
  const int w = camera.pose().width_px;
  const int h = camera.pose().height_px;
  const cv::Mat solid = CanvasSolid(camera, item);
  cv::Mat visible = solid.clone();
  for (const sim::ItemView& other : drawn_over) visible &= ~CanvasSolid(camera, other);
  const cv::Mat inside = visible(cv::Rect(w, h, w, h));
  const int total = cv::countNonZero(solid);
  TrueView view;
  view.box = cv::boundingRect(inside);
  view.visible_share = total > 0 ? cv::countNonZero(inside) / static_cast<double>(total) : 0;
  return view;
}

double Iou(const cv::Rect& a, const cv::Rect& b) {
  const double inter = (a & b).area();
  const double uni = a.area() + b.area() - inter;
  return uni > 0 ? inter / uni : 0;
}

// A camera as the cart has it: renders, light drift, sensor noise, JPEG at the session quality.
class Camera {
 public:
  Camera(int index, uint64_t seed)
      : model_(sim::BasketCameraPoses(sim::BasketGeometry{})[static_cast<std::size_t>(index)]),
        renderer_(model_, sim::BasketGeometry{}, seed),
        rng_(seed * 7919 + 1) {}

  const sim::CameraModel& model() const { return model_; }

  cv::Mat Frame(const cv::Mat& still, const sim::FrameState& state_in, double noise_sigma = 2.0) {
    sim::FrameState state = state_in;
    state.light_gain *= 1.0 + 0.10 * std::sin(2 * std::numbers::pi * t_s_ / 23.0) +
                        0.05 * std::sin(2 * std::numbers::pi * t_s_ / 7.3);
    state.tint_bgr =
        cv::Vec3d(1.0 + 0.04 * std::sin(t_s_ / 31.0), 1.0, 1.0 - 0.04 * std::sin(t_s_ / 31.0));
    return test_support::CartCameraFrame(renderer_.RenderFrame(still, state), rng_, noise_sigma);
  }
  cv::Mat Still(const std::vector<sim::ItemView>& items) const {
    return renderer_.RenderStatic(items);
  }
  Timestamp Tick() {
    t_s_ += 1 / kFps;
    return Timestamp::FromSeconds(t_s_);
  }

 private:
  sim::CameraModel model_;
  sim::BasketCameraRenderer renderer_;
  cv::RNG rng_;
  double t_s_ = 0;
};

// Feeds frames and collects what the detector reports.
struct Feed {
  ChangeDetector detector;
  std::vector<BasketChange> changes;
  void Add(Camera& camera, const cv::Mat& still, const sim::FrameState& state,
           double noise_sigma = 2.0) {
    const Timestamp t = camera.Tick();
    auto result = detector.AddFrame(t, camera.Frame(still, state, noise_sigma));
    ASSERT_TRUE(result.ok()) << result.status().ToString();
    if (result->has_value()) changes.push_back(std::move(**result));
  }
  void Still(Camera& camera, const cv::Mat& still, int frames, double noise_sigma = 2.0) {
    for (int i = 0; i < frames; ++i) Add(camera, still, {}, noise_sigma);
  }
};

// A hand carries `items` in from the handle side (or out), then leaves: 14 moving frames. The
// items move together, as in the simulator's multi-drops: they reach their places at once.
void Reach(Feed& feed, Camera& camera, const cv::Mat& before, const cv::Mat& after,
           const std::vector<sim::ItemView>& items, bool placing, int hold_frames = 0) {
  double x = 0;
  double y = 0;
  double height = 0;
  for (const sim::ItemView& item : items) {
    x += item.x_mm / static_cast<double>(items.size());
    y += item.y_mm / static_cast<double>(items.size());
    height = std::max(height, item.size.height_mm);
  }
  const cv::Vec3d entry(x, -60, 460);
  const cv::Vec3d low(x, y, height + 30);
  for (int i = 0; i < 14; ++i) {
    for (int k = 0; i == 7 && k < hold_frames; ++k) {  // holds the item down, perfectly still
      sim::FrameState state;
      state.hand = HandAt(low);
      state.moving = items;
      feed.Add(camera, before, state);
    }
    const double u = i < 7 ? i / 7.0 : (14 - i) / 7.0;  // in, then out
    const cv::Vec3d palm = entry + (low - entry) * (u * u * (3 - 2 * u));
    sim::FrameState state;
    state.hand = HandAt(palm);
    const bool holding = placing ? i < 7 : i >= 7;
    for (const sim::ItemView& item : holding ? items : std::vector<sim::ItemView>{}) {
      sim::ItemView carried = item;
      carried.x_mm += palm[0] - low[0];
      carried.y_mm += palm[1] - low[1];
      carried.z_mm = std::max(0.0, palm[2] - low[2]);
      state.moving.push_back(carried);
    }
    feed.Add(camera, i < 7 ? before : after, state);
  }
}

sim::ItemView RandomItem(std::mt19937_64& rng) {
  const Fixture& data = Data();
  std::uniform_int_distribution<std::size_t> pick(0, data.sprites.size() - 1);
  std::uniform_real_distribution<double> x(70, 490);
  std::uniform_real_distribution<double> y(70, 330);
  std::uniform_real_distribution<double> angle(0, std::numbers::pi);
  const std::size_t k = pick(rng);
  sim::ItemView item;
  item.sprite = &data.sprites[k];
  item.size = sim::SizeFromMass(*data.products[k], data.products[k]->unit_mass_g);
  item.x_mm = x(rng);
  item.y_mm = y(rng);
  item.angle_rad = angle(rng);
  return item;
}

const ChangeRegion* LargestOfKind(const BasketChange& change, ChangeRegion::Kind kind) {
  for (const ChangeRegion& region : change.regions) {  // sorted largest first per kind
    if (region.kind == kind) return &region;
  }
  return nullptr;
}

struct Localisation {
  int pairs = 0;  // (placement, camera) with at least half the item visible
  int hits = 0;   // largest added region with IoU >= 0.5
  int reports = 0;
};

// `placements` items put in one after another, seen by both cameras; with a weight hint or not.
Localisation MeasurePlacements(uint64_t seed, int placements, bool weight_hint) {
  Localisation result;
  for (int c = 0; c < 2; ++c) {
    std::mt19937_64 rng(seed);
    Camera camera(c, seed + 31 * static_cast<uint64_t>(c));
    Feed feed;
    std::vector<sim::ItemView> lying;
    cv::Mat still = camera.Still(lying);
    feed.Still(camera, still, 4);
    for (int p = 0; p < placements; ++p) {
      const sim::ItemView item = RandomItem(rng);
      std::vector<sim::ItemView> next = lying;
      next.push_back(item);
      const cv::Mat after = camera.Still(next);
      feed.changes.clear();
      Reach(feed, camera, still, after, {item}, true);
      if (weight_hint) feed.detector.NoteWeightEvent(Timestamp::FromSeconds(1e6), 300);
      feed.Still(camera, after, 12);
      lying = next;
      still = after;
      const TrueView truth = TrueViewOf(camera.model(), item);
      if (truth.visible_share < 0.5) continue;
      ++result.pairs;
      for (const BasketChange& change : feed.changes) {
        if (change.outcome != BasketChange::Outcome::kCompared) continue;
        ++result.reports;
        const ChangeRegion* added = LargestOfKind(change, ChangeRegion::Kind::kAdded);
        if (added != nullptr && Iou(added->box_px, truth.box) >= 0.5) {
          ++result.hits;
          break;
        }
      }
    }
  }
  return result;
}

TEST(ChangeDetectorTest, ValidateNamesTheField) {
  ChangeDetectorParams params;
  EXPECT_TRUE(ChangeDetector::Validate(params).ok());
  params.shadow_min_ratio = 1.5;
  const Status status = ChangeDetector::Validate(params);
  EXPECT_FALSE(status.ok());
  EXPECT_NE(status.message().find("shadow_min_ratio"), std::string::npos);
}

TEST(ChangeDetectorTest, RejectsFramesOfAnotherSizeOrOutOfOrder) {
  ChangeDetector detector;
  const cv::Mat frame(480, 640, CV_8UC3, cv::Scalar(80, 80, 80));
  ASSERT_TRUE(detector.AddFrame(Timestamp::FromMilliseconds(100), frame).ok());
  EXPECT_FALSE(detector.AddFrame(Timestamp::FromMilliseconds(100), frame).ok());
  EXPECT_FALSE(detector
                   .AddFrame(Timestamp::FromMilliseconds(200),
                             cv::Mat(240, 320, CV_8UC3, cv::Scalar(80, 80, 80)))
                   .ok());
  EXPECT_FALSE(detector.AddFrame(Timestamp::FromMilliseconds(300), cv::Mat()).ok());
}

TEST(ChangeDetectorTest, AddedItemsAreLocalised) {
  const Localisation without_hint = MeasurePlacements(11, 6, false);
  const Localisation with_hint = MeasurePlacements(11, 3, true);
  const double rate = without_hint.hits / static_cast<double>(without_hint.pairs);
  const double rate_hint = with_hint.hits / static_cast<double>(with_hint.pairs);
  std::printf(
      "simulation, seed 11: localisation_iou50_rate %.3f (%d/%d pairs) without weight "
      "hint, %.3f (%d/%d) with\n",
      rate, without_hint.hits, without_hint.pairs, rate_hint, with_hint.hits, with_hint.pairs);
  EXPECT_GE(without_hint.pairs, 10);
  EXPECT_GE(rate, 0.9);
  EXPECT_GE(rate_hint, 0.9);
}

TEST(ChangeDetectorTest, RemovalGivesAVanishedRegion) {
  for (const bool weight_hint : {false, true}) {
    std::mt19937_64 rng(5);
    Camera camera(0, 5);
    Feed feed;
    std::vector<sim::ItemView> lying = {RandomItem(rng), RandomItem(rng)};
    while (lying[1].size.long_mm < 100) lying[1] = RandomItem(rng);  // big enough to see well
    lying[0].x_mm = 150;
    lying[0].y_mm = 150;
    lying[1].x_mm = 400;
    lying[1].y_mm = 250;
    const cv::Mat empty = camera.Still({});
    feed.Still(camera, empty, 4);
    const cv::Mat full = camera.Still(lying);
    Reach(feed, camera, empty, full, {lying[1]}, true);  // not quite how two get in; fine here
    feed.Still(camera, full, 12);
    const cv::Mat after = camera.Still({lying[0]});
    feed.changes.clear();
    Reach(feed, camera, full, after, {lying[1]}, false);
    if (weight_hint) feed.detector.NoteWeightEvent(Timestamp::FromSeconds(1e6), -300);
    feed.Still(camera, after, 12);
    ASSERT_EQ(feed.changes.size(), 1U);
    const ChangeRegion* vanished = LargestOfKind(feed.changes[0], ChangeRegion::Kind::kVanished);
    ASSERT_NE(vanished, nullptr) << "weight hint " << weight_hint;
    EXPECT_GE(Iou(vanished->box_px, TrueViewOf(camera.model(), lying[1]).box), 0.5);
    EXPECT_EQ(LargestOfKind(feed.changes[0], ChangeRegion::Kind::kAdded), nullptr);
  }
}

TEST(ChangeDetectorTest, GlobalBrightnessChangeGivesNothing) {
  std::mt19937_64 rng(3);
  Camera camera(1, 3);
  Feed feed;
  const std::vector<sim::ItemView> lying = {RandomItem(rng), RandomItem(rng)};
  const cv::Mat still = camera.Still(lying);
  feed.Still(camera, still, 4);
  for (const double gain : {0.7, 1.3, 1.0}) {
    sim::FrameState state;
    state.light_gain = gain;
    state.tint_bgr = cv::Vec3d(1.05, 1.0, 0.95);
    feed.Add(camera, still, state);
    // The step need not look like motion; a weight event makes sure the frames are compared.
    feed.detector.NoteWeightEvent(Timestamp::FromSeconds(100 * gain), 200);
    for (int i = 0; i < 12; ++i) feed.Add(camera, still, state);
  }
  ASSERT_EQ(feed.changes.size(), 3U);
  for (const BasketChange& change : feed.changes) {
    EXPECT_EQ(change.outcome, BasketChange::Outcome::kCompared);
    EXPECT_TRUE(change.regions.empty()) << change.regions.size() << " regions";
  }
}

TEST(ChangeDetectorTest, SensorNoiseGivesNothing) {
  std::mt19937_64 rng(4);
  Camera camera(0, 4);
  Feed feed;
  const std::vector<sim::ItemView> lying = {RandomItem(rng), RandomItem(rng), RandomItem(rng)};
  const cv::Mat still = camera.Still(lying);
  feed.Still(camera, still, 4, 6.0);
  // A weight event forces comparisons of noisy frames of an unchanged scene.
  for (int k = 0; k < 3; ++k) {
    feed.detector.NoteWeightEvent(Timestamp::FromSeconds(100.0 + k), 200);
    feed.Still(camera, still, 12, 6.0);
  }
  ASSERT_EQ(feed.changes.size(), 3U);
  for (const BasketChange& change : feed.changes) {
    EXPECT_TRUE(change.regions.empty()) << change.regions.size() << " regions";
  }
}

TEST(ChangeDetectorTest, WaitsWhileAHandStaysInView) {
  std::mt19937_64 rng(6);
  Camera camera(0, 6);
  ChangeDetectorParams params;
  params.max_settle_wait_ms = 2000;
  Feed feed{ChangeDetector(params), {}};
  const cv::Mat still = camera.Still({});
  feed.Still(camera, still, 4);
  // The hand hovers and moves a little for 3 s: no comparison, one timeout report.
  for (int i = 0; i < 45; ++i) {
    sim::FrameState state;
    state.hand = HandAt(cv::Vec3d(250 + 30 * std::sin(i * 0.7), 200, 150));
    feed.Add(camera, still, state);
  }
  ASSERT_EQ(feed.changes.size(), 1U);
  EXPECT_EQ(feed.changes[0].outcome, BasketChange::Outcome::kNotSettled);
  EXPECT_EQ(feed.detector.settle_timeouts(), 1);
  feed.Still(camera, still, 12);
  ASSERT_EQ(feed.changes.size(), 2U);
  EXPECT_EQ(feed.changes[1].outcome, BasketChange::Outcome::kCompared);
  EXPECT_TRUE(feed.changes[1].regions.empty());
}

TEST(ChangeDetectorTest, AHandHoldingStillIsNotCompared) {
  std::mt19937_64 rng(9);
  Camera camera(1, 9);
  Feed feed;
  sim::ItemView item = RandomItem(rng);
  const cv::Mat empty = camera.Still({});
  feed.Still(camera, empty, 4);
  const cv::Mat after = camera.Still({item});
  Reach(feed, camera, empty, after, {item}, true, 8);  // 0.53 s still with the hand in view
  feed.Still(camera, after, 12);
  ASSERT_EQ(feed.changes.size(), 1U);
  ASSERT_EQ(feed.changes[0].regions.size(), 1U);
  EXPECT_GE(Iou(feed.changes[0].regions[0].box_px, TrueViewOf(camera.model(), item).box), 0.5);
}

TEST(ChangeDetectorTest, ShiftedNeighbourIsNotAnAddition) {
  std::mt19937_64 rng(8);
  Camera camera(0, 8);
  Feed feed;
  sim::ItemView first = RandomItem(rng);
  first.x_mm = 220;
  first.y_mm = 200;
  const cv::Mat empty = camera.Still({});
  feed.Still(camera, empty, 4);
  const cv::Mat one = camera.Still({first});
  Reach(feed, camera, empty, one, {first}, true);
  feed.Still(camera, one, 12);
  // The second item lands beside the first and pushes it 12 mm to the left.
  sim::ItemView second = RandomItem(rng);
  second.x_mm = first.x_mm + 0.5 * (first.size.long_mm + second.size.long_mm) + 5;
  second.y_mm = 200;
  second.angle_rad = 0;
  sim::ItemView pushed = first;
  pushed.x_mm -= 12;
  const cv::Mat two = camera.Still({pushed, second});
  feed.changes.clear();
  Reach(feed, camera, one, two, {second}, true);
  feed.detector.NoteWeightEvent(Timestamp::FromSeconds(1e6), 250);
  feed.Still(camera, two, 12);
  ASSERT_EQ(feed.changes.size(), 1U);
  int added = 0;
  for (const ChangeRegion& region : feed.changes[0].regions) {
    if (region.kind == ChangeRegion::Kind::kAdded) ++added;
  }
  EXPECT_EQ(added, 1);
  const ChangeRegion* largest = LargestOfKind(feed.changes[0], ChangeRegion::Kind::kAdded);
  ASSERT_NE(largest, nullptr);
  EXPECT_GE(Iou(largest->box_px, TrueViewOf(camera.model(), second).box), 0.5);
}

// Two items put down together, touching or overlapping a little on the floor (a multi-drop):
// each should get its own added region. With the core split alone (the detector before it split
// regions at necks and concavities too) more pairs merge into one region.
struct DropTally {
  int pairs = 0;     // (item, camera) with at least half the item visible
  int hits = 0;      // an added region with IoU >= 0.5 with the item's visible part
  int phantoms = 0;  // added regions beyond the two items, over all drops
};

DropTally MeasureTwoItemDrops(const ChangeDetectorParams& params) {
  DropTally tally;
  for (uint64_t seed = 1; seed <= 5; ++seed) {
    for (int c = 0; c < 2; ++c) {
      std::mt19937_64 rng(seed * 101);
      Camera camera(c, seed + 31 * static_cast<uint64_t>(c));
      Feed feed{ChangeDetector(params), {}};
      sim::ItemView first = RandomItem(rng);
      sim::ItemView second = RandomItem(rng);
      first.x_mm = 230;
      first.y_mm = 200;
      // Beside it, their footprints overlapping by a tenth of their lengths.
      const double apart = 0.45 * (first.size.long_mm + second.size.long_mm);
      const double direction = std::uniform_real_distribution<double>(0, std::numbers::pi)(rng);
      second.x_mm = first.x_mm + apart * std::cos(direction);
      second.y_mm = first.y_mm + apart * std::sin(direction);
      const cv::Mat empty = camera.Still({});
      feed.Still(camera, empty, 4);
      const cv::Mat after = camera.Still({first, second});
      Reach(feed, camera, empty, after, {first, second}, true);
      feed.detector.NoteWeightEvent(Timestamp::FromSeconds(1e6), 600);
      feed.Still(camera, after, 12);
      if (feed.changes.size() != 1) continue;
      int added = 0;
      for (const ChangeRegion& region : feed.changes[0].regions) {
        added += region.kind == ChangeRegion::Kind::kAdded ? 1 : 0;
      }
      tally.phantoms += std::max(0, added - 2);
      for (const TrueView& truth :
           {TrueViewOf(camera.model(), first, {second}), TrueViewOf(camera.model(), second)}) {
        if (truth.visible_share < 0.5) continue;
        ++tally.pairs;
        for (const ChangeRegion& region : feed.changes[0].regions) {
          if (region.kind == ChangeRegion::Kind::kAdded && Iou(region.box_px, truth.box) >= 0.5) {
            ++tally.hits;
            break;
          }
        }
      }
    }
  }
  return tally;
}

TEST(ChangeDetectorTest, TwoItemsPutDownTogetherGiveTwoRegions) {
  ChangeDetectorParams cores_only;
  cores_only.split_neck_ratio = 0;
  cores_only.split_max_cut_per_depth = 0;
  const DropTally split = MeasureTwoItemDrops({});
  const DropTally merged = MeasureTwoItemDrops(cores_only);
  std::printf(
      "simulation, two items put down together (seeds 1-5, both cameras): localised %d/%d "
      "all splits, %d/%d cores only; extra regions %d\n",
      split.hits, split.pairs, merged.hits, merged.pairs, split.phantoms);
  ASSERT_GE(split.pairs, 16);
  EXPECT_GE(split.hits, split.pairs * 8 / 10);
  EXPECT_LT(merged.hits, split.hits);
  EXPECT_EQ(split.phantoms, 0);
}

}  // namespace
}  // namespace cartsense::vision
