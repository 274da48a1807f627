// The basket reasoner (reasoner.h) as a pipeline stage.
//
// ReasonerStage (type "ReasonerStage"):
//   inputs:  weight_events (sensors::WeightEvent, in the floor frame), scale_status
//            (sensors::ScaleStatus), vision (fusion::VisionEvidence), camera_health
//            (fusion::CameraHealthEvidence), scans (ScannerRead), shopper (ShopperAction),
//            clock (LoadCellSample: any dense stream; each packet moves the reasoner's time on,
//            so waits end on time)
//   outputs: decisions (fusion::ReasonerOutput; only when something was decided)
//   Every input port must be connected (the runner requires it): wire a port that has nothing to
//   say to an empty source stream. "ReasonerStageTicks" is the same with clock (Timestamp).
//   config:  catalogue_file (required), modalities ("weight,vision,scan" by default; any of them
//            comma-separated, or "all"), and the keys of ReasonerParams::Schema(): the parameter
//            names, probabilities with "_ratio" appended, view combination as view_*:
//
//     - name: reasoner
//       type: ReasonerStage
//       inputs: {weight_events: weight_events, scale_status: scale_status, vision: vision,
//                camera_health: camera_health, scans: scans, shopper: shopper, clock: loadcell}
//       outputs: {decisions: decisions}
//       config: {catalogue_file: data/catalogue/grocery-store-81.csv, vision_wait_ms: 2500,
//                add_probability_min_ratio: 0.9}
//
// Metrics: cartsense_reasoner_inputs_total{port}, cartsense_reasoner_decisions_total{kind}
// (action, prompt, flag), cartsense_reasoner_process_ms (histogram).
#pragma once

#include "core/stage.h"

namespace cartsense::fusion {

// Registers ReasonerStage and ReasonerStageTicks.
Status RegisterFusionStages(StageRegistry& registry);

}  // namespace cartsense::fusion
