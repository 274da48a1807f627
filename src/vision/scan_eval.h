// Scan evaluation on a session with truth (simulated): the scanner camera's frames through the
// BarcodeReader and the ScanDebouncer, the reads matched to the truth's scan actions.
//
//   barcode_read_rate        share of scan actions whose GTIN was read no later than 1 s after
//                            the action's time (the code at the centre of the view)
//   barcode_duplicate_reads  reads of a scan action's GTIN beyond the first
//   wrong_reads              reads that match no scan action (misreads)
//
// A read belongs to the scan action of the same GTIN whose time is nearest, within 2 s.
#pragma once

#include <string>
#include <vector>

#include "core/status.h"
#include "vision/barcode_reader.h"
#include "vision/scan_debouncer.h"

namespace cartsense::vision {

struct ScanEvalCounts {
  int scan_actions = 0;
  int read_within_1s = 0;
  int read_later = 0;  // read, but more than 1 s after the action
  int duplicate_reads = 0;
  int wrong_reads = 0;
  int hard_actions = 0;  // actions the simulator marked as a hard case
  int hard_read_within_1s = 0;
  int64_t frames = 0;
  double reader_cpu_s = 0;  // CPU time of this thread spent in the reader
  // The actions not read within 1 s, as "t_ns gtin" (what to look at next).
  std::vector<std::string> missed;

  ScanEvalCounts& operator+=(const ScanEvalCounts& other);
  double read_rate() const {
    return scan_actions == 0 ? 0.0 : double(read_within_1s) / scan_actions;
  }
};

// Reads the session at `dir` (its scanner camera and truth.json). Errors name the session.
Result<ScanEvalCounts> EvaluateScanSession(const std::string& dir,
                                           const BarcodeReaderParams& reader_params = {},
                                           const ScanDebouncerParams& debouncer_params = {});

}  // namespace cartsense::vision
