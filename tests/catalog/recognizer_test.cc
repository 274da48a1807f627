// The recognizer: parsers of its inputs (split files, labels.json, prototypes.json,
// open_set.json) on malformed input; the prototype rule against a hand-computed reference; and,
// on the real bundle (the newest under models/recognizer or CARTSENSE_TEST_BUNDLE; skipped when
// there is none) with data/grocery-store-mini:
//  - Recognize: distinct products best first, margin and open-set probability from open_set.json;
//  - Enroll: a product enrolled from one photo is that photo's best match (cosine ~1); the
//    enrolled gallery survives a restart; Forget removes it; a damaged gallery file is named;
//  - EvaluateRecognition on mini dev.txt matches `python -m cartsense_training.evaluate` (fp32,
//    onnxruntime) within 0.5 point on all four figures;
//  - the `cartsense` command's error cases and exit codes (commands.h).
#include "catalog/recognizer.h"

#include <cmath>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <random>
#include <sstream>

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <nlohmann/json.hpp>
#include <opencv2/imgcodecs.hpp>

#include "support/run_command.h"
#include "vision/model_bundle.h"

namespace cartsense::catalog {
namespace {

namespace fs = std::filesystem;
using ::testing::HasSubstr;

const std::string kRepo = CARTSENSE_SOURCE_DIR;
const std::string kMini = kRepo + "/data/grocery-store-mini";

std::string TestBundle() {
  // NOLINTNEXTLINE(concurrency-mt-unsafe): read once, before any thread starts
  if (const char* bundle = std::getenv("CARTSENSE_TEST_BUNDLE"); bundle != nullptr && *bundle) {
    return bundle;
  }
  auto newest = FindNewestBundle(kRepo + "/models/recognizer");
  return newest.ok() ? *newest : std::string();
}

fs::path TempDir() {
  fs::path dir = fs::temp_directory_path() /
                 ("cartsense_recognizer_" +
                  std::string(::testing::UnitTest::GetInstance()->current_test_info()->name()));
  fs::remove_all(dir);
  fs::create_directories(dir);
  return dir;
}

using test_support::RunCommand;
using test_support::RunResult;

// --- parsers -----------------------------------------------------------------------------------

TEST(ParseSplitTest, ReadsLinesRelativeToTheBaseFolderAndSkipsBlankLines) {
  auto photos = ParseSplit("a/b.jpg, 3, 1\n\n  c.jpg ,10,2\r\n", "/data", "s.txt");
  ASSERT_TRUE(photos.ok()) << photos.status().ToString();
  ASSERT_EQ(photos->size(), 2U);
  EXPECT_EQ((*photos)[0].path, "/data/a/b.jpg");
  EXPECT_EQ((*photos)[0].fine_id, 3);
  EXPECT_EQ((*photos)[0].coarse_id, 1);
  EXPECT_EQ((*photos)[1].path, "/data/c.jpg");
  EXPECT_EQ((*photos)[1].fine_id, 10);
}

TEST(ParseSplitTest, MalformedLinesAreErrorsNamingTheLine) {
  const std::vector<std::pair<std::string, std::string>> cases = {
      {"a.jpg, 1\n", "s.txt:1: expected 'path, fine_id, coarse_id'"},
      {"a.jpg, 1, 2\nb.jpg, 1, 2, 3\n", "s.txt:2: expected"},
      {"a.jpg, x, 2\n", "s.txt:1: fine_id and coarse_id must be integers"},
      {"a.jpg, -1, 2\n", "s.txt:1: fine_id and coarse_id must be integers"},
      {"a.jpg, 1, 99999999999\n", "s.txt:1: fine_id and coarse_id"},
      {" , 1, 2\n", "s.txt:1: empty image path"},
      {"\n\n", "s.txt: no photo listed"},
      {std::string("a\0b.jpg, 1, 2\n", 14), "s.txt:1: image path holds a NUL byte"},
  };
  for (const auto& [text, message] : cases) {
    auto photos = ParseSplit(text, ".", "s.txt");
    ASSERT_FALSE(photos.ok()) << text;
    EXPECT_EQ(photos.status().code(), StatusCode::kInvalidArgument);
    EXPECT_THAT(photos.status().message(), HasSubstr(message));
  }
}

TEST(ParseSplitTest, MissingFileIsNotFoundNamingIt) {
  auto photos = LoadSplit("/nonexistent/dev.txt");
  ASSERT_FALSE(photos.ok());
  EXPECT_EQ(photos.status().code(), StatusCode::kNotFound);
  EXPECT_THAT(photos.status().message(), HasSubstr("/nonexistent/dev.txt"));
}

TEST(ParseSplitTest, MiniDevSplitLoads) {
  auto photos = LoadSplit(kMini + "/dev.txt");
  ASSERT_TRUE(photos.ok()) << photos.status().ToString();
  EXPECT_EQ(photos->size(), 81U);
  EXPECT_TRUE(fs::exists(photos->front().path)) << photos->front().path;
}

constexpr const char* kOpenSet =
    R"({"format_version": 1, "coefficients": {"bias": 11.0, "top1_cosine_weight": -12.0,
        "margin_weight": -8.0}, "threshold": 0.5})";

TEST(OpenSetCalibrationTest, ProbabilityIsTheLogisticOfTheLinearScore) {
  auto calibration = ParseOpenSetCalibration(kOpenSet, "open_set.json");
  ASSERT_TRUE(calibration.ok()) << calibration.status().ToString();
  const double z = 11.0 - 12.0 * 0.8 - 8.0 * 0.1;
  EXPECT_NEAR(calibration->NotInCatalogueProbability(0.8, 0.1), 1.0 / (1.0 + std::exp(-z)), 1e-12);
  EXPECT_DOUBLE_EQ(calibration->threshold, 0.5);
  // Higher cosine and margin: less likely unknown.
  EXPECT_LT(calibration->NotInCatalogueProbability(0.9, 0.3),
            calibration->NotInCatalogueProbability(0.6, 0.01));
}

TEST(OpenSetCalibrationTest, MalformedFilesAreErrorsNamingFileAndKey) {
  const std::vector<std::pair<std::string, std::string>> cases = {
      {"{", "o.json: not valid JSON"},
      {"[]", "o.json: expected a JSON object"},
      {R"({"coefficients": {}, "threshold": 0.5})", "key 'format_version'"},
      {R"({"format_version": 2})", "format_version 2 is not supported"},
      {R"({"format_version": 1, "threshold": 0.5})", "key 'coefficients'"},
      {R"({"format_version": 1, "coefficients": {"bias": 1, "top1_cosine_weight": "x",
          "margin_weight": 1}, "threshold": 0.5})",
       "coefficients: key 'top1_cosine_weight'"},
      {R"({"format_version": 1, "coefficients": {"bias": 1, "top1_cosine_weight": 1,
          "margin_weight": 1}, "threshold": 1.5})",
       "key 'threshold': expected a probability"},
      {R"({"format_version": 1, "coefficients": {"bias": 1, "top1_cosine_weight": 1,
          "margin_weight": 1}})",
       "key 'threshold'"},
  };
  for (const auto& [text, message] : cases) {
    auto calibration = ParseOpenSetCalibration(text, "o.json");
    ASSERT_FALSE(calibration.ok()) << text;
    EXPECT_THAT(calibration.status().message(), HasSubstr(message)) << text;
  }
}

TEST(BundleLabelsTest, ReadsProductsByFineIdAndRejectsGapsAndDuplicates) {
  auto labels = ParseBundleLabels(
      R"({"products": [{"fine_id": 1, "name": "B", "coarse_id": 0, "coarse_name": "X"},
                       {"fine_id": 0, "name": "A", "coarse_id": 2}]})",
      "labels.json");
  ASSERT_TRUE(labels.ok()) << labels.status().ToString();
  ASSERT_EQ(labels->size(), 2U);
  EXPECT_EQ((*labels)[0].name, "A");
  EXPECT_EQ((*labels)[0].coarse_id, 2);
  EXPECT_EQ((*labels)[1].coarse_name, "X");

  const std::vector<std::pair<std::string, std::string>> cases = {
      {R"({"products": []})", "key 'products'"},
      {R"({"products": [{"fine_id": 0, "name": "A", "coarse_id": 0},
                        {"fine_id": 0, "name": "B", "coarse_id": 0}]})",
       "products[1]: fine_id 0 appears twice"},
      {R"({"products": [{"fine_id": 5, "name": "A", "coarse_id": 0}]})",
       "products[0]: fine_id 5 is out of range"},
      {R"({"products": [{"fine_id": 0, "name": "", "coarse_id": 0}]})", "products[0]: key 'name'"},
      {R"({"products": [{"fine_id": -1, "name": "A", "coarse_id": 0}]})",
       "products[0]: key 'fine_id'"},
      {R"({"products": [3]})", "products[0]: expected an object"},
      // Found by fuzz_recognizer_inputs: a non-string coarse_name threw from nlohmann::json.
      {R"({"products": [{"fine_id": 0, "name": "A", "coarse_id": 0, "coarse_name": 5}]})",
       "products[0]: key 'coarse_name'"},
  };
  for (const auto& [text, message] : cases) {
    auto parsed = ParseBundleLabels(text, "labels.json");
    ASSERT_FALSE(parsed.ok()) << text;
    EXPECT_THAT(parsed.status().message(), HasSubstr("labels.json: " + message)) << text;
  }
}

TEST(BundlePrototypesTest, ReadsRowsAndRejectsShapeErrors) {
  auto prototypes = ParseBundlePrototypes(
      R"({"dim": 2, "count": 2, "row_order": "fine_id", "prototypes": [[1, 0], [0, 1]]})",
      "p.json");
  ASSERT_TRUE(prototypes.ok()) << prototypes.status().ToString();
  EXPECT_EQ(prototypes->count(), 2U);
  EXPECT_EQ(prototypes->rows, (std::vector<float>{1, 0, 0, 1}));

  const std::vector<std::pair<std::string, std::string>> cases = {
      {R"({"dim": 0, "prototypes": [[1]]})", "key 'dim'"},
      {R"({"dim": 2, "prototypes": [[1, 0], [1]]})", "prototypes[1]: expected a list of 2"},
      {R"({"dim": 2, "count": 3, "prototypes": [[1, 0]]})", "key 'count' is 3 but 1"},
      {R"({"dim": 2, "prototypes": [[1, "a"]]})", "prototypes[0]: expected finite numbers"},
      {R"({"dim": 2, "row_order": "name", "prototypes": [[1, 0]]})", "key 'row_order'"},
      {R"({"dim": 2})", "key 'prototypes'"},
  };
  for (const auto& [text, message] : cases) {
    auto parsed = ParseBundlePrototypes(text, "p.json");
    ASSERT_FALSE(parsed.ok()) << text;
    EXPECT_THAT(parsed.status().message(), HasSubstr("p.json: " + message)) << text;
  }
}

TEST(MeanPrototypeTest, IsTheNormalizedMeanOfNormalizedRows) {
  // As training/tests/test_enroll.py: rows (2, 0) and (0, 3) -> (1/sqrt2, 1/sqrt2).
  Tensor rows{{2, 2}, {2.0F, 0.0F, 0.0F, 3.0F}};
  auto prototype = MeanPrototype(rows);
  ASSERT_TRUE(prototype.ok()) << prototype.status().ToString();
  EXPECT_NEAR((*prototype)[0], 1.0 / std::sqrt(2.0), 1e-6);
  EXPECT_NEAR((*prototype)[1], 1.0 / std::sqrt(2.0), 1e-6);

  // Naive reference on seeded random rows of different lengths.
  std::mt19937 generator(7);  // fixed seed: deterministic
  std::uniform_real_distribution<float> uniform(-10.0F, 10.0F);
  Tensor random{{5, 16}, std::vector<float>(80)};
  for (float& value : random.data) value = uniform(generator);
  std::vector<double> expected(16, 0.0);
  for (int row = 0; row < 5; ++row) {
    double norm = 0.0;
    for (int i = 0; i < 16; ++i) norm += std::pow(double{random.data[row * 16 + i]}, 2);
    for (int i = 0; i < 16; ++i) expected[i] += double{random.data[row * 16 + i]} / std::sqrt(norm);
  }
  double norm = 0.0;
  for (const double value : expected) norm += value * value;
  auto random_prototype = MeanPrototype(random);
  ASSERT_TRUE(random_prototype.ok());
  for (int i = 0; i < 16; ++i) {
    EXPECT_NEAR((*random_prototype)[i], expected[i] / std::sqrt(norm), 1e-6);
  }

  EXPECT_FALSE(MeanPrototype(Tensor{{1, 2}, {0.0F, 0.0F}}).ok());
  EXPECT_FALSE(MeanPrototype(Tensor{{2, 1}, {1.0F, -1.0F}}).ok());  // mean is zero
  EXPECT_FALSE(MeanPrototype(Tensor{{0, 2}, {}}).ok());
}

// --- on the real bundle ------------------------------------------------------------------------

class RecognizerTest : public ::testing::Test {
 protected:
  void SetUp() override {
    bundle_ = TestBundle();
    if (bundle_.empty()) GTEST_SKIP() << "no recognizer bundle under models/recognizer";
    if (!fs::exists(bundle_ + "/open_set.json")) GTEST_SKIP() << bundle_ << " has no open set";
    auto photos = LoadSplit(kMini + "/dev.txt");
    ASSERT_TRUE(photos.ok()) << photos.status().ToString();
    photos_ = *photos;
    dir_ = TempDir();
  }
  void TearDown() override {
    if (!dir_.empty()) fs::remove_all(dir_);
  }

  std::unique_ptr<Recognizer> Open(const std::string& gallery = "") {
    RecognizerOptions options;
    options.enrolled_gallery_path = gallery;
    auto recognizer = Recognizer::Open(bundle_, options);
    EXPECT_TRUE(recognizer.ok()) << recognizer.status().ToString();
    return recognizer.ok() ? std::move(*recognizer) : nullptr;
  }

  cv::Mat Photo(std::size_t index) const { return cv::imread(photos_.at(index).path); }

  std::string bundle_;
  std::vector<SplitPhoto> photos_;
  fs::path dir_;
};

TEST_F(RecognizerTest, RecognizeGivesDistinctProductsBestFirstWithMarginAndOpenSet) {
  auto recognizer = Open();
  ASSERT_NE(recognizer, nullptr);
  auto results = recognizer->Recognize({Photo(0), Photo(10), Photo(40)});
  ASSERT_TRUE(results.ok()) << results.status().ToString();
  ASSERT_EQ(results->size(), 3U);
  for (const Recognition& recognition : *results) {
    ASSERT_EQ(recognition.top.size(), 5U);
    std::set<std::string> seen;
    for (std::size_t i = 0; i < recognition.top.size(); ++i) {
      EXPECT_TRUE(seen.insert(recognition.top[i].product_id).second);
      EXPECT_GE(recognition.top[i].fine_id, 0);
      if (i > 0) {
        EXPECT_GE(recognition.top[i - 1].cosine, recognition.top[i].cosine);
      }
    }
    EXPECT_FLOAT_EQ(recognition.margin, recognition.top[0].cosine - recognition.top[1].cosine);
    const double p = recognizer->open_set().NotInCatalogueProbability(recognition.top[0].cosine,
                                                                      recognition.margin);
    EXPECT_NEAR(recognition.not_in_catalogue_probability, p, 1e-6);
    EXPECT_EQ(recognition.not_in_catalogue, p >= recognizer->open_set().threshold);
  }
  // The same crop alone gives the same answer as in the batch.
  auto alone = recognizer->Recognize({Photo(10)});
  ASSERT_TRUE(alone.ok());
  EXPECT_EQ((*alone)[0].top[0].product_id, (*results)[1].top[0].product_id);
  EXPECT_NEAR((*alone)[0].top[0].cosine, (*results)[1].top[0].cosine, 1e-4);
}

TEST_F(RecognizerTest, CatalogueIdsKeyTheGallery) {
  auto catalogue = Catalogue::Load(kRepo + "/data/catalogue/grocery-store-81.csv");
  ASSERT_TRUE(catalogue.ok()) << catalogue.status().ToString();
  RecognizerOptions options;
  options.catalogue = &*catalogue;
  auto recognizer = Recognizer::Open(bundle_, options);
  ASSERT_TRUE(recognizer.ok()) << recognizer.status().ToString();
  auto results = (*recognizer)->Recognize({Photo(0)});
  ASSERT_TRUE(results.ok());
  for (const ProductMatch& match : (*results)[0].top) {
    const Product* product = catalogue->FindById(match.product_id);
    ASSERT_NE(product, nullptr) << match.product_id;
    EXPECT_EQ(product->fine_id, match.fine_id);
  }
}

TEST_F(RecognizerTest, EnrolledProductIsFoundAndSurvivesARestart) {
  const std::string gallery = (dir_ / "var" / "enrolled.idx").string();
  const cv::Mat photo = Photo(5);
  {
    auto recognizer = Open(gallery);
    ASSERT_NE(recognizer, nullptr);
    ASSERT_TRUE(recognizer->Enroll("new-product", {photo}).ok());
    EXPECT_EQ(recognizer->enrolled_prototype_count(), 1U);
    auto results = recognizer->Recognize({photo});
    ASSERT_TRUE(results.ok());
    EXPECT_EQ((*results)[0].top[0].product_id, "new-product");
    EXPECT_EQ((*results)[0].top[0].fine_id, -1);
    EXPECT_NEAR((*results)[0].top[0].cosine, 1.0F, 1e-4);
  }
  ASSERT_TRUE(fs::exists(gallery));
  {
    auto reopened = Open(gallery);
    ASSERT_NE(reopened, nullptr);
    EXPECT_EQ(reopened->enrolled_prototype_count(), 1U);
    EXPECT_EQ(reopened->gallery_product_count(), reopened->bundle_products().size() + 1);
    auto results = reopened->Recognize({photo});
    ASSERT_TRUE(results.ok());
    EXPECT_EQ((*results)[0].top[0].product_id, "new-product");
    ASSERT_TRUE(reopened->Forget("new-product").ok());
    EXPECT_EQ(reopened->Forget("new-product").code(), StatusCode::kNotFound);
  }
  EXPECT_FALSE(fs::exists(gallery)) << "no enrolled product left: no gallery file";
  auto after_forget = Open(gallery);
  ASSERT_NE(after_forget, nullptr);
  EXPECT_EQ(after_forget->enrolled_prototype_count(), 0U);
}

TEST_F(RecognizerTest, EnrollingFromSeveralPhotosUsesTheirMeanPrototype) {
  // Photos of one product: the enrolled prototype is MeanPrototype of their embeddings, so a
  // photo's cosine to it equals its dot product with that mean.
  std::vector<cv::Mat> photos;
  for (std::size_t i = 0; i < photos_.size() && photos.size() < 3; ++i) {
    if (photos_[i].fine_id == photos_[0].fine_id) photos.push_back(Photo(i));
  }
  ASSERT_GE(photos.size(), 1U);
  auto recognizer = Open();
  ASSERT_NE(recognizer, nullptr);
  auto embeddings = recognizer->embedder().Embed(photos);
  ASSERT_TRUE(embeddings.ok());
  auto mean = MeanPrototype(*embeddings);
  ASSERT_TRUE(mean.ok());
  ASSERT_TRUE(recognizer->Enroll("enrolled-copy", photos).ok());
  auto ranking = recognizer->Rank(std::span<const float>(embeddings->data.data(), mean->size()),
                                  static_cast<int>(recognizer->gallery_product_count()));
  ASSERT_TRUE(ranking.ok());
  double expected = 0.0;
  for (std::size_t i = 0; i < mean->size(); ++i) {
    expected += double{embeddings->data[i]} * double{(*mean)[i]};
  }
  bool found = false;
  for (const ProductMatch& match : *ranking) {
    if (match.product_id == "enrolled-copy") {
      found = true;
      EXPECT_NEAR(match.cosine, expected, 1e-4);
    }
  }
  EXPECT_TRUE(found);
  EXPECT_EQ(ranking->size(), recognizer->bundle_products().size() + 1);
}

TEST_F(RecognizerTest, DamagedEnrolledGalleryIsNamed) {
  const std::string gallery = (dir_ / "enrolled.idx").string();
  std::ofstream(gallery, std::ios::binary) << "CSEXIDX1 this is not an index";
  RecognizerOptions options;
  options.enrolled_gallery_path = gallery;
  auto recognizer = Recognizer::Open(bundle_, options);
  ASSERT_FALSE(recognizer.ok());
  EXPECT_THAT(recognizer.status().message(), HasSubstr(gallery));
}

TEST_F(RecognizerTest, BundleWithoutOpenSetFileIsRefusedNamingIt) {
  const fs::path copy = dir_ / "bundle";
  fs::create_directories(copy);
  for (const fs::directory_entry& entry : fs::directory_iterator(bundle_)) {
    if (entry.path().filename() != "open_set.json") fs::copy(entry.path(), copy);
  }
  auto recognizer = Recognizer::Open(copy.string(), RecognizerOptions{});
  ASSERT_FALSE(recognizer.ok());
  EXPECT_THAT(recognizer.status().message(), HasSubstr("open_set.json"));
}

TEST_F(RecognizerTest, EvaluationMatchesThePythonEvaluationWithinHalfAPoint) {
  const std::string python = kRepo + "/.venv/bin/python";
  if (!fs::exists(python)) GTEST_SKIP() << "no venv for the Python reference";
  auto recognizer = Open();
  ASSERT_NE(recognizer, nullptr);
  auto ours = EvaluateRecognition(*recognizer, kMini + "/dev.txt");
  ASSERT_TRUE(ours.ok()) << ours.status().ToString();
  const RunResult reference =
      RunCommand("cd " + kRepo + " && " + python +
                 " -m cartsense_training.evaluate --threads 1 --json --bundle " + bundle_ +
                 " --split " + kMini + "/dev.txt");
  ASSERT_EQ(reference.exit_code, 0) << reference.out;
  const auto expected = nlohmann::json::parse(reference.out);
  EXPECT_EQ(ours->images, expected["images"].get<int>());
  EXPECT_NEAR(ours->top1_fine, expected["top1_fine"].get<double>(), 0.005);
  EXPECT_NEAR(ours->top5_fine, expected["top5_fine"].get<double>(), 0.005);
  EXPECT_NEAR(ours->top1_coarse, expected["top1_coarse"].get<double>(), 0.005);
  EXPECT_NEAR(ours->top5_coarse, expected["top5_coarse"].get<double>(), 0.005);
  EXPECT_GT(ours->ms_per_crop_p50, 0.0);
  EXPECT_LE(ours->ms_per_crop_p50, ours->ms_per_crop_p99);
}

TEST_F(RecognizerTest, EvaluationRejectsSplitsThatDisagreeWithTheBundle) {
  auto recognizer = Open();
  ASSERT_NE(recognizer, nullptr);
  const std::vector<std::pair<std::string, std::string>> cases = {
      {"x.jpg, 500, 0\n", ":1: fine_id 500 is not in the bundle"},
      {"x.jpg, 0, 42\n", ":1: coarse_id 42 disagrees"},
      {"missing.jpg, 0, 0\n", "missing.jpg: cannot read or decode"},
  };
  for (const auto& [text, message] : cases) {
    const std::string split = (dir_ / "split.txt").string();
    std::ofstream(split) << text;
    auto evaluation = EvaluateRecognition(*recognizer, split);
    ASSERT_FALSE(evaluation.ok()) << text;
    EXPECT_THAT(evaluation.status().message(), HasSubstr(message));
  }
}

// --- the command ------------------------------------------------------------------------------

TEST(RecognitionCommandTest, ErrorCasesGiveTheDocumentedExitCodes) {
  const std::string cartsense = std::string(CARTSENSE_BINARY_DIR) + "/bin/cartsense";
  ASSERT_TRUE(fs::exists(cartsense)) << cartsense;
  const fs::path dir = TempDir();
  // 2: bad command line.
  EXPECT_EQ(RunCommand(cartsense + " eval-recognition").exit_code, 2);
  EXPECT_EQ(RunCommand(cartsense + " eval-recognition --split x --precision fp16").exit_code, 2);
  EXPECT_EQ(RunCommand(cartsense + " recognize").exit_code, 2);
  EXPECT_EQ(RunCommand(cartsense + " enroll --images " + kMini).exit_code, 2);
  EXPECT_EQ(RunCommand(cartsense + " enroll --product 'Bad Id' --images " + kMini).exit_code, 2);
  // 3: a needed file or model could not be used.
  EXPECT_EQ(
      RunCommand(cartsense + " eval-recognition --split " + (dir / "none.txt").string()).exit_code,
      3);
  EXPECT_EQ(RunCommand(cartsense + " eval-recognition --bundle " + (dir / "nobundle").string() +
                       " --split " + kMini + "/dev.txt")
                .exit_code,
            3);
  EXPECT_EQ(RunCommand(cartsense + " recognize " + (dir / "none.jpg").string()).exit_code, 3);
  EXPECT_EQ(
      RunCommand(cartsense + " enroll --product new-thing --images " + (dir / "empty").string())
          .exit_code,
      3);
  fs::create_directories(dir / "empty");
  EXPECT_EQ(
      RunCommand(cartsense + " enroll --product new-thing --images " + (dir / "empty").string())
          .exit_code,
      3);
  // A bundle whose model does not match its manifest.
  fs::create_directories(dir / "bad" / "v1");
  std::ofstream(dir / "bad" / "v1" / "model.onnx") << "not a model";
  std::ofstream(dir / "bad" / "v1" / "manifest.json")
      << R"({"files": {"model.onnx": {"sha256": "00"}}})";
  EXPECT_EQ(RunCommand(cartsense + " eval-recognition --bundle " + (dir / "bad" / "v1").string() +
                       " --split " + kMini + "/dev.txt")
                .exit_code,
            3);
  fs::remove_all(dir);
}

}  // namespace
}  // namespace cartsense::catalog
