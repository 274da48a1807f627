#include "vision/scan_debouncer.h"

#include <algorithm>
#include <set>

namespace cartsense::vision {

ScanDebouncer::ScanDebouncer(ScanDebouncerParams params) : params_(params) {}

std::vector<ScannerRead> ScanDebouncer::AddFrame(Timestamp t, int camera_id,
                                                 const std::vector<BarcodeRead>& reads) {
  const int64_t rearm_ns = Duration::Milliseconds(params_.rearm_after_absent_ms).ns;
  std::set<std::string> counted;  // one vote per GTIN per frame
  for (const BarcodeRead& read : reads) {
    if (!counted.insert(read.gtin).second) continue;
    Track& track = tracks_[read.gtin];
    if (track.total_votes > 0 && t.ns - track.last_seen.ns > rearm_ns) track = Track{};
    if (track.total_votes == 0) track.first_seen = t;
    track.format = read.format;
    track.camera_id = camera_id;
    track.vote_times.push_back(t);
    ++track.total_votes;
    if (!read.from_deblurred) ++track.plain_votes;
    track.last_seen = t;
  }
  return Decide(t);
}

std::vector<ScannerRead> ScanDebouncer::Flush(Timestamp t) { return Decide(t); }

std::vector<ScannerRead> ScanDebouncer::Decide(Timestamp t) {
  // Times compared as integer nanoseconds.
  const int64_t window_ns = Duration::Milliseconds(params_.vote_window_ms).ns;
  const int64_t lone_wait_ns = Duration::Milliseconds(params_.lone_read_wait_ms).ns;
  const int64_t rearm_ns = Duration::Milliseconds(params_.rearm_after_absent_ms).ns;
  for (auto& [gtin, track] : tracks_) {
    std::erase_if(track.vote_times, [&](Timestamp v) { return t.ns - v.ns > window_ns; });
  }
  const auto votes_in_window = [](const Track& track) {
    return static_cast<int>(track.vote_times.size());
  };

  std::vector<ScannerRead> accepted;
  for (auto& [gtin, track] : tracks_) {
    if (track.accepted) continue;
    // Rivals: other codes read around this one's reads. A lone read stands only without one; a
    // voted read must have at least the votes any rival got since this code was first read (an
    // earlier product's votes do not count against the next one).
    int rival_votes = 0;
    bool rival_near = false;
    for (const auto& [other_gtin, other] : tracks_) {
      if (other_gtin == gtin) continue;
      if (other.last_seen.ns < track.first_seen.ns - window_ns) continue;
      rival_near = true;
      const int64_t first_seen_ns = track.first_seen.ns;
      const auto since =
          std::count_if(other.vote_times.begin(), other.vote_times.end(),
                        [first_seen_ns](Timestamp v) { return v.ns >= first_seen_ns; });
      rival_votes = std::max(rival_votes, static_cast<int>(since));
    }
    const bool voted_in =
        votes_in_window(track) >= params_.min_votes && votes_in_window(track) >= rival_votes;
    // A lone read is judged once, when its wait is over: contested then, it never stands alone.
    const bool lone_wait_over = t.ns - track.first_seen.ns >= lone_wait_ns;
    const bool lone_read_stands =
        lone_wait_over && !track.lone_read_judged && !rival_near && track.plain_votes > 0;
    if (lone_wait_over) track.lone_read_judged = true;
    if (!voted_in && !lone_read_stands) continue;
    track.accepted = true;
    ScannerRead read;
    read.t = t;
    read.format = track.format;
    read.gtin = gtin;
    read.camera_id = track.camera_id;
    accepted.push_back(std::move(read));
  }
  // Codes out of the reads for the re-arm time are forgotten: the next read starts a new scan.
  std::erase_if(tracks_,
                [&](const auto& entry) { return t.ns - entry.second.last_seen.ns > rearm_ns; });
  return accepted;
}

}  // namespace cartsense::vision
