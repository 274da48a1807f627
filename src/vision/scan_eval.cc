#include "vision/scan_eval.h"

#include <cmath>
#include <ctime>
#include <limits>
#include <optional>

#include <nlohmann/json.hpp>

#include "session/session_reader.h"

namespace cartsense::vision {
namespace {

struct ScanAction {
  Timestamp t;
  std::string gtin;
  bool hard = false;
  int reads = 0;
  bool within_1s = false;
};

double ThreadCpuSeconds() {
  timespec now{};
  clock_gettime(CLOCK_THREAD_CPUTIME_ID, &now);
  return static_cast<double>(now.tv_sec) + 1e-9 * static_cast<double>(now.tv_nsec);
}

Result<std::vector<ScanAction>> ScanActions(const session::SessionReader& reader) {
  CS_ASSIGN_OR_RETURN(const std::string text, reader.ReadTruth());
  const nlohmann::json truth = nlohmann::json::parse(text, nullptr, /*allow_exceptions=*/false);
  if (truth.is_discarded() || !truth.contains("actions") || !truth["actions"].is_array()) {
    return InvalidArgumentError(reader.PathOf("truth.json") + ": no actions list");
  }
  std::vector<ScanAction> actions;
  for (const nlohmann::json& action : truth["actions"]) {
    if (action.value("kind", "") != "scan") continue;
    const nlohmann::json details = action.value("details", nlohmann::json::object());
    ScanAction scan;
    scan.t = Timestamp::FromNanoseconds(action.value("t_ns", int64_t{0}));
    scan.gtin = details.value("gtin", "");
    scan.hard = details.value("hard_rotation", false) ||
                details.value("hard_small_modules", false) ||
                details.value("hard_motion_blur", false);
    if (scan.gtin.empty()) {
      return InvalidArgumentError(reader.PathOf("truth.json") + ": scan action at t_ns " +
                                  std::to_string(scan.t.ns) + " has no gtin");
    }
    actions.push_back(scan);
  }
  return actions;
}

}  // namespace

ScanEvalCounts& ScanEvalCounts::operator+=(const ScanEvalCounts& other) {
  scan_actions += other.scan_actions;
  read_within_1s += other.read_within_1s;
  read_later += other.read_later;
  duplicate_reads += other.duplicate_reads;
  wrong_reads += other.wrong_reads;
  hard_actions += other.hard_actions;
  hard_read_within_1s += other.hard_read_within_1s;
  frames += other.frames;
  reader_cpu_s += other.reader_cpu_s;
  missed.insert(missed.end(), other.missed.begin(), other.missed.end());
  return *this;
}

Result<ScanEvalCounts> EvaluateScanSession(const std::string& dir,
                                           const BarcodeReaderParams& reader_params,
                                           const ScanDebouncerParams& debouncer_params) {
  CS_ASSIGN_OR_RETURN(const session::SessionReader session, session::SessionReader::Open(dir));
  CS_ASSIGN_OR_RETURN(std::vector<ScanAction> actions, ScanActions(session));
  std::optional<int> scanner_id;
  for (const session::CameraInfo& camera : session.manifest().cameras) {
    if (camera.role == session::CameraRole::kScanner) scanner_id = camera.id;
  }
  ScanEvalCounts counts;
  std::vector<ScannerRead> reads;
  if (scanner_id.has_value()) {
    CS_ASSIGN_OR_RETURN(auto frames, session.CameraSource(*scanner_id));
    const BarcodeReader reader(reader_params);
    ScanDebouncer debouncer(debouncer_params);
    Timestamp last;
    while (true) {
      CS_ASSIGN_OR_RETURN(std::optional<Packet> packet, frames->Next());
      if (!packet.has_value()) break;
      CS_ASSIGN_OR_RETURN(auto frame, packet->Get<CameraFrame>());
      const double start = ThreadCpuSeconds();
      Result<std::vector<BarcodeRead>> codes = reader.Read(frame->image);
      counts.reader_cpu_s += ThreadCpuSeconds() - start;
      CS_RETURN_IF_ERROR(codes.status().WithContext(dir + ": scanner frame " +
                                                    std::to_string(frame->frame_index)));
      ++counts.frames;
      last = packet->timestamp();
      for (ScannerRead& read : debouncer.AddFrame(last, frame->camera_id, *codes)) {
        reads.push_back(std::move(read));
      }
    }
    for (ScannerRead& read :
         debouncer.Flush(last + Duration::Milliseconds(debouncer_params.lone_read_wait_ms))) {
      reads.push_back(std::move(read));
    }
  }

  constexpr int64_t kMatchWindowNs = 2'000'000'000;
  constexpr int64_t kOnTimeNs = 1'000'000'000;
  for (const ScannerRead& read : reads) {
    ScanAction* nearest = nullptr;
    int64_t nearest_gap = std::numeric_limits<int64_t>::max();
    for (ScanAction& action : actions) {
      const int64_t gap = std::abs(read.t.ns - action.t.ns);
      if (action.gtin == read.gtin && gap <= kMatchWindowNs && gap < nearest_gap) {
        nearest = &action;
        nearest_gap = gap;
      }
    }
    if (nearest == nullptr) {
      ++counts.wrong_reads;
      continue;
    }
    if (++nearest->reads > 1) ++counts.duplicate_reads;
    if (nearest->reads == 1) nearest->within_1s = read.t.ns - nearest->t.ns <= kOnTimeNs;
  }
  for (const ScanAction& action : actions) {
    ++counts.scan_actions;
    counts.hard_actions += action.hard ? 1 : 0;
    if (action.reads > 0 && action.within_1s) {
      ++counts.read_within_1s;
      counts.hard_read_within_1s += action.hard ? 1 : 0;
    } else {
      counts.read_later += action.reads > 0 ? 1 : 0;
      counts.missed.push_back(std::to_string(action.t.ns) + " " + action.gtin);
    }
  }
  return counts;
}

}  // namespace cartsense::vision
