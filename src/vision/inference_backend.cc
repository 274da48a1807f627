#include "vision/inference_backend.h"

#include <algorithm>
#include <filesystem>
#include <functional>
#include <numeric>

namespace cartsense {

Tensor Tensor::Zeros(std::vector<int64_t> shape) {
  Tensor tensor;
  tensor.shape = std::move(shape);
  tensor.data.assign(static_cast<std::size_t>(tensor.ElementCount()), 0.0F);
  return tensor;
}

int64_t Tensor::ElementCount() const {
  if (shape.empty()) return 0;
  return std::accumulate(shape.begin(), shape.end(), int64_t{1}, std::multiplies<>());
}

std::vector<std::string> AvailableBackends() {
  std::vector<std::string> names;
#ifdef CARTSENSE_HAVE_OPENVINO
  names.emplace_back("openvino");
#endif
  names.emplace_back("opencv");
  return names;
}

std::string DefaultBackendName() { return AvailableBackends().front(); }

Result<std::unique_ptr<InferenceBackend>> OpenInferenceBackend(std::string_view backend_name,
                                                               const std::string& model_path,
                                                               const BackendOptions& options) {
  const std::string name = backend_name.empty() ? DefaultBackendName() : std::string(backend_name);
  const std::vector<std::string> available = AvailableBackends();
  if (std::find(available.begin(), available.end(), name) == available.end()) {
    std::string known;
    for (const std::string& backend : available) known += (known.empty() ? "" : ", ") + backend;
    return InvalidArgumentError("unknown inference backend '" + name +
                                "' (this build has: " + known + ")");
  }
  if (options.threads < 1) {
    return InvalidArgumentError("inference threads must be >= 1, got " +
                                std::to_string(options.threads));
  }
  std::error_code error;
  if (!std::filesystem::is_regular_file(model_path, error)) {
    return NotFoundError("model file " + model_path + " does not exist");
  }
  if (std::filesystem::path(model_path).extension() != ".onnx") {
    return InvalidArgumentError("model file " + model_path + " is not an ONNX file (.onnx)");
  }
  if (name == "opencv") return OpenOpenCvDnnBackend(model_path, options);
#ifdef CARTSENSE_HAVE_OPENVINO
  if (name == "openvino") return OpenOpenVinoBackend(model_path, options);
#endif
  return InternalError("backend '" + name + "' is listed but not wired");
}

}  // namespace cartsense
