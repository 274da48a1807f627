// OpenVINO through its C API (openvino/c/openvino.h from the venv's PyPI wheel): reads ONNX,
// fp32 and QDQ INT8, on the CPU plugin. The network is compiled once per batch size (static
// shapes are faster than a dynamic batch on the CPU plugin); batch 1 is compiled at open.
#include <map>
#include <memory>
#include <string>

#include <openvino/c/openvino.h>

#include "vision/inference_backend.h"

namespace cartsense {
namespace {

struct ModelDeleter {
  void operator()(ov_model_t* model) const { ov_model_free(model); }
};
struct CompiledDeleter {
  void operator()(ov_compiled_model_t* compiled) const { ov_compiled_model_free(compiled); }
};
struct RequestDeleter {
  void operator()(ov_infer_request_t* request) const { ov_infer_request_free(request); }
};
struct TensorDeleter {
  void operator()(ov_tensor_t* tensor) const { ov_tensor_free(tensor); }
};
using ModelPtr = std::unique_ptr<ov_model_t, ModelDeleter>;
using CompiledPtr = std::unique_ptr<ov_compiled_model_t, CompiledDeleter>;
using RequestPtr = std::unique_ptr<ov_infer_request_t, RequestDeleter>;
using TensorPtr = std::unique_ptr<ov_tensor_t, TensorDeleter>;

Status OvError(ov_status_e status, const std::string& what);

// One core for the process, as OpenVINO recommends (it is thread-safe and holds the loaded
// plugins); never freed, so the CPU plugin stays loaded until exit.
Result<ov_core_t*> SharedCore() {
  static ov_core_t* const core = [] {
    ov_core_t* created = nullptr;
    return ov_core_create(&created) == OK ? created : nullptr;
  }();
  if (core == nullptr) return InternalError("OpenVINO: cannot create the core");
  return core;
}

Status OvError(ov_status_e status, const std::string& what) {
  if (status == OK) return Status::Ok();
  std::string message = "OpenVINO: " + what + ": " + ov_get_error_info(status);
  const char* detail = ov_get_last_err_msg();  // allocated for the caller
  if (detail != nullptr) {
    if (*detail != '\0') message += std::string(" (") + detail + ")";
    ov_free(detail);
  }
  return InternalError(message);
}

class OpenVinoBackend final : public InferenceBackend {
 public:
  OpenVinoBackend(std::string model_path, BackendOptions options)
      : model_path_(std::move(model_path)), options_(std::move(options)) {}

  Status Open() {
    CS_ASSIGN_OR_RETURN(core_, SharedCore());
    ov_model_t* model = nullptr;
    CS_RETURN_IF_ERROR(OvError(ov_core_read_model(core_, model_path_.c_str(), nullptr, &model),
                               "reading " + model_path_));
    model_.reset(model);
    return Status::Ok();
  }

  std::string_view name() const override { return "openvino"; }

  Result<Tensor> Run(const Tensor& input) override {
    if (input.shape.size() != 4 || input.shape[0] < 1 ||
        input.ElementCount() != static_cast<int64_t>(input.data.size())) {
      return InvalidArgumentError("openvino: input must be a filled {n, c, h, w} tensor");
    }
    CS_ASSIGN_OR_RETURN(Compiled * compiled, CompiledFor(input.shape));
    ov_shape_t shape{};
    CS_RETURN_IF_ERROR(OvError(ov_shape_create(4, input.shape.data(), &shape), "input shape"));
    ov_tensor_t* raw_input = nullptr;
    // OpenVINO does not write to the input; the API takes a non-const pointer.
    const ov_status_e created = ov_tensor_create_from_host_ptr(
        F32, shape, const_cast<float*>(input.data.data()), &raw_input);  // NOLINT
    ov_shape_free(&shape);
    CS_RETURN_IF_ERROR(OvError(created, "wrapping the input"));
    const TensorPtr input_tensor(raw_input);
    CS_RETURN_IF_ERROR(
        OvError(ov_infer_request_set_input_tensor(compiled->request.get(), input_tensor.get()),
                "setting the input of " + model_path_));
    CS_RETURN_IF_ERROR(
        OvError(ov_infer_request_infer(compiled->request.get()), "inference on " + model_path_));

    ov_tensor_t* raw_output = nullptr;
    if (options_.output_name.empty()) {
      CS_RETURN_IF_ERROR(OvError(
          ov_infer_request_get_output_tensor_by_index(compiled->request.get(), 0, &raw_output),
          "reading the output"));
    } else {
      CS_RETURN_IF_ERROR(
          OvError(ov_infer_request_get_tensor(compiled->request.get(), options_.output_name.c_str(),
                                              &raw_output),
                  "reading output '" + options_.output_name + "' of " + model_path_));
    }
    const TensorPtr output_tensor(raw_output);
    ov_shape_t output_shape{};
    CS_RETURN_IF_ERROR(
        OvError(ov_tensor_get_shape(output_tensor.get(), &output_shape), "output shape"));
    Tensor output;
    output.shape.assign(output_shape.dims, output_shape.dims + output_shape.rank);
    ov_shape_free(&output_shape);
    void* data = nullptr;
    CS_RETURN_IF_ERROR(OvError(ov_tensor_data(output_tensor.get(), &data), "output data"));
    const auto* values = static_cast<const float*>(data);
    output.data.assign(values, values + output.ElementCount());
    return output;
  }

 private:
  struct Compiled {
    CompiledPtr model;
    RequestPtr request;
  };

  Result<Compiled*> CompiledFor(const std::vector<int64_t>& shape) {
    auto found = compiled_.find(shape);
    if (found != compiled_.end()) return &found->second;
    ov_partial_shape_t partial{};
    CS_RETURN_IF_ERROR(
        OvError(ov_partial_shape_create_static(4, shape.data(), &partial), "partial shape"));
    const ov_status_e reshaped = ov_model_reshape_single_input(model_.get(), partial);
    ov_partial_shape_free(&partial);
    CS_RETURN_IF_ERROR(OvError(reshaped, "reshaping " + model_path_ + " to the input shape"));
    const std::string threads = std::to_string(options_.threads);
    ov_compiled_model_t* compiled = nullptr;
    // f32 inference precision: on CPUs with bf16 the plugin would otherwise pick bf16, which
    // breaks parity with the reference runtime.
    CS_RETURN_IF_ERROR(
        OvError(ov_core_compile_model(core_, model_.get(), "CPU", 8, &compiled,
                                      ov_property_key_inference_num_threads, threads.c_str(),
                                      ov_property_key_num_streams, "1",
                                      ov_property_key_hint_performance_mode, "LATENCY",
                                      ov_property_key_hint_inference_precision, "f32"),
                "compiling " + model_path_));
    Compiled entry;
    entry.model.reset(compiled);
    ov_infer_request_t* request = nullptr;
    CS_RETURN_IF_ERROR(OvError(ov_compiled_model_create_infer_request(entry.model.get(), &request),
                               "infer request"));
    entry.request.reset(request);
    return &compiled_.emplace(shape, std::move(entry)).first->second;
  }

  std::string model_path_;
  BackendOptions options_;
  ov_core_t* core_ = nullptr;  // SharedCore()
  ModelPtr model_;
  std::map<std::vector<int64_t>, Compiled> compiled_;  // by input shape
};

}  // namespace

Result<std::unique_ptr<InferenceBackend>> OpenOpenVinoBackend(const std::string& model_path,
                                                              const BackendOptions& options) {
  auto backend = std::make_unique<OpenVinoBackend>(model_path, options);
  CS_RETURN_IF_ERROR(backend->Open());
  return std::unique_ptr<InferenceBackend>(std::move(backend));
}

}  // namespace cartsense
