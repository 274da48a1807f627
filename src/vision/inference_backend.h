// Inference backends: run an ONNX network on a batch of NCHW float images on the CPU.
//
//   BackendOptions options{.threads = 2};
//   CS_ASSIGN_OR_RETURN(auto backend, OpenInferenceBackend("openvino", "model.onnx", options));
//   Tensor images = ...;  // shape {n, 3, h, w}, float32
//   CS_ASSIGN_OR_RETURN(Tensor embeddings, backend->Run(images));  // shape {n, dim}
//
// Implementations:
//   "openvino"  OpenVINO's C API from the venv's PyPI wheel (when built with it): reads ONNX
//               directly, fp32 and QDQ INT8; the default when present (docs/benchmarks.md).
//   "opencv"    OpenCV dnn, always available, fp32 only. OpenCV 4.6 cannot parse every torch
//               export (3-input Clip, reductions without axes) nor QDQ INT8: it needs the
//               bundle's model.opencv.onnx (scripts/opencv-compat-model).
//
// A backend is not thread-safe: one caller at a time (one per worker thread).
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "core/status.h"

namespace cartsense {

// A dense float32 tensor, row-major.
struct Tensor {
  std::vector<int64_t> shape;
  std::vector<float> data;

  static Tensor Zeros(std::vector<int64_t> shape);
  int64_t ElementCount() const;
};

struct BackendOptions {
  int threads = 1;  // intra-op threads; >= 1
  // Output to return; "" = the first output of the network.
  std::string output_name = "embedding";
};

class InferenceBackend {
 public:
  virtual ~InferenceBackend() = default;
  virtual std::string_view name() const = 0;
  // `input`: {n, c, h, w}, n >= 1. Returns the chosen output, {n, ...}.
  virtual Result<Tensor> Run(const Tensor& input) = 0;
};

// The backends compiled into this build, best first ("openvino" when present, then "opencv").
std::vector<std::string> AvailableBackends();
// The first of AvailableBackends().
std::string DefaultBackendName();

// Opens `model_path` with the named backend ("" = default). Errors name the file.
Result<std::unique_ptr<InferenceBackend>> OpenInferenceBackend(std::string_view backend_name,
                                                               const std::string& model_path,
                                                               const BackendOptions& options);

// Implementations (inference_backend.cc dispatches).
Result<std::unique_ptr<InferenceBackend>> OpenOpenCvDnnBackend(const std::string& model_path,
                                                               const BackendOptions& options);
#ifdef CARTSENSE_HAVE_OPENVINO
Result<std::unique_ptr<InferenceBackend>> OpenOpenVinoBackend(const std::string& model_path,
                                                              const BackendOptions& options);
#endif

}  // namespace cartsense
