// Per-crop latency of the embedder, end to end from a decoded image to its embedding
// (preprocessing + inference + normalization), batch 1. Run by bench/inference_vs_onnxruntime,
// which times onnxruntime on the same model and images in the same run.
//
//   bench_inference --bundle models/recognizer/v1 --precision int8 --threads 1
//       [--backend openvino] [--runs 300] IMAGE...
//
// Prints one JSON object: backend, precision, threads, runs, ms_p50, ms_p99, model.
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <vector>

#include <opencv2/imgcodecs.hpp>

#include "vision/embedder.h"

namespace {

double Percentile(std::vector<double> values, double fraction) {
  std::sort(values.begin(), values.end());
  const auto index = static_cast<std::size_t>(fraction * static_cast<double>(values.size() - 1));
  return values[index];
}

int Usage() {
  std::fprintf(stderr,
               "usage: bench_inference --bundle DIR [--precision fp32|int8] [--threads N] "
               "[--backend NAME] [--runs N] IMAGE...\n");
  return 2;
}

}  // namespace

int main(int argc, char** argv) {
  std::string bundle;
  cartsense::EmbedderOptions options;
  int runs = 300;
  std::vector<std::string> paths;
  for (int i = 1; i < argc; ++i) {
    const std::string arg = argv[i];
    const bool has_value = i + 1 < argc;
    if (arg == "--bundle" && has_value) {
      bundle = argv[++i];
    } else if (arg == "--precision" && has_value) {
      options.precision = argv[++i];
    } else if (arg == "--threads" && has_value) {
      options.threads = std::atoi(argv[++i]);
    } else if (arg == "--backend" && has_value) {
      options.backend = argv[++i];
    } else if (arg == "--runs" && has_value) {
      runs = std::atoi(argv[++i]);
    } else if (arg.starts_with("--")) {
      return Usage();
    } else {
      paths.push_back(arg);
    }
  }
  if (bundle.empty() || paths.empty() || runs < 1) return Usage();

  std::vector<cv::Mat> images;
  for (const std::string& path : paths) {
    images.push_back(cv::imread(path, cv::IMREAD_COLOR));
    if (images.back().empty()) {
      std::fprintf(stderr, "cannot decode %s\n", path.c_str());
      return 1;
    }
  }
  auto embedder = cartsense::Embedder::Open(bundle, options);
  if (!embedder.ok()) {
    std::fprintf(stderr, "%s\n", embedder.status().ToString().c_str());
    return 1;
  }
  // Warm-up on the real images too (caches, branch predictors), as the peer gets.
  for (std::size_t i = 0; i < std::min<std::size_t>(images.size(), 20); ++i) {
    if (!(*embedder)->Embed({images[i]}).ok()) return 1;
  }
  std::vector<double> times_ms;
  times_ms.reserve(static_cast<std::size_t>(runs));
  for (int run = 0; run < runs; ++run) {
    const cv::Mat& image = images[static_cast<std::size_t>(run) % images.size()];
    const auto start = std::chrono::steady_clock::now();
    auto embedding = (*embedder)->Embed({image});
    const auto stop = std::chrono::steady_clock::now();
    if (!embedding.ok()) {
      std::fprintf(stderr, "%s\n", embedding.status().ToString().c_str());
      return 1;
    }
    times_ms.push_back(std::chrono::duration<double, std::milli>(stop - start).count());
  }
  const std::string backend((*embedder)->backend_name());
  std::printf(
      "{\"backend\": \"%s\", \"precision\": \"%s\", \"threads\": %d, \"runs\": %d, "
      "\"ms_p50\": %.4f, \"ms_p99\": %.4f, \"model\": \"%s\"}\n",
      backend.c_str(), options.precision.c_str(), options.threads, runs, Percentile(times_ms, 0.50),
      Percentile(times_ms, 0.99), (*embedder)->model_path().c_str());
  return 0;
}
