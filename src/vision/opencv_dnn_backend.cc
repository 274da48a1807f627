// OpenCV dnn: always available, fp32 only. Parses the ONNX file itself; OpenCV 4.6 rejects
// some torch exports (see inference_backend.h), which load through model.opencv.onnx.
#include <opencv2/core.hpp>
#include <opencv2/dnn.hpp>

#include "vision/inference_backend.h"

namespace cartsense {
namespace {

class OpenCvDnnBackend final : public InferenceBackend {
 public:
  OpenCvDnnBackend(std::string model_path, BackendOptions options)
      : model_path_(std::move(model_path)), options_(std::move(options)) {}

  Status Open() {
    try {
      net_ = cv::dnn::readNetFromONNX(model_path_);
    } catch (const cv::Exception& error) {
      return InvalidArgumentError("OpenCV dnn cannot load " + model_path_ + ": " + error.msg);
    }
    if (net_.empty()) return InvalidArgumentError("OpenCV dnn cannot load " + model_path_);
    net_.setPreferableBackend(cv::dnn::DNN_BACKEND_OPENCV);
    net_.setPreferableTarget(cv::dnn::DNN_TARGET_CPU);
    const std::vector<std::string> outputs = net_.getUnconnectedOutLayersNames();
    // A model.opencv.onnx has one output (the embedding before normalization); take the named
    // output when the graph has it, else the first.
    output_ = outputs.empty() ? std::string() : outputs.front();
    for (const std::string& name : outputs) {
      if (name == options_.output_name) output_ = name;
    }
    return Status::Ok();
  }

  std::string_view name() const override { return "opencv"; }

  Result<Tensor> Run(const Tensor& input) override {
    if (input.shape.size() != 4 || input.shape[0] < 1 ||
        input.ElementCount() != static_cast<int64_t>(input.data.size())) {
      return InvalidArgumentError("opencv: input must be a filled {n, c, h, w} tensor");
    }
    // OpenCV's thread count is process-wide; set it for each call so that the configured count
    // holds even when other code changed it.
    cv::setNumThreads(options_.threads);
    const std::vector<int> sizes(input.shape.begin(), input.shape.end());
    // The blob only views the caller's data for the duration of the call; dnn copies inputs.
    const cv::Mat blob(static_cast<int>(sizes.size()), sizes.data(), CV_32F,
                       const_cast<float*>(input.data.data()));  // NOLINT
    cv::Mat result;
    try {
      net_.setInput(blob);
      result = net_.forward(output_);
    } catch (const cv::Exception& error) {
      return InternalError("OpenCV dnn inference on " + model_path_ + ": " + error.msg);
    }
    if (!result.isContinuous() || result.type() != CV_32F) result = result.clone();
    Tensor output;
    output.shape.assign(result.size.p, result.size.p + result.dims);
    const auto* values = result.ptr<float>();
    output.data.assign(values, values + result.total());
    return output;
  }

 private:
  std::string model_path_;
  BackendOptions options_;
  cv::dnn::Net net_;
  std::string output_;
};

}  // namespace

Result<std::unique_ptr<InferenceBackend>> OpenOpenCvDnnBackend(const std::string& model_path,
                                                               const BackendOptions& options) {
  auto backend = std::make_unique<OpenCvDnnBackend>(model_path, options);
  CS_RETURN_IF_ERROR(backend->Open());
  return std::unique_ptr<InferenceBackend>(std::move(backend));
}

}  // namespace cartsense
