#include "sensors/weigh_stage.h"

#include <chrono>
#include <memory>
#include <optional>
#include <string>

#include "sensors/serial_protocol.h"
#include "sensors/weigh_chain.h"

namespace cartsense::sensors {
namespace {

class WeighStage final : public Stage {
 public:
  explicit WeighStage(bool with_imu) : with_imu_(with_imu) {}

  StageContract Contract() const override {
    StageContract contract;
    contract.inputs.push_back(InputPort<LoadCellSample>("samples"));
    if (with_imu_) contract.inputs.push_back(InputPort<ImuSample>("imu"));
    contract.outputs.push_back(OutputPort<WeightEvent>("events"));
    contract.outputs.push_back(OutputPort<ScaleStatus>("status"));
    return contract;
  }

  Status Open(const StageContext& context, const Config& config) override {
    Config own = config;
    CS_ASSIGN_OR_RETURN(WeighChainParams params, WeighChainParams::FromConfig(own));
    ScaleCalibration calibration;
    if (own.Has("calibration_file")) {
      CS_ASSIGN_OR_RETURN(std::string path, own.GetString("calibration_file"));
      CS_ASSIGN_OR_RETURN(calibration, ScaleCalibration::LoadFile(path));
    } else if (own.Has("calibration")) {
      CS_ASSIGN_OR_RETURN(Config section, own.Section("calibration"));
      CS_ASSIGN_OR_RETURN(calibration, ScaleCalibration::FromConfig(section));
    } else {
      return InvalidArgumentError(config.Where("calibration_file") +
                                  ": a weigh stage needs calibration_file or calibration");
    }
    CS_ASSIGN_OR_RETURN(WeighChain chain, WeighChain::Create(params, calibration));
    chain_.emplace(std::move(chain));
    MetricsRegistry& metrics = *context.metrics;
    const MetricLabels labels = {{"stage", context.stage_name}};
    samples_ =
        &metrics.GetCounter("cartsense_weigh_samples_total", "Load-cell samples weighed", labels);
    events_ = &metrics.GetCounter("cartsense_weigh_events_total", "Weight events emitted", labels);
    MetricLabels fault_labels = labels;
    fault_labels["kind"] = "status_change";
    status_changes_ = &metrics.GetCounter("cartsense_weigh_faults_total",
                                          "Scale status changes and input faults", fault_labels);
    fault_labels["kind"] = "out_of_order";
    out_of_order_ = &metrics.GetCounter("cartsense_weigh_faults_total",
                                        "Scale status changes and input faults", fault_labels);
    latency_ = &metrics.GetHistogram("cartsense_weigh_process_ms",
                                     "Time to process one load-cell sample", labels);
    return Status::Ok();
  }

  Status Process(const std::string& port, const Packet& packet, OutputEmitter& out) override {
    WeighOutput result;
    if (port == "imu") {
      CS_ASSIGN_OR_RETURN(auto imu, packet.Get<ImuSample>());
      result = chain_->ProcessImu(*imu);
    } else {
      CS_ASSIGN_OR_RETURN(auto sample, packet.Get<LoadCellSample>());
      const auto start = std::chrono::steady_clock::now();
      const int64_t out_of_order_before = chain_->counters().out_of_order;
      result = chain_->ProcessSample(*sample);
      latency_->Observe(
          std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - start)
              .count());
      samples_->Increment();
      if (chain_->counters().out_of_order != out_of_order_before) out_of_order_->Increment();
    }
    if (result.status.has_value()) {
      status_changes_->Increment();
      CS_RETURN_IF_ERROR(out.Emit("status", *result.status));
    }
    if (result.event.has_value()) {
      events_->Increment();
      CS_RETURN_IF_ERROR(out.Emit("events", *result.event));
    }
    return Status::Ok();
  }

 private:
  bool with_imu_;
  std::optional<WeighChain> chain_;
  Counter* samples_ = nullptr;
  Counter* events_ = nullptr;
  Counter* status_changes_ = nullptr;
  Counter* out_of_order_ = nullptr;
  Histogram* latency_ = nullptr;
};

class SerialDecodeStage final : public Stage {
 public:
  StageContract Contract() const override {
    return {{InputPort<std::string>("lines")},
            {OutputPort<LoadCellSample>("samples"), OutputPort<ImuSample>("imu"),
             OutputPort<std::string>("bad_lines")}};
  }

  Status Open(const StageContext& context, const Config& /*config*/) override {
    good_ = &context.metrics->GetCounter("cartsense_serial_lines_total", "Serial lines decoded",
                                         {{"stage", context.stage_name}, {"result", "ok"}});
    bad_ = &context.metrics->GetCounter("cartsense_serial_lines_total", "Serial lines decoded",
                                        {{"stage", context.stage_name}, {"result", "bad"}});
    return Status::Ok();
  }

  Status Process(const std::string& /*port*/, const Packet& packet, OutputEmitter& out) override {
    CS_ASSIGN_OR_RETURN(auto line, packet.Get<std::string>());
    Result<SerialRecord> record = decoder_.Decode(*line);
    if (!record.ok()) {
      bad_->Increment();
      return out.Emit("bad_lines", record.status().message());
    }
    good_->Increment();
    // Samples keep the time the bridge stamped them with, but never earlier than the line.
    if (const auto* load = std::get_if<LoadCellSample>(&record.value())) {
      return out.EmitAt("samples", std::max(out.now(), load->t), *load);
    }
    if (const auto* imu = std::get_if<ImuSample>(&record.value())) {
      return out.EmitAt("imu", std::max(out.now(), imu->t), *imu);
    }
    return Status::Ok();
  }

 private:
  SerialStreamDecoder decoder_;
  Counter* good_ = nullptr;
  Counter* bad_ = nullptr;
};

}  // namespace

Status RegisterSensorStages(StageRegistry& registry) {
  CS_RETURN_IF_ERROR(registry.Register(
      "WeighStage", [] { return std::make_unique<WeighStage>(false); },
      "load-cell samples -> weight events and scale status"));
  CS_RETURN_IF_ERROR(registry.Register(
      "WeighStageImu", [] { return std::make_unique<WeighStage>(true); },
      "load-cell and accelerometer samples -> weight events and scale status"));
  CS_RETURN_IF_ERROR(registry.Register(
      "SerialDecodeStage", [] { return std::make_unique<SerialDecodeStage>(); },
      "serial protocol lines -> load-cell and accelerometer samples"));
  return Status::Ok();
}

}  // namespace cartsense::sensors
