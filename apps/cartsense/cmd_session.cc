// `cartsense replay SESSION`: validates a session folder, or feeds its streams through a replay
// timeline (as fast as possible on a virtual clock, or paced at --speed) and summarises what was
// replayed. The order digest identifies the exact evidence order: the same session gives the
// same digest every time.
#include <iostream>
#include <map>
#include <memory>
#include <string>

#include <nlohmann/json.hpp>

#include "commands.h"
#include "core/checksum.h"
#include "core/timeline.h"
#include "session/session_reader.h"

namespace cartsense::app {
namespace {

struct ReplayOptions {
  std::string session_dir;
  bool validate_only = false;
  bool json = false;
  bool decode_images = false;
  double speed = 0.0;
};

int ReportError(const Status& status, bool json) {
  if (json) {
    std::cout << nlohmann::json{{"ok", false}, {"error", status.ToString()}}.dump(2) << "\n";
  }
  std::cerr << "cartsense replay: " << status.ToString() << "\n";
  return status.code() == StatusCode::kNotFound ? kExitUnavailable : kExitProblemFound;
}

int RunReplay(const ReplayOptions& options) {
  auto reader = session::SessionReader::Open(options.session_dir);
  if (!reader.ok()) return ReportError(reader.status(), options.json);
  if (options.validate_only) {
    auto summaries = reader->Validate();
    if (!summaries.ok()) return ReportError(summaries.status(), options.json);
    nlohmann::json streams = nlohmann::json::object();
    for (const auto& summary : *summaries) streams[summary.stream] = summary.packets;
    if (options.json) {
      std::cout << nlohmann::json{{"ok", true},
                                  {"session_id", reader->manifest().session_id},
                                  {"files", reader->manifest().files.size()},
                                  {"streams", streams}}
                       .dump(2)
                << "\n";
    } else {
      std::cout << options.session_dir << ": valid session '" << reader->manifest().session_id
                << "', " << reader->manifest().files.size() << " files verified\n";
      for (const auto& summary : *summaries) {
        std::cout << "  " << summary.stream << ": " << summary.packets << "\n";
      }
    }
    return kExitOk;
  }

  VirtualClock clock;
  ReplayTimeline timeline(&clock, options.speed);
  if (Status added = reader->AddAllSources(timeline, options.decode_images); !added.ok()) {
    return ReportError(added, options.json);
  }
  std::map<std::string, int64_t> counts;
  std::string order;  // "stream@t_ns\n" for every packet, hashed below
  Timestamp first = Timestamp::Max();
  Timestamp last = Timestamp::Min();
  while (true) {
    auto next = timeline.Next();
    if (!next.ok()) return ReportError(next.status(), options.json);
    if (!*next) break;
    const TimedPacket& packet = **next;
    ++counts[packet.stream];
    first = std::min(first, packet.packet.timestamp());
    last = std::max(last, packet.packet.timestamp());
    order += packet.stream + "@" + std::to_string(packet.packet.timestamp().ns) + "\n";
  }
  const std::string digest = Sha256Hex(order);
  const double duration_s = counts.empty() ? 0.0 : (last - first).seconds();
  if (options.json) {
    std::cout << nlohmann::json{{"ok", true},
                                {"session_id", reader->manifest().session_id},
                                {"duration_s", duration_s},
                                {"packets", counts},
                                {"order_sha256", digest}}
                     .dump(2)
              << "\n";
  } else {
    std::cout << "replayed '" << reader->manifest().session_id << "': " << duration_s
              << " s of session time\n";
    for (const auto& [stream, count] : counts) std::cout << "  " << stream << ": " << count << "\n";
    std::cout << "order sha256: " << digest << "\n";
  }
  return kExitOk;
}

}  // namespace

void RegisterSessionCommands(CLI::App& app, CommandAction& action) {
  auto options = std::make_shared<ReplayOptions>();
  CLI::App* replay = app.add_subcommand(
      "replay", "Replay a recorded or simulated session, or check it with --validate");
  replay->add_option("session", options->session_dir, "Session folder")->required();
  replay->add_flag("--validate", options->validate_only,
                   "Only check the session: manifest, sha256 of every file, every line of every "
                   "stream. Exit 1 naming the damaged file");
  replay->add_flag("--json", options->json, "Print one JSON object");
  replay->add_flag("--decode-images", options->decode_images,
                   "Decode every camera frame while replaying (slower; checks the JPEGs)");
  replay
      ->add_option("--speed", options->speed,
                   "0 = as fast as possible on a virtual clock (default); 1 = real time")
      ->check(CLI::Range(0.0, 1000.0));
  replay->callback([&action, options] { action.run = [options] { return RunReplay(*options); }; });
}

}  // namespace cartsense::app
