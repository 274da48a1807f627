// Helper process for ledger_crash_test: appends the seeded workload to a ledger as fast as it
// can and writes each acknowledged sequence number to stdout ("N\n", one write(2) per ack, no
// buffering), so the parent knows exactly what was acknowledged when it kills this process.
//
//   ledger_writer LEDGER_PATH SEED COUNT [PAUSE_US]
//
// PAUSE_US (default 0) is a pause after each acknowledgement, so that a kill can also land
// between appends rather than, almost always, inside the fsync of one.
//
// Exit status: 0 after COUNT appends, 1 on a ledger error (printed to stderr), 2 on bad usage.
#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <string>

#include <time.h>
#include <unistd.h>

#include "basket/ledger.h"
#include "ledger_workload.h"

int main(int argc, char** argv) {
  using cartsense::basket::Ledger;
  if (argc != 4 && argc != 5) {
    std::fprintf(stderr, "usage: ledger_writer LEDGER_PATH SEED COUNT [PAUSE_US]\n");
    return 2;
  }
  const std::string path = argv[1];
  const uint64_t seed = std::strtoull(argv[2], nullptr, 10);
  const auto count = static_cast<int>(std::strtol(argv[3], nullptr, 10));
  const long pause_us = argc == 5 ? std::strtol(argv[4], nullptr, 10) : 0;
  const timespec pause{pause_us / 1'000'000, (pause_us % 1'000'000) * 1000};
  const auto workload = cartsense::basket::testing::MakeWorkload(seed, count);
  auto ledger = Ledger::Open(path, cartsense::basket::testing::WorkloadSession(seed));
  if (!ledger.ok()) {
    std::fprintf(stderr, "%s\n", ledger.status().ToString().c_str());
    return 1;
  }
  for (const auto& entry : workload) {
    const auto sequence =
        std::visit([&ledger](const auto& value) { return (*ledger)->Append(value); }, entry);
    if (!sequence.ok()) {
      std::fprintf(stderr, "%s\n", sequence.status().ToString().c_str());
      return 1;
    }
    const std::string ack = std::to_string(*sequence) + "\n";
    std::size_t written = 0;
    while (written < ack.size()) {
      const ssize_t n = ::write(STDOUT_FILENO, ack.data() + written, ack.size() - written);
      if (n < 0 && errno == EINTR) continue;
      if (n <= 0) return 1;
      written += static_cast<std::size_t>(n);
    }
    if (pause_us > 0) ::nanosleep(&pause, nullptr);
  }
  return 0;
}
