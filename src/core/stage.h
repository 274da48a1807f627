// The Stage interface: one unit of pipeline work with a small lifecycle, after MediaPipe's
// calculators. A stage declares typed, named input and output ports; the pipeline runner wires
// ports to named streams from a config file, checks the types, and calls
//
//   Open(context, config)      once, with the stage's own config section;
//   Process(port, packet, out) for every input packet, in timestamp order across all inputs;
//   Close(out)                 once, after every input stream has ended.
//
// Each returns a Status. Output packets are stamped with the time of the input being processed
// (OutputEmitter::Emit) or a later time (EmitAt), never earlier: that keeps every merge of
// streams causal and the whole pipeline deterministic, whatever the threads did.
//
// Example (a stage that doubles numbers):
//
//   class DoubleStage : public Stage {
//    public:
//     StageContract Contract() const override {
//       return {{InputPort<int>("in")}, {OutputPort<int>("out")}};
//     }
//     Status Process(const std::string&, const Packet& p, OutputEmitter& out) override {
//       return out.Emit("out", 2 * p.Value<int>());
//     }
//   };
//   registry.Register("DoubleStage", [] { return std::make_unique<DoubleStage>(); });
#pragma once

#include <functional>
#include <map>
#include <memory>
#include <string>
#include <typeindex>
#include <typeinfo>
#include <vector>

#include "core/config.h"
#include "core/metrics.h"
#include "core/packets.h"
#include "core/status.h"
#include "core/time.h"

namespace cartsense {

struct PortSpec {
  std::string name;
  std::type_index type;
  std::string type_name;  // for messages
};

template <typename T>
PortSpec InputPort(std::string name) {
  return {std::move(name), std::type_index(typeid(T)), typeid(T).name()};
}
template <typename T>
PortSpec OutputPort(std::string name) {
  return {std::move(name), std::type_index(typeid(T)), typeid(T).name()};
}

struct StageContract {
  std::vector<PortSpec> inputs;
  std::vector<PortSpec> outputs;
};

// What a stage may use besides its config.
struct StageContext {
  std::string stage_name;
  MetricsRegistry* metrics = nullptr;  // never null when the runner opens a stage
  const Clock* clock = nullptr;        // the pipeline's clock (virtual in replay)
};

// Where a stage sends its results.
class OutputEmitter {
 public:
  virtual ~OutputEmitter() = default;
  // The timestamp of the input being processed (the last one, in Close).
  virtual Timestamp now() const = 0;
  // Sends on output port `port`; fails for an unknown port, a wrong type or t < now().
  virtual Status EmitPacket(const std::string& port, Packet packet) = 0;

  template <typename T>
  Status Emit(const std::string& port, T value) {
    return EmitPacket(port, Packet::Make(now(), std::move(value)));
  }
  template <typename T>
  Status EmitAt(const std::string& port, Timestamp t, T value) {
    return EmitPacket(port, Packet::Make(t, std::move(value)));
  }
};

class Stage {
 public:
  virtual ~Stage() = default;
  virtual StageContract Contract() const = 0;
  virtual Status Open(const StageContext& /*context*/, const Config& /*config*/) {
    return Status::Ok();
  }
  virtual Status Process(const std::string& input_port, const Packet& packet,
                         OutputEmitter& out) = 0;
  virtual Status Close(OutputEmitter& /*out*/) { return Status::Ok(); }
};

// Stage types by name. Registration is explicit (RegisterCoreStages(registry) and the like,
// called by whoever builds a pipeline), never through static initialisers a linker can drop.
class StageRegistry {
 public:
  using Factory = std::function<std::unique_ptr<Stage>()>;

  // Fails if the name is taken.
  Status Register(const std::string& type_name, Factory factory, std::string description = "");
  Result<std::unique_ptr<Stage>> Create(const std::string& type_name) const;
  bool Has(const std::string& type_name) const { return factories_.contains(type_name); }
  std::vector<std::string> Names() const;
  std::string Description(const std::string& type_name) const;

 private:
  struct Entry {
    Factory factory;
    std::string description;
  };
  std::map<std::string, Entry> factories_;
};

}  // namespace cartsense
