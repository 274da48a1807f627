// Product recognition commands (issue 5; docs/recognition.md):
//   cartsense recognize IMAGE... [--json]          top-5 products per image, margin, open set
//   cartsense enroll --product ID --images DIR     adds a product from 1-N photos (persisted)
//   cartsense eval-recognition --split PATH        top-1/top-5 fine and coarse, as evaluate.py
// The bundle defaults to the newest under models/recognizer; enrolled products live in
// $CARTSENSE_DATA_DIR/enrolled-products.idx (an ExactCosineIndex file) unless --enrolled says
// otherwise, so `recognize` sees what `enroll` added.
#include <algorithm>
#include <filesystem>
#include <iostream>
#include <memory>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>
#include <opencv2/imgcodecs.hpp>

#include "catalog/catalogue.h"
#include "catalog/recognizer.h"
#include "commands.h"
#include "paths.h"
#include "vision/inference_backend.h"
#include "vision/model_bundle.h"

namespace cartsense::app {
namespace {

namespace fs = std::filesystem;

struct RecognitionOptions {
  std::string bundle;  // "" = newest under models/recognizer
  std::string backend;
  std::string precision = "fp32";
  int threads = 1;
  bool json = false;
  // recognize / enroll
  std::string enrolled;   // "" = <data dir>/enrolled-products.idx
  std::string catalogue;  // "" = data/catalogue/grocery-store-81.csv when present
  std::vector<std::string> images;
  int top = 5;
  std::string product;
  std::string images_dir;
  // eval-recognition
  std::string split;
};

int Fail(const std::string& command, const Status& status, int code) {
  std::cerr << "cartsense " << command << ": " << status.ToString() << "\n";
  return code;
}

// Files that could not be used (missing, unreadable, corrupt model) -> 3; a readable file with
// bad content given on the command line -> 1; anything else -> 4.
int ExitCodeFor(const Status& status) {
  switch (status.code()) {
    case StatusCode::kNotFound:
    case StatusCode::kUnavailable:
    case StatusCode::kDataLoss:
    case StatusCode::kFailedPrecondition:
      return kExitUnavailable;
    case StatusCode::kInvalidArgument:
    case StatusCode::kAlreadyExists:
    case StatusCode::kOutOfRange:
      return kExitProblemFound;
    default:
      return kExitInternal;
  }
}

Result<std::string> ResolveBundle(const std::string& bundle) {
  if (!bundle.empty()) {
    if (!fs::is_directory(bundle)) return NotFoundError(bundle + ": no such bundle folder");
    return bundle;
  }
  const std::string root = DefaultRepoPath("models/recognizer");
  CS_ASSIGN_OR_RETURN(std::string newest, FindNewestBundle(root));
  if (newest.empty()) return NotFoundError(root + ": no recognizer bundle installed");
  return newest;
}

struct OpenedRecognizer {
  std::unique_ptr<catalog::Catalogue> catalogue;
  std::unique_ptr<catalog::Recognizer> recognizer;
  std::string bundle;
};

Result<OpenedRecognizer> OpenRecognizer(const RecognitionOptions& options, bool with_gallery) {
  OpenedRecognizer opened;
  CS_ASSIGN_OR_RETURN(opened.bundle, ResolveBundle(options.bundle));
  catalog::RecognizerOptions recognizer_options;
  recognizer_options.embedder.backend = options.backend;
  recognizer_options.embedder.precision = options.precision;
  recognizer_options.embedder.threads = options.threads;
  recognizer_options.top_k = options.top;
  if (with_gallery) {
    recognizer_options.enrolled_gallery_path =
        options.enrolled.empty() ? (fs::path(DefaultDataDir()) / "enrolled-products.idx").string()
                                 : options.enrolled;
    const std::string catalogue_path = options.catalogue.empty()
                                           ? DefaultRepoPath("data/catalogue/grocery-store-81.csv")
                                           : options.catalogue;
    if (!options.catalogue.empty() || fs::exists(catalogue_path)) {
      CS_ASSIGN_OR_RETURN(catalog::Catalogue catalogue, catalog::Catalogue::Load(catalogue_path));
      opened.catalogue = std::make_unique<catalog::Catalogue>(std::move(catalogue));
      recognizer_options.catalogue = opened.catalogue.get();
    }
  }
  CS_ASSIGN_OR_RETURN(opened.recognizer,
                      catalog::Recognizer::Open(opened.bundle, recognizer_options));
  return opened;
}

Result<cv::Mat> ReadImage(const std::string& path) {
  if (!fs::is_regular_file(path)) return NotFoundError(path + ": no such image file");
  cv::Mat image = cv::imread(path, cv::IMREAD_COLOR);
  if (image.empty()) return DataLossError(path + ": cannot decode the image");
  return image;
}

int RunRecognize(const RecognitionOptions& options) {
  std::vector<cv::Mat> images;
  for (const std::string& path : options.images) {
    auto image = ReadImage(path);
    if (!image.ok()) return Fail("recognize", image.status(), kExitUnavailable);
    images.push_back(std::move(*image));
  }
  auto opened = OpenRecognizer(options, /*with_gallery=*/true);
  if (!opened.ok()) return Fail("recognize", opened.status(), ExitCodeFor(opened.status()));
  nlohmann::json results = nlohmann::json::array();
  for (std::size_t i = 0; i < images.size(); ++i) {
    // One image at a time: photos differ in size and a batch gains nothing here.
    auto recognized = opened->recognizer->Recognize({images[i]});
    if (!recognized.ok()) {
      return Fail("recognize", recognized.status().WithContext(options.images[i]),
                  ExitCodeFor(recognized.status()));
    }
    const catalog::Recognition& recognition = recognized->front();
    nlohmann::json top = nlohmann::json::array();
    for (const catalog::ProductMatch& match : recognition.top) {
      top.push_back(
          {{"product_id", match.product_id}, {"fine_id", match.fine_id}, {"cosine", match.cosine}});
    }
    results.push_back({{"image", options.images[i]},
                       {"top", top},
                       {"margin", recognition.margin},
                       {"not_in_catalogue_probability", recognition.not_in_catalogue_probability},
                       {"not_in_catalogue", recognition.not_in_catalogue}});
    if (!options.json) {
      std::cout << options.images[i] << "\n";
      for (std::size_t rank = 0; rank < recognition.top.size(); ++rank) {
        const catalog::ProductMatch& match = recognition.top[rank];
        std::cout << "  " << rank + 1 << ". " << match.product_id << "  cosine " << match.cosine
                  << "\n";
      }
      std::cout << "  margin " << recognition.margin << ", P(not in catalogue) "
                << recognition.not_in_catalogue_probability
                << (recognition.not_in_catalogue ? " -> NOT IN CATALOGUE" : "") << "\n";
    }
  }
  if (options.json) {
    std::cout << nlohmann::json{{"bundle", opened->bundle},
                                {"backend",
                                 std::string(opened->recognizer->embedder().backend_name())},
                                {"precision", options.precision},
                                {"threshold", opened->recognizer->open_set().threshold},
                                {"results", results}}
                     .dump(2)
              << "\n";
  }
  return kExitOk;
}

bool IsImageFile(const fs::path& path) {
  std::string extension = path.extension().string();
  std::transform(extension.begin(), extension.end(), extension.begin(),
                 [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  return extension == ".jpg" || extension == ".jpeg" || extension == ".png" || extension == ".bmp";
}

int RunEnroll(const RecognitionOptions& options) {
  const bool id_ok =
      !options.product.empty() &&
      std::all_of(options.product.begin(), options.product.end(), [](char c) {
        return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' || c == '_';
      });
  if (!id_ok) {
    return Fail("enroll",
                InvalidArgumentError("--product '" + options.product +
                                     "': a product id is [a-z0-9_-]+, as in the catalogue"),
                kExitUsage);
  }
  if (!fs::is_directory(options.images_dir)) {
    return Fail("enroll", NotFoundError(options.images_dir + ": no such folder"), kExitUnavailable);
  }
  std::vector<std::string> paths;
  for (const fs::directory_entry& entry : fs::directory_iterator(options.images_dir)) {
    if (entry.is_regular_file() && IsImageFile(entry.path())) {
      paths.push_back(entry.path().string());
    }
  }
  std::sort(paths.begin(), paths.end());
  if (paths.empty()) {
    return Fail("enroll",
                NotFoundError(options.images_dir + ": no .jpg, .jpeg, .png or .bmp photo"),
                kExitUnavailable);
  }
  std::vector<cv::Mat> photos;
  for (const std::string& path : paths) {
    auto image = ReadImage(path);
    if (!image.ok()) return Fail("enroll", image.status(), kExitUnavailable);
    photos.push_back(std::move(*image));
  }
  auto opened = OpenRecognizer(options, /*with_gallery=*/true);
  if (!opened.ok()) return Fail("enroll", opened.status(), ExitCodeFor(opened.status()));
  if (Status enrolled = opened->recognizer->Enroll(options.product, photos); !enrolled.ok()) {
    return Fail("enroll", enrolled, ExitCodeFor(enrolled));
  }
  const bool in_catalogue =
      opened->catalogue != nullptr && opened->catalogue->FindById(options.product) != nullptr;
  const std::string gallery = options.enrolled.empty()
                                  ? (fs::path(DefaultDataDir()) / "enrolled-products.idx").string()
                                  : options.enrolled;
  if (options.json) {
    std::cout << nlohmann::json{{"ok", true},
                                {"product_id", options.product},
                                {"photos", paths.size()},
                                {"in_catalogue", in_catalogue},
                                {"enrolled_gallery", gallery},
                                {"enrolled_prototypes",
                                 opened->recognizer->enrolled_prototype_count()}}
                     .dump(2)
              << "\n";
  } else {
    std::cout << "enrolled " << options.product << " from " << paths.size() << " photo(s) into "
              << gallery << " (" << opened->recognizer->enrolled_prototype_count()
              << " enrolled prototypes)"
              << (in_catalogue ? "" : "; note: not in the catalogue, so it has no price yet")
              << "\n";
  }
  return kExitOk;
}

int RunEvalRecognition(const RecognitionOptions& options) {
  if (!fs::is_regular_file(options.split)) {
    return Fail("eval-recognition", NotFoundError(options.split + ": split file not found"),
                kExitUnavailable);
  }
  auto opened = OpenRecognizer(options, /*with_gallery=*/false);
  if (!opened.ok()) {
    return Fail("eval-recognition", opened.status(), ExitCodeFor(opened.status()));
  }
  auto evaluation = catalog::EvaluateRecognition(*opened->recognizer, options.split);
  if (!evaluation.ok()) {
    return Fail("eval-recognition", evaluation.status(), ExitCodeFor(evaluation.status()));
  }
  const std::string backend(opened->recognizer->embedder().backend_name());
  if (options.json) {
    std::cout << nlohmann::json{{"top1_fine", evaluation->top1_fine},
                                {"top5_fine", evaluation->top5_fine},
                                {"top1_coarse", evaluation->top1_coarse},
                                {"top5_coarse", evaluation->top5_coarse},
                                {"images", evaluation->images},
                                {"ms_per_crop_p50", evaluation->ms_per_crop_p50},
                                {"ms_per_crop_p99", evaluation->ms_per_crop_p99},
                                {"backend", backend},
                                {"precision", options.precision},
                                {"threads", options.threads},
                                {"bundle", opened->bundle},
                                {"split", options.split}}
                     .dump(2)
              << "\n";
  } else {
    std::cout << evaluation->images << " images, " << opened->bundle << " (" << backend << ", "
              << options.precision << ", " << options.threads << " thread(s)): top-1 fine "
              << evaluation->top1_fine << ", top-5 fine " << evaluation->top5_fine
              << ", top-1 coarse " << evaluation->top1_coarse << ", top-5 coarse "
              << evaluation->top5_coarse << "; " << evaluation->ms_per_crop_p50
              << " ms per crop (p50, decoded image to embedding)\n";
  }
  return kExitOk;
}

void AddModelOptions(CLI::App* command, RecognitionOptions& options) {
  command->add_option("--bundle", options.bundle,
                      "Recognizer bundle folder (default: the newest under models/recognizer)");
  command->add_option("--backend", options.backend, "Inference backend (default: the fastest)")
      ->check(CLI::IsMember(AvailableBackends()));
  command->add_option("--precision", options.precision, "fp32 or int8")
      ->check(CLI::IsMember({"fp32", "int8"}))
      ->capture_default_str();
  command->add_option("--threads", options.threads, "Inference threads")
      ->check(CLI::Range(1, 64))
      ->capture_default_str();
  command->add_flag("--json", options.json, "Print one JSON object");
}

void AddGalleryOptions(CLI::App* command, RecognitionOptions& options) {
  command->add_option("--enrolled", options.enrolled,
                      "Enrolled-products index file (default: $CARTSENSE_DATA_DIR/"
                      "enrolled-products.idx)");
  command->add_option("--catalogue", options.catalogue,
                      "Catalogue CSV for product ids (default: data/catalogue/"
                      "grocery-store-81.csv when present)");
}

}  // namespace

void RegisterRecognitionCommands(CLI::App& app, CommandAction& action) {
  auto options = std::make_shared<RecognitionOptions>();

  CLI::App* recognize =
      app.add_subcommand("recognize",
                         "Recognize products in photos: top-5 with cosine scores, "
                         "margin and the not-in-catalogue verdict");
  recognize->add_option("images", options->images, "Image files (one product crop each)")
      ->required();
  recognize->add_option("--top", options->top, "Products shown per image")
      ->check(CLI::Range(1, 100))
      ->capture_default_str();
  AddModelOptions(recognize, *options);
  AddGalleryOptions(recognize, *options);
  recognize->callback(
      [&action, options] { action.run = [options] { return RunRecognize(*options); }; });

  CLI::App* enroll =
      app.add_subcommand("enroll", "Add a product to the recognizer's gallery from 1-N photos");
  enroll->add_option("--product", options->product, "Product id ([a-z0-9_-]+)")->required();
  enroll->add_option("--images", options->images_dir, "Folder of photos of the product")
      ->required();
  AddModelOptions(enroll, *options);
  AddGalleryOptions(enroll, *options);
  enroll->callback([&action, options] { action.run = [options] { return RunEnroll(*options); }; });

  CLI::App* eval = app.add_subcommand(
      "eval-recognition",
      "Top-1/top-5 fine and coarse accuracy of the recognizer on a split file (as "
      "cartsense_training.evaluate), and the per-crop latency");
  eval->add_option("--split", options->split, "Split file: 'path, fine_id, coarse_id' a line")
      ->required();
  AddModelOptions(eval, *options);
  eval->callback(
      [&action, options] { action.run = [options] { return RunEvalRecognition(*options); }; });
}

}  // namespace cartsense::app
