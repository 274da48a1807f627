// Barcodes (issue 7), on rendered scanner-camera frames (simulation): the share of codes read
// per hard-case bucket by our reader and by zxing-cpp alone (fast, and with try-harder +
// try-rotate + try-downscale, zxing 1.4's defaults), on the same seeded images; and the time per
// 640x480 frame on one thread (frames/s = items_per_second).
//
//   build/<release>/bin/bench_barcode --benchmark_counters_tabular=true
//
// Each DecodeRate benchmark runs once (Iterations(1)) over kImagesPerBucket images and reports
// read_rate (true GTIN among the reads), misreads (reads of another GTIN) and cpu_ms_per_image.
#include <cstdint>
#include <ctime>
#include <random>
#include <string>
#include <vector>

#include <benchmark/benchmark.h>
#include <opencv2/imgcodecs.hpp>

#include "core/gtin.h"
#include "sim/barcode_renderer.h"
#include "sim/product_images.h"
#include "vision/barcode_reader.h"

namespace {

using cartsense::sim::ScanViewBucket;
using cartsense::vision::BarcodeRead;
using cartsense::vision::BarcodeReader;

constexpr int kImagesPerBucket = 60;
constexpr uint64_t kSeed = 7;

// A bucket of views; jpeg_quality > 0 stores each frame as JPEG first, as a recorded session
// does (the cart reads raw frames).
struct Bucket {
  ScanViewBucket view;
  int jpeg_quality = 0;
};

// rotation (deg), module (px), defocus sigma (px), motion blur (px), glare; JPEG quality.
const std::vector<Bucket>& Buckets() {
  static const std::vector<Bucket> buckets = {
      {{"rot0_mod3", 0, 2, 3, 3, 0.6, 0, 0}},
      {{"rot5-30_mod3_blur", 5, 30, 3, 3, 1.0, 0, 0}},
      {{"rot30-40_mod3", 30, 40, 3, 3, 0.6, 0, 0}},
      {{"rot45_mod3", 42, 48, 3, 3, 0.6, 0, 0}},
      {{"rot60-90_mod3", 60, 90, 3, 3, 0.6, 0, 0}},
      {{"rot0-15_mod2", 0, 15, 2, 2, 0.5, 0, 0}},
      {{"rot0-15_mod1.5", 0, 15, 1.5, 1.5, 0.4, 0, 0}},
      {{"rot0-15_mod1.2-1.4", 0, 15, 1.2, 1.4, 0.4, 0, 0}},
      {{"rot40-60_mod1.5", 40, 60, 1.5, 1.5, 0.4, 0, 0}},
      {{"rot0-15_mod3_defocus1.5", 0, 15, 3, 3, 1.5, 0, 0}},
      {{"rot0-15_mod3_motion6", 0, 15, 3, 3, 0.5, 6, 0}},
      {{"rot0-15_mod3_motion10", 0, 15, 3, 3, 0.5, 10, 0}},
      {{"rot0-15_mod3_glare", 0, 15, 3, 3, 0.5, 0, 0.9}},
      {{"rot0-15_mod1.2-1.4_jpeg55", 0, 15, 1.2, 1.4, 0.4, 0, 0}, 55},
      {{"rot0-15_mod2_jpeg55", 0, 15, 2, 2, 0.5, 0, 0}, 55},
  };
  return buckets;
}

std::string RandomGtin(std::mt19937_64& rng) {
  std::uniform_int_distribution<int> digit(0, 9);
  std::uniform_real_distribution<double> unit(0, 1);
  const double kind = unit(rng);
  std::string body;
  if (kind < 0.15) {
    body = std::to_string(1 + digit(rng) % 9);  // EAN-8
    for (int i = 0; i < 6; ++i) body += static_cast<char>('0' + digit(rng));
  } else {
    body = kind < 0.35 ? "0" : std::to_string(1 + digit(rng) % 9);  // UPC-A : EAN-13
    for (int i = 0; i < 11; ++i) body += static_cast<char>('0' + digit(rng));
  }
  return body + static_cast<char>('0' + cartsense::GtinCheckDigit(body));
}

struct Sample {
  cv::Mat frame;
  std::string gtin;
};

std::vector<cartsense::sim::Sprite> LoadSprites() {
  std::vector<cartsense::sim::Sprite> sprites;
  auto images = cartsense::sim::ProductImages::Load(std::string(CARTSENSE_SOURCE_DIR) +
                                                    "/data/grocery-store-mini/dev.txt");
  if (!images.ok()) return sprites;
  for (const int fine_id : images->FineIds()) {
    for (const std::string& photo : images->PhotosOf(fine_id)) {
      auto sprite = cartsense::sim::LoadSprite(photo);
      if (sprite.ok()) sprites.push_back(*sprite);
      break;
    }
    if (sprites.size() >= 24) break;
  }
  return sprites;
}

std::vector<Sample> RenderBucket(const Bucket& bucket, uint64_t seed) {
  static const std::vector<cartsense::sim::Sprite> sprites = LoadSprites();
  std::mt19937_64 rng(seed);
  const cartsense::sim::ScannerRenderer renderer(640, 480, seed);
  std::vector<Sample> samples;
  for (int i = 0; i < kImagesPerBucket; ++i) {
    Sample sample;
    sample.gtin = RandomGtin(rng);
    const cartsense::sim::ScanView view = cartsense::sim::DrawBucketView(rng, bucket.view);
    const auto label = cartsense::sim::RenderBarcodeLabel(sample.gtin);
    if (!label.ok()) continue;
    const cartsense::sim::Sprite* sprite =
        sprites.empty() ? nullptr : &sprites[rng() % sprites.size()];
    const double progress = std::uniform_real_distribution<double>(-0.08, 0.08)(rng);
    sample.frame = renderer.RenderFrame(sprite, *label, view, progress);
    if (bucket.jpeg_quality > 0) {
      std::vector<uint8_t> jpeg;
      cv::imencode(".jpg", sample.frame, jpeg, {cv::IMWRITE_JPEG_QUALITY, bucket.jpeg_quality});
      sample.frame = cv::imdecode(jpeg, cv::IMREAD_GRAYSCALE);
    }
    samples.push_back(std::move(sample));
  }
  return samples;
}

// CPU time of this thread: the machine is shared, so wall time would measure the neighbours.
double ThreadCpuSeconds() {
  timespec now{};
  clock_gettime(CLOCK_THREAD_CPUTIME_ID, &now);
  return static_cast<double>(now.tv_sec) + 1e-9 * static_cast<double>(now.tv_nsec);
}

enum class Reader { kOurs, kZxingFast, kZxingTryHarder };

cartsense::Result<std::vector<BarcodeRead>> ReadWith(Reader reader, const BarcodeReader& ours,
                                                     const cv::Mat& frame) {
  switch (reader) {
    case Reader::kOurs:
      return ours.Read(frame);
    case Reader::kZxingFast:
      return cartsense::vision::ReadWithZxingOnly(frame, /*try_harder=*/false);
    case Reader::kZxingTryHarder:
      break;
  }
  return cartsense::vision::ReadWithZxingOnly(frame, /*try_harder=*/true);
}

void BM_DecodeRate(benchmark::State& state, std::size_t bucket_index, Reader reader) {
  const Bucket& bucket = Buckets().at(bucket_index);
  const std::vector<Sample> samples = RenderBucket(bucket, kSeed + bucket_index);
  const BarcodeReader ours;
  int read = 0;
  int misread = 0;
  double seconds = 0;
  for (auto _ : state) {
    for (const Sample& sample : samples) {
      const double start = ThreadCpuSeconds();
      auto reads = ReadWith(reader, ours, sample.frame);
      seconds += ThreadCpuSeconds() - start;
      if (!reads.ok()) {
        state.SkipWithError(reads.status().ToString().c_str());
        return;
      }
      bool found = false;
      for (const BarcodeRead& r : *reads) {
        if (r.gtin == sample.gtin) {
          found = true;
        } else {
          ++misread;
        }
      }
      read += found ? 1 : 0;
    }
  }
  const double n = static_cast<double>(samples.size());
  state.counters["images"] = n;
  state.counters["read_rate"] = read / n;
  state.counters["misreads"] = misread;
  state.counters["cpu_ms_per_image"] = 1e3 * seconds / n;
}

// A scanner stream at 640x480: for each of 20 seeded scans (mixed views as DrawScanView draws
// them, hard cases included) the product crossing the view in 12 frames, plus 8 empty frames.
std::vector<cv::Mat> ScannerStream() {
  std::mt19937_64 rng(kSeed);
  const cartsense::sim::ScannerRenderer renderer(640, 480, kSeed);
  std::vector<cv::Mat> frames;
  for (int scan = 0; scan < 20; ++scan) {
    const std::string gtin = RandomGtin(rng);
    const cartsense::sim::ScanView view =
        cartsense::sim::DrawScanView(rng, cartsense::sim::HardCaseShares{});
    const auto label = cartsense::sim::RenderBarcodeLabel(gtin);
    if (!label.ok()) continue;
    for (int f = 0; f < 12; ++f) {
      frames.push_back(renderer.RenderFrame(nullptr, *label, view, -1.0 + f / 5.5));
    }
  }
  for (int f = 0; f < 8; ++f) frames.push_back(renderer.RenderEmpty(1.0));
  return frames;
}

void BM_ScannerFrame(benchmark::State& state, Reader reader) {
  static const std::vector<cv::Mat> frames = ScannerStream();
  const BarcodeReader ours;
  std::size_t next = 0;
  for (auto _ : state) {
    auto reads = ReadWith(reader, ours, frames[next++ % frames.size()]);
    benchmark::DoNotOptimize(reads);
  }
  state.SetItemsProcessed(state.iterations());
}

void RegisterAll() {
  const std::vector<std::pair<std::string, Reader>> readers = {
      {"ours", Reader::kOurs},
      {"zxing_fast", Reader::kZxingFast},
      {"zxing_try_harder", Reader::kZxingTryHarder}};
  for (std::size_t b = 0; b < Buckets().size(); ++b) {
    for (const auto& [name, reader] : readers) {
      benchmark::RegisterBenchmark(("DecodeRate/" + Buckets()[b].view.name + "/" + name).c_str(),
                                   BM_DecodeRate, b, reader)
          ->Iterations(1)
          ->Unit(benchmark::kMillisecond);
    }
  }
  for (const auto& [name, reader] : readers) {
    benchmark::RegisterBenchmark(("ScannerFrame640x480/" + name).c_str(), BM_ScannerFrame, reader)
        ->Unit(benchmark::kMillisecond);
  }
}

}  // namespace

int main(int argc, char** argv) {
  benchmark::Initialize(&argc, argv);
  if (benchmark::ReportUnrecognizedArguments(argc, argv)) return 1;
  RegisterAll();
  benchmark::RunSpecifiedBenchmarks();
  benchmark::Shutdown();
  return 0;
}
