// Basket ledger (issue 8): how fast durable appends are with synchronous=FULL (one WAL fsync per
// append), beside the floor any durable log pays on the same disk: write(2) + fdatasync(2) of a
// record-sized buffer to a plain file. Also the in-memory fold and the reopen (integrity check,
// chain check, replay) of a 1000-record ledger, which is what a restart after a crash costs.
//
//   build/h-basket-rel/bin/bench_ledger [--benchmark_filter=...]
//
// The files go to $CARTSENSE_BENCH_DIR, or the system temporary folder; the label names it, since
// the figures are the disk's as much as the code's.
#include <cstdlib>
#include <filesystem>
#include <string>
#include <vector>

#include <benchmark/benchmark.h>
#include <fcntl.h>
#include <unistd.h>

#include "basket/basket.h"
#include "basket/ledger.h"

namespace cartsense::basket {
namespace {

namespace fs = std::filesystem;

fs::path BenchDir(const std::string& name) {
  const char* configured = std::getenv("CARTSENSE_BENCH_DIR");  // NOLINT(concurrency-mt-unsafe)
  const fs::path root = configured != nullptr ? fs::path(configured) : fs::temp_directory_path();
  fs::path dir = root / ("cartsense_bench_ledger_" + name + "_" + std::to_string(::getpid()));
  fs::remove_all(dir);
  fs::create_directories(dir);
  return dir;
}

// Adds and removes in turn, so the basket stays small and every action applies.
BasketAction MilkAction(int64_t index) {
  BasketAction action;
  action.kind = index % 2 == 0 ? BasketActionKind::kAdd : BasketActionKind::kRemove;
  action.product_id = "arla-standard-milk";
  action.quantity = 1;
  action.unit_price_minor = 1590;
  action.probability = 0.98;
  action.evidence_ids = {"scan:" + std::to_string(index), "weight:" + std::to_string(index)};
  action.event_time = Timestamp::FromMilliseconds(index * 1000);
  return action;
}

void BM_LedgerAppendSyncFull(benchmark::State& state) {
  const fs::path dir = BenchDir("append");
  {
    auto ledger = Ledger::Open((dir / "ledger.sqlite").string(), {"bench", "none", "SEK"});
    if (!ledger.ok()) {
      state.SkipWithError(ledger.status().ToString().c_str());
      return;
    }
    int64_t index = 0;
    for (auto _ : state) {  // NOLINT(clang-analyzer-deadcode.DeadStores): the benchmark loop
      auto sequence = (*ledger)->Append(MilkAction(index++));
      if (!sequence.ok()) {
        state.SkipWithError(sequence.status().ToString().c_str());
        break;
      }
      benchmark::DoNotOptimize(*sequence);
    }
    state.SetItemsProcessed(index);
  }
  state.SetLabel(dir.parent_path().string());
  fs::remove_all(dir);
}
BENCHMARK(BM_LedgerAppendSyncFull)->UseRealTime()->MinTime(3.0);

// The floor: one write(2) of a ledger row's size and one fdatasync(2) per record.
void BM_PlainFileWriteFdatasync(benchmark::State& state) {
  const fs::path dir = BenchDir("floor");
  const std::string path = (dir / "log.bin").string();
  const int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
  if (fd < 0) {
    state.SkipWithError("cannot open the log file");
    return;
  }
  const std::string record(200, 'r');  // about one ledger row with its chain hash
  int64_t count = 0;
  for (auto _ : state) {  // NOLINT(clang-analyzer-deadcode.DeadStores): the benchmark loop
    if (::write(fd, record.data(), record.size()) != static_cast<ssize_t>(record.size()) ||
        ::fdatasync(fd) != 0) {
      state.SkipWithError("write or fdatasync failed");
      break;
    }
    ++count;
  }
  ::close(fd);
  state.SetItemsProcessed(count);
  state.SetLabel(dir.parent_path().string());
  fs::remove_all(dir);
}
BENCHMARK(BM_PlainFileWriteFdatasync)->UseRealTime()->MinTime(3.0);

void BM_BasketFold1000(benchmark::State& state) {
  std::vector<BasketAction> actions;
  for (int64_t i = 0; i < 1000; ++i) actions.push_back(MilkAction(i));
  for (auto _ : state) {  // NOLINT(clang-analyzer-deadcode.DeadStores): the benchmark loop
    Basket basket;
    for (const BasketAction& action : actions) {
      if (!basket.Apply(action).ok()) state.SkipWithError("fold failed");
    }
    benchmark::DoNotOptimize(basket.total_minor());
  }
  state.SetItemsProcessed(state.iterations() * 1000);
}
BENCHMARK(BM_BasketFold1000);

// Reopen = SQLite integrity check + schema and session checks + chain check + fold.
void BM_LedgerReopen1000(benchmark::State& state) {
  const fs::path dir = BenchDir("reopen");
  const std::string path = (dir / "ledger.sqlite").string();
  {
    auto ledger = Ledger::Open(path, {"bench", "none", "SEK"});
    if (!ledger.ok()) {
      state.SkipWithError(ledger.status().ToString().c_str());
      return;
    }
    for (int64_t i = 0; i < 1000; ++i) {
      if (!(*ledger)->Append(MilkAction(i)).ok()) {
        state.SkipWithError("append failed");
        return;
      }
    }
  }
  for (auto _ : state) {  // NOLINT(clang-analyzer-deadcode.DeadStores): the benchmark loop
    auto ledger = Ledger::OpenExisting(path);
    if (!ledger.ok() || (*ledger)->records().size() != 1000) {
      state.SkipWithError("reopen failed");
      break;
    }
  }
  state.SetItemsProcessed(state.iterations() * 1000);
  fs::remove_all(dir);
}
BENCHMARK(BM_LedgerReopen1000)->UseRealTime()->Unit(benchmark::kMillisecond);

}  // namespace
}  // namespace cartsense::basket
