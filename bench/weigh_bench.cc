// Weigh chain throughput (issue 3). Samples come from the load-cell physics model (a seeded
// shopping session: placements, removals, pushes, hand contacts), made once before timing.
//
//   build/release/bin/bench_weigh --benchmark_repetitions=5 --benchmark_report_aggregates_only
#include <string>
#include <vector>

#include <benchmark/benchmark.h>

#include "sensors/serial_protocol.h"
#include "sensors/weigh_chain.h"
#include "sim/load_cell_model.h"
#include "sim/weigh_eval.h"

namespace {

using namespace cartsense;

struct Stream {
  std::vector<LoadCellSample> samples;
  std::vector<std::string> lines;
  sensors::ScaleCalibration calibration;
};

const Stream& SimulatedStream() {
  static const Stream stream = [] {
    Stream s;
    const sim::LoadCellModelParams params = sim::LoadCellModelParams::RandomCart(1, 80);
    sim::WeighScenarioOptions options;
    options.true_events = 100;  // about 4 minutes, ~20 000 samples
    const sim::WeighScenario scenario = sim::GenerateWeighScenario(options, params, 1);
    sim::LoadCellModel model(params, 2);
    s.calibration = model.TrueCalibration();
    model.Run(scenario.schedule, scenario.end_s,
              [&](const LoadCellSample& sample) {
                s.samples.push_back(sample);
                s.lines.push_back(sensors::FormatLoadCellLine(sample));
              },
              {});
    return s;
  }();
  return stream;
}

// The whole chain, one sample at a time, as the stage runs it.
void BM_WeighChain(benchmark::State& state) {
  const Stream& stream = SimulatedStream();
  int64_t events = 0;
  for (auto _ : state) {
    auto chain = sensors::WeighChain::Create(sensors::WeighChainParams{}, stream.calibration);
    for (const LoadCellSample& sample : stream.samples) {
      const sensors::WeighOutput out = chain->ProcessSample(sample);
      events += out.event.has_value() ? 1 : 0;
    }
    benchmark::DoNotOptimize(events);
  }
  state.SetItemsProcessed(state.iterations() * static_cast<int64_t>(stream.samples.size()));
}
BENCHMARK(BM_WeighChain)->Unit(benchmark::kMillisecond);

// The serial line parser alone (one line per sample).
void BM_ParseSerialLine(benchmark::State& state) {
  const Stream& stream = SimulatedStream();
  for (auto _ : state) {
    for (const std::string& line : stream.lines) {
      auto record = sensors::ParseSerialLine(line);
      benchmark::DoNotOptimize(record);
    }
  }
  state.SetItemsProcessed(state.iterations() * static_cast<int64_t>(stream.lines.size()));
}
BENCHMARK(BM_ParseSerialLine)->Unit(benchmark::kMillisecond);

// Floor: counts to grams and a sum, nothing else (what a bare scale does per sample).
void BM_CountsToGramsFloor(benchmark::State& state) {
  const Stream& stream = SimulatedStream();
  for (auto _ : state) {
    double total = 0;
    for (const LoadCellSample& sample : stream.samples) {
      for (int c = 0; c < sensors::kCellCount; ++c) {
        total += stream.calibration.CellGrams(c, sample.raw_counts[static_cast<std::size_t>(c)],
                                              nullptr);
      }
    }
    benchmark::DoNotOptimize(total);
  }
  state.SetItemsProcessed(state.iterations() * static_cast<int64_t>(stream.samples.size()));
}
BENCHMARK(BM_CountsToGramsFloor)->Unit(benchmark::kMillisecond);

}  // namespace
