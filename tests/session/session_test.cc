#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include <gtest/gtest.h>
#include <opencv2/core.hpp>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include "core/timeline.h"
#include "session/session_format.h"
#include "session/session_reader.h"
#include "session/session_writer.h"

namespace cartsense::session {
namespace {

namespace fs = std::filesystem;

SessionManifest Header(bool with_truth = true) {
  SessionManifest m;
  m.session_id = "test-session";
  m.origin = "simulated";
  m.basket_width_mm = 500;
  m.basket_depth_mm = 350;
  m.basket_height_mm = 250;
  m.load_cell_rate_hz = 80;
  m.has_temperature = true;
  for (const auto& [name, x, y] :
       std::vector<std::tuple<std::string, double, double>>{{"front_left", 0, 0},
                                                            {"front_right", 500, 0},
                                                            {"back_left", 0, 350},
                                                            {"back_right", 500, 350}}) {
    m.load_cells.push_back({name, x, y, 1000.0, 0.01});
  }
  m.imu_rate_hz = 100;
  CameraInfo left;
  left.id = 0;
  left.name = "basket_left";
  left.role = CameraRole::kBasket;
  left.width_px = 64;
  left.height_px = 48;
  left.fps = 15;
  left.capture = CaptureMode::kEventTriggered;
  left.intrinsics = {60, 60, 32, 24, {0.01, -0.002, 0, 0}};
  left.floor_homography = std::array<double, 9>{1, 0, 0, 0, 1, 0, 0, 0, 1};
  CameraInfo scanner = left;
  scanner.id = 2;
  scanner.name = "scanner";
  scanner.role = CameraRole::kScanner;
  scanner.capture = CaptureMode::kContinuous;
  scanner.floor_homography.reset();
  m.cameras = {left, scanner};
  m.has_scanner_reads = true;
  m.has_touchscreen = true;
  m.has_truth = with_truth;
  m.catalogue_version = "grocery-store-81";
  return m;
}

class SessionTest : public ::testing::Test {
 protected:
  void SetUp() override {
    root_ = fs::temp_directory_path() /
            (std::string("cartsense_session_") + std::to_string(::getpid()) + "_" +
             ::testing::UnitTest::GetInstance()->current_test_info()->name());
    fs::remove_all(root_);
    fs::create_directories(root_);
    dir_ = (root_ / "s1").string();
  }
  void TearDown() override { fs::remove_all(root_); }

  // 2 s of load-cell and IMU samples, frames from both cameras, a scan, a touch, ground truth.
  void WriteSession() {
    auto writer = SessionWriter::Create(dir_, Header());
    ASSERT_TRUE(writer.ok()) << writer.status().ToString();
    SessionWriter& w = **writer;
    for (int i = 0; i < 160; ++i) {
      LoadCellSample s;
      s.t = Timestamp::FromMilliseconds(1000 + i * 12);
      s.raw_counts = {1000 + i, 1001, -5 - i, 8388607};
      s.temperature_c = 21.5;
      ASSERT_TRUE(w.AddLoadCell(s).ok());
    }
    for (int i = 0; i < 200; ++i) {
      ASSERT_TRUE(w.AddImu({Timestamp::FromMilliseconds(1000 + i * 10), 0.1, -0.2, 9.81}).ok());
    }
    for (int i = 0; i < 6; ++i) {
      cv::Mat image(48, 64, CV_8UC3, cv::Scalar(10 * i, 100, 200));
      ASSERT_TRUE(w.AddFrame(0, Timestamp::FromMilliseconds(1500 + i * 66), i / 3, image).ok());
      ASSERT_TRUE(w.AddFrame(2, Timestamp::FromMilliseconds(1500 + i * 66), 0,
                             cv::Mat(48, 64, CV_8UC1, cv::Scalar(128)))
                      .ok());
    }
    ASSERT_TRUE(w.AddScannerRead(
                     {Timestamp::FromMilliseconds(1400), BarcodeFormat::kEan13, "4006381333931", 2})
                    .ok());
    ShopperAction touch;
    touch.t = Timestamp::FromMilliseconds(2500);
    touch.kind = ShopperAction::Kind::kChooseProduct;
    touch.product_id = "oatly,oat milk 100%";
    ASSERT_TRUE(w.AddTouchscreen(touch).ok());
    ASSERT_TRUE(w.SetTruth(R"({"actions": [], "final_basket": []})").ok());
    auto finished = w.Finish();
    ASSERT_TRUE(finished.ok()) << finished.status().ToString();
  }

  std::string ErrorOpening() {
    auto reader = SessionReader::Open(dir_);
    if (reader.ok()) {
      auto validated = reader->Validate();
      return validated.ok() ? "" : validated.status().ToString();
    }
    return reader.status().ToString();
  }

  fs::path root_;
  std::string dir_;
};

TEST_F(SessionTest, RoundTripValidatesWithCounts) {
  WriteSession();
  auto reader = SessionReader::Open(dir_);
  ASSERT_TRUE(reader.ok()) << reader.status().ToString();
  auto summaries = reader->Validate();
  ASSERT_TRUE(summaries.ok()) << summaries.status().ToString();
  std::map<std::string, int64_t> counts;
  for (const auto& s : *summaries) counts[s.stream] = s.packets;
  EXPECT_EQ(counts["loadcell"], 160);
  EXPECT_EQ(counts["imu"], 200);
  EXPECT_EQ(counts["camera/basket_left"], 6);
  EXPECT_EQ(counts["camera/scanner"], 6);
  EXPECT_EQ(counts["scanner"], 1);
  EXPECT_EQ(counts["touchscreen"], 1);
  EXPECT_EQ(reader->manifest().start, Timestamp::FromMilliseconds(1000));
  EXPECT_EQ(reader->manifest().cameras[0].intrinsics.distortion.size(), 4U);
}

TEST_F(SessionTest, ReplayGivesTheSameOrderEveryTimeAndDecodesFrames) {
  WriteSession();
  auto reader = SessionReader::Open(dir_);
  ASSERT_TRUE(reader.ok());
  auto replay = [&] {
    VirtualClock clock;
    ReplayTimeline timeline(&clock);
    EXPECT_TRUE(reader->AddAllSources(timeline).ok());
    std::vector<std::string> order;
    Timestamp previous = Timestamp::Min();
    while (true) {
      auto next = timeline.Next();
      EXPECT_TRUE(next.ok()) << next.status().ToString();
      if (!next.ok() || !*next) break;
      EXPECT_GE((*next)->packet.timestamp(), previous);
      previous = (*next)->packet.timestamp();
      if ((*next)->packet.Holds<CameraFrame>()) {
        const auto& frame = (*next)->packet.Value<CameraFrame>();
        EXPECT_EQ(frame.image.cols, 64);
        EXPECT_EQ(frame.image.rows, 48);
      }
      if ((*next)->packet.Holds<ShopperAction>()) {
        EXPECT_EQ((*next)->packet.Value<ShopperAction>().product_id, "oatly,oat milk 100%");
      }
      order.push_back((*next)->stream + "@" + std::to_string((*next)->packet.timestamp().ns));
    }
    return order;
  };
  const auto first = replay();
  EXPECT_EQ(first.size(), 160U + 200U + 12U + 1U + 1U);
  EXPECT_EQ(first, replay());
}

TEST_F(SessionTest, TruncatedFileIsNamed) {
  WriteSession();
  fs::resize_file(fs::path(dir_) / "loadcell.csv",
                  fs::file_size(fs::path(dir_) / "loadcell.csv") - 7);
  const std::string error = ErrorOpening();
  EXPECT_NE(error.find("loadcell.csv"), std::string::npos) << error;
}

TEST_F(SessionTest, AppendedBytesAreNamed) {
  WriteSession();
  std::ofstream(fs::path(dir_) / "cameras/basket_left/0000003.jpg", std::ios::app) << "x";
  const std::string error = ErrorOpening();
  EXPECT_NE(error.find("cameras/basket_left/0000003.jpg"), std::string::npos) << error;
}

TEST_F(SessionTest, AlteredByteIsNamed) {
  WriteSession();
  const fs::path path = fs::path(dir_) / "imu.csv";
  std::fstream file(path, std::ios::in | std::ios::out | std::ios::binary);
  file.seekp(40);
  file.put('7');
  file.close();
  const std::string error = ErrorOpening();
  EXPECT_NE(error.find("imu.csv"), std::string::npos) << error;
  EXPECT_NE(error.find("sha256"), std::string::npos) << error;
}

TEST_F(SessionTest, MissingAndUnexpectedFilesAreNamed) {
  WriteSession();
  fs::remove(fs::path(dir_) / "truth.json");
  std::string error = ErrorOpening();
  EXPECT_NE(error.find("truth.json"), std::string::npos) << error;

  fs::remove_all(dir_);
  WriteSession();
  std::ofstream(fs::path(dir_) / "cameras/scanner/extra.jpg") << "not ours";
  error = ErrorOpening();
  EXPECT_NE(error.find("extra.jpg"), std::string::npos) << error;
  EXPECT_NE(error.find("not listed"), std::string::npos) << error;
}

TEST_F(SessionTest, MissingManifestMeansUnfinished) {
  WriteSession();
  fs::remove(fs::path(dir_) / "manifest.json");
  const std::string error = ErrorOpening();
  EXPECT_NE(error.find("manifest.json"), std::string::npos) << error;
  EXPECT_NE(error.find("never finished"), std::string::npos) << error;
}

TEST_F(SessionTest, OutOfOrderLineIsReportedWithFileAndLine) {
  WriteSession();
  // Swap two data lines, then open without checksum verification to reach the line checks.
  const fs::path path = fs::path(dir_) / "loadcell.csv";
  std::ifstream in(path);
  std::vector<std::string> lines;
  for (std::string line; std::getline(in, line);) lines.push_back(line);
  in.close();
  std::swap(lines[5], lines[6]);
  std::ofstream out(path, std::ios::trunc);
  for (const auto& line : lines) out << line << '\n';
  out.close();
  auto reader = SessionReader::Open(dir_, {.verify_files = false});
  ASSERT_TRUE(reader.ok());
  auto validated = reader->Validate();
  ASSERT_FALSE(validated.ok());
  EXPECT_NE(validated.status().message().find("loadcell.csv:7"), std::string::npos)
      << validated.status().ToString();
}

TEST_F(SessionTest, WriterRefusesBackwardsTimeAndUnannouncedStreams) {
  SessionManifest header = Header(/*with_truth=*/false);
  header.has_touchscreen = false;
  auto writer = SessionWriter::Create(dir_, header);
  ASSERT_TRUE(writer.ok());
  LoadCellSample s;
  s.t = Timestamp::FromMilliseconds(10);
  ASSERT_TRUE((*writer)->AddLoadCell(s).ok());
  s.t = Timestamp::FromMilliseconds(5);
  EXPECT_FALSE((*writer)->AddLoadCell(s).ok());
  EXPECT_FALSE((*writer)->AddTouchscreen({}).ok());
  EXPECT_FALSE((*writer)->SetTruth("{}").ok());
  EXPECT_FALSE((*writer)->AddFrame(7, s.t, 0, cv::Mat(4, 4, CV_8UC1)).ok());
  ASSERT_TRUE((*writer)->Finish().ok());
  EXPECT_EQ(ErrorOpening(), "");
  // A second writer may not overwrite a session.
  EXPECT_FALSE(SessionWriter::Create(dir_, header).ok());
}

// A recorder killed with SIGKILL mid-session leaves a folder that no reader takes for a
// complete session.
TEST_F(SessionTest, KilledWriterLeavesNoValidSession) {
  const pid_t child = ::fork();
  ASSERT_GE(child, 0);
  if (child == 0) {
    auto writer = SessionWriter::Create(dir_, Header(/*with_truth=*/false));
    if (!writer.ok()) ::_exit(3);
    for (int64_t i = 0;; ++i) {
      LoadCellSample s;
      s.t = Timestamp::FromMilliseconds(i);
      if (!(*writer)->AddLoadCell(s).ok()) ::_exit(4);
    }
  }
  const fs::path data = fs::path(dir_) / "loadcell.csv";
  for (int i = 0; i < 2000; ++i) {
    std::error_code error;
    if (fs::exists(data, error) && fs::file_size(data, error) > 100000) break;
    ::usleep(5000);
  }
  ::kill(child, SIGKILL);
  int status = 0;
  ::waitpid(child, &status, 0);
  ASSERT_TRUE(WIFSIGNALED(status));
  const std::string error = ErrorOpening();
  EXPECT_NE(error.find("never finished"), std::string::npos) << error;
}

TEST(SessionLineTest, LoadCellLinesRejectMalformedInput) {
  EXPECT_TRUE(ParseLoadCellLine("100,1,2,3,4,", 4).ok());
  EXPECT_TRUE(ParseLoadCellLine("100,1,2,3,4,20.5", 4).ok());
  EXPECT_TRUE(ParseLoadCellLine("100,1,2,3,", 3).ok());
  for (const char* bad : {"", "100", "100,1,2,3,4", "100,1,2,3,4,5,6", "x,1,2,3,4,", "-1,1,2,3,4,",
                          "100,1,2,3,8388608,", "100,1,2,3,-8388609,", "100,1,2,3,4,nan",
                          "100,1,2,3,4,inf", "100,1,2,3,4,400", "100,1.5,2,3,4,", "100, 1,2,3,4,",
                          "100,1,2,3,4,20.5\r", "99999999999999999999,1,2,3,4,"}) {
    EXPECT_FALSE(ParseLoadCellLine(bad, 4).ok()) << bad;
  }
  EXPECT_FALSE(ParseLoadCellLine("100,1,2,3,4,", 5).ok());
}

TEST(SessionLineTest, RoundTripsEveryStream) {
  LoadCellSample cells;
  cells.t = Timestamp::FromNanoseconds(123456789);
  cells.raw_counts = {-8388608, 8388607, 0, 42};
  cells.temperature_c = -3.25;
  auto parsed_cells = ParseLoadCellLine(FormatLoadCellLine(cells), 4);
  ASSERT_TRUE(parsed_cells.ok());
  EXPECT_EQ(parsed_cells->raw_counts, cells.raw_counts);
  EXPECT_EQ(*parsed_cells->temperature_c, -3.25);

  const ImuSample imu{Timestamp::FromNanoseconds(5), 0.1, -9.80665, 1e-7};
  auto parsed_imu = ParseImuLine(FormatImuLine(imu));
  ASSERT_TRUE(parsed_imu.ok());
  EXPECT_EQ(parsed_imu->ay_mps2, imu.ay_mps2);
  EXPECT_EQ(parsed_imu->az_mps2, imu.az_mps2);

  ShopperAction action;
  action.t = Timestamp::FromNanoseconds(9);
  action.kind = ShopperAction::Kind::kAnswerPrompt;
  action.prompt_id = "p,1";
  action.answer = "50%\nmore";
  auto parsed_action = ParseTouchscreenLine(FormatTouchscreenLine(action));
  ASSERT_TRUE(parsed_action.ok());
  EXPECT_EQ(parsed_action->prompt_id, "p,1");
  EXPECT_EQ(parsed_action->answer, "50%\nmore");
  EXPECT_FALSE(ParseTouchscreenLine("9,answer_prompt,%4,,").ok());
  EXPECT_FALSE(ParseTouchscreenLine("9,answer_prompt,%zz,,").ok());
  EXPECT_FALSE(ParseTouchscreenLine("9,dance,,,").ok());

  EXPECT_TRUE(ParseScannerLine("1,0,EAN13,4006381333931").ok());
  EXPECT_FALSE(ParseScannerLine("1,0,EAN13,40063813339a1").ok());
  EXPECT_FALSE(ParseScannerLine("1,0,QR,4006381333931").ok());
  EXPECT_FALSE(ParseScannerLine("1,999,EAN13,4006381333931").ok());

  EXPECT_TRUE(ParseFrameLine("1,0,0,0000000.jpg").ok());
  EXPECT_FALSE(ParseFrameLine("1,0,0,../manifest.json").ok());
  EXPECT_FALSE(ParseFrameLine("1,0,0,sub/x.jpg").ok());
  EXPECT_FALSE(ParseFrameLine("1,-1,0,x.jpg").ok());
}

TEST(SessionManifestTest, ErrorsNameTheKey) {
  SessionManifest m = Header();
  m.files = {{"loadcell.csv", std::string(64, 'a'), 10},
             {"imu.csv", std::string(64, 'b'), 1},
             {"scanner.csv", std::string(64, 'c'), 1},
             {"touchscreen.csv", std::string(64, 'd'), 1},
             {"truth.json", std::string(64, 'e'), 1},
             {"cameras/basket_left/frames.csv", std::string(64, 'f'), 1},
             {"cameras/scanner/frames.csv", std::string(64, '0'), 1}};
  const std::string good = ManifestToJson(m);
  ASSERT_TRUE(ParseManifest(good, "m.json").ok())
      << ParseManifest(good, "m.json").status().ToString();

  auto error_of = [](const std::string& text) {
    auto parsed = ParseManifest(text, "m.json");
    return parsed.ok() ? std::string("ok") : parsed.status().message();
  };
  auto replace = [&good](const std::string& from, const std::string& to) {
    std::string text = good;
    const auto at = text.find(from);
    EXPECT_NE(at, std::string::npos) << from;
    if (at != std::string::npos) text.replace(at, from.size(), to);
    return text;
  };
  EXPECT_NE(error_of("{").find("not valid JSON"), std::string::npos);
  EXPECT_NE(error_of("[]").find("object"), std::string::npos);
  // A number too big for a double: nlohmann throws out_of_range, not parse_error.
  EXPECT_NE(error_of(replace("\"format_version\": 1", "\"format_version\": 1e999"))
                .find("not valid JSON"),
            std::string::npos);
  EXPECT_NE(
      error_of(replace("\"format_version\": 1", "\"format_version\": 2")).find("format_version 2"),
      std::string::npos);
  EXPECT_NE(error_of(replace("\"fx_px\": 60.0", "\"fx_px\": \"sixty\""))
                .find("cameras[0].intrinsics.fx_px"),
            std::string::npos);
  EXPECT_NE(
      error_of(replace("\"path\": \"imu.csv\"", "\"path\": \"../imu.csv\"")).find("files[1].path"),
      std::string::npos);
  EXPECT_NE(
      error_of(replace("\"path\": \"imu.csv\"", "\"path\": \"loadcell.csv\"")).find("listed twice"),
      std::string::npos);
  EXPECT_NE(
      error_of(replace("\"path\": \"truth.json\"", "\"path\": \"truth2.json\"")).find("truth.json"),
      std::string::npos);
  EXPECT_NE(error_of(replace("\"name\": \"basket_left\"", "\"name\": \"Basket Left\""))
                .find("cameras[0].name"),
            std::string::npos);
  EXPECT_NE(error_of(replace("\"grams_per_count\": 0.01", "\"grams_per_count\": 0"))
                .find("grams_per_count"),
            std::string::npos);
}

}  // namespace
}  // namespace cartsense::session
