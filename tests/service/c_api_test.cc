#include <filesystem>
#include <fstream>
#include <string>

#include <gtest/gtest.h>

#include "cartsense/cartsense.h"
#include "core/checksum.h"

extern "C" int cartsense_test_c_caller(void);

namespace {

namespace fs = std::filesystem;

class CApiTest : public ::testing::Test {
 protected:
  void SetUp() override {
    root_ =
        fs::temp_directory_path() /
        ("cartsense_c_api_" + std::to_string(::testing::UnitTest::GetInstance()->random_seed()) +
         "_" + ::testing::UnitTest::GetInstance()->current_test_info()->name());
    fs::remove_all(root_);
    fs::create_directories(root_);
  }
  void TearDown() override { fs::remove_all(root_); }

  // A bundle with one file and a manifest listing its sha256.
  fs::path MakeBundle(const std::string& version, const std::string& contents) {
    const fs::path dir = root_ / "recognizer" / version;
    fs::create_directories(dir);
    std::ofstream(dir / "model.onnx", std::ios::binary) << contents;
    std::ofstream(dir / "manifest.json")
        << R"({"format_version": 1, "files": {"model.onnx": {"sha256": ")"
        << cartsense::Sha256Hex(contents) << R"("}}})";
    return dir;
  }

  fs::path root_;
};

TEST_F(CApiTest, HeaderIsValidC) { EXPECT_EQ(cartsense_test_c_caller(), 1); }

TEST_F(CApiTest, VersionAndStatusNames) {
  EXPECT_STREQ(cartsense_version(), CARTSENSE_TEST_VERSION);
  EXPECT_STREQ(cartsense_status_name(CARTSENSE_DATA_LOSS), "DATA_LOSS");
  EXPECT_STREQ(cartsense_status_name(static_cast<cartsense_status>(99)), "UNKNOWN");
}

TEST_F(CApiTest, FindsNewestBundleInNaturalOrder) {
  MakeBundle("v9", "nine");
  const fs::path v10 = MakeBundle("v10", "ten");
  char path[4096];
  char message[256];
  ASSERT_EQ(cartsense_find_newest_bundle((root_ / "recognizer").c_str(), path, sizeof path, message,
                                         sizeof message),
            CARTSENSE_OK)
      << message;
  EXPECT_EQ(fs::path(path), v10);
}

TEST_F(CApiTest, NoBundleIsNotFound) {
  fs::create_directories(root_ / "empty");
  char path[64];
  char message[256];
  EXPECT_EQ(cartsense_find_newest_bundle((root_ / "empty").c_str(), path, sizeof path, message,
                                         sizeof message),
            CARTSENSE_NOT_FOUND);
  EXPECT_NE(std::string(message).find("no model bundle"), std::string::npos) << message;
}

TEST_F(CApiTest, PathThatDoesNotFitIsOutOfRangeAndNotWritten) {
  MakeBundle("v1", "one");
  char path[4] = {'x', 'x', 'x', '\0'};
  char message[128];
  EXPECT_EQ(cartsense_find_newest_bundle((root_ / "recognizer").c_str(), path, sizeof path, message,
                                         sizeof message),
            CARTSENSE_OUT_OF_RANGE);
  EXPECT_STREQ(path, "xxx");
}

TEST_F(CApiTest, VerifiesGoodBundle) {
  const fs::path dir = MakeBundle("v1", "weights");
  char message[256] = "untouched";
  EXPECT_EQ(cartsense_verify_bundle(dir.c_str(), message, sizeof message), CARTSENSE_OK);
  EXPECT_STREQ(message, "");
}

TEST_F(CApiTest, CorruptFileIsNamedInTruncatedMessage) {
  const fs::path dir = MakeBundle("v1", "weights");
  std::ofstream(dir / "model.onnx", std::ios::binary | std::ios::app) << "appended";
  char message[256];
  EXPECT_EQ(cartsense_verify_bundle(dir.c_str(), message, sizeof message), CARTSENSE_DATA_LOSS);
  EXPECT_NE(std::string(message).find("model.onnx"), std::string::npos) << message;

  char tiny[8];
  EXPECT_EQ(cartsense_verify_bundle(dir.c_str(), tiny, sizeof tiny), CARTSENSE_DATA_LOSS);
  EXPECT_EQ(std::string(tiny).size(), sizeof tiny - 1);
}

TEST_F(CApiTest, MissingFileAndNullArguments) {
  const fs::path dir = MakeBundle("v1", "weights");
  fs::remove(dir / "model.onnx");
  char message[256];
  EXPECT_NE(cartsense_verify_bundle(dir.c_str(), message, sizeof message), CARTSENSE_OK);
  EXPECT_NE(std::string(message).find("model.onnx"), std::string::npos) << message;
  EXPECT_EQ(cartsense_verify_bundle(nullptr, nullptr, 0), CARTSENSE_INVALID_ARGUMENT);
  EXPECT_EQ(cartsense_find_newest_bundle(nullptr, nullptr, 0, nullptr, 0),
            CARTSENSE_INVALID_ARGUMENT);
}

}  // namespace
