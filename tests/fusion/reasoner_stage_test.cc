// ReasonerStage in an inline pipeline built from YAML: evidence in on seven sources, decisions
// out, waits ended by the load-cell clock.
#include "fusion/reasoner_stage.h"

#include <mutex>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "core/metrics.h"
#include "core/pipeline.h"
#include "core/time.h"
#include "fusion/reasoner.h"

namespace cartsense::fusion {
namespace {

std::string PipelineYaml(const std::string& extra_config) {
  return "sources: [weight_events, scale_status, vision, camera_health, scans, shopper, "
         "loadcell]\n"
         "stages:\n"
         "  - name: reasoner\n"
         "    type: ReasonerStage\n"
         "    inputs: {weight_events: weight_events, scale_status: scale_status, vision: vision,\n"
         "             camera_health: camera_health, scans: scans, shopper: shopper,\n"
         "             clock: loadcell}\n"
         "    outputs: {decisions: decisions}\n"
         "    config: {catalogue_file: " +
         std::string(CARTSENSE_SOURCE_DIR) + "/data/catalogue/grocery-store-81.csv" + extra_config +
         "}\n";
}

struct Collected {
  std::mutex mutex;
  std::vector<std::pair<Timestamp, ReasonerOutput>> outputs;
};

TEST(ReasonerStageTest, DecisionsFromAnInlinePipeline) {
  StageRegistry registry;
  ASSERT_TRUE(RegisterFusionStages(registry).ok());
  VirtualClock clock;
  MetricsRegistry metrics;
  const Config config =
      Config::Parse(PipelineYaml(", modalities: \"weight,scan\", vision_wait_ms: 1000")).value();
  auto pipeline = Pipeline::FromConfig(config, registry, &clock, &metrics);
  ASSERT_TRUE(pipeline.ok()) << pipeline.status().ToString();
  Collected collected;
  ASSERT_TRUE((*pipeline)
                  ->AddSink("decisions",
                            [&](const std::string&, const Packet& packet) {
                              std::lock_guard<std::mutex> lock(collected.mutex);
                              collected.outputs.emplace_back(packet.timestamp(),
                                                             packet.Value<ReasonerOutput>());
                            })
                  .ok());
  ASSERT_TRUE((*pipeline)->Start().ok());

  // 0..20 s of load-cell samples every 100 ms, a milk scan at 1 s placed at 3 s, a cream scan
  // at 5 s never placed.
  for (int64_t ms = 0; ms <= 20000; ms += 100) {
    const Timestamp t = Timestamp::FromMilliseconds(ms);
    if (ms == 1000 || ms == 5000) {
      ScannerRead read;
      read.t = t;
      read.gtin = ms == 1000 ? "2000100000410" : "2000100000472";
      ASSERT_TRUE((*pipeline)->Push("scans", Packet::Make(t, read)).ok());
    }
    if (ms == 3000) {
      sensors::WeightEvent event;
      event.t_start = Timestamp::FromMilliseconds(2600);
      event.t_settle = t;
      event.delta_g = 1063;
      event.sigma_g = 0.8;
      ASSERT_TRUE((*pipeline)->Push("weight_events", Packet::Make(t, event)).ok());
    }
    LoadCellSample sample;
    sample.t = t;
    ASSERT_TRUE((*pipeline)->Push("loadcell", Packet::Make(t, sample)).ok());
  }
  (*pipeline)->CloseSources();
  ASSERT_TRUE((*pipeline)->Wait().ok());

  std::lock_guard<std::mutex> lock(collected.mutex);
  ASSERT_EQ(collected.outputs.size(), 2u);
  const auto& [added_t, added] = collected.outputs[0];
  EXPECT_EQ(added_t, Timestamp::FromMilliseconds(3000));
  ASSERT_EQ(added.actions.size(), 1u);
  EXPECT_EQ(added.actions[0].product_id, "arla-standard-milk");
  // The cream's timeout (5 s + 12 s) ended by the clock.
  const auto& [timeout_t, timeout] = collected.outputs[1];
  EXPECT_EQ(timeout_t, Timestamp::FromMilliseconds(17000));
  ASSERT_EQ(timeout.prompts.size(), 1u);
  EXPECT_EQ(timeout.prompts[0].kind, PromptKind::kPlaceScannedItem);
  ASSERT_EQ(timeout.flags.size(), 1u);
  EXPECT_EQ(timeout.flags[0].kind, AuditFlagKind::kScanWithoutPlacement);
  EXPECT_EQ(timeout.flags[0].event_time, Timestamp::FromMilliseconds(17000));
}

TEST(ReasonerStageTest, BadConfigFailsAtStart) {
  StageRegistry registry;
  ASSERT_TRUE(RegisterFusionStages(registry).ok());
  VirtualClock clock;
  MetricsRegistry metrics;
  for (const std::string& extra :
       {std::string(", vision_wait: 5"), std::string(", modalities: \"weight,smell\""),
        std::string(", add_probability_min_ratio: 3")}) {
    const Config config = Config::Parse(PipelineYaml(extra)).value();
    auto pipeline = Pipeline::FromConfig(config, registry, &clock, &metrics);
    if (!pipeline.ok()) continue;  // refused while building: fine too
    EXPECT_FALSE((*pipeline)->Start().ok()) << extra;
  }
}

}  // namespace
}  // namespace cartsense::fusion
