#include "core/timeline.h"

namespace cartsense {

Result<std::optional<Packet>> VectorPacketSource::Next() {
  if (next_ >= packets_.size()) return std::optional<Packet>();
  return std::optional<Packet>(packets_[next_++]);
}

ReplayTimeline::ReplayTimeline(VirtualClock* clock, double speed) : clock_(clock), speed_(speed) {}

void ReplayTimeline::AddSource(const std::string& stream, std::unique_ptr<PacketSource> source) {
  names_.push_back(stream);
  sources_.push_back(std::move(source));
  heads_.emplace_back();
}

Status ReplayTimeline::Refill(std::size_t index) {
  auto next = sources_[index]->Next();
  if (!next.ok()) return next.status().WithContext("source '" + names_[index] + "'");
  heads_[index] = std::move(next).value();
  if (heads_[index]) order_.push({heads_[index]->timestamp(), index});
  return Status::Ok();
}

Result<std::optional<TimedPacket>> ReplayTimeline::Next() {
  if (!primed_) {
    primed_ = true;
    for (std::size_t i = 0; i < sources_.size(); ++i) CS_RETURN_IF_ERROR(Refill(i));
  }
  if (order_.empty()) return std::optional<TimedPacket>();
  const Head head = order_.top();
  order_.pop();
  TimedPacket out{names_[head.source_index], std::move(*heads_[head.source_index])};
  heads_[head.source_index].reset();
  CS_RETURN_IF_ERROR(Refill(head.source_index));
  if (heads_[head.source_index] && heads_[head.source_index]->timestamp() < head.t) {
    return InvalidArgumentError("source '" + names_[head.source_index] + "' goes back in time at " +
                                ToString(heads_[head.source_index]->timestamp()));
  }
  if (speed_ > 0) {
    if (!wall_start_) {
      wall_start_ = wall_.Now();
      virtual_start_ = head.t;
    }
    const double elapsed_s = (head.t - *virtual_start_).seconds() / speed_;
    wall_.SleepUntil(*wall_start_ + Duration::FromSeconds(elapsed_s));
  }
  clock_->AdvanceTo(head.t);
  return std::optional<TimedPacket>(std::move(out));
}

Status RunReplay(ReplayTimeline& timeline, Pipeline& pipeline) {
  while (true) {
    auto next = timeline.Next();
    if (!next.ok()) {
      pipeline.Stop();
      return next.status();
    }
    if (!next->has_value()) break;
    TimedPacket& item = **next;
    Status pushed = pipeline.Push(item.stream, item.packet);
    if (!pushed.ok()) {
      pipeline.Stop();
      return pushed;
    }
  }
  pipeline.CloseSources();
  return Status::Ok();
}

LiveTimeline::LiveTimeline(Duration watermark_delay, MetricsRegistry* metrics)
    : delay_(watermark_delay),
      late_counter_(&metrics->GetCounter("cartsense_timeline_late_packets_total",
                                         "Live packets dropped for arriving after the watermark")) {
}

void LiveTimeline::Push(const std::string& stream, Packet packet) {
  std::lock_guard lock(mutex_);
  const Timestamp t = packet.timestamp();
  if (t < released_until_) {
    ++late_dropped_;
    late_counter_->Increment();
    return;
  }
  held_.push({t, arrivals_++, {stream, std::move(packet)}});
}

std::vector<TimedPacket> LiveTimeline::Release(Timestamp now) {
  std::lock_guard lock(mutex_);
  const Timestamp horizon = now - delay_;
  std::vector<TimedPacket> out;
  while (!held_.empty() && held_.top().t <= horizon) {
    out.push_back(held_.top().item);
    held_.pop();
  }
  if (horizon > released_until_) released_until_ = horizon;
  return out;
}

std::vector<TimedPacket> LiveTimeline::Flush() {
  std::lock_guard lock(mutex_);
  std::vector<TimedPacket> out;
  while (!held_.empty()) {
    if (held_.top().t > released_until_) released_until_ = held_.top().t;
    out.push_back(held_.top().item);
    held_.pop();
  }
  return out;
}

std::size_t LiveTimeline::late_dropped() const {
  std::lock_guard lock(mutex_);
  return late_dropped_;
}

Timestamp LiveTimeline::released_until() const {
  std::lock_guard lock(mutex_);
  return released_until_;
}

}  // namespace cartsense
