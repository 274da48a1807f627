// The pipeline runner: stages wired to named streams, each stage on its own thread, every
// stage's inputs merged in timestamp order with watermarks so the result does not depend on
// thread timing.
//
// Config (YAML), e.g. pipeline.yaml:
//
//   queue_capacity: 256          # packets waiting per stage before back-pressure
//   sources: [loadcell, camera0] # streams fed from outside (sensors or a replay)
//   stages:
//     - name: weigh              # unique instance name
//       type: WeighStage         # a type registered in the StageRegistry
//       inputs: {samples: loadcell}        # input port -> stream
//       outputs: {events: weight_events}   # output port -> stream (one producer per stream)
//       queue_policy: block      # or drop_oldest (live camera frames)
//       on_error: stop           # or skip: count, log and go on
//       config: {settle_window_ms: 300}    # the stage's own section, passed to Open
//
// Ordering rules. Sources are pushed by one driver in non-decreasing timestamp order across all
// sources (a ReplayTimeline or LiveTimeline does the merge). A stage sees its inputs in
// (timestamp, input port order) order: a packet is released only when every other input has a
// packet waiting, has ended, or has promised (by a watermark) that nothing earlier will come.
// After each input, a stage's outputs are promised to carry nothing earlier than the time of
// its earliest unprocessed input.
#pragma once

#include <atomic>
#include <condition_variable>
#include <deque>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "core/bounded_queue.h"
#include "core/config.h"
#include "core/metrics.h"
#include "core/stage.h"
#include "core/status.h"
#include "core/time.h"

namespace cartsense {

enum class StageErrorPolicy { kStop, kSkip };

struct StageOptions {
  OverflowPolicy queue_policy = OverflowPolicy::kBlock;
  std::size_t queue_capacity = 256;
  StageErrorPolicy on_error = StageErrorPolicy::kStop;
};

class Pipeline {
 public:
  using SinkCallback = std::function<void(const std::string& stream, const Packet& packet)>;

  // `clock` and `metrics` must outlive the pipeline.
  Pipeline(const Clock* clock, MetricsRegistry* metrics);
  ~Pipeline();
  Pipeline(const Pipeline&) = delete;
  Pipeline& operator=(const Pipeline&) = delete;

  // Builds a pipeline from a config (see the header comment); stages are made by `registry`.
  static Result<std::unique_ptr<Pipeline>> FromConfig(const Config& config,
                                                      const StageRegistry& registry,
                                                      const Clock* clock, MetricsRegistry* metrics);

  // Wiring, before Start().
  Status AddSource(const std::string& stream);
  Status AddStage(const std::string& name, std::unique_ptr<Stage> stage,
                  const std::map<std::string, std::string>& inputs,
                  const std::map<std::string, std::string>& outputs, Config config = {},
                  StageOptions options = {});
  // Calls `callback` for every packet on `stream`, on the producing thread, in stream order.
  Status AddSink(const std::string& stream, SinkCallback callback);

  // Checks the wiring (every stream has exactly one producer, every input port is connected,
  // types agree, no cycles), opens the stages in wiring order and starts their threads.
  Status Start();

  // Feeds one packet into a source stream. One driver thread; timestamps must not decrease
  // across all sources (an earlier packet is refused with OutOfRange).
  Status Push(const std::string& source, const Packet& packet);
  // Promises that no source packet earlier than t will come (lets stages release packets).
  Status AdvanceSources(Timestamp t);
  // Ends all sources; stages drain, Close(), and end their outputs.
  void CloseSources();
  // Waits for every stage to finish; returns the first error (or Cancelled after Stop()).
  Status Wait();
  // Aborts at once: stages stop without draining. Safe from any thread.
  void Stop();

  // Packets dropped by drop_oldest queues, per stage name.
  std::map<std::string, std::size_t> DroppedPackets() const;

 private:
  struct Stream;
  class StageRunner;

  Status RecordError(const Status& status);
  Status Deliver(Stream& stream, const Packet& packet);
  void AdvanceWatermark(Stream& stream, Timestamp t);
  void EndStream(Stream& stream);

  const Clock* clock_;
  MetricsRegistry* metrics_;
  std::map<std::string, std::unique_ptr<Stream>> streams_;
  std::vector<std::unique_ptr<StageRunner>> stages_;
  bool started_ = false;
  bool sources_closed_ = false;
  Timestamp last_source_time_ = Timestamp::Min();
  std::atomic<bool> stopped_{false};

  std::mutex error_mutex_;
  Status first_error_;
};

}  // namespace cartsense
