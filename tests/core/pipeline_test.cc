#include "core/pipeline.h"

#include <atomic>
#include <mutex>
#include <random>
#include <thread>
#include <vector>

#include <gtest/gtest.h>

#include "core/timeline.h"

namespace cartsense {
namespace {

// Test stages ---------------------------------------------------------------------------------

class DoubleStage : public Stage {
 public:
  StageContract Contract() const override {
    return {{InputPort<int>("in")}, {OutputPort<int>("out")}};
  }
  Status Process(const std::string&, const Packet& p, OutputEmitter& out) override {
    return out.Emit("out", 2 * p.Value<int>());
  }
};

// Sleeps a seeded random time per packet, to shake thread timing.
class JitterStage : public Stage {
 public:
  explicit JitterStage(unsigned seed) : rng_(seed) {}
  StageContract Contract() const override {
    return {{InputPort<int>("in")}, {OutputPort<int>("out")}};
  }
  Status Process(const std::string&, const Packet& p, OutputEmitter& out) override {
    std::this_thread::sleep_for(std::chrono::microseconds(rng_() % 300));
    return out.Emit("out", p.Value<int>());
  }

 private:
  std::mt19937 rng_;
};

// Sums its input; emits the total when closed.
class SumStage : public Stage {
 public:
  StageContract Contract() const override {
    return {{InputPort<int>("in")}, {OutputPort<int>("total")}};
  }
  Status Process(const std::string&, const Packet& p, OutputEmitter&) override {
    total_ += p.Value<int>();
    return Status::Ok();
  }
  Status Close(OutputEmitter& out) override {
    ++closes_;
    return out.Emit("total", total_);
  }
  int closes_ = 0;

 private:
  int total_ = 0;
};

// Records (port, timestamp, value) of everything it sees on two inputs.
struct Seen {
  std::string port;
  int64_t t;
  int value;
  bool operator==(const Seen&) const = default;
};
class MergeRecorder : public Stage {
 public:
  explicit MergeRecorder(std::vector<Seen>* seen) : seen_(seen) {}
  StageContract Contract() const override {
    return {{InputPort<int>("a"), InputPort<int>("b")}, {}};
  }
  Status Process(const std::string& port, const Packet& p, OutputEmitter&) override {
    seen_->push_back({port, p.timestamp().ns, p.Value<int>()});
    return Status::Ok();
  }

 private:
  std::vector<Seen>* seen_;
};

class FailingStage : public Stage {
 public:
  StageContract Contract() const override {
    return {{InputPort<int>("in")}, {OutputPort<int>("out")}};
  }
  Status Process(const std::string&, const Packet& p, OutputEmitter& out) override {
    if (p.Value<int>() == 3) return InvalidArgumentError("cannot take 3");
    return out.Emit("out", p.Value<int>());
  }
};

class EarlyEmitStage : public Stage {
 public:
  StageContract Contract() const override {
    return {{InputPort<int>("in")}, {OutputPort<int>("out")}};
  }
  Status Process(const std::string&, const Packet& p, OutputEmitter& out) override {
    return out.EmitAt("out", p.timestamp() - Duration::Milliseconds(1), p.Value<int>());
  }
};

class SlowStage : public Stage {
 public:
  explicit SlowStage(std::atomic<int>* processed) : processed_(processed) {}
  StageContract Contract() const override { return {{InputPort<int>("in")}, {}}; }
  Status Process(const std::string&, const Packet&, OutputEmitter&) override {
    std::this_thread::sleep_for(std::chrono::milliseconds(2));
    ++*processed_;
    return Status::Ok();
  }

 private:
  std::atomic<int>* processed_;
};

Packet IntAt(int64_t ms, int v) { return Packet::Make(Timestamp::FromMilliseconds(ms), v); }

struct Collected {
  std::mutex mutex;
  std::vector<std::pair<int64_t, int>> items;
  Pipeline::SinkCallback Callback() {
    return [this](const std::string&, const Packet& p) {
      std::lock_guard lock(mutex);
      items.push_back({p.timestamp().ns, p.Value<int>()});
    };
  }
};

// Tests ---------------------------------------------------------------------------------------

TEST(PipelineTest, ThreeStagesFromConfig) {
  StageRegistry registry;
  ASSERT_TRUE(
      registry.Register("DoubleStage", [] { return std::make_unique<DoubleStage>(); }).ok());
  ASSERT_TRUE(registry.Register("SumStage", [] { return std::make_unique<SumStage>(); }).ok());
  auto config = Config::Parse(R"(
queue_capacity: 4
sources: [numbers]
stages:
  - name: first
    type: DoubleStage
    inputs: {in: numbers}
    outputs: {out: doubled}
  - name: second
    type: DoubleStage
    inputs: {in: doubled}
    outputs: {out: quadrupled}
  - name: sum
    type: SumStage
    inputs: {in: quadrupled}
    outputs: {total: total}
)",
                              "pipeline.yaml");
  ASSERT_TRUE(config.ok()) << config.status().ToString();
  VirtualClock clock;
  MetricsRegistry metrics;
  auto pipeline = Pipeline::FromConfig(*config, registry, &clock, &metrics);
  ASSERT_TRUE(pipeline.ok()) << pipeline.status().ToString();
  Collected quadrupled, total;
  ASSERT_TRUE((*pipeline)->AddSink("quadrupled", quadrupled.Callback()).ok());
  ASSERT_TRUE((*pipeline)->AddSink("total", total.Callback()).ok());
  ASSERT_TRUE((*pipeline)->Start().ok());
  for (int i = 1; i <= 100; ++i) ASSERT_TRUE((*pipeline)->Push("numbers", IntAt(i, i)).ok());
  (*pipeline)->CloseSources();
  ASSERT_TRUE((*pipeline)->Wait().ok());
  ASSERT_EQ(quadrupled.items.size(), 100u);
  for (int i = 1; i <= 100; ++i) {
    EXPECT_EQ(quadrupled.items[i - 1], std::make_pair(i * 1'000'000L, 4 * i));
  }
  ASSERT_EQ(total.items.size(), 1u);
  EXPECT_EQ(total.items[0].second, 4 * 5050);
  EXPECT_EQ(total.items[0].first, 100'000'000);  // Close emits at the last input time
  const std::string exposition = metrics.ExposePrometheus();
  EXPECT_NE(exposition.find("cartsense_stage_packets_total{stage=\"first\"} 100"),
            std::string::npos);
}

TEST(PipelineTest, MergeOrderIsDeterministicWhateverTheThreadsDo) {
  // Two sources; source a goes through a jittery stage, b directly; the merge must see
  // (timestamp, port) order every time.
  std::vector<Seen> expected;
  std::vector<Packet> a_packets, b_packets;
  for (int i = 0; i < 300; ++i) {
    const int64_t t = i * 3;  // a: every 3 ms
    a_packets.push_back(IntAt(t, i));
    expected.push_back({"a", t * 1'000'000, i});
    if (i % 2 == 0) {
      const int64_t tb = i * 3;  // b: same times as some of a's (ties)
      b_packets.push_back(IntAt(tb, 1000 + i));
      expected.push_back({"b", tb * 1'000'000, 1000 + i});
    }
  }
  std::stable_sort(expected.begin(), expected.end(), [](const Seen& x, const Seen& y) {
    return x.t != y.t ? x.t < y.t : x.port < y.port;
  });
  for (unsigned run = 0; run < 5; ++run) {
    std::vector<Seen> seen;
    VirtualClock clock;
    MetricsRegistry metrics;
    Pipeline pipeline(&clock, &metrics);
    ASSERT_TRUE(pipeline.AddSource("a_raw").ok());
    ASSERT_TRUE(pipeline.AddSource("b").ok());
    ASSERT_TRUE(pipeline
                    .AddStage("jitter", std::make_unique<JitterStage>(run), {{"in", "a_raw"}},
                              {{"out", "a"}}, {}, {OverflowPolicy::kBlock, 2})
                    .ok());
    ASSERT_TRUE(
        pipeline
            .AddStage("merge", std::make_unique<MergeRecorder>(&seen), {{"a", "a"}, {"b", "b"}}, {})
            .ok());
    ASSERT_TRUE(pipeline.Start().ok());
    ReplayTimeline timeline(&clock);
    timeline.AddSource("a_raw", std::make_unique<VectorPacketSource>(a_packets));
    timeline.AddSource("b", std::make_unique<VectorPacketSource>(b_packets));
    ASSERT_TRUE(RunReplay(timeline, pipeline).ok());
    ASSERT_TRUE(pipeline.Wait().ok());
    ASSERT_EQ(seen, expected) << "run " << run;
  }
}

TEST(PipelineTest, LateSourcePacketIsRefused) {
  VirtualClock clock;
  MetricsRegistry metrics;
  Pipeline pipeline(&clock, &metrics);
  ASSERT_TRUE(pipeline.AddSource("numbers").ok());
  ASSERT_TRUE(pipeline
                  .AddStage("double", std::make_unique<DoubleStage>(), {{"in", "numbers"}},
                            {{"out", "doubled"}})
                  .ok());
  Collected doubled;
  ASSERT_TRUE(pipeline.AddSink("doubled", doubled.Callback()).ok());
  ASSERT_TRUE(pipeline.Start().ok());
  ASSERT_TRUE(pipeline.Push("numbers", IntAt(10, 1)).ok());
  Status late = pipeline.Push("numbers", IntAt(5, 2));
  EXPECT_EQ(late.code(), StatusCode::kOutOfRange);
  EXPECT_NE(late.message().find("earlier than the last source packet"), std::string::npos);
  ASSERT_TRUE(pipeline.Push("numbers", IntAt(10, 3)).ok());  // equal time is fine
  pipeline.CloseSources();
  ASSERT_TRUE(pipeline.Wait().ok());
  ASSERT_EQ(doubled.items.size(), 2u);
  EXPECT_EQ(doubled.items[1].second, 6);
}

TEST(PipelineTest, BlockPolicyAppliesBackPressure) {
  VirtualClock clock;
  MetricsRegistry metrics;
  Pipeline pipeline(&clock, &metrics);
  std::atomic<int> processed{0};
  ASSERT_TRUE(pipeline.AddSource("in").ok());
  ASSERT_TRUE(pipeline
                  .AddStage("slow", std::make_unique<SlowStage>(&processed), {{"in", "in"}}, {}, {},
                            {OverflowPolicy::kBlock, 3})
                  .ok());
  ASSERT_TRUE(pipeline.Start().ok());
  int max_ahead = 0;
  for (int i = 0; i < 40; ++i) {
    ASSERT_TRUE(pipeline.Push("in", IntAt(i, i)).ok());
    // Once Push returns, at most `capacity` packets wait and one is being processed.
    max_ahead = std::max(max_ahead, (i + 1) - processed.load());
  }
  pipeline.CloseSources();
  ASSERT_TRUE(pipeline.Wait().ok());
  EXPECT_EQ(processed, 40);
  EXPECT_LE(max_ahead, 3 + 1);
  EXPECT_EQ(pipeline.DroppedPackets().at("slow"), 0u);
}

TEST(PipelineTest, DropOldestNeverBlocksAndCountsDrops) {
  VirtualClock clock;
  MetricsRegistry metrics;
  Pipeline pipeline(&clock, &metrics);
  std::atomic<int> processed{0};
  ASSERT_TRUE(pipeline.AddSource("frames").ok());
  ASSERT_TRUE(pipeline
                  .AddStage("slow", std::make_unique<SlowStage>(&processed), {{"in", "frames"}}, {},
                            {}, {OverflowPolicy::kDropOldest, 2})
                  .ok());
  ASSERT_TRUE(pipeline.Start().ok());
  for (int i = 0; i < 200; ++i) ASSERT_TRUE(pipeline.Push("frames", IntAt(i, i)).ok());
  pipeline.CloseSources();
  ASSERT_TRUE(pipeline.Wait().ok());
  const std::size_t dropped = pipeline.DroppedPackets().at("slow");
  EXPECT_GT(dropped, 0u);  // 200 pushes at memory speed against 2 ms per packet
  EXPECT_EQ(static_cast<std::size_t>(processed.load()) + dropped, 200u);
}

TEST(PipelineTest, CleanShutdownClosesEachStageOnceAfterAllInput) {
  VirtualClock clock;
  MetricsRegistry metrics;
  Pipeline pipeline(&clock, &metrics);
  auto sum = std::make_unique<SumStage>();
  SumStage* sum_ptr = sum.get();
  ASSERT_TRUE(pipeline.AddSource("in").ok());
  ASSERT_TRUE(pipeline.AddStage("sum", std::move(sum), {{"in", "in"}}, {{"total", "total"}}).ok());
  Collected total;
  ASSERT_TRUE(pipeline.AddSink("total", total.Callback()).ok());
  ASSERT_TRUE(pipeline.Start().ok());
  for (int i = 0; i < 1000; ++i) ASSERT_TRUE(pipeline.Push("in", IntAt(i, 1)).ok());
  pipeline.CloseSources();
  ASSERT_TRUE(pipeline.Wait().ok());
  EXPECT_EQ(sum_ptr->closes_, 1);
  ASSERT_EQ(total.items.size(), 1u);
  EXPECT_EQ(total.items[0].second, 1000);
}

TEST(PipelineTest, StopAbortsWithoutHanging) {
  VirtualClock clock;
  MetricsRegistry metrics;
  Pipeline pipeline(&clock, &metrics);
  std::atomic<int> processed{0};
  ASSERT_TRUE(pipeline.AddSource("in").ok());
  ASSERT_TRUE(pipeline
                  .AddStage("slow", std::make_unique<SlowStage>(&processed), {{"in", "in"}}, {}, {},
                            {OverflowPolicy::kBlock, 1})
                  .ok());
  ASSERT_TRUE(pipeline.Start().ok());
  std::thread driver([&] {
    for (int i = 0; i < 100000; ++i) {
      if (!pipeline.Push("in", IntAt(i, i)).ok()) break;
    }
  });
  std::this_thread::sleep_for(std::chrono::milliseconds(20));
  pipeline.Stop();
  EXPECT_EQ(pipeline.Wait().code(), StatusCode::kCancelled);
  driver.join();  // a Push blocked on the full queue is released by Stop
  EXPECT_LT(processed, 100000);
}

TEST(PipelineTest, StageErrorStopsWithContextOrIsSkipped) {
  for (StageErrorPolicy policy : {StageErrorPolicy::kStop, StageErrorPolicy::kSkip}) {
    VirtualClock clock;
    MetricsRegistry metrics;
    Pipeline pipeline(&clock, &metrics);
    ASSERT_TRUE(pipeline.AddSource("in").ok());
    StageOptions options;
    options.on_error = policy;
    ASSERT_TRUE(pipeline
                    .AddStage("picky", std::make_unique<FailingStage>(), {{"in", "in"}},
                              {{"out", "out"}}, {}, options)
                    .ok());
    Collected out;
    ASSERT_TRUE(pipeline.AddSink("out", out.Callback()).ok());
    ASSERT_TRUE(pipeline.Start().ok());
    for (int i = 1; i <= 5; ++i) {
      if (!pipeline.Push("in", IntAt(i, i)).ok()) break;
    }
    pipeline.CloseSources();
    Status status = pipeline.Wait();
    if (policy == StageErrorPolicy::kStop) {
      EXPECT_EQ(status.code(), StatusCode::kInvalidArgument);
      EXPECT_EQ(status.message(), "stage 'picky' at 0.003000000s: cannot take 3");
      EXPECT_LE(out.items.size(), 2u);
    } else {
      EXPECT_TRUE(status.ok());
      EXPECT_EQ(out.items.size(), 4u);
      EXPECT_NE(metrics.ExposePrometheus().find("cartsense_stage_errors_total{stage=\"picky\"} 1"),
                std::string::npos);
    }
  }
}

TEST(PipelineTest, EmittingBeforeInputTimeIsAnError) {
  VirtualClock clock;
  MetricsRegistry metrics;
  Pipeline pipeline(&clock, &metrics);
  ASSERT_TRUE(pipeline.AddSource("in").ok());
  ASSERT_TRUE(
      pipeline
          .AddStage("early", std::make_unique<EarlyEmitStage>(), {{"in", "in"}}, {{"out", "out"}})
          .ok());
  ASSERT_TRUE(pipeline.Start().ok());
  ASSERT_TRUE(pipeline.Push("in", IntAt(5, 1)).ok());
  pipeline.CloseSources();
  Status status = pipeline.Wait();
  EXPECT_NE(status.message().find("before its input time"), std::string::npos);
}

TEST(PipelineTest, WiringErrorsAreClear) {
  VirtualClock clock;
  MetricsRegistry metrics;
  StageRegistry registry;
  ASSERT_TRUE(
      registry.Register("DoubleStage", [] { return std::make_unique<DoubleStage>(); }).ok());
  EXPECT_EQ(registry.Register("DoubleStage", [] { return std::make_unique<DoubleStage>(); }).code(),
            StatusCode::kAlreadyExists);

  const auto build = [&](const std::string& yaml) {
    auto config = Config::Parse(yaml, "p.yaml");
    EXPECT_TRUE(config.ok());
    return Pipeline::FromConfig(*config, registry, &clock, &metrics).status();
  };
  EXPECT_NE(build("sources: [a]\nstages:\n  - {name: x, type: Nope, inputs: {in: a}}\n")
                .message()
                .find("unknown stage type 'Nope' (registered: DoubleStage)"),
            std::string::npos);
  EXPECT_NE(build("sources: [a]\nstages:\n  - {name: x, type: DoubleStage}\n")
                .message()
                .find("input port 'in' is not connected"),
            std::string::npos);
  EXPECT_NE(build("sources: [a]\nstages:\n  - {name: x, type: DoubleStage, inputs: {in: zz}}\n")
                .message()
                .find("reads stream 'zz', which no source or earlier stage produces"),
            std::string::npos);
  EXPECT_NE(build("sources: [a]\nstages:\n"
                  "  - {name: x, type: DoubleStage, inputs: {in: a}, outputs: {out: a}}\n")
                .message()
                .find("stream 'a' already has a producer"),
            std::string::npos);
  EXPECT_NE(build("sources: [a]\nstages:\n  - {name: x, type: DoubleStage, inputs: {inn: a}}\n")
                .message()
                .find("has no input port 'inn'"),
            std::string::npos);
  EXPECT_NE(build("sources: [a]\nstages:\n  - {name: x, type: DoubleStage, inputs: {in: a}, "
                  "queue_policy: lifo}\n")
                .message()
                .find("expected one of block, drop_oldest, got 'lifo'"),
            std::string::npos);
  EXPECT_NE(build("stages: []\n").message().find("key 'sources': required"), std::string::npos);

  // Type mismatch: a stream of int into a stage that wants double.
  class DoubleInput : public Stage {
   public:
    StageContract Contract() const override { return {{InputPort<double>("in")}, {}}; }
    Status Process(const std::string&, const Packet&, OutputEmitter&) override {
      return Status::Ok();
    }
  };
  Pipeline pipeline(&clock, &metrics);
  ASSERT_TRUE(pipeline.AddSource("a").ok());
  ASSERT_TRUE(
      pipeline.AddStage("x", std::make_unique<DoubleStage>(), {{"in", "a"}}, {{"out", "ints"}})
          .ok());
  Status mismatch = pipeline.AddStage("y", std::make_unique<DoubleInput>(), {{"in", "ints"}}, {});
  EXPECT_NE(mismatch.message().find("stream 'ints' carries another type"), std::string::npos);
}

TEST(PipelineTest, SourcePacketOfWrongTypeIsRefused) {
  VirtualClock clock;
  MetricsRegistry metrics;
  Pipeline pipeline(&clock, &metrics);
  ASSERT_TRUE(pipeline.AddSource("in").ok());
  ASSERT_TRUE(
      pipeline.AddStage("double", std::make_unique<DoubleStage>(), {{"in", "in"}}, {{"out", "out"}})
          .ok());
  ASSERT_TRUE(pipeline.Start().ok());
  EXPECT_EQ(pipeline.Push("in", Packet::Make(Timestamp{}, std::string("x"))).code(),
            StatusCode::kInvalidArgument);
  EXPECT_EQ(pipeline.Push("nope", IntAt(1, 1)).code(), StatusCode::kNotFound);
  pipeline.CloseSources();
  EXPECT_TRUE(pipeline.Wait().ok());
}

}  // namespace
}  // namespace cartsense
