#include "sim/product_images.h"

#include <algorithm>
#include <cmath>
#include <fstream>
#include <numbers>
#include <sstream>

#include <opencv2/imgcodecs.hpp>
#include <opencv2/imgproc.hpp>

namespace cartsense::sim {
namespace {

std::string Trim(std::string s) {
  const auto not_space = [](unsigned char c) { return std::isspace(c) == 0; };
  s.erase(s.begin(), std::find_if(s.begin(), s.end(), not_space));
  s.erase(std::find_if(s.rbegin(), s.rend(), not_space).base(), s.end());
  return s;
}

bool ParseInt(const std::string& text, int& out) {
  if (text.empty()) return false;
  std::size_t used = 0;
  try {
    out = std::stoi(text, &used);
  } catch (const std::exception&) {
    return false;
  }
  return used == text.size();
}

// Long side over short side of the footprint, and whether the item is box-shaped (cartons) or
// round (produce, tubs).
struct Shape {
  double aspect = 1.1;
  bool box = false;
};

Shape ShapeOf(const catalog::Product& product) {
  const std::string& kind = product.coarse_name;
  if (kind == "Juice" || kind == "Milk" || kind == "Oat-Milk" || kind == "Soy-Milk" ||
      kind == "Sour-Milk") {
    return {2.8, true};  // a 1 l carton lying down: 20 x 7 x 7 cm
  }
  if (kind == "Yoghurt" || kind == "Oatghurt" || kind == "Soyghurt") return {2.0, true};
  if (kind == "Sour-Cream") return {1.0, false};
  if (kind == "Leek") return {6.0, false};
  if (kind == "Cucumber" || kind == "Asparagus") return {4.0, false};
  if (kind == "Banana" || kind == "Zucchini") return {3.5, false};
  if (kind == "Carrots") return {3.0, false};
  if (kind == "Aubergine") return {2.2, false};
  if (kind == "Potato" && product.name.find("Sweet") != std::string::npos) return {2.0, false};
  if (kind == "Ginger" || kind == "Papaya") return {1.8, false};
  if (kind == "Pineapple") return {1.6, false};
  if (kind == "Mango" || kind == "Pear") return {1.4, false};
  return {1.1, false};
}

}  // namespace

Result<ProductImages> ProductImages::Load(const std::string& split_file) {
  std::ifstream in(split_file, std::ios::binary);
  if (!in) return NotFoundError(split_file + ": cannot open split file");
  std::ostringstream text;
  text << in.rdbuf();
  std::string base_dir = ".";
  const auto slash = split_file.find_last_of('/');
  if (slash != std::string::npos) base_dir = split_file.substr(0, slash);
  if (base_dir.empty()) base_dir = "/";
  return Parse(text.str(), base_dir, split_file);
}

Result<ProductImages> ProductImages::Parse(const std::string& text, const std::string& base_dir,
                                           const std::string& source) {
  ProductImages images;
  std::istringstream lines(text);
  std::string line;
  int line_number = 0;
  while (std::getline(lines, line)) {
    ++line_number;
    const std::string where = source + ":" + std::to_string(line_number) + ": ";
    if (Trim(line).empty()) continue;
    std::vector<std::string> fields;
    std::stringstream fields_in(line);
    std::string field;
    while (std::getline(fields_in, field, ',')) fields.push_back(Trim(field));
    if (fields.size() != 3) {
      return InvalidArgumentError(where + "expected 'path, fine_id, coarse_id', got " +
                                  std::to_string(fields.size()) + " fields");
    }
    int fine_id = -1;
    int coarse_id = -1;
    if (!ParseInt(fields[1], fine_id) || fine_id < 0) {
      return InvalidArgumentError(where + "fine_id: not a non-negative integer: '" + fields[1] +
                                  "'");
    }
    if (!ParseInt(fields[2], coarse_id) || coarse_id < 0) {
      return InvalidArgumentError(where + "coarse_id: not a non-negative integer: '" + fields[2] +
                                  "'");
    }
    if (fields[0].empty()) return InvalidArgumentError(where + "path is empty");
    const std::string path = fields[0].front() == '/' ? fields[0] : base_dir + "/" + fields[0];
    images.photos_[fine_id].push_back(path);
    ++images.photo_count_;
  }
  if (images.photo_count_ == 0) return InvalidArgumentError(source + ": no photos listed");
  return images;
}

const std::vector<std::string>& ProductImages::PhotosOf(int fine_id) const {
  static const std::vector<std::string> kNone;
  const auto it = photos_.find(fine_id);
  return it == photos_.end() ? kNone : it->second;
}

std::vector<int> ProductImages::FineIds() const {
  std::vector<int> ids;
  ids.reserve(photos_.size());
  for (const auto& [id, paths] : photos_) ids.push_back(id);
  return ids;
}

Sprite CutOutSprite(const cv::Mat& photo_bgr) {
  cv::Mat resized;
  cv::resize(photo_bgr, resized, cv::Size(kSpriteSizePx, kSpriteSizePx), 0, 0, cv::INTER_AREA);
  cv::Mat mask(resized.size(), CV_8U, cv::Scalar(0));
  const double size = kSpriteSizePx;
  const double feather_px = 0.05 * size;
  cv::ellipse(mask, cv::Point(kSpriteSizePx / 2, kSpriteSizePx / 2),
              cv::Size(static_cast<int>(size * 0.5 - 2 * feather_px),
                       static_cast<int>(size * 0.5 - 2 * feather_px)),
              0, 0, 360, cv::Scalar(255), cv::FILLED, cv::LINE_AA);
  cv::GaussianBlur(mask, mask, cv::Size(0, 0), feather_px);
  return Sprite{resized, mask};
}

Result<Sprite> LoadSprite(const std::string& photo_path) {
  const cv::Mat photo = cv::imread(photo_path, cv::IMREAD_COLOR);
  if (photo.empty()) return NotFoundError(photo_path + ": cannot read product photo");
  return CutOutSprite(photo);
}

ItemSize SizeFromMass(const catalog::Product& product, double mass_g) {
  const Shape shape = ShapeOf(product);
  const double density_g_per_cm3 = shape.box ? 0.9 : 0.95;
  const double volume_cm3 = std::max(mass_g, 1.0) / density_g_per_cm3;
  // Volume = k * long * short * short, long = aspect * short; k = 1 for a box, pi/6 for an
  // ellipsoid.
  const double k = shape.box ? 1.0 : std::numbers::pi / 6;
  const double short_cm = std::cbrt(volume_cm3 / (k * shape.aspect));
  ItemSize size;
  size.short_mm = 10 * short_cm;
  size.long_mm = 10 * short_cm * shape.aspect;
  size.height_mm = size.short_mm;
  return size;
}

}  // namespace cartsense::sim
