#include "vision/scan_stage.h"

#include <chrono>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "vision/barcode_reader.h"
#include "vision/scan_debouncer.h"

namespace cartsense::vision {
namespace {

ConfigSchema BarcodeStageSchema() {
  const ScanDebouncerParams debounce;
  const BarcodeReaderParams reader;
  ConfigSchema s;
  s.Integer("camera_id")
      .Range(-1, 1000)
      .Default(-1.0)
      .Describe("read only this camera's frames (-1: all)");
  s.Number("vote_window_ms", "ms")
      .Range(0, 10000)
      .Default(static_cast<double>(debounce.vote_window_ms));
  s.Number("lone_read_wait_ms", "ms")
      .Range(0, 10000)
      .Default(static_cast<double>(debounce.lone_read_wait_ms));
  s.Number("rearm_after_absent_ms", "ms")
      .Range(0, 60000)
      .Default(static_cast<double>(debounce.rearm_after_absent_ms));
  s.Integer("min_votes").Range(1, 100).Default(debounce.min_votes);
  s.Integer("max_candidates").Range(0, 64).Default(reader.max_candidates);
  return s;
}

class BarcodeReaderStage final : public Stage {
 public:
  StageContract Contract() const override {
    return {{InputPort<CameraFrame>("frames")}, {OutputPort<ScannerRead>("reads")}};
  }

  Status Open(const StageContext& context, const Config& config) override {
    Config own = config;
    CS_RETURN_IF_ERROR(BarcodeStageSchema().Validate(own));
    CS_ASSIGN_OR_RETURN(const int64_t camera_id, own.GetInt("camera_id"));
    ScanDebouncerParams debounce;
    CS_ASSIGN_OR_RETURN(const double vote_window_ms, own.GetDouble("vote_window_ms"));
    CS_ASSIGN_OR_RETURN(const double lone_read_wait_ms, own.GetDouble("lone_read_wait_ms"));
    CS_ASSIGN_OR_RETURN(const double rearm_ms, own.GetDouble("rearm_after_absent_ms"));
    CS_ASSIGN_OR_RETURN(const int64_t min_votes, own.GetInt("min_votes"));
    debounce.vote_window_ms = static_cast<int64_t>(vote_window_ms);
    debounce.lone_read_wait_ms = static_cast<int64_t>(lone_read_wait_ms);
    debounce.rearm_after_absent_ms = static_cast<int64_t>(rearm_ms);
    debounce.min_votes = static_cast<int>(min_votes);
    BarcodeReaderParams reader;
    CS_ASSIGN_OR_RETURN(const int64_t max_candidates, own.GetInt("max_candidates"));
    reader.max_candidates = static_cast<int>(max_candidates);
    camera_id_ = static_cast<int>(camera_id);
    reader_.emplace(reader);
    debouncer_.emplace(debounce);

    MetricsRegistry& metrics = *context.metrics;
    const MetricLabels labels = {{"stage", context.stage_name}};
    frames_ = &metrics.GetCounter("cartsense_barcode_frames_total", "Scanner frames read", labels);
    reads_ = &metrics.GetCounter("cartsense_barcode_reads_total",
                                 "Scan reads emitted (one per scan action)", labels);
    faults_ = &metrics.GetCounter("cartsense_barcode_faults_total",
                                  "Frames the reader could not take", labels);
    latency_ = &metrics.GetHistogram("cartsense_barcode_frame_ms", "Time to read one scanner frame",
                                     labels);
    return Status::Ok();
  }

  Status Process(const std::string& /*port*/, const Packet& packet, OutputEmitter& out) override {
    CS_ASSIGN_OR_RETURN(auto frame, packet.Get<CameraFrame>());
    if (camera_id_ >= 0 && frame->camera_id != camera_id_) return Status::Ok();
    frames_->Increment();
    last_frame_ = packet.timestamp();
    const auto start = std::chrono::steady_clock::now();
    Result<std::vector<BarcodeRead>> codes = reader_->Read(frame->image);
    latency_->Observe(
        std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - start)
            .count());
    if (!codes.ok()) {
      faults_->Increment();
      codes = std::vector<BarcodeRead>{};
    }
    return EmitAll(out, debouncer_->AddFrame(packet.timestamp(), frame->camera_id, *codes));
  }

  Status Close(OutputEmitter& out) override {
    if (!last_frame_.has_value()) return Status::Ok();
    const Timestamp end =
        *last_frame_ + Duration::Milliseconds(debouncer_->params().lone_read_wait_ms);
    return EmitAll(out, debouncer_->Flush(std::max(end, out.now())));
  }

 private:
  Status EmitAll(OutputEmitter& out, std::vector<ScannerRead> accepted) {
    for (ScannerRead& read : accepted) {
      reads_->Increment();
      const Timestamp t = std::max(read.t, out.now());
      CS_RETURN_IF_ERROR(out.EmitAt("reads", t, std::move(read)));
    }
    return Status::Ok();
  }

  int camera_id_ = -1;
  std::optional<BarcodeReader> reader_;
  std::optional<ScanDebouncer> debouncer_;
  std::optional<Timestamp> last_frame_;
  Counter* frames_ = nullptr;
  Counter* reads_ = nullptr;
  Counter* faults_ = nullptr;
  Histogram* latency_ = nullptr;
};

}  // namespace

Status RegisterBarcodeStages(StageRegistry& registry) {
  return registry.Register(
      "BarcodeReaderStage", [] { return std::make_unique<BarcodeReaderStage>(); },
      "scanner-camera frames -> one scan read per scan action");
}

}  // namespace cartsense::vision
