// The recorder against a loopback pseudo-terminal feeding load-cell lines and a video file
// standing in for a camera.
#include "service/recorder.h"

#include <filesystem>
#include <string>
#include <thread>

#include <fcntl.h>
#include <gtest/gtest.h>
#include <opencv2/core.hpp>
#include <opencv2/videoio.hpp>
#include <pty.h>
#include <unistd.h>

#include "sensors/scale_calibration.h"
#include "sensors/serial_protocol.h"
#include "session/session_reader.h"

namespace cartsense::service {
namespace {

namespace fs = std::filesystem;

class RecorderTest : public ::testing::Test {
 protected:
  void SetUp() override {
    root_ = fs::temp_directory_path() /
            (std::string("cartsense_recorder_") + std::to_string(::getpid()) + "_" +
             ::testing::UnitTest::GetInstance()->current_test_info()->name());
    fs::remove_all(root_);
    fs::create_directories(root_);
    sensors::ScaleCalibration calibration;
    calibration.cart_id = "test-cart";
    for (auto& cell : calibration.cells) {
      cell.offset_counts = 1000;
      cell.span_per_kg_counts = 200000;
    }
    ASSERT_TRUE(calibration.SaveFile((root_ / "scale.yaml").string()).ok());
  }
  void TearDown() override { fs::remove_all(root_); }

  std::string WriteVideo(int frames) {
    const std::string path = (root_ / "camera.avi").string();
    cv::VideoWriter writer(path, cv::VideoWriter::fourcc('M', 'J', 'P', 'G'), 30, {64, 48});
    EXPECT_TRUE(writer.isOpened());
    for (int i = 0; i < frames; ++i)
      writer.write(cv::Mat(48, 64, CV_8UC3, cv::Scalar(i * 20, 50, 90)));
    writer.release();
    return path;
  }

  std::string Config(const std::string& serial, const std::string& video,
                     const std::string& extra_camera_keys = "") {
    return "cart_id: test-cart\n"
           "basket: {width_mm: 500, depth_mm: 350, height_mm: 250}\n"
           "load_cells: {device: " +
           serial +
           ", baud: 115200, sample_rate_hz: 80, "
           "calibration_file: scale.yaml}\n"
           "cameras:\n"
           "  - {id: 0, name: basket_left, device: " +
           video +
           ", width_px: 64, height_px: 48, "
           "frame_rate_hz: 30, fx_px: 60, fy_px: 60, cx_px: 32, cy_px: 24" +
           extra_camera_keys + "}\n";
  }

  fs::path root_;
};

TEST_F(RecorderTest, RecordsPseudoTerminalAndVideoFileIntoAValidSession) {
  int master = -1;
  int slave = -1;
  char slave_name[256] = {};
  ASSERT_EQ(::openpty(&master, &slave, slave_name, nullptr, nullptr), 0);
  const std::string video = WriteVideo(10);
  auto parsed = cartsense::Config::Parse(
      Config(slave_name, video, ", floor_homography: [1, 0, 0, 0, 1, 0, 0, 0, 1]"), "cart.yaml");
  ASSERT_TRUE(parsed.ok());
  auto config = ParseRecorderConfig(*parsed, root_.string());
  ASSERT_TRUE(config.ok()) << config.status().ToString();
  const std::string out = (root_ / "session").string();
  auto recorder = Recorder::Start(*config, out);
  ASSERT_TRUE(recorder.ok()) << recorder.status().ToString();

  // The bridge: 200 load-cell samples at 80 samples/s, accelerometer lines, one garbage line and
  // one out-of-order line; then it goes away.
  std::thread bridge([master] {
    auto send = [master](const std::string& line) {
      const std::string text = line + "\r\n";
      EXPECT_EQ(::write(master, text.data(), text.size()), static_cast<ssize_t>(text.size()));
    };
    for (int i = 0; i < 200; ++i) {
      LoadCellSample sample;
      sample.t = Timestamp::FromNanoseconds((1'000'000 + i * 12'500) * int64_t{1000});
      sample.raw_counts = {1000 + i, 1001, 1002, 1003};
      sample.temperature_c = 21.25;
      send(sensors::FormatLoadCellLine(sample));
      if (i % 4 == 0) {
        send(sensors::FormatImuLine({sample.t, 0.0, 0.1, 9.81}));
      }
      if (i == 50) send("L,garbage,,,");
      if (i == 60) send("L,5,1,2,3,4");  // earlier than the last sample
      ::usleep(5000);
    }
    ::usleep(100000);
    ::close(master);
  });
  bridge.join();
  for (int i = 0; i < 200 && (*recorder)->running(); ++i) ::usleep(20000);
  ::close(slave);
  auto summary = (*recorder)->Finish();
  ASSERT_TRUE(summary.ok()) << summary.status().ToString();
  EXPECT_EQ(summary->load_cell_samples, 200);
  EXPECT_EQ(summary->imu_samples, 50);
  EXPECT_EQ(summary->bad_serial_lines, 2);
  EXPECT_EQ(summary->frames["basket_left"], 10);

  auto reader = session::SessionReader::Open(out);
  ASSERT_TRUE(reader.ok()) << reader.status().ToString();
  auto validated = reader->Validate();
  ASSERT_TRUE(validated.ok()) << validated.status().ToString();
  EXPECT_EQ(reader->manifest().origin, "recorded");
  EXPECT_NEAR(reader->manifest().load_cells[0].grams_per_count, 1000.0 / 200000, 1e-12);
  // The bridge's sample spacing is kept exactly.
  auto source = reader->LoadCellSource();
  ASSERT_TRUE(source.ok());
  auto first = (*source)->Next();
  auto second = (*source)->Next();
  ASSERT_TRUE(first.ok() && second.ok() && *first && *second);
  EXPECT_EQ(((*second)->timestamp() - (*first)->timestamp()).ns, 12'500'000);
}

TEST_F(RecorderTest, ConfigErrorsNameTheKey) {
  auto parsed = cartsense::Config::Parse(Config("/dev/null", "x.avi"), "cart.yaml");
  ASSERT_TRUE(parsed.ok());
  auto config = ParseRecorderConfig(*parsed, root_.string());
  ASSERT_FALSE(config.ok());
  EXPECT_NE(config.status().message().find("floor_homography"), std::string::npos)
      << config.status().ToString();

  auto bad_unit = cartsense::Config::Parse(
      "cart_id: c\nbasket: {width_mm: 500, depth_mm: 350, height_mm: fast}\n"
      "load_cells: {device: /dev/null, calibration_file: scale.yaml}\n",
      "cart.yaml");
  ASSERT_TRUE(bad_unit.ok());
  auto bad = ParseRecorderConfig(*bad_unit, root_.string());
  ASSERT_FALSE(bad.ok());
  EXPECT_NE(bad.status().message().find("height_mm"), std::string::npos) << bad.status().ToString();
}

TEST_F(RecorderTest, MissingDeviceFailsBeforeWritingAnything) {
  auto parsed = cartsense::Config::Parse(
      "cart_id: c\nbasket: {width_mm: 500, depth_mm: 350, height_mm: 250}\n"
      "load_cells: {device: /dev/no-such-tty, calibration_file: scale.yaml}\n",
      "cart.yaml");
  ASSERT_TRUE(parsed.ok());
  auto config = ParseRecorderConfig(*parsed, root_.string());
  ASSERT_TRUE(config.ok()) << config.status().ToString();
  auto recorder = Recorder::Start(*config, (root_ / "session").string());
  ASSERT_FALSE(recorder.ok());
  EXPECT_NE(recorder.status().message().find("/dev/no-such-tty"), std::string::npos);
  EXPECT_FALSE(fs::exists(root_ / "session"));
}

}  // namespace
}  // namespace cartsense::service
