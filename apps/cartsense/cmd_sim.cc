// `cartsense sim`: simulates a shopping session from real product photos and writes it as a
// session folder with ground truth (src/sim/session_simulator.h, docs/simulator.md).
//
//   cartsense sim --scenario random --items 25 --seed 7 --out /tmp/s7
//       --images data/grocery-store-mini/dev.txt
//   cartsense sim --list-scenarios
#include <chrono>
#include <cstdint>
#include <iomanip>
#include <iostream>
#include <string>

#include "catalog/catalogue.h"
#include "commands.h"
#include "paths.h"
#include "sim/product_images.h"
#include "sim/session_simulator.h"
#include "sim/shopper.h"

namespace cartsense::app {
namespace {

struct SimCommandOptions {
  std::string scenario = "random";
  int items = 10;
  std::string images;
  uint64_t seed = 1;
  std::string out;
  std::string catalogue;
  int jpeg_quality = 55;
  int threads = 2;
  bool list = false;
};

int Fail(const Status& status) {
  std::cerr << "cartsense sim: " << status.ToString() << "\n";
  switch (status.code()) {
    case StatusCode::kNotFound:
    case StatusCode::kUnavailable:
      return kExitUnavailable;
    case StatusCode::kInvalidArgument:
    case StatusCode::kAlreadyExists:
      return kExitUsage;
    default:
      return kExitInternal;
  }
}

int RunSim(const SimCommandOptions& options) {
  if (options.list) {
    for (const sim::ScenarioInfo& info : sim::Scenarios()) {
      std::cout << std::left << std::setw(20) << info.name << info.description << "\n";
    }
    return kExitOk;
  }
  if (options.images.empty() || options.out.empty()) {
    std::cerr << "cartsense sim: --images and --out are required\n";
    return kExitUsage;
  }
  const std::string catalogue_path = options.catalogue.empty()
                                         ? DefaultRepoPath("data/catalogue/grocery-store-81.csv")
                                         : options.catalogue;
  auto catalogue = catalog::Catalogue::Load(catalogue_path);
  if (!catalogue.ok()) return Fail(catalogue.status());
  auto images = sim::ProductImages::Load(options.images);
  if (!images.ok()) return Fail(images.status());

  sim::SimOptions sim_options;
  sim_options.plan.scenario = options.scenario;
  sim_options.plan.items = options.items;
  sim_options.plan.seed = options.seed;
  sim_options.out_dir = options.out;
  sim_options.images_label = options.images;
  sim_options.jpeg_quality = options.jpeg_quality;
  sim_options.threads = options.threads;
  const auto started = std::chrono::steady_clock::now();
  auto summary = sim::SimulateSession(sim_options, *catalogue, *images);
  if (!summary.ok()) return Fail(summary.status());
  const double took_s =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
  std::cout << options.out << ": simulated '" << options.scenario << "', " << options.items
            << " items, seed " << options.seed << "\n"
            << "  session " << std::fixed << std::setprecision(1) << summary->duration_s
            << " s, generated in " << took_s << " s (" << summary->duration_s / took_s
            << "x real time)\n"
            << "  " << summary->basket_frames << " basket frames, " << summary->scanner_frames
            << " scanner frames in " << summary->clips << " clips; " << summary->actions
            << " actions; " << summary->scans << " scans (" << summary->hard_scans << " hard)\n"
            << "  " << std::setprecision(2) << static_cast<double>(summary->bytes) / 1e6 << " MB\n";
  return kExitOk;
}

}  // namespace

void RegisterSimCommands(CLI::App& app, CommandAction& action) {
  auto options = std::make_shared<SimCommandOptions>();
  CLI::App* sim = app.add_subcommand(
      "sim", "Simulate a shopping session from product photos (writes a session with truth)");
  sim->add_flag("--list-scenarios", options->list, "Print the scenarios and exit");
  sim->add_option("--scenario", options->scenario, "Scenario name (see --list-scenarios)")
      ->capture_default_str();
  sim->add_option("--items", options->items, "Products put in the basket")
      ->check(CLI::Range(1, 1000))
      ->capture_default_str();
  sim->add_option("--images", options->images,
                  "Split file of product photos: 'path, fine_id, coarse_id' per line");
  sim->add_option("--seed", options->seed, "Random seed")->capture_default_str();
  sim->add_option("--out", options->out, "Session folder to write (must not exist or be empty)");
  sim->add_option("--catalogue", options->catalogue,
                  "Catalogue CSV (default data/catalogue/grocery-store-81.csv)");
  sim->add_option("--jpeg-quality", options->jpeg_quality, "JPEG quality of the frames")
      ->check(CLI::Range(10, 100))
      ->capture_default_str();
  sim->add_option("--threads", options->threads, "Render threads (1 or 2)")
      ->check(CLI::Range(1, 2))
      ->capture_default_str();
  sim->callback([options, &action] { action.run = [options] { return RunSim(*options); }; });
}

}  // namespace cartsense::app
