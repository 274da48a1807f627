// Model bundle manifests (src/vision/model_bundle.h): the parser on malformed input, checksum
// verification of a bundle folder, and the newest-bundle rule.
#include "vision/model_bundle.h"

#include <filesystem>
#include <fstream>
#include <string>

#include <gtest/gtest.h>
#include <unistd.h>

#include "core/checksum.h"

namespace cartsense {
namespace {

namespace fs = std::filesystem;

TEST(ParseBundleManifestTest, ReadsAllThreeForms) {
  auto as_objects = ParseBundleManifest(
      R"({"files": {"model.onnx": {"sha256": "ab"}, "labels.json": "cd"}})", "m.json");
  ASSERT_TRUE(as_objects.ok()) << as_objects.status().ToString();
  ASSERT_EQ(as_objects->size(), 2u);
  auto as_list =
      ParseBundleManifest(R"({"files": [{"path": "a/b.json", "sha256": "ef"}]})", "m.json");
  ASSERT_TRUE(as_list.ok()) << as_list.status().ToString();
  ASSERT_EQ(as_list->size(), 1u);
  EXPECT_EQ((*as_list)[0].path, "a/b.json");
  EXPECT_EQ((*as_list)[0].sha256, "ef");
}

TEST(ParseBundleManifestTest, RejectsMalformedManifestsWithTheSourceInTheMessage) {
  const char* bad[] = {
      "",
      "not json",
      "[1, 2]",
      "{}",
      R"({"files": 3})",
      R"({"files": {}})",
      R"({"files": []})",
      R"({"files": {"model.onnx": 12}})",
      R"({"files": {"model.onnx": {"sha": "ab"}}})",
      R"({"files": [{"path": "model.onnx"}]})",
      R"({"files": [{"path": 1, "sha256": "ab"}]})",
      R"({"files": ["model.onnx"]})",
      R"({"files": {"../outside.onnx": "ab"}})",
      R"({"files": {"/etc/passwd": "ab"}})",
      R"({"files": {"": "ab"}})",
      "{\"files\": {\"model.onnx\": \"ab\"}",  // truncated
  };
  for (const char* text : bad) {
    auto parsed = ParseBundleManifest(text, "bundle/manifest.json");
    ASSERT_FALSE(parsed.ok()) << text;
    EXPECT_EQ(parsed.status().code(), StatusCode::kDataLoss) << text;
    EXPECT_NE(parsed.status().message().find("bundle/manifest.json"), std::string::npos)
        << parsed.status().ToString();
  }
}

class BundleFolderTest : public ::testing::Test {
 protected:
  void SetUp() override {
    const auto* info = ::testing::UnitTest::GetInstance()->current_test_info();
    root_ = fs::temp_directory_path() /
            ("cartsense_model_bundle_" + std::to_string(static_cast<long>(::getpid())) + "_" +
             info->name());
    fs::remove_all(root_);
    fs::create_directories(root_ / "v2");
    Write(root_ / "v2" / "model.onnx", "weights");
    Write(root_ / "v2" / "manifest.json",
          R"({"files": {"model.onnx": {"sha256": ")" + Sha256Hex("weights") + R"("}}})");
  }
  void TearDown() override { fs::remove_all(root_); }
  static void Write(const fs::path& path, const std::string& text) {
    std::ofstream(path, std::ios::binary) << text;
  }
  fs::path root_;
};

TEST_F(BundleFolderTest, VerifiesAnIntactBundle) {
  EXPECT_TRUE(VerifyBundleChecksums((root_ / "v2").string()).ok());
}

TEST_F(BundleFolderTest, ReportsAReplacedFile) {
  Write(root_ / "v2" / "model.onnx", "other weights");
  const Status status = VerifyBundleChecksums((root_ / "v2").string());
  EXPECT_EQ(status.code(), StatusCode::kDataLoss);
  EXPECT_NE(status.message().find("sha256 mismatch"), std::string::npos) << status.ToString();
}

TEST_F(BundleFolderTest, ReportsMissingFilesAndManifest) {
  fs::remove(root_ / "v2" / "model.onnx");
  EXPECT_EQ(VerifyBundleChecksums((root_ / "v2").string()).code(), StatusCode::kNotFound);
  fs::remove(root_ / "v2" / "manifest.json");
  EXPECT_EQ(VerifyBundleChecksums((root_ / "v2").string()).code(), StatusCode::kNotFound);
}

TEST_F(BundleFolderTest, RefusesAManifestThatPointsOutsideTheBundle) {
  Write(root_ / "secret", "weights");
  Write(root_ / "v2" / "manifest.json",
        R"({"files": {"../secret": ")" + Sha256Hex("weights") + R"("}})");
  EXPECT_EQ(VerifyBundleChecksums((root_ / "v2").string()).code(), StatusCode::kDataLoss);
}

TEST_F(BundleFolderTest, NewestBundleUsesNaturalOrderAndNeedsAManifest) {
  fs::create_directories(root_ / "v10");
  Write(root_ / "v10" / "manifest.json", "{}");
  fs::create_directories(root_ / "v11");  // no manifest: not a bundle
  auto newest = FindNewestBundle(root_.string());
  ASSERT_TRUE(newest.ok());
  EXPECT_EQ(fs::path(*newest).filename(), "v10");
  auto none = FindNewestBundle((root_ / "absent").string());
  ASSERT_TRUE(none.ok());
  EXPECT_EQ(*none, "");
}

}  // namespace
}  // namespace cartsense
