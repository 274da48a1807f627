#include "catalog/recognizer.h"

#include <algorithm>
#include <chrono>
#include <cmath>
#include <filesystem>
#include <fstream>
#include <limits>
#include <map>
#include <set>
#include <sstream>
#include <unordered_map>
#include <utility>

#include <nlohmann/json.hpp>
#include <opencv2/imgcodecs.hpp>

#include "core/text.h"
#include "vision/model_bundle.h"

namespace cartsense::catalog {
namespace {

using Json = nlohmann::json;

Result<std::string> ReadText(const std::string& path) {
  std::ifstream file(path, std::ios::binary);
  if (!file) return NotFoundError(path + ": cannot read");
  std::ostringstream text;
  text << file.rdbuf();
  if (file.bad()) return DataLossError(path + ": read error");
  return text.str();
}

Result<Json> ParseJsonObject(std::string_view text, const std::string& source) {
  Json root = Json::parse(text, nullptr, /*allow_exceptions=*/false);
  if (root.is_discarded()) return InvalidArgumentError(source + ": not valid JSON");
  if (!root.is_object()) return InvalidArgumentError(source + ": expected a JSON object");
  return root;
}

Result<double> FiniteNumber(const Json& object, const char* key, const std::string& source) {
  const auto found = object.find(key);
  if (found == object.end() || !found->is_number()) {
    return InvalidArgumentError(source + ": key '" + key + "': expected a number");
  }
  const double value = found->get<double>();
  if (!std::isfinite(value)) {
    return InvalidArgumentError(source + ": key '" + key + "': expected a finite number");
  }
  return value;
}

Result<int> NonNegativeInt(const Json& object, const char* key, const std::string& source) {
  const auto found = object.find(key);
  if (found == object.end() || !found->is_number_integer() || found->get<int64_t>() < 0 ||
      found->get<int64_t>() > std::numeric_limits<int>::max()) {
    return InvalidArgumentError(source + ": key '" + key + "': expected an integer >= 0");
  }
  return static_cast<int>(found->get<int64_t>());
}

Result<std::string> NonEmptyString(const Json& object, const char* key, const std::string& source) {
  const auto found = object.find(key);
  if (found == object.end() || !found->is_string() || found->get<std::string>().empty()) {
    return InvalidArgumentError(source + ": key '" + key + "': expected a non-empty string");
  }
  return found->get<std::string>();
}

std::string_view Trim(std::string_view text) {
  while (!text.empty() && (text.front() == ' ' || text.front() == '\t')) text.remove_prefix(1);
  while (!text.empty() && (text.back() == ' ' || text.back() == '\t' || text.back() == '\r' ||
                           text.back() == '\n')) {
    text.remove_suffix(1);
  }
  return text;
}

// A non-negative decimal integer that fits an int.
std::optional<int> ParseId(std::string_view text) {
  if (!AllDigits(text) || text.size() > 9) return std::nullopt;
  int value = 0;
  for (const char c : text) value = value * 10 + (c - '0');
  return value;
}

double Percentile(std::vector<double> values, double fraction) {
  if (values.empty()) return 0.0;
  std::sort(values.begin(), values.end());
  // Nearest rank: the smallest value with at least `fraction` of the values at or below it.
  const auto rank =
      static_cast<std::size_t>(std::ceil(fraction * static_cast<double>(values.size())));
  return values[std::clamp<std::size_t>(rank, 1, values.size()) - 1];
}

}  // namespace

double OpenSetCalibration::NotInCatalogueProbability(double top1_cosine, double margin) const {
  const double z = bias + top1_cosine_weight * top1_cosine + margin_weight * margin;
  return 1.0 / (1.0 + std::exp(-z));
}

Result<OpenSetCalibration> ParseOpenSetCalibration(std::string_view json_text,
                                                   const std::string& source) {
  CS_ASSIGN_OR_RETURN(Json root, ParseJsonObject(json_text, source));
  CS_ASSIGN_OR_RETURN(int version, NonNegativeInt(root, "format_version", source));
  if (version != 1) {
    return InvalidArgumentError(source + ": format_version " + std::to_string(version) +
                                " is not supported (expected 1)");
  }
  const auto coefficients = root.find("coefficients");
  if (coefficients == root.end() || !coefficients->is_object()) {
    return InvalidArgumentError(source + ": key 'coefficients': expected an object");
  }
  const std::string coefficients_source = source + ": coefficients";
  OpenSetCalibration calibration;
  CS_ASSIGN_OR_RETURN(calibration.bias, FiniteNumber(*coefficients, "bias", coefficients_source));
  CS_ASSIGN_OR_RETURN(calibration.top1_cosine_weight,
                      FiniteNumber(*coefficients, "top1_cosine_weight", coefficients_source));
  CS_ASSIGN_OR_RETURN(calibration.margin_weight,
                      FiniteNumber(*coefficients, "margin_weight", coefficients_source));
  CS_ASSIGN_OR_RETURN(calibration.threshold, FiniteNumber(root, "threshold", source));
  if (calibration.threshold <= 0.0 || calibration.threshold > 1.0) {
    return InvalidArgumentError(source + ": key 'threshold': expected a probability in (0, 1]");
  }
  return calibration;
}

Result<std::vector<BundleProduct>> ParseBundleLabels(std::string_view json_text,
                                                     const std::string& source) {
  CS_ASSIGN_OR_RETURN(Json root, ParseJsonObject(json_text, source));
  const auto list = root.find("products");
  if (list == root.end() || !list->is_array() || list->empty()) {
    return InvalidArgumentError(source + ": key 'products': expected a non-empty list");
  }
  std::vector<BundleProduct> products(list->size());
  std::vector<bool> seen(list->size(), false);
  for (std::size_t i = 0; i < list->size(); ++i) {
    const Json& item = (*list)[i];
    const std::string where = source + ": products[" + std::to_string(i) + "]";
    if (!item.is_object()) return InvalidArgumentError(where + ": expected an object");
    BundleProduct product;
    CS_ASSIGN_OR_RETURN(product.fine_id, NonNegativeInt(item, "fine_id", where));
    CS_ASSIGN_OR_RETURN(product.name, NonEmptyString(item, "name", where));
    CS_ASSIGN_OR_RETURN(product.coarse_id, NonNegativeInt(item, "coarse_id", where));
    if (const auto coarse_name = item.find("coarse_name"); coarse_name != item.end()) {
      if (!coarse_name->is_string()) {
        return InvalidArgumentError(where + ": key 'coarse_name': expected a string");
      }
      product.coarse_name = coarse_name->get<std::string>();
    }
    const auto index = static_cast<std::size_t>(product.fine_id);
    if (index >= products.size() || seen[index]) {
      return InvalidArgumentError(
          where + ": fine_id " + std::to_string(product.fine_id) +
          (index >= products.size() ? " is out of range 0.." + std::to_string(products.size() - 1)
                                    : " appears twice"));
    }
    seen[index] = true;
    products[index] = std::move(product);
  }
  return products;
}

Result<BundlePrototypes> ParseBundlePrototypes(std::string_view json_text,
                                               const std::string& source) {
  CS_ASSIGN_OR_RETURN(Json root, ParseJsonObject(json_text, source));
  BundlePrototypes prototypes;
  CS_ASSIGN_OR_RETURN(prototypes.dimension, NonNegativeInt(root, "dim", source));
  if (prototypes.dimension < 1 || prototypes.dimension > 65536) {
    return InvalidArgumentError(source + ": key 'dim': expected 1..65536");
  }
  if (root.contains("row_order") && root["row_order"] != "fine_id") {
    return InvalidArgumentError(source + ": key 'row_order': only \"fine_id\" is supported");
  }
  const auto rows = root.find("prototypes");
  if (rows == root.end() || !rows->is_array() || rows->empty()) {
    return InvalidArgumentError(source + ": key 'prototypes': expected a non-empty list");
  }
  if (root.contains("count")) {
    CS_ASSIGN_OR_RETURN(int count, NonNegativeInt(root, "count", source));
    if (static_cast<std::size_t>(count) != rows->size()) {
      return InvalidArgumentError(source + ": key 'count' is " + std::to_string(count) + " but " +
                                  std::to_string(rows->size()) + " prototypes are listed");
    }
  }
  const auto dimension = static_cast<std::size_t>(prototypes.dimension);
  prototypes.rows.reserve(rows->size() * dimension);
  for (std::size_t i = 0; i < rows->size(); ++i) {
    const Json& row = (*rows)[i];
    const std::string where = source + ": prototypes[" + std::to_string(i) + "]";
    if (!row.is_array() || row.size() != dimension) {
      return InvalidArgumentError(where + ": expected a list of " + std::to_string(dimension) +
                                  " numbers");
    }
    for (const Json& value : row) {
      if (!value.is_number() || !std::isfinite(value.get<double>())) {
        return InvalidArgumentError(where + ": expected finite numbers");
      }
      prototypes.rows.push_back(value.get<float>());
    }
  }
  return prototypes;
}

Result<std::vector<SplitPhoto>> ParseSplit(std::string_view text, const std::string& base_dir,
                                           const std::string& source) {
  std::vector<SplitPhoto> photos;
  std::size_t line_number = 0;
  while (!text.empty()) {
    ++line_number;
    const std::size_t end = text.find('\n');
    const std::string_view line = Trim(text.substr(0, end));
    text.remove_prefix(end == std::string_view::npos ? text.size() : end + 1);
    if (line.empty()) continue;
    const std::string where = source + ":" + std::to_string(line_number);
    const std::vector<std::string_view> fields = SplitCommas(line);
    if (fields.size() != 3) {
      return InvalidArgumentError(where + ": expected 'path, fine_id, coarse_id' (3 fields), got " +
                                  std::to_string(fields.size()));
    }
    const std::string_view path = Trim(fields[0]);
    if (path.empty()) return InvalidArgumentError(where + ": empty image path");
    if (path.find('\0') != std::string_view::npos) {
      return InvalidArgumentError(where + ": image path holds a NUL byte");
    }
    const std::optional<int> fine_id = ParseId(Trim(fields[1]));
    const std::optional<int> coarse_id = ParseId(Trim(fields[2]));
    if (!fine_id || !coarse_id) {
      return InvalidArgumentError(where + ": fine_id and coarse_id must be integers >= 0, got " +
                                  QuoteForMessage(Trim(fields[1])) + ", " +
                                  QuoteForMessage(Trim(fields[2])));
    }
    SplitPhoto photo;
    photo.path = (std::filesystem::path(base_dir) / std::string(path)).lexically_normal().string();
    photo.fine_id = *fine_id;
    photo.coarse_id = *coarse_id;
    photos.push_back(std::move(photo));
  }
  if (photos.empty()) return InvalidArgumentError(source + ": no photo listed");
  return photos;
}

Result<std::vector<SplitPhoto>> LoadSplit(const std::string& split_path) {
  if (!std::filesystem::is_regular_file(split_path)) {
    return NotFoundError(split_path + ": split file not found");
  }
  CS_ASSIGN_OR_RETURN(std::string text, ReadText(split_path));
  const std::string base_dir = std::filesystem::path(split_path).parent_path().string();
  return ParseSplit(text, base_dir.empty() ? "." : base_dir, split_path);
}

Result<std::vector<float>> MeanPrototype(const Tensor& embeddings) {
  if (embeddings.shape.size() != 2 || embeddings.shape[0] < 1 || embeddings.shape[1] < 1) {
    return InvalidArgumentError("prototype: expected {n >= 1, dim} embeddings");
  }
  const auto count = static_cast<std::size_t>(embeddings.shape[0]);
  const auto dimension = static_cast<std::size_t>(embeddings.shape[1]);
  std::vector<double> sum(dimension, 0.0);
  for (std::size_t row = 0; row < count; ++row) {
    const float* values = embeddings.data.data() + row * dimension;
    double norm = 0.0;
    for (std::size_t i = 0; i < dimension; ++i)
      norm += static_cast<double>(values[i]) * static_cast<double>(values[i]);
    norm = std::sqrt(norm);
    if (!(norm > 0.0) || !std::isfinite(norm)) {
      return InvalidArgumentError("prototype: embedding " + std::to_string(row) +
                                  " is zero or not finite");
    }
    for (std::size_t i = 0; i < dimension; ++i) sum[i] += static_cast<double>(values[i]) / norm;
  }
  double norm = 0.0;
  for (const double value : sum) norm += value * value;
  norm = std::sqrt(norm);
  if (!(norm > 1e-12)) return InvalidArgumentError("prototype: the mean embedding is zero");
  std::vector<float> prototype(dimension);
  for (std::size_t i = 0; i < dimension; ++i) prototype[i] = static_cast<float>(sum[i] / norm);
  return prototype;
}

Recognizer::Recognizer(std::unique_ptr<Embedder> embedder, int dimension)
    : embedder_(std::move(embedder)), bundle_gallery_(dimension), enrolled_(dimension) {}

Result<std::unique_ptr<Recognizer>> Recognizer::Open(const std::string& bundle_dir,
                                                     const RecognizerOptions& options) {
  if (options.top_k < 1) return InvalidArgumentError("recognizer: top_k must be >= 1");
  // Embedder::Open verifies the bundle's checksums before anything in it is read.
  CS_ASSIGN_OR_RETURN(std::unique_ptr<Embedder> embedder,
                      Embedder::Open(bundle_dir, options.embedder));
  const std::string labels_path = bundle_dir + "/labels.json";
  const std::string prototypes_path = bundle_dir + "/prototypes.json";
  const std::string open_set_path = bundle_dir + "/open_set.json";
  CS_ASSIGN_OR_RETURN(std::string labels_text, ReadText(labels_path));
  CS_ASSIGN_OR_RETURN(std::vector<BundleProduct> products,
                      ParseBundleLabels(labels_text, labels_path));
  CS_ASSIGN_OR_RETURN(std::string prototypes_text, ReadText(prototypes_path));
  CS_ASSIGN_OR_RETURN(BundlePrototypes prototypes,
                      ParseBundlePrototypes(prototypes_text, prototypes_path));
  if (prototypes.dimension != embedder->dimension()) {
    return InvalidArgumentError(
        prototypes_path + ": prototypes have " + std::to_string(prototypes.dimension) +
        " dimensions, the model's embedding " + std::to_string(embedder->dimension()));
  }
  if (prototypes.count() != products.size()) {
    return InvalidArgumentError(prototypes_path + ": " + std::to_string(prototypes.count()) +
                                " prototypes for " + std::to_string(products.size()) +
                                " products in " + labels_path);
  }
  CS_ASSIGN_OR_RETURN(std::string open_set_text, ReadText(open_set_path));
  CS_ASSIGN_OR_RETURN(OpenSetCalibration open_set,
                      ParseOpenSetCalibration(open_set_text, open_set_path));

  const int dimension = embedder->dimension();
  std::unique_ptr<Recognizer> recognizer(new Recognizer(std::move(embedder), dimension));
  recognizer->options_ = options;
  recognizer->open_set_ = open_set;
  std::set<std::string> keys;
  for (const BundleProduct& product : products) {
    std::string key = product.name;
    if (options.catalogue != nullptr) {
      const Product* listed = options.catalogue->FindByFineId(product.fine_id);
      if (listed == nullptr) {
        return NotFoundError(labels_path + ": fine_id " + std::to_string(product.fine_id) + " (" +
                             product.name + ") is not in the catalogue");
      }
      key = listed->id;
    }
    if (!keys.insert(key).second) {
      return InvalidArgumentError(labels_path + ": product '" + key + "' appears twice");
    }
    const std::span<const float> row(
        prototypes.rows.data() + static_cast<std::size_t>(product.fine_id) * dimension,
        static_cast<std::size_t>(dimension));
    CS_RETURN_IF_ERROR(recognizer->bundle_gallery_.Add(key, row).WithContext(prototypes_path));
    recognizer->fine_id_of_key_[key] = product.fine_id;
    recognizer->gallery_keys_.push_back(std::move(key));
  }
  recognizer->products_ = std::move(products);

  const std::string& enrolled_path = options.enrolled_gallery_path;
  if (!enrolled_path.empty() && std::filesystem::exists(enrolled_path)) {
    CS_ASSIGN_OR_RETURN(ExactCosineIndex enrolled, ExactCosineIndex::Load(enrolled_path));
    if (enrolled.dimension() != dimension) {
      return InvalidArgumentError(
          enrolled_path + ": enrolled gallery has " + std::to_string(enrolled.dimension()) +
          " dimensions, the model's embedding " + std::to_string(dimension));
    }
    recognizer->enrolled_ = std::move(enrolled);
    CS_RETURN_IF_ERROR(recognizer->RefreshEnrolledIds().WithContext(enrolled_path));
  }
  return recognizer;
}

int Recognizer::FineIdOf(std::string_view product_id) const {
  if (auto found = fine_id_of_key_.find(std::string(product_id)); found != fine_id_of_key_.end()) {
    return found->second;
  }
  if (options_.catalogue != nullptr) {
    if (const Product* product = options_.catalogue->FindById(product_id)) return product->fine_id;
  }
  return -1;
}

std::size_t Recognizer::gallery_product_count() const {
  std::size_t count = gallery_keys_.size();
  for (const std::string& id : enrolled_ids_) count += fine_id_of_key_.contains(id) ? 0 : 1;
  return count;
}

Status Recognizer::RefreshEnrolledIds() {
  enrolled_ids_.clear();
  if (enrolled_.prototype_count() == 0) return Status::Ok();
  // The index lists its products through Search: every distinct product, whatever the query.
  CS_ASSIGN_OR_RETURN(
      std::vector<IndexMatch> all,
      enrolled_.Search(std::vector<float>(static_cast<std::size_t>(enrolled_.dimension()), 1.0F),
                       static_cast<int>(enrolled_.prototype_count())));
  for (IndexMatch& match : all) enrolled_ids_.insert(std::move(match.product_id));
  return Status::Ok();
}

Result<std::vector<ProductMatch>> Recognizer::Rank(std::span<const float> embedding, int k) const {
  if (k < 1) return InvalidArgumentError("recognizer: k must be >= 1");
  // The k best distinct products overall are among each gallery's k best distinct products.
  CS_ASSIGN_OR_RETURN(std::vector<IndexMatch> from_bundle, bundle_gallery_.Search(embedding, k));
  std::vector<IndexMatch> merged = std::move(from_bundle);
  if (enrolled_.prototype_count() > 0) {
    CS_ASSIGN_OR_RETURN(std::vector<IndexMatch> from_enrolled, enrolled_.Search(embedding, k));
    for (IndexMatch& match : from_enrolled) {
      auto same = std::find_if(merged.begin(), merged.end(), [&](const IndexMatch& other) {
        return other.product_id == match.product_id;
      });
      if (same == merged.end()) {
        merged.push_back(std::move(match));
      } else {
        same->score = std::max(same->score, match.score);
      }
    }
  }
  // Ties: the lower fine id first (as evaluate.py's stable argsort), enrolled products after.
  std::vector<std::pair<IndexMatch, int>> ranked;
  ranked.reserve(merged.size());
  for (IndexMatch& match : merged) {
    const int fine_id = FineIdOf(match.product_id);
    ranked.emplace_back(std::move(match), fine_id);
  }
  std::stable_sort(ranked.begin(), ranked.end(), [](const auto& a, const auto& b) {
    if (a.first.score != b.first.score) return a.first.score > b.first.score;
    const auto order = [](int fine_id) {
      return fine_id < 0 ? std::numeric_limits<int>::max() : fine_id;
    };
    return order(a.second) < order(b.second);
  });
  std::vector<ProductMatch> top;
  for (std::size_t i = 0; i < ranked.size() && i < static_cast<std::size_t>(k); ++i) {
    top.push_back({ranked[i].first.product_id, ranked[i].second, ranked[i].first.score});
  }
  return top;
}

Result<std::vector<Recognition>> Recognizer::RecognizeEmbeddings(const Tensor& embeddings) const {
  const int dimension = bundle_gallery_.dimension();
  if (embeddings.shape.size() != 2 || embeddings.shape[1] != dimension) {
    return InvalidArgumentError("recognizer: expected {n, " + std::to_string(dimension) +
                                "} embeddings");
  }
  const auto count = static_cast<std::size_t>(embeddings.shape[0]);
  std::vector<Recognition> results;
  results.reserve(count);
  for (std::size_t row = 0; row < count; ++row) {
    const std::span<const float> embedding(
        embeddings.data.data() + row * static_cast<std::size_t>(dimension),
        static_cast<std::size_t>(dimension));
    // One more than shown, so the margin always has a second product when there is one.
    CS_ASSIGN_OR_RETURN(std::vector<ProductMatch> top,
                        Rank(embedding, std::max(options_.top_k, 2)));
    Recognition recognition;
    const float top1 = top.front().cosine;
    const float top2 = top.size() > 1 ? top[1].cosine : -1.0F;
    recognition.margin = top1 - top2;
    recognition.not_in_catalogue_probability = open_set_.NotInCatalogueProbability(
        static_cast<double>(top1), static_cast<double>(recognition.margin));
    recognition.not_in_catalogue = recognition.not_in_catalogue_probability >= open_set_.threshold;
    if (top.size() > static_cast<std::size_t>(options_.top_k)) top.resize(options_.top_k);
    recognition.top = std::move(top);
    results.push_back(std::move(recognition));
  }
  return results;
}

Result<std::vector<Recognition>> Recognizer::Recognize(const std::vector<cv::Mat>& crops_bgr) {
  if (crops_bgr.empty()) return std::vector<Recognition>{};
  CS_ASSIGN_OR_RETURN(Tensor embeddings, embedder_->Embed(crops_bgr));
  return RecognizeEmbeddings(embeddings);
}

Status Recognizer::SaveEnrolled() const {
  if (options_.enrolled_gallery_path.empty()) return Status::Ok();
  const std::filesystem::path path(options_.enrolled_gallery_path);
  if (path.has_parent_path()) {
    std::error_code error;
    std::filesystem::create_directories(path.parent_path(), error);
    if (error) {
      return UnavailableError(path.parent_path().string() + ": cannot create: " + error.message());
    }
  }
  if (enrolled_.prototype_count() == 0) {
    // No enrolled product: no file. (ExactCosineIndex::Load of an empty index passes a null
    // pointer to memcpy, which UBSan rejects; an absent file means the same and avoids it.)
    std::error_code error;
    std::filesystem::remove(path, error);
    if (error) return UnavailableError(path.string() + ": cannot remove: " + error.message());
    return Status::Ok();
  }
  return enrolled_.Save(options_.enrolled_gallery_path);
}

Status Recognizer::Enroll(const std::string& product_id, const std::vector<cv::Mat>& photos_bgr) {
  if (product_id.empty()) return InvalidArgumentError("enroll: empty product id");
  if (photos_bgr.empty()) return InvalidArgumentError("enroll " + product_id + ": no photo");
  CS_ASSIGN_OR_RETURN(Tensor embeddings, embedder_->Embed(photos_bgr));
  CS_ASSIGN_OR_RETURN(std::vector<float> prototype, MeanPrototype(embeddings));
  CS_RETURN_IF_ERROR(enrolled_.Add(product_id, prototype).WithContext("enroll " + product_id));
  if (Status saved = SaveEnrolled(); !saved.ok()) {
    // Keep memory and file in step: what is not saved is not enrolled.
    (void)enrolled_.Remove(product_id);
    auto reloaded = std::filesystem::exists(options_.enrolled_gallery_path)
                        ? ExactCosineIndex::Load(options_.enrolled_gallery_path)
                        : Result<ExactCosineIndex>(ExactCosineIndex(enrolled_.dimension()));
    if (reloaded.ok()) enrolled_ = std::move(*reloaded);
    (void)RefreshEnrolledIds();
    return saved.WithContext("enroll " + product_id);
  }
  enrolled_ids_.insert(product_id);
  return Status::Ok();
}

Status Recognizer::Forget(const std::string& product_id) {
  CS_RETURN_IF_ERROR(enrolled_.Remove(product_id).WithContext("forget"));
  enrolled_ids_.erase(product_id);
  return SaveEnrolled().WithContext("forget " + product_id);
}

Result<RecognitionEvaluation> EvaluateRecognition(Recognizer& recognizer,
                                                  const std::string& split_path) {
  CS_ASSIGN_OR_RETURN(std::vector<SplitPhoto> photos, LoadSplit(split_path));
  const std::vector<BundleProduct>& products = recognizer.bundle_products();
  for (std::size_t i = 0; i < photos.size(); ++i) {
    const SplitPhoto& photo = photos[i];
    if (static_cast<std::size_t>(photo.fine_id) >= products.size()) {
      return InvalidArgumentError(split_path + ":" + std::to_string(i + 1) + ": fine_id " +
                                  std::to_string(photo.fine_id) + " is not in the bundle");
    }
    if (products[static_cast<std::size_t>(photo.fine_id)].coarse_id != photo.coarse_id) {
      return InvalidArgumentError(split_path + ":" + std::to_string(i + 1) + ": coarse_id " +
                                  std::to_string(photo.coarse_id) +
                                  " disagrees with the bundle's labels for fine_id " +
                                  std::to_string(photo.fine_id));
    }
  }
  const auto coarse_of = [&](int fine_id) {
    return fine_id >= 0 && static_cast<std::size_t>(fine_id) < products.size()
               ? products[static_cast<std::size_t>(fine_id)].coarse_id
               : -1;
  };
  // Every product is ranked: top-5 coarse walks the fine ranking until 5 coarse classes.
  const int everything = static_cast<int>(recognizer.gallery_product_count());
  RecognitionEvaluation evaluation;
  std::vector<double> embed_ms;
  embed_ms.reserve(photos.size());
  int top1_fine = 0, top5_fine = 0, top1_coarse = 0, top5_coarse = 0;
  for (const SplitPhoto& photo : photos) {
    const cv::Mat image = cv::imread(photo.path, cv::IMREAD_COLOR);
    if (image.empty()) return NotFoundError(photo.path + ": cannot read or decode the image");
    const auto start = std::chrono::steady_clock::now();
    CS_ASSIGN_OR_RETURN(Tensor embedding,
                        recognizer.embedder().Embed({image}).WithContext(photo.path));
    embed_ms.push_back(
        std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - start)
            .count());
    CS_ASSIGN_OR_RETURN(std::vector<ProductMatch> ranking,
                        recognizer.Rank(embedding.data, everything));
    for (std::size_t rank = 0; rank < ranking.size() && rank < 5; ++rank) {
      if (ranking[rank].fine_id == photo.fine_id) {
        top1_fine += rank == 0 ? 1 : 0;
        ++top5_fine;
        break;
      }
    }
    std::vector<int> coarse_ranking;
    for (const ProductMatch& match : ranking) {
      const int coarse = coarse_of(match.fine_id);
      if (std::find(coarse_ranking.begin(), coarse_ranking.end(), coarse) == coarse_ranking.end()) {
        coarse_ranking.push_back(coarse);
        if (coarse_ranking.size() == 5) break;
      }
    }
    if (!coarse_ranking.empty() && coarse_ranking.front() == photo.coarse_id) ++top1_coarse;
    if (std::find(coarse_ranking.begin(), coarse_ranking.end(), photo.coarse_id) !=
        coarse_ranking.end()) {
      ++top5_coarse;
    }
  }
  const auto fraction = [&](int hits) {
    return static_cast<double>(hits) / static_cast<double>(photos.size());
  };
  evaluation.images = static_cast<int>(photos.size());
  evaluation.top1_fine = fraction(top1_fine);
  evaluation.top5_fine = fraction(top5_fine);
  evaluation.top1_coarse = fraction(top1_coarse);
  evaluation.top5_coarse = fraction(top5_coarse);
  evaluation.ms_per_crop_p50 = Percentile(embed_ms, 0.5);
  evaluation.ms_per_crop_p99 = Percentile(embed_ms, 0.99);
  return evaluation;
}

}  // namespace cartsense::catalog
