#include "fusion/reasoner_stage.h"

#include <chrono>
#include <map>
#include <memory>
#include <optional>
#include <string>

#include "catalog/catalogue.h"
#include "fusion/reasoner.h"

namespace cartsense::fusion {
namespace {

class ReasonerStage final : public Stage {
 public:
  explicit ReasonerStage(bool timestamp_clock) : timestamp_clock_(timestamp_clock) {}

  StageContract Contract() const override {
    StageContract contract;
    contract.inputs = {
        InputPort<sensors::WeightEvent>("weight_events"),
        InputPort<sensors::ScaleStatus>("scale_status"),
        InputPort<VisionEvidence>("vision"),
        InputPort<CameraHealthEvidence>("camera_health"),
        InputPort<ScannerRead>("scans"),
        InputPort<ShopperAction>("shopper"),
        timestamp_clock_ ? InputPort<Timestamp>("clock") : InputPort<LoadCellSample>("clock")};
    contract.outputs = {OutputPort<ReasonerOutput>("decisions")};
    return contract;
  }

  Status Open(const StageContext& context, const Config& config) override {
    if (!config.Has("catalogue_file")) {
      return InvalidArgumentError(config.Where("catalogue_file") +
                                  ": the reasoner stage needs catalogue_file");
    }
    CS_ASSIGN_OR_RETURN(const std::string catalogue_file, config.GetString("catalogue_file"));
    Modalities modalities;
    if (config.Has("modalities")) {
      CS_ASSIGN_OR_RETURN(const std::string text, config.GetString("modalities"));
      auto parsed = Modalities::Parse(text);
      if (!parsed.ok()) return parsed.status().WithContext(config.Where("modalities"));
      modalities = parsed.value();
    }
    // The remaining keys are the reasoner's parameters.
    Config params_config;
    for (const std::string& key : config.Keys()) {
      if (key == "catalogue_file" || key == "modalities") continue;
      params_config.Set(key, config.node()[key]);
    }
    auto params = ReasonerParams::FromConfig(params_config);
    if (!params.ok()) return params.status().WithContext("stage '" + context.stage_name + "'");
    CS_ASSIGN_OR_RETURN(catalog::Catalogue catalogue, catalog::Catalogue::Load(catalogue_file));
    catalogue_ = std::make_unique<catalog::Catalogue>(std::move(catalogue));
    CS_ASSIGN_OR_RETURN(reasoner_,
                        Reasoner::Create(catalogue_.get(), std::move(params).value(), modalities));

    MetricsRegistry& metrics = *context.metrics;
    const MetricLabels labels = {{"stage", context.stage_name}};
    for (const char* port : {"weight_events", "scale_status", "vision", "camera_health", "scans",
                             "shopper", "clock"}) {
      MetricLabels l = labels;
      l["port"] = port;
      inputs_[port] =
          &metrics.GetCounter("cartsense_reasoner_inputs_total", "Evidence the reasoner read", l);
    }
    for (const char* kind : {"action", "prompt", "flag"}) {
      MetricLabels l = labels;
      l["kind"] = kind;
      decisions_[kind] = &metrics.GetCounter("cartsense_reasoner_decisions_total",
                                             "Actions, prompts and flags decided", l);
    }
    latency_ = &metrics.GetHistogram("cartsense_reasoner_process_ms",
                                     "Time the reasoner takes for one input", labels);
    return Status::Ok();
  }

  // Evidence about an earlier moment may arrive later (a camera reports when its clip has ended;
  // the pipeline delivers by packet time): it reaches the reasoner at the time it arrived.
  static Timestamp Arrival(Timestamp evidence_time, const Packet& packet) {
    return std::max(evidence_time, packet.timestamp());
  }

  Status Process(const std::string& port, const Packet& packet, OutputEmitter& out) override {
    const auto start = std::chrono::steady_clock::now();
    Result<ReasonerOutput> result = ReasonerOutput{};
    if (port == "weight_events") {
      CS_ASSIGN_OR_RETURN(auto event, packet.Get<sensors::WeightEvent>());
      sensors::WeightEvent arrived = *event;
      arrived.t_settle = Arrival(arrived.t_settle, packet);
      result = reasoner_->OnWeightEvent(arrived);
    } else if (port == "scale_status") {
      CS_ASSIGN_OR_RETURN(auto status, packet.Get<sensors::ScaleStatus>());
      sensors::ScaleStatus arrived = *status;
      arrived.t = Arrival(arrived.t, packet);
      result = reasoner_->OnScaleStatus(arrived);
    } else if (port == "vision") {
      CS_ASSIGN_OR_RETURN(auto vision, packet.Get<VisionEvidence>());
      VisionEvidence arrived = *vision;
      arrived.t = Arrival(arrived.t, packet);
      result = reasoner_->OnVision(arrived);
    } else if (port == "camera_health") {
      CS_ASSIGN_OR_RETURN(auto health, packet.Get<CameraHealthEvidence>());
      CameraHealthEvidence arrived = *health;
      arrived.t = Arrival(arrived.t, packet);
      result = reasoner_->OnCameraHealth(arrived);
    } else if (port == "scans") {
      CS_ASSIGN_OR_RETURN(auto scan, packet.Get<ScannerRead>());
      ScannerRead arrived = *scan;
      arrived.t = Arrival(arrived.t, packet);
      result = reasoner_->OnScan(arrived);
    } else if (port == "shopper") {
      CS_ASSIGN_OR_RETURN(auto action, packet.Get<ShopperAction>());
      ShopperAction arrived = *action;
      arrived.t = Arrival(arrived.t, packet);
      result = reasoner_->OnShopper(arrived);
    } else {
      // The clock: the packet's time (never before what the reasoner has seen).
      result = reasoner_->AdvanceTo(std::max(packet.timestamp(), reasoner_->last_time()));
    }
    if (!result.ok()) return result.status().WithContext("reasoner, port '" + port + "'");
    latency_->Observe(
        std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - start)
            .count());
    if (const auto it = inputs_.find(port); it != inputs_.end()) it->second->Increment();
    ReasonerOutput decided = std::move(result).value();
    if (decided.empty()) return Status::Ok();
    decisions_["action"]->Increment(decided.actions.size());
    decisions_["prompt"]->Increment(decided.prompts.size());
    decisions_["flag"]->Increment(decided.flags.size());
    return out.Emit("decisions", std::move(decided));
  }

 private:
  bool timestamp_clock_;
  std::unique_ptr<catalog::Catalogue> catalogue_;
  std::unique_ptr<Reasoner> reasoner_;
  std::map<std::string, Counter*> inputs_;
  std::map<std::string, Counter*> decisions_;
  Histogram* latency_ = nullptr;
};

}  // namespace

Status RegisterFusionStages(StageRegistry& registry) {
  CS_RETURN_IF_ERROR(registry.Register(
      "ReasonerStage", [] { return std::make_unique<ReasonerStage>(false); },
      "weight events, vision, scans and shopper actions -> basket actions, prompts and flags "
      "(clock: load-cell samples)"));
  CS_RETURN_IF_ERROR(registry.Register(
      "ReasonerStageTicks", [] { return std::make_unique<ReasonerStage>(true); },
      "as ReasonerStage, with a clock of Timestamp packets"));
  return Status::Ok();
}

}  // namespace cartsense::fusion
