// The scan debouncer: per-frame barcode reads in, one ScannerRead per scan action out.
//
// A shopper holds a product to the scanner camera for a second or more; the reader decodes its
// code in some of those frames (not all: motion blur, the code entering the view) and, rarely,
// misreads it as another valid GTIN. The debouncer
//   - votes: a GTIN is accepted once it was read in `min_votes` frames within `vote_window_ms`,
//     or, read in a single frame only, after `lone_read_wait_ms` without a competing GTIN (a hard
//     case may decode in one frame only; a misread competes with the real code and loses); a
//     read made only after deblurring (BarcodeRead::from_deblurred) never stands alone;
//   - debounces: an accepted GTIN is not accepted again until it has been out of the reads for
//     `rearm_after_absent_ms`, so a code held in view is one read, and a second scan of the same
//     product after the code left the view is a second read.
// Deterministic: time comes only from the frames' timestamps. Plain class, no threads.
//
//   ScanDebouncer debouncer(ScanDebouncerParams{});
//   for each scanner frame:  for (ScannerRead r : debouncer.AddFrame(t, camera, reads)) emit(r);
//   at the end:              for (ScannerRead r : debouncer.Flush(t_end)) emit(r);
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "core/packets.h"
#include "core/time.h"
#include "vision/barcode_reader.h"

namespace cartsense::vision {

struct ScanDebouncerParams {
  int min_votes = 2;
  int64_t vote_window_ms = 600;
  int64_t lone_read_wait_ms = 300;
  int64_t rearm_after_absent_ms = 800;
};

class ScanDebouncer {
 public:
  explicit ScanDebouncer(ScanDebouncerParams params = {});

  // One frame's reads (possibly none) at time t, frames in time order. Returns the scans
  // accepted now, stamped t (never earlier than the frame that decided them).
  std::vector<ScannerRead> AddFrame(Timestamp t, int camera_id,
                                    const std::vector<BarcodeRead>& reads);
  // Time passes without frames (an event-triggered camera stopped): accepts the lone reads whose
  // wait is over by `t`. Call at the end of a stream with its last time plus the wait.
  std::vector<ScannerRead> Flush(Timestamp t);

  const ScanDebouncerParams& params() const { return params_; }

 private:
  struct Track {
    BarcodeFormat format = BarcodeFormat::kEan13;
    int camera_id = 0;
    std::vector<Timestamp> vote_times;  // frames that read it, within the vote window
    int total_votes = 0;                // frames that read it since this scan began
    int plain_votes = 0;                // of those, frames that read it without deblurring
    Timestamp first_seen;
    Timestamp last_seen;
    bool accepted = false;
    bool lone_read_judged = false;  // its lone-read wait is over
  };
  std::vector<ScannerRead> Decide(Timestamp t);

  ScanDebouncerParams params_;
  std::map<std::string, Track> tracks_;  // by GTIN; ordered, so decisions are deterministic
};

}  // namespace cartsense::vision
