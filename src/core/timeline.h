// Timelines merge timestamped streams into one ordered feed for a Pipeline.
//
// ReplayTimeline (replay, evaluation, tests): pulls from recorded sources, k-way merges them by
// (timestamp, source order), moves a VirtualClock to each packet's time, and optionally paces
// the feed to real time (speed 1.0) or any multiple; speed 0 runs as fast as possible. The same
// sources always give the same order.
//
// LiveTimeline (on the cart): sensor threads Push() packets as they arrive; Release(now) hands
// out, in timestamp order, those at least `watermark_delay` old. A packet that arrives after
// later packets were already released is late: it is dropped and counted, never reordered.
#pragma once

#include <cstddef>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <queue>
#include <string>
#include <vector>

#include "core/metrics.h"
#include "core/packets.h"
#include "core/pipeline.h"
#include "core/status.h"
#include "core/time.h"

namespace cartsense {

struct TimedPacket {
  std::string stream;
  Packet packet;
};

// A recorded stream, read in order. Timestamps must not decrease within a source.
class PacketSource {
 public:
  virtual ~PacketSource() = default;
  // The next packet, nullopt at the end, or an error (a damaged file, say).
  virtual Result<std::optional<Packet>> Next() = 0;
};

// A source over packets held in memory (tests, simulators).
class VectorPacketSource final : public PacketSource {
 public:
  explicit VectorPacketSource(std::vector<Packet> packets) : packets_(std::move(packets)) {}
  Result<std::optional<Packet>> Next() override;

 private:
  std::vector<Packet> packets_;
  std::size_t next_ = 0;
};

class ReplayTimeline {
 public:
  // speed: 0 = as fast as possible; 1 = real time; 2 = twice real time.
  explicit ReplayTimeline(VirtualClock* clock, double speed = 0.0);

  // Sources are merged in the order added when timestamps tie.
  void AddSource(const std::string& stream, std::unique_ptr<PacketSource> source);
  // The next packet across all sources in order, nullopt when all are exhausted.
  Result<std::optional<TimedPacket>> Next();

 private:
  struct Head {
    Timestamp t;
    std::size_t source_index;
    bool operator>(const Head& o) const {
      return t != o.t ? t > o.t : source_index > o.source_index;
    }
  };
  Status Refill(std::size_t index);

  VirtualClock* clock_;
  double speed_;
  std::vector<std::string> names_;
  std::vector<std::unique_ptr<PacketSource>> sources_;
  std::vector<std::optional<Packet>> heads_;
  std::priority_queue<Head, std::vector<Head>, std::greater<>> order_;
  bool primed_ = false;
  MonotonicClock wall_;
  std::optional<Timestamp> wall_start_, virtual_start_;
};

// Feeds a whole ReplayTimeline into a started pipeline, then closes its sources.
Status RunReplay(ReplayTimeline& timeline, Pipeline& pipeline);

class LiveTimeline {
 public:
  LiveTimeline(Duration watermark_delay, MetricsRegistry* metrics);

  // Thread-safe. Late packets (earlier than the last released) are dropped and counted.
  void Push(const std::string& stream, Packet packet);
  // Packets with timestamp <= now - watermark_delay, in (timestamp, arrival) order.
  std::vector<TimedPacket> Release(Timestamp now);
  // Everything still held, in order (at shutdown).
  std::vector<TimedPacket> Flush();

  std::size_t late_dropped() const;
  Timestamp released_until() const;

 private:
  struct Held {
    Timestamp t;
    uint64_t arrival;
    TimedPacket item;
  };
  struct Later {
    bool operator()(const Held& a, const Held& b) const {
      return a.t != b.t ? a.t > b.t : a.arrival > b.arrival;
    }
  };

  Duration delay_;
  mutable std::mutex mutex_;
  std::priority_queue<Held, std::vector<Held>, Later> held_;
  uint64_t arrivals_ = 0;
  Timestamp released_until_ = Timestamp::Min();
  std::size_t late_dropped_ = 0;
  Counter* late_counter_;
};

}  // namespace cartsense
