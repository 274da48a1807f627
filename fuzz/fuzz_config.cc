// Fuzz target: YAML configuration (outside input: cart.yaml, per-cart calibration files, chain
// configs given to weigh-eval, stage configs). The text goes through core::Config and then through
// the typed readers of the components a cart configures from it: the scale calibration, the weigh
// chain, camera health, camera evidence and the reasoner. Anything may be rejected; nothing may
// crash, hang or leak, and whatever is accepted must pass the component's own validation.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string>

#include "core/config.h"
#include "fusion/camera_evidence.h"
#include "fusion/reasoner.h"
#include "sensors/scale_calibration.h"
#include "sensors/weigh_chain.h"
#include "vision/camera_health.h"

namespace {

void Check(bool condition) {
  if (!condition) std::abort();
}

// Every key of every map, read the ways a component may read it: none may throw or crash.
void Walk(const cartsense::Config& config, int depth) {
  if (depth > 8 || !config.IsMap()) return;
  for (const std::string& key : config.Keys()) {
    (void)config.Where(key);
    (void)config.GetDouble(key);
    (void)config.GetInt(key);
    (void)config.GetBool(key);
    (void)config.GetString(key);
    (void)config.GetStringList(key);
    if (auto section = config.Section(key); section.ok()) Walk(*section, depth + 1);
    if (auto list = config.SectionList(key); list.ok()) {
      for (const cartsense::Config& item : *list) Walk(item, depth + 1);
    }
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace cartsense;
  const std::string text(reinterpret_cast<const char*>(data), size);
  auto parsed = Config::Parse(text, "fuzz.yaml");
  if (!parsed.ok()) {
    Check(!parsed.status().message().empty());
    return 0;
  }
  Walk(*parsed, 0);
  (void)parsed->ToYaml();

  if (auto calibration = sensors::ScaleCalibration::FromConfig(*parsed); calibration.ok()) {
    // What was accepted must be written out and read back the same way.
    auto again = Config::Parse(calibration->ToYaml(), "again.yaml");
    Check(again.ok());
    Check(sensors::ScaleCalibration::FromConfig(*again).ok());
  }
  // FromConfig(Config&) writes the schema's defaults into the tree (YAML nodes are shared, not
  // copied): each such reader gets a tree of its own.
  if (auto fresh = Config::Parse(text, "fuzz.yaml"); fresh.ok()) {
    if (auto chain = sensors::WeighChainParams::FromConfig(*fresh); chain.ok()) {
      Check(chain->Validate().ok());
    }
  }
  (void)vision::CameraHealthParams::FromConfig(*parsed);
  (void)fusion::CameraEvidenceParams::FromConfig(*parsed);
  if (auto fresh = Config::Parse(text, "fuzz.yaml"); fresh.ok()) {
    if (auto reasoner = fusion::ReasonerParams::FromConfig(*fresh); reasoner.ok()) {
      Check(reasoner->Validate().ok());
    }
  }
  return 0;
}
