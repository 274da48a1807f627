#include "core/pipeline.h"

#include <algorithm>
#include <optional>
#include <set>

#include "core/log.h"

namespace cartsense {

struct Pipeline::Stream {
  struct Consumer {
    StageRunner* runner;
    int input_index;
  };
  std::string name;
  bool is_source = false;
  StageRunner* producer = nullptr;
  std::optional<std::type_index> type;  // from the producer's port (sources: first consumer)
  std::vector<Consumer> consumers;
  std::vector<SinkCallback> sinks;
  Timestamp last_time = Timestamp::Min();  // last packet sent (per-stream order check)
  Timestamp watermark = Timestamp::Min();  // nothing earlier will come
};

// Runs one stage: its inbox, its merge of inputs, its thread.
class Pipeline::StageRunner final : public OutputEmitter {
 public:
  struct Envelope {
    enum class Kind { kData, kWatermark, kEnd };
    int input = 0;
    Kind kind = Kind::kData;
    Packet packet;
    Timestamp watermark;
  };

  StageRunner(Pipeline* pipeline, std::string name, std::unique_ptr<Stage> stage, Config config,
              StageOptions options)
      : pipeline_(pipeline),
        name_(std::move(name)),
        stage_(std::move(stage)),
        contract_(stage_->Contract()),
        config_(std::move(config)),
        options_(options) {
    if (options_.queue_capacity == 0) options_.queue_capacity = 1;
  }

  const std::string& name() const { return name_; }
  const StageContract& contract() const { return contract_; }
  std::vector<Stream*>& inputs() { return inputs_; }
  std::map<std::string, Stream*>& outputs() { return outputs_; }
  std::size_t dropped() const {
    std::lock_guard lock(mutex_);
    return dropped_;
  }

  Status Open(const Clock* clock, MetricsRegistry* metrics) {
    latency_ms_ =
        &metrics->GetHistogram("cartsense_stage_process_ms",
                               "Time a stage spends in Process per packet", {{"stage", name_}});
    processed_ = &metrics->GetCounter("cartsense_stage_packets_total",
                                      "Packets a stage has processed", {{"stage", name_}});
    errors_ = &metrics->GetCounter("cartsense_stage_errors_total", "Errors returned by a stage",
                                   {{"stage", name_}});
    dropped_counter_ =
        &metrics->GetCounter("cartsense_stage_dropped_total",
                             "Packets dropped by a full drop_oldest queue", {{"stage", name_}});
    pending_.assign(inputs_.size(), {});
    watermark_.assign(inputs_.size(), Timestamp::Min());
    ended_.assign(inputs_.size(), false);
    StageContext context{name_, metrics, clock};
    return stage_->Open(context, config_).WithContext("opening stage '" + name_ + "'");
  }

  void StartThread() {
    thread_ = std::thread([this] { Loop(); });
  }
  void Join() {
    if (thread_.joinable()) thread_.join();
  }

  // Called by producers (other stage threads or the driver).
  void Post(Envelope envelope) {
    std::unique_lock lock(mutex_);
    if (envelope.kind == Envelope::Kind::kData) {
      if (options_.queue_policy == OverflowPolicy::kBlock) {
        not_full_.wait(lock, [&] { return aborted_ || data_in_inbox_ < options_.queue_capacity; });
      } else if (data_in_inbox_ >= options_.queue_capacity) {
        const auto oldest = std::find_if(inbox_.begin(), inbox_.end(), [](const Envelope& e) {
          return e.kind == Envelope::Kind::kData;
        });
        inbox_.erase(oldest);
        --data_in_inbox_;
        ++dropped_;
        dropped_counter_->Increment();
      }
      if (aborted_) return;
      ++data_in_inbox_;
    } else if (envelope.kind == Envelope::Kind::kWatermark && !inbox_.empty() &&
               inbox_.back().kind == Envelope::Kind::kWatermark &&
               inbox_.back().input == envelope.input) {
      inbox_.back().watermark = std::max(inbox_.back().watermark, envelope.watermark);
      return;  // coalesced: the consumer has not seen the previous one yet
    }
    inbox_.push_back(std::move(envelope));
    lock.unlock();
    not_empty_.notify_one();
  }

  void Abort() {
    {
      std::lock_guard lock(mutex_);
      aborted_ = true;
    }
    not_empty_.notify_all();
    not_full_.notify_all();
  }

  Timestamp now() const override { return now_; }

  Status EmitPacket(const std::string& port, Packet packet) override {
    const auto it = outputs_.find(port);
    if (it == outputs_.end()) {
      return InvalidArgumentError("stage '" + name_ + "' has no output port '" + port + "'");
    }
    Stream& stream = *it->second;
    if (packet.type() != *stream.type) {
      return InvalidArgumentError("stage '" + name_ + "' emitted the wrong type on port '" + port +
                                  "'");
    }
    if (packet.timestamp() < now_) {
      return InvalidArgumentError("stage '" + name_ + "' emitted on '" + port + "' at " +
                                  ToString(packet.timestamp()) + ", before its input time " +
                                  ToString(now_));
    }
    return pipeline_->Deliver(stream, packet);
  }

 private:
  std::optional<Envelope> Take() {
    std::unique_lock lock(mutex_);
    not_empty_.wait(lock, [&] { return aborted_ || !inbox_.empty(); });
    if (aborted_) return std::nullopt;
    Envelope envelope = std::move(inbox_.front());
    inbox_.pop_front();
    if (envelope.kind == Envelope::Kind::kData) --data_in_inbox_;
    lock.unlock();
    not_full_.notify_one();
    return envelope;
  }

  bool AllDone() const {
    for (std::size_t i = 0; i < inputs_.size(); ++i) {
      if (!ended_[i] || !pending_[i].empty()) return false;
    }
    return true;
  }

  // Index of the next packet to process if it can be released now.
  std::optional<std::size_t> NextReleasable() const {
    std::optional<std::size_t> best;
    for (std::size_t i = 0; i < inputs_.size(); ++i) {
      if (pending_[i].empty()) continue;
      if (!best || pending_[i].front().timestamp() < pending_[*best].front().timestamp()) best = i;
    }
    if (!best) return std::nullopt;
    const Timestamp t = pending_[*best].front().timestamp();
    for (std::size_t j = 0; j < inputs_.size(); ++j) {
      if (j == *best || !pending_[j].empty() || ended_[j]) continue;
      // Input j promises nothing earlier than watermark_[j]; on a tie, lower ports go first.
      const bool safe = watermark_[j] > t || (watermark_[j] == t && j > *best);
      if (!safe) return std::nullopt;
    }
    return best;
  }

  Timestamp Frontier() const {
    Timestamp frontier = Timestamp::Max();
    for (std::size_t i = 0; i < inputs_.size(); ++i) {
      if (!pending_[i].empty()) {
        frontier = std::min(frontier, pending_[i].front().timestamp());
      } else if (!ended_[i]) {
        frontier = std::min(frontier, watermark_[i]);
      }
    }
    return frontier;
  }

  // Returns false when the pipeline must stop.
  bool ReleaseReady() {
    while (auto index = NextReleasable()) {
      Packet packet = std::move(pending_[*index].front());
      pending_[*index].pop_front();
      now_ = packet.timestamp();
      MonotonicClock wall;
      const Timestamp started = wall.Now();
      Status status = stage_->Process(contract_.inputs[*index].name, packet, *this);
      latency_ms_->Observe((wall.Now() - started).milliseconds());
      processed_->Increment();
      if (!status.ok()) {
        errors_->Increment();
        status = std::move(status).WithContext("stage '" + name_ + "' at " + ToString(now_));
        if (options_.on_error == StageErrorPolicy::kStop) {
          (void)pipeline_->RecordError(status);
          return false;
        }
        Log().warn("{} (skipped)", status.ToString());
      }
    }
    const Timestamp frontier = Frontier();
    if (frontier != Timestamp::Max() && frontier > output_watermark_) {
      output_watermark_ = frontier;
      for (auto& [port, stream] : outputs_) pipeline_->AdvanceWatermark(*stream, frontier);
    }
    return true;
  }

  void Loop() {
    while (!AllDone()) {
      std::optional<Envelope> envelope = Take();
      if (!envelope) return;  // aborted
      const auto i = static_cast<std::size_t>(envelope->input);
      switch (envelope->kind) {
        case Envelope::Kind::kData:
          pending_[i].push_back(std::move(envelope->packet));
          break;
        case Envelope::Kind::kWatermark:
          watermark_[i] = std::max(watermark_[i], envelope->watermark);
          break;
        case Envelope::Kind::kEnd:
          ended_[i] = true;
          break;
      }
      if (!ReleaseReady()) return;
    }
    now_ = std::max(now_, output_watermark_);
    Status status = stage_->Close(*this);
    if (!status.ok()) {
      (void)pipeline_->RecordError(std::move(status).WithContext("closing stage '" + name_ + "'"));
    }
    for (auto& [port, stream] : outputs_) pipeline_->EndStream(*stream);
  }

  Pipeline* pipeline_;
  std::string name_;
  std::unique_ptr<Stage> stage_;
  StageContract contract_;
  Config config_;
  StageOptions options_;
  std::vector<Stream*> inputs_;             // by input port index
  std::map<std::string, Stream*> outputs_;  // by output port name

  // Inbox, shared with producers.
  mutable std::mutex mutex_;
  std::condition_variable not_empty_, not_full_;
  std::deque<Envelope> inbox_;
  std::size_t data_in_inbox_ = 0;
  std::size_t dropped_ = 0;
  bool aborted_ = false;

  // Merge state, owned by the stage thread.
  std::vector<std::deque<Packet>> pending_;
  std::vector<Timestamp> watermark_;
  std::vector<bool> ended_;
  Timestamp now_ = Timestamp::Min();
  Timestamp output_watermark_ = Timestamp::Min();

  Histogram* latency_ms_ = nullptr;
  Counter* processed_ = nullptr;
  Counter* errors_ = nullptr;
  Counter* dropped_counter_ = nullptr;
  std::thread thread_;
};

Pipeline::Pipeline(const Clock* clock, MetricsRegistry* metrics)
    : clock_(clock), metrics_(metrics) {}

Pipeline::~Pipeline() {
  Stop();
  for (auto& stage : stages_) stage->Join();
}

Status Pipeline::AddSource(const std::string& stream) {
  if (started_) return FailedPreconditionError("pipeline already started");
  auto [it, inserted] = streams_.try_emplace(stream, nullptr);
  if (!inserted) return AlreadyExistsError("stream '" + stream + "' already has a producer");
  it->second = std::make_unique<Stream>();
  it->second->name = stream;
  it->second->is_source = true;
  return Status::Ok();
}

Status Pipeline::AddStage(const std::string& name, std::unique_ptr<Stage> stage,
                          const std::map<std::string, std::string>& inputs,
                          const std::map<std::string, std::string>& outputs, Config config,
                          StageOptions options) {
  if (started_) return FailedPreconditionError("pipeline already started");
  if (!stage) return InvalidArgumentError("stage '" + name + "' is null");
  for (const auto& existing : stages_) {
    if (existing->name() == name) return AlreadyExistsError("two stages named '" + name + "'");
  }
  auto runner =
      std::make_unique<StageRunner>(this, name, std::move(stage), std::move(config), options);
  const StageContract& contract = runner->contract();
  const std::string where = "stage '" + name + "'";
  // Plain loops rather than structured bindings: clang 14 cannot capture bindings in lambdas.
  for (const auto& input : inputs) {
    const std::string& port = input.first;
    const bool known = std::any_of(contract.inputs.begin(), contract.inputs.end(),
                                   [&](const PortSpec& p) { return p.name == port; });
    if (!known) return InvalidArgumentError(where + " has no input port '" + port + "'");
  }
  for (const auto& output : outputs) {
    const std::string& port = output.first;
    const bool known = std::any_of(contract.outputs.begin(), contract.outputs.end(),
                                   [&](const PortSpec& p) { return p.name == port; });
    if (!known) return InvalidArgumentError(where + " has no output port '" + port + "'");
  }
  for (const PortSpec& port : contract.outputs) {
    const auto it = outputs.find(port.name);
    if (it == outputs.end()) continue;  // unconnected output: emitting on it is an error
    auto [slot, inserted] = streams_.try_emplace(it->second, nullptr);
    if (!inserted && (slot->second->is_source || slot->second->producer != nullptr)) {
      return AlreadyExistsError(where + ": stream '" + it->second + "' already has a producer");
    }
    if (inserted) {
      slot->second = std::make_unique<Stream>();
      slot->second->name = it->second;
    }
    Stream& s = *slot->second;
    s.producer = runner.get();
    if (s.type && *s.type != port.type) {
      return InvalidArgumentError(where + ": output '" + port.name + "' type " + port.type_name +
                                  " does not match the consumers of stream '" + s.name + "'");
    }
    s.type = port.type;
    runner->outputs()[port.name] = &s;
  }
  for (std::size_t i = 0; i < contract.inputs.size(); ++i) {
    const PortSpec& port = contract.inputs[i];
    const auto it = inputs.find(port.name);
    if (it == inputs.end()) {
      return InvalidArgumentError(where + ": input port '" + port.name + "' is not connected");
    }
    const auto stream_it = streams_.find(it->second);
    if (stream_it == streams_.end()) {
      return NotFoundError(where + ": input '" + port.name + "' reads stream '" + it->second +
                           "', which no source or earlier stage produces");
    }
    Stream& s = *stream_it->second;
    if (s.type && *s.type != port.type) {
      return InvalidArgumentError(where + ": input '" + port.name + "' expects " + port.type_name +
                                  ", stream '" + s.name + "' carries another type");
    }
    s.type = port.type;
    s.consumers.push_back({runner.get(), static_cast<int>(i)});
    runner->inputs().push_back(&s);
  }
  stages_.push_back(std::move(runner));
  return Status::Ok();
}

Status Pipeline::AddSink(const std::string& stream, SinkCallback callback) {
  if (started_) return FailedPreconditionError("pipeline already started");
  const auto it = streams_.find(stream);
  if (it == streams_.end()) return NotFoundError("no stream '" + stream + "' to observe");
  it->second->sinks.push_back(std::move(callback));
  return Status::Ok();
}

Status Pipeline::Start() {
  if (started_) return FailedPreconditionError("pipeline already started");
  // Stages are added in wiring order and an input must name an existing stream, so the graph
  // has no cycles by construction.
  for (auto& stage : stages_) CS_RETURN_IF_ERROR(stage->Open(clock_, metrics_));
  started_ = true;
  for (auto& stage : stages_) stage->StartThread();
  return Status::Ok();
}

Status Pipeline::Push(const std::string& source, const Packet& packet) {
  if (!started_) return FailedPreconditionError("pipeline not started");
  if (sources_closed_) return FailedPreconditionError("sources already closed");
  const auto it = streams_.find(source);
  if (it == streams_.end() || !it->second->is_source) {
    return NotFoundError("no source stream '" + source + "'");
  }
  Stream& stream = *it->second;
  if (stream.type && packet.type() != *stream.type) {
    return InvalidArgumentError("source '" + source + "' got a packet of the wrong type");
  }
  if (packet.timestamp() < last_source_time_) {
    return OutOfRangeError("source '" + source + "' packet at " + ToString(packet.timestamp()) +
                           " is earlier than the last source packet at " +
                           ToString(last_source_time_));
  }
  last_source_time_ = packet.timestamp();
  CS_RETURN_IF_ERROR(Deliver(stream, packet));
  return AdvanceSources(packet.timestamp());
}

Status Pipeline::AdvanceSources(Timestamp t) {
  if (!started_) return FailedPreconditionError("pipeline not started");
  if (t < last_source_time_) return Status::Ok();
  last_source_time_ = t;
  for (auto& [name, stream] : streams_) {
    if (stream->is_source) AdvanceWatermark(*stream, t);
  }
  return Status::Ok();
}

void Pipeline::CloseSources() {
  if (!started_ || sources_closed_) return;
  sources_closed_ = true;
  for (auto& [name, stream] : streams_) {
    if (stream->is_source) EndStream(*stream);
  }
}

Status Pipeline::Wait() {
  for (auto& stage : stages_) stage->Join();
  std::lock_guard lock(error_mutex_);
  if (!first_error_.ok()) return first_error_;
  if (stopped_) return CancelledError("pipeline stopped before its sources ended");
  return Status::Ok();
}

void Pipeline::Stop() {
  stopped_ = true;
  for (auto& stage : stages_) stage->Abort();
}

std::map<std::string, std::size_t> Pipeline::DroppedPackets() const {
  std::map<std::string, std::size_t> dropped;
  for (const auto& stage : stages_) dropped[stage->name()] = stage->dropped();
  return dropped;
}

Status Pipeline::RecordError(const Status& status) {
  {
    std::lock_guard lock(error_mutex_);
    if (first_error_.ok()) first_error_ = status;
  }
  Log().error("{}", status.ToString());
  for (auto& stage : stages_) stage->Abort();
  return status;
}

Status Pipeline::Deliver(Stream& stream, const Packet& packet) {
  if (packet.timestamp() < stream.last_time) {
    return InvalidArgumentError("stream '" + stream.name + "' packet at " +
                                ToString(packet.timestamp()) + " is earlier than its last at " +
                                ToString(stream.last_time));
  }
  stream.last_time = packet.timestamp();
  for (const auto& sink : stream.sinks) sink(stream.name, packet);
  for (const auto& consumer : stream.consumers) {
    consumer.runner->Post({consumer.input_index, StageRunner::Envelope::Kind::kData, packet, {}});
  }
  return Status::Ok();
}

void Pipeline::AdvanceWatermark(Stream& stream, Timestamp t) {
  if (t <= stream.watermark) return;
  stream.watermark = t;
  for (const auto& consumer : stream.consumers) {
    consumer.runner->Post({consumer.input_index, StageRunner::Envelope::Kind::kWatermark, {}, t});
  }
}

void Pipeline::EndStream(Stream& stream) {
  for (const auto& consumer : stream.consumers) {
    consumer.runner->Post({consumer.input_index, StageRunner::Envelope::Kind::kEnd, {}, {}});
  }
}

Result<std::unique_ptr<Pipeline>> Pipeline::FromConfig(const Config& config,
                                                       const StageRegistry& registry,
                                                       const Clock* clock,
                                                       MetricsRegistry* metrics) {
  Config root = config;
  ConfigSchema schema;
  schema.Integer("queue_capacity").Range(1, 1 << 20).Default(256);
  schema.StringList("sources").Required();
  schema.SectionList("stages").Required();
  CS_RETURN_IF_ERROR(schema.Validate(root));

  auto pipeline = std::make_unique<Pipeline>(clock, metrics);
  CS_ASSIGN_OR_RETURN(const std::vector<std::string> sources, root.GetStringList("sources"));
  for (const auto& source : sources) {
    CS_RETURN_IF_ERROR_CTX(pipeline->AddSource(source), root.Where("sources"));
  }
  const auto queue_capacity = static_cast<std::size_t>(root.GetInt("queue_capacity").value());
  CS_ASSIGN_OR_RETURN(std::vector<Config> stages, root.SectionList("stages"));
  for (Config& stage_config : stages) {
    ConfigSchema stage_schema;
    stage_schema.String("name").Required();
    stage_schema.String("type").Required();
    stage_schema.Section("inputs");
    stage_schema.Section("outputs");
    stage_schema.String("queue_policy").OneOf({"block", "drop_oldest"}).Default("block");
    stage_schema.String("on_error").OneOf({"stop", "skip"}).Default("stop");
    stage_schema.Integer("queue_capacity").Range(1, 1 << 20);
    stage_schema.Section("config");
    CS_RETURN_IF_ERROR(stage_schema.Validate(stage_config));

    const std::string name = stage_config.GetString("name").value();
    const std::string type = stage_config.GetString("type").value();
    const auto read_ports =
        [&](const std::string& key) -> Result<std::map<std::string, std::string>> {
      std::map<std::string, std::string> ports;
      if (!stage_config.Has(key)) return ports;
      CS_ASSIGN_OR_RETURN(Config section, stage_config.Section(key));
      for (const std::string& port : section.Keys()) {
        CS_ASSIGN_OR_RETURN(ports[port], section.GetString(port));
      }
      return ports;
    };
    CS_ASSIGN_OR_RETURN(auto inputs, read_ports("inputs"));
    CS_ASSIGN_OR_RETURN(auto outputs, read_ports("outputs"));
    StageOptions options;
    options.queue_capacity = queue_capacity;
    if (stage_config.Has("queue_capacity")) {
      options.queue_capacity =
          static_cast<std::size_t>(stage_config.GetInt("queue_capacity").value());
    }
    options.queue_policy = stage_config.GetString("queue_policy").value() == "drop_oldest"
                               ? OverflowPolicy::kDropOldest
                               : OverflowPolicy::kBlock;
    options.on_error = stage_config.GetString("on_error").value() == "skip"
                           ? StageErrorPolicy::kSkip
                           : StageErrorPolicy::kStop;
    Config own_config;
    if (stage_config.Has("config")) {
      CS_ASSIGN_OR_RETURN(own_config, stage_config.Section("config"));
    }
    auto stage = registry.Create(type);
    if (!stage.ok()) return stage.status().WithContext(stage_config.Where("type"));
    CS_RETURN_IF_ERROR_CTX(pipeline->AddStage(name, std::move(stage).value(), inputs, outputs,
                                              std::move(own_config), options),
                           stage_config.Where("name"));
  }
  return pipeline;
}

}  // namespace cartsense
