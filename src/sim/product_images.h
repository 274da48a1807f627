// Product photos for the simulator: a split file of the Grocery Store dataset's format
// ("path, fine_id, coarse_id" per line, paths relative to the split file's folder), and the
// sprites cut out of those photos with a feathered ellipse (no segmentation model is available).
//
//   ProductImages images = *ProductImages::Load("data/grocery-store-mini/dev.txt");
//   const std::vector<std::string>& photos = images.PhotosOf(fine_id);
//   Sprite sprite = *LoadSprite(photos[0]);  // BGR + alpha, kSpriteSizePx square
#pragma once

#include <map>
#include <string>
#include <vector>

#include <opencv2/core/mat.hpp>

#include "catalog/catalogue.h"
#include "core/status.h"

namespace cartsense::sim {

class ProductImages {
 public:
  // Reads a split file. Errors name the file and line. Blank lines are skipped.
  static Result<ProductImages> Load(const std::string& split_file);
  // Parses split text; `base_dir` is the folder photo paths are relative to.
  static Result<ProductImages> Parse(const std::string& text, const std::string& base_dir,
                                     const std::string& source);

  // Absolute (or base-relative) paths of the photos of one product, in file order.
  const std::vector<std::string>& PhotosOf(int fine_id) const;
  std::vector<int> FineIds() const;  // ascending
  std::size_t photo_count() const { return photo_count_; }

 private:
  std::map<int, std::vector<std::string>> photos_;
  std::size_t photo_count_ = 0;
};

// A product cut out of a photo: 8-bit BGR and an 8-bit alpha of the same square size.
struct Sprite {
  cv::Mat bgr;
  cv::Mat alpha;
};

inline constexpr int kSpriteSizePx = 192;

// Cuts the product out of the middle of a photo with a feathered ellipse (the dataset's photos
// are centred on the product) and resizes it to kSpriteSizePx.
Result<Sprite> LoadSprite(const std::string& photo_path);
Sprite CutOutSprite(const cv::Mat& photo_bgr);

// Footprint of an item seen from above, in mm: long side, short side and height. Derived from
// its mass (volume at a typical density) and its kind (cartons and cucumbers are long, apples
// round, tubs squat).
struct ItemSize {
  double long_mm = 0;
  double short_mm = 0;
  double height_mm = 0;
};
ItemSize SizeFromMass(const catalog::Product& product, double mass_g);

}  // namespace cartsense::sim
