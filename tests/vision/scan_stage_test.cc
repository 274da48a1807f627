// BarcodeReaderStage in an inline pipeline: rendered scanner frames in, one read per scan out.
#include "vision/scan_stage.h"

#include <memory>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "core/pipeline.h"
#include "sim/barcode_renderer.h"

namespace cartsense::vision {
namespace {

constexpr int kScannerId = 2;

// A scan: the product crossing the view in 12 frames at 15 fps from `start_ms`.
void AddScan(const std::string& gtin, int64_t start_ms, std::vector<Packet>& frames) {
  const sim::ScannerRenderer renderer(640, 480, 1);
  const cv::Mat label = sim::RenderBarcodeLabel(gtin).value();
  sim::ScanView view;
  view.rotation_deg = 12;
  for (int f = 0; f < 12; ++f) {
    CameraFrame frame;
    frame.t = Timestamp::FromMilliseconds(start_ms + f * 67);
    frame.camera_id = kScannerId;
    frame.frame_index = static_cast<int64_t>(frames.size());
    frame.image = renderer.RenderFrame(nullptr, label, view, -1.0 + f / 5.5);
    frames.push_back(Packet::Make(frame.t, frame));
  }
}

TEST(BarcodeReaderStageTest, EmitsOneReadPerScanAndSkipsOtherCameras) {
  StageRegistry registry;
  ASSERT_TRUE(RegisterBarcodeStages(registry).ok());
  auto config = Config::Parse(
      "sources: [frames]\n"
      "stages:\n"
      "  - name: scanner\n"
      "    type: BarcodeReaderStage\n"
      "    inputs: {frames: frames}\n"
      "    outputs: {reads: reads}\n"
      "    config: {camera_id: 2, lone_read_wait_ms: 300}\n");
  ASSERT_TRUE(config.ok()) << config.status().message();
  VirtualClock clock;
  MetricsRegistry metrics;
  auto pipeline = Pipeline::FromConfig(*config, registry, &clock, &metrics);
  ASSERT_TRUE(pipeline.ok()) << pipeline.status().message();
  std::vector<ScannerRead> reads;
  ASSERT_TRUE(
      (*pipeline)
          ->AddSink("reads", [&](const std::string&,
                                 const Packet& p) { reads.push_back(p.Value<ScannerRead>()); })
          .ok());
  ASSERT_TRUE((*pipeline)->Start().ok());

  std::vector<Packet> frames;
  AddScan("7310865004703", 0, frames);
  AddScan("7310865004703", 3000, frames);  // the same product scanned again
  AddScan("96385074", 6000, frames);
  // A basket camera's frame and an empty image: skipped, and counted as a fault.
  CameraFrame basket;
  basket.t = Timestamp::FromMilliseconds(8000);
  basket.camera_id = 0;
  basket.image = cv::Mat(480, 640, CV_8U, cv::Scalar(0));
  frames.push_back(Packet::Make(basket.t, basket));
  CameraFrame broken;
  broken.t = Timestamp::FromMilliseconds(8100);
  broken.camera_id = kScannerId;
  frames.push_back(Packet::Make(broken.t, broken));
  for (const Packet& frame : frames) ASSERT_TRUE((*pipeline)->Push("frames", frame).ok());
  (*pipeline)->CloseSources();
  ASSERT_TRUE((*pipeline)->Wait().ok());

  ASSERT_EQ(reads.size(), 3U);
  EXPECT_EQ(reads[0].gtin, "7310865004703");
  EXPECT_EQ(reads[1].gtin, "7310865004703");
  EXPECT_EQ(reads[2].gtin, "96385074");
  EXPECT_EQ(reads[2].format, BarcodeFormat::kEan8);
  for (const ScannerRead& read : reads) EXPECT_EQ(read.camera_id, kScannerId);
  EXPECT_LT(reads[0].t, Timestamp::FromMilliseconds(804));
  EXPECT_GE(reads[1].t, Timestamp::FromMilliseconds(3000));
  EXPECT_LT(reads[1].t, Timestamp::FromMilliseconds(3804));
  EXPECT_EQ(
      metrics.GetCounter("cartsense_barcode_faults_total", "", {{"stage", "scanner"}}).value(), 1U);
}

TEST(BarcodeReaderStageTest, RejectsConfigWithoutUnits) {
  StageRegistry registry;
  ASSERT_TRUE(RegisterBarcodeStages(registry).ok());
  auto config = Config::Parse(
      "sources: [frames]\n"
      "stages:\n"
      "  - name: scanner\n"
      "    type: BarcodeReaderStage\n"
      "    inputs: {frames: frames}\n"
      "    outputs: {reads: reads}\n"
      "    config: {vote_window: 600}\n");
  ASSERT_TRUE(config.ok());
  VirtualClock clock;
  MetricsRegistry metrics;
  auto pipeline = Pipeline::FromConfig(*config, registry, &clock, &metrics);
  Status started = pipeline.ok() ? (*pipeline)->Start() : pipeline.status();
  ASSERT_FALSE(started.ok());
  EXPECT_NE(started.message().find("vote_window"), std::string::npos) << started.message();
}

}  // namespace
}  // namespace cartsense::vision
