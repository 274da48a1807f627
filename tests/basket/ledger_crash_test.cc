// kill -9 in the middle of a session: a writer process (ledger_writer_main.cc) appends a seeded
// workload as fast as it can and reports each acknowledged sequence number through a pipe; the
// test kills it with SIGKILL at a seeded moment, reopens the ledger and checks that it holds
// exactly the acknowledged records and that the basket is their fold.
//
// What "exactly" allows: an append can be durable before its acknowledgement reaches the pipe
// (killed between the commit and the write(2)), so the ledger holds the acknowledged records
// plus at most the one in flight, whole, never a part of it and never one fewer.
#include <array>
#include <cerrno>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <filesystem>
#include <random>
#include <string>
#include <variant>
#include <vector>

#include <gtest/gtest.h>
#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "basket/ledger.h"
#include "ledger_workload.h"

extern char** environ;  // NOLINT(readability-redundant-declaration): POSIX, for posix_spawn

namespace cartsense::basket {
namespace {

namespace fs = std::filesystem;

constexpr int kWorkloadSize = 100'000;  // more than the writer reaches before it is killed

struct Writer {
  pid_t pid = -1;
  int ack_fd = -1;
};

Writer SpawnWriter(const std::string& ledger_path, uint64_t seed, int pause_us) {
  std::array<int, 2> pipe_fds{};
  EXPECT_EQ(::pipe(pipe_fds.data()), 0);
  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  posix_spawn_file_actions_adddup2(&actions, pipe_fds[1], STDOUT_FILENO);
  posix_spawn_file_actions_addclose(&actions, pipe_fds[0]);
  posix_spawn_file_actions_addclose(&actions, pipe_fds[1]);
  const std::string writer = CARTSENSE_LEDGER_WRITER;
  const std::string seed_text = std::to_string(seed);
  const std::string count_text = std::to_string(kWorkloadSize);
  const std::string pause_text = std::to_string(pause_us);
  std::vector<char*> argv = {
      const_cast<char*>(writer.c_str()),     const_cast<char*>(ledger_path.c_str()),
      const_cast<char*>(seed_text.c_str()),  const_cast<char*>(count_text.c_str()),
      const_cast<char*>(pause_text.c_str()), nullptr};
  Writer spawned;
  const int result =
      ::posix_spawn(&spawned.pid, writer.c_str(), &actions, nullptr, argv.data(), environ);
  posix_spawn_file_actions_destroy(&actions);
  ::close(pipe_fds[1]);
  EXPECT_EQ(result, 0) << "posix_spawn " << writer << ": " << ErrnoMessage(result);
  spawned.ack_fd = pipe_fds[0];
  return spawned;
}

// Reads "N\n" acknowledgements until at least `stop_after` have arrived (0: until end of file);
// a read may bring more. Appends to `acks`; keeps a partial line in `pending`.
void ReadAcks(int fd, std::size_t stop_after, std::vector<int64_t>& acks, std::string& pending) {
  std::array<char, 4096> buffer{};
  while (stop_after == 0 || acks.size() < stop_after) {
    const ssize_t n = ::read(fd, buffer.data(), buffer.size());
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return;
    for (ssize_t i = 0; i < n; ++i) {
      const char c = buffer[static_cast<std::size_t>(i)];
      if (c == '\n') {
        acks.push_back(std::stoll(pending));
        pending.clear();
      } else {
        pending += c;
      }
    }
  }
}

void CheckReopened(const std::string& path, uint64_t seed, int64_t acknowledged,
                   std::size_t kill_after_acks, int extra_delay_us, int pause_us);

class LedgerCrashTest : public ::testing::TestWithParam<uint64_t> {};

TEST_P(LedgerCrashTest, ReopenAfterSigkillHoldsExactlyTheAcknowledgedRecords) {
  const uint64_t seed = GetParam();
  std::mt19937_64 random(seed * 7919 + 1);
  // Kill after this many acknowledgements, plus a delay that lands the signal anywhere inside an
  // append (encoding, the SQLite write, the fsync, the ack).
  const auto kill_after_acks =
      static_cast<std::size_t>(std::uniform_int_distribution<int>(1, 250)(random));
  const auto extra_delay_us = std::uniform_int_distribution<int>(0, 3'000)(random);
  // Odd seeds append flat out: nearly every kill lands inside an append's fsync, after SQLite
  // wrote the record, so the record in flight survives. Even seeds pause 3 ms after each
  // acknowledgement, so kills also land between appends, where nothing is in flight.
  const int pause_us = seed % 2 == 0 ? 3'000 : 0;

  const fs::path dir =
      fs::temp_directory_path() /
      ("cartsense_ledger_crash_" + std::to_string(::getpid()) + "_" + std::to_string(seed));
  fs::remove_all(dir);
  fs::create_directories(dir);
  const std::string path = (dir / "ledger.sqlite").string();

  Writer writer = SpawnWriter(path, seed, pause_us);
  ASSERT_GT(writer.pid, 0);
  std::vector<int64_t> acks;
  std::string pending;
  ReadAcks(writer.ack_fd, kill_after_acks, acks, pending);
  // One read can bring several acknowledgements (a writer that appends flat out), so more than
  // kill_after_acks may have arrived; fewer means the writer stopped.
  ASSERT_GE(acks.size(), kill_after_acks) << "the writer stopped early (see its stderr)";
  const timespec delay{0, static_cast<long>(extra_delay_us) * 1000};
  ::nanosleep(&delay, nullptr);
  ASSERT_EQ(::kill(writer.pid, SIGKILL), 0);
  ReadAcks(writer.ack_fd, 0, acks, pending);  // what was written before it died
  ::close(writer.ack_fd);
  int wait_status = 0;
  ASSERT_EQ(::waitpid(writer.pid, &wait_status, 0), writer.pid);
  ASSERT_TRUE(WIFSIGNALED(wait_status) && WTERMSIG(wait_status) == SIGKILL)
      << "the writer was not killed by SIGKILL (status " << wait_status << ")";

  for (std::size_t i = 0; i < acks.size(); ++i) ASSERT_EQ(acks[i], static_cast<int64_t>(i) + 1);
  const int64_t acknowledged = acks.back();

  CheckReopened(path, seed, acknowledged, kill_after_acks, extra_delay_us, pause_us);
  fs::remove_all(dir);
}

void CheckReopened(const std::string& path, uint64_t seed, int64_t acknowledged,
                   std::size_t kill_after_acks, int extra_delay_us, int pause_us) {
  auto reopened = Ledger::Open(path, testing::WorkloadSession(seed));
  ASSERT_TRUE(reopened.ok()) << reopened.status().ToString();
  Ledger& ledger = **reopened;
  const int64_t durable = ledger.last_sequence();
  EXPECT_GE(durable, acknowledged) << "an acknowledged record was lost";
  EXPECT_LE(durable, acknowledged + 1) << "more than the one append in flight is in the ledger";

  // The records are the workload's first `durable` entries, whole, and the basket their fold.
  const std::vector<LedgerEntry> workload =
      testing::MakeWorkload(seed, static_cast<int>(durable) + 1);
  ASSERT_EQ(ledger.records().size(), static_cast<std::size_t>(durable));
  Basket expected;
  for (int64_t i = 0; i < durable; ++i) {
    const auto index = static_cast<std::size_t>(i);
    EXPECT_EQ(ledger.records()[index].sequence, i + 1);
    EXPECT_TRUE(ledger.records()[index].entry == workload[index]) << "record " << i + 1;
    if (const auto* action = std::get_if<BasketAction>(&workload[index])) {
      ASSERT_TRUE(expected.Apply(*action).ok());
    }
  }
  EXPECT_EQ(ledger.basket(), expected);
  EXPECT_EQ(ledger.basket().total_minor(), expected.total_minor());

  // The session goes on after the restart.
  const auto next = std::visit([&ledger](const auto& value) { return ledger.Append(value); },
                               workload[static_cast<std::size_t>(durable)]);
  ASSERT_TRUE(next.ok()) << next.status().ToString();
  EXPECT_EQ(*next, durable + 1);

  std::printf(
      "seed %llu (writer pause %d us): killed after %zu acks + %d us; %lld acknowledged, %lld "
      "durable, basket %zu lines, total %lld\n",
      static_cast<unsigned long long>(seed), pause_us, kill_after_acks, extra_delay_us,
      static_cast<long long>(acknowledged), static_cast<long long>(durable),
      expected.lines().size(), static_cast<long long>(expected.total_minor()));
}

INSTANTIATE_TEST_SUITE_P(Seeds, LedgerCrashTest, ::testing::Values(1, 2, 3, 4, 5, 6, 7, 8));

}  // namespace
}  // namespace cartsense::basket
