// BarcodeReaderStage (type "BarcodeReaderStage"): scanner-camera frames in, one ScannerRead per
// scan action out. Each frame goes through the BarcodeReader (barcode_reader.h), its reads
// through the ScanDebouncer (scan_debouncer.h); a read is stamped with the time of the frame
// that decided it (or, at the end of the stream, the last frame plus the lone-read wait).
//   inputs:  frames (CameraFrame; 8-bit grey or BGR)
//   outputs: reads (ScannerRead)
//   config (all optional):
//
//     - name: scanner
//       type: BarcodeReaderStage
//       inputs: {frames: camera/scanner}
//       outputs: {reads: scan_reads}
//       config: {camera_id: 2, vote_window_ms: 600, lone_read_wait_ms: 300,
//                rearm_after_absent_ms: 800, min_votes: 2, max_candidates: 4}
//
// camera_id (default -1: every frame) keeps only that camera's frames. A frame the reader cannot
// take (empty, wrong pixel type) is counted as a fault and read as no code; the stage goes on.
//
// Metrics: cartsense_barcode_frames_total{stage}, cartsense_barcode_reads_total{stage} (after
// the debouncer), cartsense_barcode_faults_total{stage}, cartsense_barcode_frame_ms{stage}.
#pragma once

#include "core/stage.h"

namespace cartsense::vision {

// Registers BarcodeReaderStage.
Status RegisterBarcodeStages(StageRegistry& registry);

}  // namespace cartsense::vision
