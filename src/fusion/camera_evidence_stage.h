// CameraEvidenceStage (type "CameraEvidenceStage"): fusion::CameraEvidence as a pipeline stage,
// one instance per basket camera.
//   inputs:  frames (CameraFrame; only those of `camera_id` are used),
//            weight_events (sensors::WeightEvent),
//            clock (LoadCellSample: any steady stream; only its timestamps are used, to end
//                   event-triggered clips and to notice a silent camera)
//   outputs: vision (VisionEvidence), camera_health (CameraHealthEvidence)
//   config:
//     - name: camera0
//       type: CameraEvidenceStage
//       inputs: {frames: camera0, weight_events: weight_events, clock: loadcell}
//       outputs: {vision: vision0, camera_health: camera_health0}
//       config:
//         camera_id: 0
//         camera_name: basket_a
//         floor_homography: [h00, h01, h02, h10, h11, h12, h20, h21, h22]  # image px -> floor mm
//         end_of_clip_after_ms: 140
//         camera_health: {max_frame_gap_ms: 0}
// The recognizer is shared by the stages of all cameras and is not owned: it is given to
// RegisterCameraEvidenceStages (null: regions carry no products).
#pragma once

#include "core/stage.h"
#include "fusion/camera_evidence.h"

namespace cartsense::fusion {

// Registers CameraEvidenceStage. `recognizer` (may be null) must outlive the stages.
Status RegisterCameraEvidenceStages(StageRegistry& registry, SharedRecognizer* recognizer);

}  // namespace cartsense::fusion
