// `cartsense record --config cart.yaml --out DIR`: records the cart's live sensors (cameras
// through V4L2, load cells through the serial line protocol) into a session folder. Stops on
// Ctrl-C / SIGTERM, after --duration-s, or when the load-cell bridge goes away; the session is
// finished (manifest written last) in every case.
#include <csignal>
#include <iostream>
#include <memory>
#include <string>
#include <thread>

#include <nlohmann/json.hpp>

#include "commands.h"
#include "core/time.h"
#include "service/recorder.h"

namespace cartsense::app {
namespace {

volatile std::sig_atomic_t g_stop_requested = 0;
extern "C" void RequestStop(int /*signal*/) { g_stop_requested = 1; }

struct RecordOptions {
  std::string config_path;
  std::string out_dir;
  double duration_s = 0;
  bool json = false;
};

int RunRecord(const RecordOptions& options) {
  auto config = service::LoadRecorderConfig(options.config_path);
  if (!config.ok()) {
    std::cerr << "cartsense record: " << config.status().ToString() << "\n";
    return kExitUsage;
  }
  std::signal(SIGINT, RequestStop);
  std::signal(SIGTERM, RequestStop);
  auto recorder = service::Recorder::Start(*config, options.out_dir);
  if (!recorder.ok()) {
    std::cerr << "cartsense record: " << recorder.status().ToString() << "\n";
    return kExitUnavailable;
  }
  std::cerr << "recording into " << options.out_dir << " (Ctrl-C to stop)\n";
  const MonotonicClock clock;
  const Timestamp start = clock.Now();
  while ((*recorder)->running() && g_stop_requested == 0 &&
         (options.duration_s <= 0 || (clock.Now() - start).seconds() < options.duration_s)) {
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  auto summary = (*recorder)->Finish();
  if (!summary.ok()) {
    std::cerr << "cartsense record: " << summary.status().ToString() << "\n";
    return kExitUnavailable;
  }
  nlohmann::json report = {{"session", options.out_dir},
                           {"load_cell_samples", summary->load_cell_samples},
                           {"imu_samples", summary->imu_samples},
                           {"frames", summary->frames},
                           {"bad_serial_lines", summary->bad_serial_lines},
                           {"problems", summary->problems}};
  if (options.json) {
    std::cout << report.dump(2) << "\n";
  } else {
    std::cout << "recorded " << summary->load_cell_samples << " load-cell samples, "
              << summary->imu_samples << " accelerometer samples";
    for (const auto& [camera, frames] : summary->frames) {
      std::cout << ", " << frames << " frames from " << camera;
    }
    std::cout << " into " << options.out_dir << "\n";
    for (const std::string& problem : summary->problems)
      std::cout << "  problem: " << problem << "\n";
  }
  return kExitOk;
}

}  // namespace

void RegisterRecordCommands(CLI::App& app, CommandAction& action) {
  auto options = std::make_shared<RecordOptions>();
  CLI::App* record =
      app.add_subcommand("record", "Record the cart's live sensors into a session folder");
  record->add_option("--config", options->config_path, "Cart configuration (cart.yaml)")
      ->required();
  record->add_option("--out", options->out_dir, "New session folder (must not exist)")->required();
  record
      ->add_option("--duration-s", options->duration_s,
                   "Stop after this many seconds (default: until Ctrl-C or the bridge stops)")
      ->check(CLI::Range(0.0, 86400.0));
  record->add_flag("--json", options->json, "Print the summary as one JSON object");
  record->callback([&action, options] { action.run = [options] { return RunRecord(*options); }; });
}

}  // namespace cartsense::app
