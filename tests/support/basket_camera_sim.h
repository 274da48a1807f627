// Shared setup of the tests that run basket-camera code on the simulator's renders
// (tests/vision/change_detector_test.cc, tests/fusion/camera_evidence_test.cc): the sprites of
// data/grocery-store-mini's dev photos with their products, the cart's sensor noise and JPEG
// applied to a rendered frame, and a hand at a palm position. Test executables get
// CARTSENSE_SOURCE_DIR from cartsense_add_test (tests/CMakeLists.txt).
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include <opencv2/core.hpp>
#include <opencv2/imgcodecs.hpp>

#include "catalog/catalogue.h"
#include "sim/product_images.h"
#include "sim/scene_renderer.h"

namespace cartsense::test_support {

// The first dev photo of every product of data/grocery-store-mini that the catalogue knows.
struct MiniSprites {
  catalog::Catalogue catalogue;
  std::vector<sim::Sprite> sprites;
  std::vector<const catalog::Product*> products;  // point into `catalogue`
  std::vector<std::string> photo_paths;
};

// Loads into `out` (products point into out.catalogue, so it is filled in place). Aborts the
// test binary on a missing file: every test that uses it needs the data.
inline void LoadMiniSprites(MiniSprites& out) {
  const std::string repo = CARTSENSE_SOURCE_DIR;
  out.catalogue = catalog::Catalogue::Load(repo + "/data/catalogue/grocery-store-81.csv").value();
  const sim::ProductImages images =
      sim::ProductImages::Load(repo + "/data/grocery-store-mini/dev.txt").value();
  for (int fine_id : images.FineIds()) {
    const catalog::Product* product = out.catalogue.FindByFineId(fine_id);
    if (product == nullptr || images.PhotosOf(fine_id).empty()) continue;
    out.sprites.push_back(sim::LoadSprite(images.PhotosOf(fine_id)[0]).value());
    out.products.push_back(product);
    out.photo_paths.push_back(images.PhotosOf(fine_id)[0]);
  }
}

// A rendered frame as the cart's camera delivers it: Gaussian sensor noise of `noise_sigma`
// grey levels, then JPEG at the sessions' quality (55).
inline cv::Mat CartCameraFrame(const cv::Mat& rendered, cv::RNG& rng, double noise_sigma) {
  cv::Mat noise(rendered.size(), CV_16SC3);
  rng.fill(noise, cv::RNG::NORMAL, 0, noise_sigma);
  cv::Mat noisy;
  rendered.convertTo(noisy, CV_16SC3);
  noisy += noise;
  cv::Mat frame;
  noisy.convertTo(frame, CV_8UC3);
  std::vector<uint8_t> jpeg;
  cv::imencode(".jpg", frame, jpeg, {cv::IMWRITE_JPEG_QUALITY, 55});
  return cv::imdecode(jpeg, cv::IMREAD_COLOR);
}

// A hand with its palm at `palm` (basket mm), the arm coming from the handle side.
inline sim::HandView HandAt(const cv::Vec3d& palm) {
  sim::HandView hand;
  hand.palm_mm = palm;
  hand.shoulder_mm = cv::Vec3d(palm[0], -450, 800);
  return hand;
}

}  // namespace cartsense::test_support
