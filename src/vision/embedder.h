// Embedder: product crops -> L2-normalized embeddings with the recognizer bundle.
//
//   in:  decoded 8-bit BGR crops (any size; several cameras at once = one batch)
//   out: {n, dim} float32, each row L2-normalized (dim = 128 for the shipped recognizer)
//
//   EmbedderOptions options;  // from config, e.g.
//   //   vision: {bundle: models/recognizer/v1, backend: openvino, precision: int8, threads: 2}
//   CS_ASSIGN_OR_RETURN(auto embedder, Embedder::Open("models/recognizer/v1", options));
//   CS_ASSIGN_OR_RETURN(Tensor embeddings, embedder->Embed({crop_a, crop_b}));
//
// Open verifies the bundle first (sha256 of every file in manifest.json; errors name the file),
// reads preprocessing.json, opens the backend on the model file for the precision
// (fp32: model.onnx, int8: model.int8.onnx; the OpenCV backend reads model.opencv.onnx when the
// bundle has one) and warms it up, so the first real call is not slow.
// Not thread-safe: one Embedder per worker thread.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include <opencv2/core.hpp>

#include "core/status.h"
#include "vision/inference_backend.h"
#include "vision/preprocessing.h"

namespace cartsense {

struct EmbedderOptions {
  std::string backend;             // "" = DefaultBackendName()
  std::string precision = "fp32";  // "fp32" or "int8"
  int threads = 1;
  int warmup_runs = 3;
  std::vector<int> warmup_batch_sizes{1};  // e.g. {1, cameras}: compiled and run at open
};

// The model file of `bundle_dir` a backend reads for a precision (see above).
Result<std::string> BundleModelFile(const std::string& bundle_dir, const std::string& backend,
                                    const std::string& precision);

class Embedder {
 public:
  static Result<std::unique_ptr<Embedder>> Open(const std::string& bundle_dir,
                                                const EmbedderOptions& options);

  // Preprocesses and embeds a batch of BGR crops: {n, dim}, rows L2-normalized.
  Result<Tensor> Embed(const std::vector<cv::Mat>& crops_bgr);
  // Embeds already preprocessed input ({n, 3, size, size}).
  Result<Tensor> EmbedTensor(const Tensor& input);

  const PreprocessingSpec& preprocessing() const { return spec_; }
  std::string_view backend_name() const { return backend_->name(); }
  const std::string& model_path() const { return model_path_; }
  int dimension() const { return dimension_; }

 private:
  Embedder() = default;

  PreprocessingSpec spec_;
  std::unique_ptr<InferenceBackend> backend_;
  std::string model_path_;
  int dimension_ = 0;
};

// Scales each row of a {n, dim} tensor to unit L2 norm (rows of zeros stay zero).
void NormalizeRows(Tensor& rows);

}  // namespace cartsense
