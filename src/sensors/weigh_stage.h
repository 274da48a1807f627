// Pipeline adapters for the weighing layer.
//
// WeighStage (type "WeighStage"): the weigh chain (weigh_chain.h) as a stage.
//   inputs:  samples (LoadCellSample)            -- "WeighStageImu" adds imu (ImuSample)
//   outputs: events  (WeightEvent), status (ScaleStatus)
//   config:  the keys of WeighChainParams, plus the calibration as calibration_file (a path) or
//            an inline calibration section, e.g.
//
//     - name: weigh
//       type: WeighStageImu
//       inputs: {samples: loadcell, imu: imu}
//       outputs: {events: weight_events, status: scale_status}
//       config: {settle_window_ms: 100, calibration_file: calibration/cart-0001.yaml}
//
// SerialDecodeStage (type "SerialDecodeStage"): serial protocol lines (std::string) in, samples
//   out. Bad lines go to `bad_lines` (std::string, the decoder's message) and are counted; a
//   WeighStage fed from it sees the gap and reports a fault.
//   inputs: lines (std::string); outputs: samples (LoadCellSample), imu (ImuSample),
//   bad_lines (std::string).
//
// Metrics: cartsense_weigh_samples_total, cartsense_weigh_events_total,
// cartsense_weigh_faults_total{kind}, cartsense_weigh_process_ms (histogram),
// cartsense_serial_lines_total{result}.
#pragma once

#include "core/stage.h"

namespace cartsense::sensors {

// Registers WeighStage, WeighStageImu and SerialDecodeStage.
Status RegisterSensorStages(StageRegistry& registry);

}  // namespace cartsense::sensors
