// Recognizer: product crops -> the catalogue products they most likely show, with an open-set
// verdict. Nearest prototype by cosine, as the Python evaluation scores it
// (training/cartsense_training/evaluate.py); docs/recognition.md describes the whole path.
//
//   in:  decoded 8-bit BGR crops (several cameras at once = one batch)
//   out: per crop the top-k distinct products {product_id, fine_id, cosine}, best first; the
//        margin top-1 minus top-2; P(not a catalogue product) and the verdict at the bundle's
//        threshold (open_set.json). The reasoner asks the shopper when the verdict is "not in
//        catalogue" or the margin is small.
//
//   RecognizerOptions options;
//   options.embedder.precision = "int8";
//   options.enrolled_gallery_path = "var/enrolled-products.idx";  // survives restarts
//   CS_ASSIGN_OR_RETURN(auto recognizer, Recognizer::Open("models/recognizer/v1", options));
//   CS_ASSIGN_OR_RETURN(auto results, recognizer->Recognize({crop}));
//   if (results[0].not_in_catalogue || results[0].margin < 0.05F) { /* ask the shopper */ }
//   CS_RETURN_IF_ERROR(recognizer->Enroll("new-oat-drink", {photo_a, photo_b}));
//
// The gallery is the bundle's prototypes.json (one prototype per product, row = fine id, keyed
// by labels.json's name or, with a catalogue, by the catalogue's product id) plus the products
// added by Enroll, which live in their own index (ExactCosineIndex) saved atomically to
// `enrolled_gallery_path` after every change. A product's score is its best prototype's cosine.
// Not thread-safe: one Recognizer per worker thread (it owns an Embedder).
#pragma once

#include <memory>
#include <optional>
#include <set>
#include <span>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include <opencv2/core.hpp>

#include "catalog/catalogue.h"
#include "catalog/exact_index.h"
#include "core/status.h"
#include "vision/embedder.h"

namespace cartsense::catalog {

// open_set.json of a bundle (written by training/cartsense_training/open_set.py):
//   p = 1 / (1 + exp(-(bias + top1_cosine_weight * top1 + margin_weight * margin)))
// and "not in catalogue" when p >= threshold.
struct OpenSetCalibration {
  double bias = 0.0;
  double top1_cosine_weight = 0.0;
  double margin_weight = 0.0;
  double threshold = 1.0;

  double NotInCatalogueProbability(double top1_cosine, double margin) const;
};
Result<OpenSetCalibration> ParseOpenSetCalibration(std::string_view json_text,
                                                   const std::string& source);

// labels.json: {"products": [{"fine_id", "name", "coarse_id", "coarse_name"}, ...]}. Fine ids
// must be 0..n-1, each once.
struct BundleProduct {
  int fine_id = -1;
  std::string name;
  int coarse_id = -1;
  std::string coarse_name;
};
Result<std::vector<BundleProduct>> ParseBundleLabels(std::string_view json_text,
                                                     const std::string& source);

// prototypes.json: {"dim": d, "count": n, "row_order": "fine_id", "prototypes": [[d floats] x n]}.
struct BundlePrototypes {
  int dimension = 0;
  std::vector<float> rows;  // count x dimension, row = fine id
  std::size_t count() const { return dimension > 0 ? rows.size() / dimension : 0; }
};
Result<BundlePrototypes> ParseBundlePrototypes(std::string_view json_text,
                                               const std::string& source);

// A split file of the Grocery Store format: one photo a line, "path, fine_id, coarse_id", the
// path relative to `base_dir` (the split file's folder). Blank lines are skipped; anything else
// malformed is an error naming source:line.
struct SplitPhoto {
  std::string path;
  int fine_id = -1;
  int coarse_id = -1;
};
Result<std::vector<SplitPhoto>> ParseSplit(std::string_view text, const std::string& base_dir,
                                           const std::string& source);
Result<std::vector<SplitPhoto>> LoadSplit(const std::string& split_path);

struct RecognizerOptions {
  EmbedderOptions embedder;
  int top_k = 5;  // products per crop
  // Index file of the enrolled products ("" = enrollment lives in memory only). Loaded at Open
  // when it exists, rewritten atomically by Enroll and Forget.
  std::string enrolled_gallery_path;
  // With a catalogue, gallery keys are its product ids (every bundle fine id must be in it);
  // without one, the bundle's label names. Not owned: it must outlive the Recognizer.
  const Catalogue* catalogue = nullptr;
};

struct ProductMatch {
  std::string product_id;
  int fine_id = -1;  // the bundle's or catalogue's fine id; -1 for an unknown enrolled product
  float cosine = 0.0F;
};

struct Recognition {
  std::vector<ProductMatch> top;  // distinct products, best first
  float margin = 0.0F;            // top[0] - top[1] cosine (top-2 = -1 when only one product)
  double not_in_catalogue_probability = 0.0;
  bool not_in_catalogue = false;  // probability >= the bundle's threshold
};

class Recognizer {
 public:
  // Verifies and opens the bundle (embedder, labels.json, prototypes.json, open_set.json), then
  // the enrolled gallery if its file exists. Errors name the file.
  static Result<std::unique_ptr<Recognizer>> Open(const std::string& bundle_dir,
                                                  const RecognizerOptions& options);

  Result<std::vector<Recognition>> Recognize(const std::vector<cv::Mat>& crops_bgr);
  // The same from embeddings ({n, dim} rows), e.g. when the embedder ran elsewhere.
  Result<std::vector<Recognition>> RecognizeEmbeddings(const Tensor& embeddings) const;
  // The `k` best distinct products of the whole gallery (bundle + enrolled) for one embedding.
  Result<std::vector<ProductMatch>> Rank(std::span<const float> embedding, int k) const;
  // Products in the gallery (bundle + enrolled, each product once).
  std::size_t gallery_product_count() const;

  // Adds `product_id` from 1-N photos: one prototype, the mean of the photos' L2-normalized
  // embeddings, normalized again (as prototypes.py builds the bundle's), then saves the
  // enrolled gallery. Enrolling a product again adds another prototype.
  Status Enroll(const std::string& product_id, const std::vector<cv::Mat>& photos_bgr);
  // Removes an enrolled product (NotFound if it was never enrolled) and saves the gallery.
  Status Forget(const std::string& product_id);

  Embedder& embedder() { return *embedder_; }
  const std::vector<BundleProduct>& bundle_products() const { return products_; }
  const OpenSetCalibration& open_set() const { return open_set_; }
  std::size_t enrolled_prototype_count() const { return enrolled_.prototype_count(); }
  // The fine id a gallery key stands for (-1 if none).
  int FineIdOf(std::string_view product_id) const;

 private:
  Recognizer(std::unique_ptr<Embedder> embedder, int dimension);
  Status SaveEnrolled() const;
  Status RefreshEnrolledIds();

  std::unique_ptr<Embedder> embedder_;
  RecognizerOptions options_;
  std::vector<BundleProduct> products_;
  std::vector<std::string> gallery_keys_;  // by fine id
  std::unordered_map<std::string, int> fine_id_of_key_;
  std::set<std::string> enrolled_ids_;
  OpenSetCalibration open_set_;
  ExactCosineIndex bundle_gallery_;
  ExactCosineIndex enrolled_;
};

// Prototype of one product from its photos' embeddings ({n, dim}): the mean of the L2-normalized
// rows, normalized again. InvalidArgument when there is no row or the mean is zero.
Result<std::vector<float>> MeanPrototype(const Tensor& embeddings);

// eval-recognition: every photo of a split decoded, embedded alone (batch 1) and ranked against
// the gallery; scored as evaluate.py does (fine top-1/top-5; coarse = coarse class of the fine
// prediction; top-5 coarse = the first 5 distinct coarse classes along the fine ranking, which
// ranks all products). Fractions 0-1. The timing covers decoded image -> embedding per photo.
struct RecognitionEvaluation {
  double top1_fine = 0.0;
  double top5_fine = 0.0;
  double top1_coarse = 0.0;
  double top5_coarse = 0.0;
  int images = 0;
  double ms_per_crop_p50 = 0.0;
  double ms_per_crop_p99 = 0.0;
};
Result<RecognitionEvaluation> EvaluateRecognition(Recognizer& recognizer,
                                                  const std::string& split_path);

}  // namespace cartsense::catalog
