#include "vision/embedder.h"

#include <cmath>
#include <filesystem>

#include "vision/model_bundle.h"

namespace cartsense {

Result<std::string> BundleModelFile(const std::string& bundle_dir, const std::string& backend,
                                    const std::string& precision) {
  namespace fs = std::filesystem;
  const std::string name = backend.empty() ? DefaultBackendName() : backend;
  if (precision != "fp32" && precision != "int8") {
    return InvalidArgumentError("precision must be \"fp32\" or \"int8\", got \"" + precision +
                                "\"");
  }
  if (name == "opencv") {
    if (precision == "int8") {
      return UnimplementedError(
          "the OpenCV dnn backend cannot run the bundle's QDQ INT8 model; use fp32");
    }
    const fs::path compat = fs::path(bundle_dir) / "model.opencv.onnx";
    std::error_code error;
    if (fs::is_regular_file(compat, error)) return compat.string();
  }
  return (fs::path(bundle_dir) / (precision == "int8" ? "model.int8.onnx" : "model.onnx")).string();
}

Result<std::unique_ptr<Embedder>> Embedder::Open(const std::string& bundle_dir,
                                                 const EmbedderOptions& options) {
  const std::string context = "opening recognizer bundle " + bundle_dir;
  CS_RETURN_IF_ERROR_CTX(VerifyBundleChecksums(bundle_dir), context);
  std::unique_ptr<Embedder> embedder(new Embedder());
  CS_ASSIGN_OR_RETURN(embedder->spec_,
                      LoadPreprocessing(bundle_dir + "/preprocessing.json").WithContext(context));
  CS_ASSIGN_OR_RETURN(
      embedder->model_path_,
      BundleModelFile(bundle_dir, options.backend, options.precision).WithContext(context));
  BackendOptions backend_options;
  backend_options.threads = options.threads;
  CS_ASSIGN_OR_RETURN(embedder->backend_,
                      OpenInferenceBackend(options.backend, embedder->model_path_, backend_options)
                          .WithContext(context));

  // Warm-up: compiles each batch shape and touches every buffer once.
  const int64_t size = embedder->spec_.input_size_px;
  for (const int batch : options.warmup_batch_sizes) {
    if (batch < 1) return InvalidArgumentError(context + ": warm-up batch sizes must be >= 1");
    const Tensor zeros = Tensor::Zeros({batch, 3, size, size});
    for (int run = 0; run < std::max(1, options.warmup_runs); ++run) {
      CS_ASSIGN_OR_RETURN(const Tensor output,
                          embedder->EmbedTensor(zeros).WithContext(context + ": warm-up"));
      embedder->dimension_ = static_cast<int>(output.shape.back());
    }
  }
  return embedder;
}

Result<Tensor> Embedder::Embed(const std::vector<cv::Mat>& crops_bgr) {
  CS_ASSIGN_OR_RETURN(const Tensor input, PreprocessBatch(crops_bgr, spec_));
  return EmbedTensor(input);
}

Result<Tensor> Embedder::EmbedTensor(const Tensor& input) {
  CS_ASSIGN_OR_RETURN(Tensor output, backend_->Run(input));
  if (output.shape.size() != 2 || output.shape[0] != input.shape[0]) {
    return InternalError(model_path_ + ": expected an output of shape {n, dim}");
  }
  NormalizeRows(output);
  return output;
}

void NormalizeRows(Tensor& rows) {
  if (rows.shape.size() != 2) return;
  const auto count = static_cast<std::size_t>(rows.shape[0]);
  const auto dim = static_cast<std::size_t>(rows.shape[1]);
  for (std::size_t i = 0; i < count; ++i) {
    float* row = rows.data.data() + i * dim;
    double sum = 0.0;
    for (std::size_t j = 0; j < dim; ++j)
      sum += static_cast<double>(row[j]) * static_cast<double>(row[j]);
    if (sum <= 0.0) continue;
    const auto inverse = static_cast<float>(1.0 / std::sqrt(sum));
    for (std::size_t j = 0; j < dim; ++j) row[j] *= inverse;
  }
}

}  // namespace cartsense
