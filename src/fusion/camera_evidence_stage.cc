#include "fusion/camera_evidence_stage.h"

#include <memory>
#include <optional>
#include <string>

#include "core/packets.h"

namespace cartsense::fusion {
namespace {

class CameraEvidenceStage final : public Stage {
 public:
  explicit CameraEvidenceStage(SharedRecognizer* recognizer) : recognizer_(recognizer) {}

  StageContract Contract() const override {
    return {
        {InputPort<CameraFrame>("frames"), InputPort<sensors::WeightEvent>("weight_events"),
         InputPort<LoadCellSample>("clock")},
        {OutputPort<VisionEvidence>("vision"), OutputPort<CameraHealthEvidence>("camera_health")}};
  }

  Status Open(const StageContext& /*context*/, const Config& config) override {
    Config rest;
    int camera_id = 0;
    std::string camera_name;
    std::optional<cv::Matx33d> homography;
    for (const std::string& key : config.Keys()) {
      if (key == "camera_id") {
        CS_ASSIGN_OR_RETURN(const int64_t id, config.GetInt(key));
        camera_id = static_cast<int>(id);
      } else if (key == "camera_name") {
        CS_ASSIGN_OR_RETURN(camera_name, config.GetString(key));
      } else if (key == "floor_homography") {
        const YAML::Node node = config.node()[key];
        if (!node.IsSequence() || node.size() != 9) {
          return InvalidArgumentError(config.Where(key) + ": a list of 9 numbers (row-major)");
        }
        cv::Matx33d h;
        for (std::size_t i = 0; i < 9; ++i) h.val[i] = node[i].as<double>();
        homography = h;
      } else {
        rest.Set(key, config.node()[key]);
      }
    }
    CS_ASSIGN_OR_RETURN(CameraEvidenceParams params, CameraEvidenceParams::FromConfig(rest));
    camera_id_ = camera_id;
    camera_.emplace(camera_id, camera_name, homography, params, recognizer_);
    return Status::Ok();
  }

  Status Process(const std::string& port, const Packet& packet, OutputEmitter& out) override {
    CameraEvidenceOutput result;
    if (port == "frames") {
      CS_ASSIGN_OR_RETURN(auto frame, packet.Get<CameraFrame>());
      if (frame->camera_id != camera_id_) return Status::Ok();
      CS_ASSIGN_OR_RETURN(result, camera_->AddFrame(frame->t, frame->image));
    } else if (port == "weight_events") {
      CS_ASSIGN_OR_RETURN(auto event, packet.Get<sensors::WeightEvent>());
      camera_->NoteWeightEvent(*event);
      return Status::Ok();
    } else {
      CS_ASSIGN_OR_RETURN(result, camera_->AdvanceTo(packet.timestamp()));
    }
    for (CameraHealthEvidence& health : result.health) {
      CS_RETURN_IF_ERROR(out.Emit("camera_health", std::move(health)));
    }
    for (VisionEvidence& vision : result.vision) {
      CS_RETURN_IF_ERROR(out.Emit("vision", std::move(vision)));
    }
    return Status::Ok();
  }

  Status Close(OutputEmitter& out) override {
    if (!camera_) return Status::Ok();
    // The streams ended: whatever clip was open has ended too.
    CS_ASSIGN_OR_RETURN(CameraEvidenceOutput result,
                        camera_->AdvanceTo(out.now() + Duration::Seconds(3600)));
    for (VisionEvidence& vision : result.vision) {
      CS_RETURN_IF_ERROR(out.Emit("vision", std::move(vision)));
    }
    return Status::Ok();
  }

 private:
  SharedRecognizer* recognizer_;
  int camera_id_ = 0;
  std::optional<CameraEvidence> camera_;
};

}  // namespace

Status RegisterCameraEvidenceStages(StageRegistry& registry, SharedRecognizer* recognizer) {
  return registry.Register(
      "CameraEvidenceStage",
      [recognizer] { return std::make_unique<CameraEvidenceStage>(recognizer); },
      "one basket camera's frames -> changed regions with floor positions and products, health");
}

}  // namespace cartsense::fusion
