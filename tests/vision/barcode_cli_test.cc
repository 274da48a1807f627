// `cartsense read-barcodes`: runs the built command on rendered photos and bad files, checks the
// JSON lines and the exit codes.
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>
#include <opencv2/imgcodecs.hpp>
#include <unistd.h>

#include "sim/barcode_renderer.h"
#include "support/run_command.h"

namespace cartsense {
namespace {

namespace fs = std::filesystem;

using test_support::RunCartsense;
using test_support::RunResult;

std::vector<nlohmann::json> JsonLines(const std::string& text) {
  std::vector<nlohmann::json> lines;
  std::istringstream in(text);
  std::string line;
  while (std::getline(in, line)) lines.push_back(nlohmann::json::parse(line));
  return lines;
}

class ReadBarcodesCliTest : public ::testing::Test {
 protected:
  void SetUp() override {
    // One folder per process: ctest runs each test of this fixture as its own process, in
    // parallel, and a shared folder let one test's SetUp rewrite the images another was reading.
    dir_ = fs::temp_directory_path() /
           ("cartsense_read_barcodes_cli_" + std::to_string(static_cast<long>(::getpid())));
    fs::remove_all(dir_);
    fs::create_directories(dir_);
    cartsense::sim::ScanView view;
    view.rotation_deg = 20;
    const cartsense::sim::ScannerRenderer renderer(640, 480, 1);
    const auto label = cartsense::sim::RenderBarcodeLabel("0036000291452");
    ASSERT_TRUE(label.ok());
    const cv::Mat frame = renderer.RenderFrame(nullptr, *label, view, 0.0);
    ASSERT_TRUE(cv::imwrite((dir_ / "upca.png").string(), frame));
    ASSERT_TRUE(cv::imwrite((dir_ / "upca.jpg").string(), frame));
    ASSERT_TRUE(cv::imwrite((dir_ / "empty.png").string(), renderer.RenderEmpty(1.0)));
    std::ofstream(dir_ / "notes.png") << "not an image\n";
  }
  void TearDown() override { fs::remove_all(dir_); }

  std::string Path(const std::string& name) const { return (dir_ / name).string(); }

  fs::path dir_;
};

TEST_F(ReadBarcodesCliTest, PrintsOneJsonLinePerImageWithFormatAndGtin) {
  const RunResult run =
      RunCartsense("read-barcodes --json " + Path("upca.png") + " " + Path("upca.jpg"));
  EXPECT_EQ(run.exit_code, 0);
  const auto lines = JsonLines(run.out);
  ASSERT_EQ(lines.size(), 2U);
  EXPECT_EQ(lines[0]["file"], Path("upca.png"));
  ASSERT_EQ(lines[0]["codes"].size(), 1U);
  EXPECT_EQ(lines[0]["codes"][0]["format"], "UPCA");
  EXPECT_EQ(lines[0]["codes"][0]["gtin"], "0036000291452");
  EXPECT_EQ(lines[1]["codes"][0]["gtin"], "0036000291452");
}

TEST_F(ReadBarcodesCliTest, ImageWithoutACodeExitsOne) {
  const RunResult run = RunCartsense("read-barcodes --json " + Path("empty.png"));
  EXPECT_EQ(run.exit_code, 1);
  const auto lines = JsonLines(run.out);
  ASSERT_EQ(lines.size(), 1U);
  EXPECT_TRUE(lines[0]["codes"].empty());
}

TEST_F(ReadBarcodesCliTest, UnreadableFilesExitThreeAndTheOthersAreStillRead) {
  const RunResult run = RunCartsense("read-barcodes --json " + Path("notes.png") + " " +
                                     Path("missing.png") + " " + Path("upca.png"));
  EXPECT_EQ(run.exit_code, 3);
  const auto lines = JsonLines(run.out);
  ASSERT_EQ(lines.size(), 3U);
  EXPECT_NE(lines[0]["error"].get<std::string>().find("not a PNG, JPEG or WebP"),
            std::string::npos);
  EXPECT_NE(lines[1]["error"].get<std::string>().find("cannot open"), std::string::npos);
  EXPECT_EQ(lines[2]["codes"][0]["gtin"], "0036000291452");
}

TEST_F(ReadBarcodesCliTest, PlainTextOutputAndUsageErrors) {
  const RunResult run = RunCartsense("read-barcodes " + Path("upca.png"));
  EXPECT_EQ(run.exit_code, 0);
  EXPECT_NE(run.out.find("UPCA 0036000291452"), std::string::npos) << run.out;
  EXPECT_EQ(RunCartsense("read-barcodes").exit_code, 2);
  EXPECT_EQ(RunCartsense("read-barcodes --no-such-flag " + Path("upca.png")).exit_code, 2);
}

}  // namespace
}  // namespace cartsense
