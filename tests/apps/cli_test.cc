// Runs the built `cartsense` command as a user would and checks its output and exit codes.
#include <filesystem>
#include <fstream>
#include <string>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "core/checksum.h"
#include "session/session_writer.h"
#include "support/run_command.h"

namespace cartsense {
namespace {

namespace fs = std::filesystem;

using test_support::RunCartsense;
using test_support::RunResult;

class CliTest : public ::testing::Test {
 protected:
  void SetUp() override {
    root_ = fs::temp_directory_path() /
            (std::string("cartsense_cli_") +
             ::testing::UnitTest::GetInstance()->current_test_info()->name());
    fs::remove_all(root_);
    fs::create_directories(root_ / "data");
  }
  void TearDown() override { fs::remove_all(root_); }

  void MakeBundle(const std::string& weights) {
    const fs::path dir = root_ / "models" / "recognizer" / "v1";
    fs::create_directories(dir);
    std::ofstream(dir / "model.onnx", std::ios::binary) << weights;
    std::ofstream(dir / "manifest.json") << R"({"files": {"model.onnx": {"sha256": ")"
                                         << cartsense::Sha256Hex("weights") << R"("}}})";
  }

  std::string Dirs() const {
    return " --data-dir " + (root_ / "data").string() + " --models-dir " +
           (root_ / "models").string();
  }

  fs::path root_;
};

TEST_F(CliTest, VersionPrintsVersion) {
  const RunResult result = RunCartsense("version");
  EXPECT_EQ(result.exit_code, 0);
  EXPECT_EQ(result.out.rfind("cartsense ", 0), 0U) << result.out;
}

TEST_F(CliTest, UnknownSubcommandIsUsageError) {
  EXPECT_EQ(RunCartsense("no-such-command").exit_code, 2);
}

TEST_F(CliTest, DoctorJsonHasChecksWithNameOkDetail) {
  MakeBundle("weights");
  const RunResult result = RunCartsense("doctor --json" + Dirs());
  ASSERT_EQ(result.exit_code, 0) << result.out;
  const auto report = nlohmann::json::parse(result.out);
  ASSERT_TRUE(report["checks"].is_array());
  EXPECT_TRUE(report["ok"].get<bool>());
  bool saw_bundle = false;
  for (const auto& check : report["checks"]) {
    ASSERT_TRUE(check["name"].is_string());
    ASSERT_TRUE(check["ok"].is_boolean());
    ASSERT_TRUE(check["detail"].is_string());
    if (check["name"] == "model_bundle") saw_bundle = true;
  }
  EXPECT_TRUE(saw_bundle);
}

TEST_F(CliTest, DoctorFailsOnCorruptBundleAndNamesTheFile) {
  MakeBundle("tampered weights");
  const RunResult result = RunCartsense("doctor --json" + Dirs());
  EXPECT_EQ(result.exit_code, 1);
  const auto report = nlohmann::json::parse(result.out);
  EXPECT_FALSE(report["ok"].get<bool>());
  for (const auto& check : report["checks"]) {
    if (check["name"] == "model_bundle") {
      EXPECT_FALSE(check["ok"].get<bool>());
      EXPECT_NE(check["detail"].get<std::string>().find("model.onnx"), std::string::npos);
    }
  }
}

TEST_F(CliTest, DoctorFailsWhenDataFolderIsNotWritable) {
  std::ofstream(root_ / "a-file") << "x";  // a file where the data folder should be
  const RunResult result =
      RunCartsense("doctor --json --data-dir " + (root_ / "a-file" / "data").string());
  EXPECT_EQ(result.exit_code, 1);
  const auto report = nlohmann::json::parse(result.out);
  for (const auto& check : report["checks"]) {
    if (check["name"] == "data_folder.write") {
      EXPECT_FALSE(check["ok"].get<bool>());
    }
  }
}

// A small session written with the session library, for the replay command.
std::string WriteTinySession(const fs::path& dir) {
  using namespace cartsense::session;
  SessionManifest m;
  m.session_id = "cli-test";
  m.origin = "simulated";
  m.basket_width_mm = 500;
  m.basket_depth_mm = 350;
  m.basket_height_mm = 250;
  m.load_cell_rate_hz = 80;
  for (int i = 0; i < 4; ++i) {
    m.load_cells.push_back({"cell" + std::to_string(i), 500.0 * (i % 2), 350.0 * (i / 2), 0, 0.01});
  }
  m.has_scanner_reads = true;
  m.catalogue_version = "test";
  auto writer = SessionWriter::Create(dir.string(), m);
  if (!writer.ok()) return writer.status().ToString();
  for (int i = 0; i < 100; ++i) {
    cartsense::LoadCellSample s;
    s.t = cartsense::Timestamp::FromMilliseconds(i * 12);
    if (auto added = (*writer)->AddLoadCell(s); !added.ok()) return added.ToString();
  }
  if (auto added = (*writer)->AddScannerRead({cartsense::Timestamp::FromMilliseconds(50),
                                              cartsense::BarcodeFormat::kEan8, "96385074", 0});
      !added.ok()) {
    return added.ToString();
  }
  auto finished = (*writer)->Finish();
  return finished.ok() ? "" : finished.status().ToString();
}

TEST_F(CliTest, ReplayValidatesAndNamesTheDamagedFile) {
  const fs::path session = root_ / "session";
  ASSERT_EQ(WriteTinySession(session), "");
  EXPECT_EQ(RunCartsense("replay " + session.string() + " --validate").exit_code, 0);

  const RunResult first = RunCartsense("replay " + session.string() + " --json");
  ASSERT_EQ(first.exit_code, 0) << first.out;
  const auto report = nlohmann::json::parse(first.out);
  EXPECT_EQ(report["packets"]["loadcell"], 100);
  EXPECT_EQ(report["packets"]["scanner"], 1);
  EXPECT_EQ(RunCartsense("replay " + session.string() + " --json").out, first.out);

  std::ofstream(session / "scanner.csv", std::ios::app) << "60,0,EAN8,96385074\n";
  const RunResult damaged = RunCartsense("replay " + session.string() + " --validate --json");
  EXPECT_EQ(damaged.exit_code, 1);
  EXPECT_NE(damaged.out.find("scanner.csv"), std::string::npos) << damaged.out;
  EXPECT_EQ(RunCartsense("replay " + (root_ / "nothing-here").string() + " --validate").exit_code,
            3);
}

TEST_F(CliTest, RecordWithBadConfigIsAUsageErrorAndWritesNothing) {
  std::ofstream(root_ / "cart.yaml") << "cart_id: c\nbasket: {width_mm: wide}\n";
  const fs::path out = root_ / "recording";
  EXPECT_EQ(
      RunCartsense("record --config " + (root_ / "cart.yaml").string() + " --out " + out.string())
          .exit_code,
      2);
  EXPECT_FALSE(fs::exists(out));
}

TEST_F(CliTest, WeighEvalWritesOneCsvRowPerTrueEvent) {
  const fs::path csv = root_ / "events.csv";
  const RunResult result =
      RunCartsense("weigh-eval --events 30 --seed 2 --json --events-csv " + csv.string());
  ASSERT_EQ(result.exit_code, 0);
  const auto report = nlohmann::json::parse(result.out);
  std::ifstream in(csv);
  std::string line;
  ASSERT_TRUE(std::getline(in, line));
  EXPECT_EQ(line.rfind("kind,t_start_s,t_settle_s,true_delta_g,", 0), 0u) << line;
  int true_rows = 0;
  int matched_rows = 0;
  int false_rows = 0;
  while (std::getline(in, line)) {
    if (line.rfind("true,", 0) == 0) {
      ++true_rows;
      // kind,t_start_s,t_settle_s,true_delta_g,items,x_mm,y_mm,matched,...
      std::size_t field = 0;
      for (int commas = 0; commas < 7; ++commas) field = line.find(',', field) + 1;
      if (line.compare(field, 2, "1,") == 0) ++matched_rows;
    } else if (line.rfind("false,", 0) == 0) {
      ++false_rows;
    }
  }
  EXPECT_EQ(true_rows, report["events"].get<int>());
  EXPECT_EQ(matched_rows, report["matched"].get<int>());
  EXPECT_EQ(false_rows, report["false_positives"].get<int>());
  EXPECT_EQ(RunCartsense("weigh-eval --events 5 --events-csv " + (root_ / "no" / "x.csv").string())
                .exit_code,
            3);
}

}  // namespace
}  // namespace cartsense
