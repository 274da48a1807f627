// Fast checks of the simulator's parts: split files, camera geometry, product masses, frames that
// show the product, barcodes that decode, and plans whose truth matches the scenario.
#include <cmath>
#include <numeric>
#include <set>

#include <gtest/gtest.h>
#define ZX_USE_UTF8
#include <ZXing/ReadBarcode.h>
#include <opencv2/imgproc.hpp>

#include "catalog/catalogue.h"
#include "sim/barcode_renderer.h"
#include "sim/product_images.h"
#include "sim/scene_renderer.h"
#include "sim/shopper.h"

namespace cartsense::sim {
namespace {

const std::string kRepo = CARTSENSE_SOURCE_DIR;

const catalog::Catalogue& TestCatalogue() {
  static const catalog::Catalogue catalogue =
      catalog::Catalogue::Load(kRepo + "/data/catalogue/grocery-store-81.csv").value();
  return catalogue;
}

TEST(ProductImagesTest, ParsesSplitLinesRelativeToTheFile) {
  auto images =
      ProductImages::Parse("a/b.jpg, 3, 1\n\n/abs/c.jpg,3,1\nd.jpg, 7, 2\n", "/base", "split.txt");
  ASSERT_TRUE(images.ok()) << images.status().ToString();
  EXPECT_EQ(images->photo_count(), 3U);
  EXPECT_EQ(images->PhotosOf(3), (std::vector<std::string>{"/base/a/b.jpg", "/abs/c.jpg"}));
  EXPECT_EQ(images->FineIds(), (std::vector<int>{3, 7}));
  EXPECT_TRUE(images->PhotosOf(99).empty());
}

TEST(ProductImagesTest, ErrorsNameFileAndLine) {
  auto bad = ProductImages::Parse("a.jpg, 1, 0\nb.jpg, x, 0\n", "/", "split.txt");
  ASSERT_FALSE(bad.ok());
  EXPECT_NE(bad.status().message().find("split.txt:2: fine_id"), std::string::npos)
      << bad.status().ToString();
  EXPECT_FALSE(ProductImages::Parse("a.jpg 1 0\n", "/", "s").ok());
  EXPECT_FALSE(ProductImages::Load("/nonexistent/split.txt").ok());
}

TEST(CameraModelTest, FloorHomographyInvertsTheProjection) {
  const BasketGeometry basket;
  for (const CameraPose& pose : BasketCameraPoses(basket)) {
    const CameraModel camera(pose);
    const cv::Matx33d to_floor = camera.ImageToFloor();
    for (const cv::Vec3d& p :
         {cv::Vec3d(50, 40, 0), cv::Vec3d(280, 200, 0), cv::Vec3d(500, 360, 0)}) {
      const cv::Point2d px = camera.Project(p);
      // The whole floor is in view.
      EXPECT_GT(px.x, 0);
      EXPECT_LT(px.x, pose.width_px);
      EXPECT_GT(px.y, 0);
      EXPECT_LT(px.y, pose.height_px);
      const cv::Vec3d back = to_floor * cv::Vec3d(px.x, px.y, 1);
      EXPECT_NEAR(back[0] / back[2], p[0], 1e-6);
      EXPECT_NEAR(back[1] / back[2], p[1], 1e-6);
    }
  }
}

TEST(MassModelTest, DrawsFollowTheCatalogue) {
  std::mt19937_64 rng(5);
  for (const std::string id : {"golden-delicious", "oatly-oat-milk"}) {
    const catalog::Product* product = TestCatalogue().FindById(id);
    ASSERT_NE(product, nullptr) << id;
    std::vector<double> masses;
    for (int i = 0; i < 4000; ++i) masses.push_back(DrawMassG(*product, rng));
    const double mean = std::accumulate(masses.begin(), masses.end(), 0.0) / masses.size();
    double var = 0;
    for (double m : masses) var += (m - mean) * (m - mean);
    const double sd = std::sqrt(var / masses.size());
    EXPECT_NEAR(mean, product->unit_mass_g, 0.02 * product->unit_mass_g) << id;
    EXPECT_NEAR(sd, product->unit_mass_sigma_g, 0.1 * product->unit_mass_sigma_g + 0.5) << id;
  }
}

TEST(SceneRendererTest, PlacedProductChangesThePixelsWhereItLies) {
  const catalog::Product* product = TestCatalogue().FindById("golden-delicious");
  ASSERT_NE(product, nullptr);
  auto sprite = LoadSprite(kRepo +
                           "/data/grocery-store-mini/train/Fruit/Apple/Golden-Delicious/"
                           "Golden-Delicious_001.jpg");
  ASSERT_TRUE(sprite.ok()) << sprite.status().ToString();
  const BasketGeometry basket;
  for (const CameraPose& pose : BasketCameraPoses(basket)) {
    const CameraModel camera(pose);
    const BasketCameraRenderer renderer(camera, basket, 3);
    ItemView item;
    item.sprite = &*sprite;
    item.x_mm = 200;
    item.y_mm = 150;
    item.size = SizeFromMass(*product, 180);
    const cv::Mat empty = renderer.RenderStatic({});
    const cv::Mat with_item = renderer.RenderStatic({item});
    ASSERT_EQ(empty.size(), cv::Size(640, 480));
    cv::Mat diff;
    cv::absdiff(empty, with_item, diff);
    cv::cvtColor(diff, diff, cv::COLOR_BGR2GRAY);
    const cv::Point2d centre = camera.Project(cv::Vec3d(200, 150, item.size.height_mm));
    const double radius = 0.3 * item.size.short_mm * camera.ScaleAt(cv::Vec3d(200, 150, 0));
    ASSERT_GT(radius, 5);
    cv::Mat inside(diff.size(), CV_8U, cv::Scalar(0));
    cv::circle(inside, centre, static_cast<int>(radius), cv::Scalar(255), cv::FILLED);
    EXPECT_GT(cv::mean(diff, inside)[0], 20) << pose.name;
    // Far from the item nothing changes.
    cv::Mat far(diff.size(), CV_8U, cv::Scalar(255));
    cv::circle(far, centre, static_cast<int>(6 * radius), cv::Scalar(0), cv::FILLED);
    EXPECT_LT(cv::mean(diff, far)[0], 1.0) << pose.name;
  }
}

std::string Decode(const cv::Mat& grey) {
  const ZXing::ImageView view(grey.data, grey.cols, grey.rows, ZXing::ImageFormat::Lum,
                              static_cast<int>(grey.step));
  const ZXing::Result result = ZXing::ReadBarcode(view);
  return result.isValid() ? result.text() : std::string();
}

TEST(BarcodeRendererTest, EasyScansDecodeWithZxing) {
  const ScannerRenderer scanner(640, 480, 1);
  std::mt19937_64 rng(11);
  int easy = 0;
  int decoded = 0;
  for (const catalog::Product& product : TestCatalogue().products()) {
    if (product.gtin.empty()) continue;
    auto label = RenderBarcodeLabel(product.gtin);
    ASSERT_TRUE(label.ok()) << label.status().ToString();
    ScanView view = DrawScanView(rng, HardCaseShares{0, 0, 0});
    ASSERT_FALSE(view.hard());
    const cv::Mat frame = scanner.RenderFrame(nullptr, *label, view, 0.0);
    ++easy;
    std::string text = Decode(frame);
    if (text.size() == 12) text = "0" + text;  // UPC-A
    if (text == product.gtin) ++decoded;
  }
  ASSERT_GT(easy, 10);
  EXPECT_GE(decoded, easy * 9 / 10) << decoded << " of " << easy;
}

TEST(BarcodeRendererTest, HardCaseSharesAreAsSet) {
  std::mt19937_64 rng(2);
  int rotation = 0, small = 0, blur = 0;
  const int n = 5000;
  for (int i = 0; i < n; ++i) {
    const ScanView view = DrawScanView(rng, HardCaseShares{});
    rotation += view.hard_rotation && std::abs(view.rotation_deg) > 30 ? 1 : 0;
    small += view.hard_small_modules && view.module_px < 2 ? 1 : 0;
    blur += view.hard_motion_blur && view.motion_blur_px >= 4 ? 1 : 0;
  }
  EXPECT_NEAR(rotation / double(n), 0.10, 0.015);
  EXPECT_NEAR(small / double(n), 0.10, 0.015);
  EXPECT_NEAR(blur / double(n), 0.10, 0.015);
}

TEST(ShopperTest, EveryScenarioPlansItsBehaviour) {
  std::vector<const catalog::Product*> products;
  std::vector<int> counts;
  for (const catalog::Product& product : TestCatalogue().products()) {
    products.push_back(&product);
    counts.push_back(2);
  }
  const std::map<std::string, std::string> featured = {
      {"scan_and_place", "scan_then_place"},
      {"place_without_scan", "place_without_scan"},
      {"produce_by_weight", "produce_weighed"},
      {"remove_item", "remove_item"},
      {"swap", "swap"},
      {"multi_drop", "multi_drop"},
      {"bumps_and_pushes", "bump_push"},
      {"leaning", "lean"},
      {"personal_item", "personal_item"},
      {"camera_covered", "cover_camera"},
      {"sensor_dropout", "sensor_dropout"},
      {"hard_barcodes", "scan_then_place"},
  };
  ASSERT_GE(Scenarios().size(), 13U);
  for (const ScenarioInfo& info : Scenarios()) {
    for (uint64_t seed : {1, 2, 3}) {
      PlanOptions options;
      options.scenario = info.name;
      options.items = 6;
      options.seed = seed;
      auto plan = PlanSession(options, products, counts);
      ASSERT_TRUE(plan.ok()) << info.name << ": " << plan.status().ToString();
      std::set<std::string> tags;
      int places = 0;
      for (const TruthAction& action : plan->truth) {
        tags.insert(std::string(BehaviourTag(action.behaviour)));
        if (action.kind == "place" && !action.product_id.empty()) ++places;
        EXPECT_GE(action.t_s, 0);
        EXPECT_LE(action.t_s, plan->end_s);
      }
      EXPECT_EQ(places, 6) << info.name;
      if (featured.count(info.name) != 0) {
        EXPECT_EQ(tags.count(featured.at(info.name)), 1U) << info.name << " seed " << seed;
      }
      if (info.name == "hard_barcodes") {
        for (const ScanMove& scan : plan->scans) EXPECT_TRUE(scan.view.hard());
      }
      // Every placed product is a load change of its mass.
      double placed_g = 0;
      for (const PlannedItem& item : plan->items) {
        if (std::isfinite(item.placed_s)) placed_g += item.mass_g;
        if (std::isfinite(item.removed_s)) placed_g -= item.mass_g;
      }
      double physics_g = 0;
      for (const LoadChange& change : plan->physics.changes) physics_g += change.mass_g;
      EXPECT_NEAR(placed_g, physics_g, 1e-6) << info.name;
    }
  }
  PlanOptions unknown;
  unknown.scenario = "nope";
  EXPECT_FALSE(PlanSession(unknown, products, counts).ok());
}

}  // namespace
}  // namespace cartsense::sim
