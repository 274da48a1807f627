// `cartsense export-crops` on the shipped demo session (simulation, seed 3, data/grocery-store-mini
// dev photos): the crops it writes are images of the sizes the detector cut, each labelled with
// the fine and coarse ids of the product the truth put there, in the dataset's split format, and
// the command refuses to mix exports or to read what is not a simulated session.
#include <filesystem>
#include <fstream>
#include <map>
#include <sstream>
#include <string>
#include <vector>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>
#include <opencv2/imgcodecs.hpp>
#include <unistd.h>

#include "support/run_command.h"

namespace cartsense {
namespace {

namespace fs = std::filesystem;
using test_support::RunCartsense;
using test_support::RunResult;

const std::string kRepo = CARTSENSE_SOURCE_DIR;
const std::string kDemo = kRepo + "/data/demo-session/session";

std::string FreshDir(const std::string& name) {
  const fs::path dir =
      fs::path(::testing::TempDir()) / ("export_crops_" + std::to_string(::getpid()) + "_" + name);
  fs::remove_all(dir);
  return dir.string();
}

std::vector<std::string> Lines(const std::string& path) {
  std::ifstream in(path);
  std::vector<std::string> lines;
  for (std::string line; std::getline(in, line);) lines.push_back(line);
  return lines;
}

class ExportCropsDemoTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    out_ = new std::string(FreshDir("demo"));
    result_ =
        new RunResult(RunCartsense("export-crops --json --sessions " + kDemo + " --out " + *out_));
  }
  static void TearDownTestSuite() {
    fs::remove_all(*out_);
    delete result_;
    delete out_;
  }
  static RunResult* result_;
  static std::string* out_;
};

RunResult* ExportCropsDemoTest::result_ = nullptr;
std::string* ExportCropsDemoTest::out_ = nullptr;

TEST_F(ExportCropsDemoTest, WritesOneLabelledImagePerLocalisedView) {
  ASSERT_EQ(result_->exit_code, 0) << result_->out;
  const nlohmann::json summary = nlohmann::json::parse(result_->out, nullptr, false);
  ASSERT_FALSE(summary.is_discarded()) << result_->out;
  EXPECT_EQ(summary["label"], "simulation");
  EXPECT_EQ(summary["sessions"], 1);
  const int exported = summary["exported"];
  // The demo session has 34 counted (placement, camera) pairs; the detector localises 16 of them
  // in the cart's evidence path (eval_vision_test), about as many alone.
  EXPECT_EQ(summary["pairs"], 34);
  EXPECT_GE(exported, 12);
  EXPECT_LE(exported + summary["too_small"].get<int>(), 34);

  const std::vector<std::string> split = Lines(*out_ + "/crops.txt");
  const std::vector<std::string> provenance = Lines(*out_ + "/crops.jsonl");
  ASSERT_EQ(static_cast<int>(split.size()), exported);
  ASSERT_EQ(static_cast<int>(provenance.size()), exported);
  std::map<std::string, int> fine_of_product;
  for (std::size_t i = 0; i < split.size(); ++i) {
    std::istringstream fields(split[i]);
    std::string path, fine, coarse;
    ASSERT_TRUE(std::getline(fields, path, ',') && std::getline(fields, fine, ',') &&
                std::getline(fields, coarse))
        << split[i];
    const nlohmann::json line = nlohmann::json::parse(provenance[i]);
    EXPECT_EQ(line["file"], path);
    EXPECT_EQ(line["fine_id"].get<int>(), std::stoi(fine));
    EXPECT_EQ(line["coarse_id"].get<int>(), std::stoi(coarse));
    EXPECT_GE(line["iou"].get<double>(), 0.5);
    // The simulator rendered the mini dev photos, which the provenance names.
    EXPECT_NE(line["photo"].get<std::string>().find("grocery-store-mini"), std::string::npos);
    // One product, one fine id.
    const auto [it, inserted] =
        fine_of_product.emplace(line["product_id"].get<std::string>(), std::stoi(fine));
    EXPECT_EQ(it->second, std::stoi(fine)) << line["product_id"];
    const cv::Mat image = cv::imread(*out_ + "/" + path, cv::IMREAD_COLOR);
    ASSERT_FALSE(image.empty()) << path;
    const nlohmann::json& box = line["box_px"];
    EXPECT_EQ(image.cols, box[2].get<int>()) << path;
    EXPECT_EQ(image.rows, box[3].get<int>()) << path;
    EXPECT_GE(std::min(image.cols, image.rows), 8) << path;
  }
  EXPECT_GE(fine_of_product.size(), 3u);
}

TEST_F(ExportCropsDemoTest, RefusesToWriteIntoAnExport) {
  ASSERT_EQ(result_->exit_code, 0);
  const RunResult again = RunCartsense("export-crops --sessions " + kDemo + " --out " + *out_);
  EXPECT_EQ(again.exit_code, 2);
  // The first export is untouched.
  EXPECT_EQ(static_cast<int>(Lines(*out_ + "/crops.txt").size()),
            nlohmann::json::parse(result_->out)["exported"].get<int>());
}

TEST(ExportCropsTest, RefusesTheSameSessionTwice) {
  const std::string out = FreshDir("twice");
  const RunResult result =
      RunCartsense("export-crops --sessions " + kDemo + " " + kDemo + " --out " + out);
  EXPECT_EQ(result.exit_code, 2);
  fs::remove_all(out);
}

TEST(ExportCropsTest, FailsClearlyOnAFolderThatIsNoSession) {
  const std::string out = FreshDir("missing");
  EXPECT_EQ(
      RunCartsense("export-crops --sessions " + kRepo + "/no-such-folder --out " + out).exit_code,
      3);
  // A folder without a manifest.json and without session folders in it.
  EXPECT_NE(RunCartsense("export-crops --sessions " + kRepo + "/docs --out " + out).exit_code, 0);
  EXPECT_NE(RunCartsense("export-crops --out " + out).exit_code, 0);  // no --sessions
  fs::remove_all(out);
}

}  // namespace
}  // namespace cartsense
