// Weighing commands (issue 3):
//   cartsense weigh-eval       run the weigh chain against the load-cell physics model
//   cartsense calibrate-scale  two-point calibration from recorded serial lines
//   cartsense weigh-simulate   write simulated serial lines (a calibration or shopping session)
#include <cerrno>
#include <fstream>
#include <iomanip>
#include <iostream>
#include <memory>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "commands.h"
#include "core/config.h"
#include "sensors/scale_calibration.h"
#include "sensors/serial_protocol.h"
#include "sensors/weigh_chain.h"
#include "sim/load_cell_model.h"
#include "sim/weigh_eval.h"

namespace cartsense::app {
namespace {

nlohmann::json ToJson(const sim::WeighEvalResult& r, const sim::WeighEvalOptions& o) {
  nlohmann::json out;
  out["simulation"] = true;
  out["seed"] = o.seed;
  out["sample_rate_hz"] = o.sample_rate_hz;
  out["imu"] = o.imu;
  out["temperature_sensor"] = o.temperature_sensor;
  out["two_point_calibration"] = o.calibrate;
  out["events"] = r.true_events;
  out["detected_events"] = r.detected_events;
  out["matched"] = r.matched;
  out["missed"] = r.missed;
  out["false_positives"] = r.false_positives;
  out["false_positives_during_distractors"] = r.false_positives_during_distractors;
  out["distractors"] = r.distractors;
  out["precision"] = r.precision;
  out["recall"] = r.recall;
  out["within_mpe"] = r.within_mpe;
  out["within_2_sigma"] = r.within_2_sigma;
  out["abs_error_g_p50"] = r.abs_error_g_p50;
  out["abs_error_g_p95"] = r.abs_error_g_p95;
  out["settle_to_event_ms_p50"] = r.settle_to_event_ms_p50;
  out["settle_to_event_ms_p95"] = r.settle_to_event_ms_p95;
  out["cop_error_cm_p50"] = r.cop_error_cm_p50;
  out["cop_error_cm_p95"] = r.cop_error_cm_p95;
  out["matched_above_min_capacity"] = r.matched_above_min;
  out["within_mpe_above_min_capacity"] = r.within_mpe_above_min;
  out["settle_to_event_ms_p50_above_min_capacity"] = r.settle_to_event_ms_p50_above_min;
  out["settle_to_event_ms_p95_above_min_capacity"] = r.settle_to_event_ms_p95_above_min;
  out["degraded_events"] = r.degraded_events;
  out["fail_cell"] = o.fail_cell;
  out["simulated_s"] = r.simulated_s;
  out["samples"] = r.samples;
  out["status_messages"] = r.fault_messages;
  return out;
}

Result<sim::CellFailure::Kind> ParseFailKind(const std::string& kind) {
  if (kind == "stuck") return sim::CellFailure::Kind::kStuck;
  if (kind == "disconnected") return sim::CellFailure::Kind::kDisconnected;
  return InvalidArgumentError("--fail-kind must be stuck or disconnected");
}

int RunCalibrateScale(const std::string& input, double known_mass_g, const std::string& output,
                      const std::string& cart_id, const sensors::ScaleGeometry& geometry) {
  std::ifstream file;
  std::istream* in = &std::cin;
  if (input != "-") {
    file.open(input);
    if (!file) {
      std::cerr << "calibrate-scale: cannot read " << input << "\n";
      return kExitUnavailable;
    }
    in = &file;
  }
  sensors::SerialStreamDecoder decoder;
  std::vector<LoadCellSample> samples;
  std::string line;
  int shown = 0;
  while (std::getline(*in, line)) {
    Result<sensors::SerialRecord> record = decoder.Decode(line);
    if (!record.ok()) {
      if (shown++ < 5)
        std::cerr << "calibrate-scale: skipped " << record.status().message() << "\n";
      continue;
    }
    if (const auto* sample = std::get_if<LoadCellSample>(&record.value())) {
      samples.push_back(*sample);
    }
  }
  if (decoder.bad_lines() > 0) {
    std::cerr << "calibrate-scale: " << decoder.bad_lines() << " of " << decoder.lines()
              << " lines skipped\n";
  }
  if (decoder.bad_lines() * 20 > decoder.lines()) {
    std::cerr << "calibrate-scale: more than 5% of the lines are bad; check the serial link\n";
    return kExitProblemFound;
  }
  sensors::TwoPointOptions options;
  options.known_mass_g = known_mass_g;
  options.geometry = geometry;
  std::string report;
  Result<sensors::ScaleCalibration> calibration =
      sensors::CalibrateTwoPoint(samples, options, &report);
  if (!calibration.ok()) {
    std::cerr << "calibrate-scale: " << calibration.status().message() << "\n";
    return kExitProblemFound;
  }
  calibration->cart_id = cart_id;
  if (Status saved = calibration->SaveFile(output); !saved.ok()) {
    std::cerr << "calibrate-scale: " << saved.message() << "\n";
    return kExitUnavailable;
  }
  std::cout << report << "wrote " << output << " (" << samples.size() << " samples)\n";
  return kExitOk;
}

// One row per true event (kind "true": the truth and, when matched, what the chain said; error_g
// = detected - true, latency_ms = event - physical settle) and per false event (kind "false").
Status WriteEventsCsv(const sim::WeighEvalResult& result, const std::string& path) {
  std::ofstream out(path);
  if (!out) return UnavailableError("cannot write " + path + ": " + ErrnoMessage(errno));
  out << "kind,t_start_s,t_settle_s,true_delta_g,items,x_mm,y_mm,matched,detected_delta_g,"
         "sigma_g,event_s,error_g,latency_ms,during_distractor\n";
  out << std::setprecision(10);
  for (const sim::TrueEventOutcome& o : result.outcomes) {
    out << "true," << o.truth.t_start_s << "," << o.truth.t_settle_s << "," << o.truth.delta_g
        << "," << o.truth.items << "," << o.truth.at.x_mm << "," << o.truth.at.y_mm << ","
        << (o.matched ? 1 : 0) << ",";
    if (o.matched) {
      out << o.detected_delta_g << "," << o.sigma_g << "," << o.event_s << ","
          << o.detected_delta_g - o.truth.delta_g << ","
          << 1000.0 * (o.event_s - o.truth.t_settle_s);
    } else {
      out << ",,,,";
    }
    out << ",\n";
  }
  for (const sim::FalseEventRecord& f : result.false_events) {
    out << "false,,,,,,,0," << f.delta_g << ",," << f.event_s << ",,,"
        << (f.during_distractor ? 1 : 0) << "\n";
  }
  out.close();
  if (!out) return UnavailableError("cannot write " + path + ": " + ErrnoMessage(errno));
  return Status::Ok();
}

}  // namespace

void RegisterWeighCommands(CLI::App& app, CommandAction& action) {
  // --- weigh-eval ------------------------------------------------------------------------------
  struct EvalFlags {
    sim::WeighEvalOptions options;
    bool json = false;
    bool no_imu = false;
    bool no_temperature = false;
    bool exact_calibration = false;
    bool check = false;
    std::string fail_kind = "stuck";
    std::string chain_config;
    std::string events_csv;
  };
  auto eval = std::make_shared<EvalFlags>();
  eval->options.true_events = 5000;
  CLI::App* weigh_eval = app.add_subcommand(
      "weigh-eval",
      "Run the weigh chain against the load-cell physics model (simulation) and print the "
      "figures of issue 3");
  weigh_eval
      ->add_option("--events", eval->options.true_events, "True events (placements and removals)")
      ->check(CLI::Range(1, 10000000));
  weigh_eval->add_option("--seed", eval->options.seed, "Seed of the cart and the session");
  weigh_eval->add_option("--rate", eval->options.sample_rate_hz, "ADC rate, samples/s")
      ->check(CLI::IsMember({80.0, 10.0}));
  weigh_eval->add_flag("--json", eval->json, "Print one JSON object");
  weigh_eval->add_flag("--no-imu", eval->no_imu, "No accelerometer: motion from the signal only");
  weigh_eval->add_flag("--no-temperature", eval->no_temperature, "No temperature sensor");
  weigh_eval->add_flag("--exact-calibration", eval->exact_calibration,
                       "Use the model's exact calibration instead of the two-point routine");
  weigh_eval
      ->add_option("--fail-cell", eval->options.fail_cell, "Fail this cell (0-3) halfway through")
      ->check(CLI::Range(-1, 3));
  weigh_eval->add_option("--fail-kind", eval->fail_kind, "stuck or disconnected");
  weigh_eval->add_option("--chain-config", eval->chain_config,
                         "YAML file of weigh chain parameters (keys of WeighChainParams) instead "
                         "of the defaults for the rate");
  weigh_eval->add_option("--events-csv", eval->events_csv,
                         "Also write every true event and what the chain reported for it, and "
                         "every false event, to this CSV file (for analysis)");
  weigh_eval->add_flag("--check", eval->check,
                       "Exit 1 unless precision, recall >= 0.999, within_mpe >= 0.995, "
                       "settle_to_event_ms_p95 <= 150 (80 samples/s) and cop_error_cm_p95 <= 3");
  weigh_eval->callback([&action, eval] {
    action.run = [eval] {
      sim::WeighEvalOptions options = eval->options;
      options.imu = !eval->no_imu;
      options.temperature_sensor = !eval->no_temperature;
      options.calibrate = !eval->exact_calibration;
      Result<sim::CellFailure::Kind> kind = ParseFailKind(eval->fail_kind);
      if (!kind.ok()) {
        std::cerr << "weigh-eval: " << kind.status().message() << "\n";
        return static_cast<int>(kExitUsage);
      }
      options.fail_kind = *kind;
      if (!eval->chain_config.empty()) {
        Result<Config> config = Config::LoadFile(eval->chain_config);
        Result<sensors::WeighChainParams> params =
            config.ok() ? sensors::WeighChainParams::FromConfig(*config)
                        : Result<sensors::WeighChainParams>(config.status());
        if (!params.ok()) {
          std::cerr << "weigh-eval: " << params.status().message() << "\n";
          return static_cast<int>(kExitUsage);
        }
        options.chain_params = *params;
      }
      Result<sim::WeighEvalResult> result = sim::RunWeighEval(options);
      if (!result.ok()) {
        std::cerr << "weigh-eval: " << result.status().message() << "\n";
        return static_cast<int>(kExitProblemFound);
      }
      if (!eval->events_csv.empty()) {
        const Status written = WriteEventsCsv(*result, eval->events_csv);
        if (!written.ok()) {
          std::cerr << "weigh-eval: " << written.message() << "\n";
          return static_cast<int>(kExitUnavailable);
        }
      }
      const nlohmann::json out = ToJson(*result, options);
      if (eval->json) {
        std::cout << out.dump(2) << "\n";
      } else {
        std::cout << "weigh-eval (simulation), seed " << options.seed << ", "
                  << options.sample_rate_hz << " samples/s\n";
        for (const auto& [key, value] : out.items()) {
          if (key != "status_messages") std::cout << "  " << key << ": " << value.dump() << "\n";
        }
        std::cout << "calibration:\n" << result->calibration_report;
      }
      if (eval->check) {
        const sim::WeighEvalResult& r = *result;
        const bool latency_ok = options.sample_rate_hz != 80 || r.settle_to_event_ms_p95 <= 150;
        const bool ok = r.precision >= 0.999 && r.recall >= 0.999 && r.within_mpe >= 0.995 &&
                        latency_ok && r.cop_error_cm_p95 <= 3.0;
        return static_cast<int>(ok ? kExitOk : kExitProblemFound);
      }
      return static_cast<int>(kExitOk);
    };
  });

  // --- calibrate-scale ---------------------------------------------------------------------------
  struct CalibrateFlags {
    std::string input = "-";
    std::string output;
    std::string cart_id = "cart";
    std::string geometry_from;
    double known_mass_g = 0;
    sensors::ScaleGeometry geometry;
  };
  auto calibrate = std::make_shared<CalibrateFlags>();
  CLI::App* calibrate_scale = app.add_subcommand(
      "calibrate-scale",
      "Two-point load-cell calibration: record the empty basket, then the known mass at rest "
      "(once at the centre, or in two or more spots), as serial lines; writes the calibration "
      "YAML");
  calibrate_scale->add_option("--input", calibrate->input,
                              "Serial protocol lines (file, or - for stdin)");
  calibrate_scale->add_option("--known-mass-g", calibrate->known_mass_g, "The reference mass, g")
      ->required()
      ->check(CLI::PositiveNumber);
  calibrate_scale->add_option("--output", calibrate->output, "Calibration YAML to write")
      ->required();
  calibrate_scale->add_option("--cart-id", calibrate->cart_id, "Cart identifier for the file");
  calibrate_scale
      ->add_option("--cell-spacing-x-mm", calibrate->geometry.cell_spacing_x_mm,
                   "Front-left to front-right cell, mm")
      ->check(CLI::Range(100.0, 2000.0));
  calibrate_scale
      ->add_option("--cell-spacing-y-mm", calibrate->geometry.cell_spacing_y_mm,
                   "Front-left to back-left cell, mm")
      ->check(CLI::Range(100.0, 2000.0));
  calibrate_scale->add_option("--geometry-from", calibrate->geometry_from,
                              "Take the geometry from this existing calibration file");
  calibrate_scale->callback([&action, calibrate] {
    action.run = [calibrate] {
      sensors::ScaleGeometry geometry = calibrate->geometry;
      if (!calibrate->geometry_from.empty()) {
        Result<sensors::ScaleCalibration> previous =
            sensors::ScaleCalibration::LoadFile(calibrate->geometry_from);
        if (!previous.ok()) {
          std::cerr << "calibrate-scale: " << previous.status().message() << "\n";
          return static_cast<int>(kExitUsage);
        }
        geometry = previous->geometry;
      }
      return RunCalibrateScale(calibrate->input, calibrate->known_mass_g, calibrate->output,
                               calibrate->cart_id, geometry);
    };
  });

  // --- weigh-simulate
  // ------------------------------------------------------------------------------
  struct SimulateFlags {
    std::string session = "calibration";
    uint64_t seed = 1;
    double known_mass_g = 2000;
    int events = 20;
    double rate_hz = 80;
    bool centre = false;
  };
  auto simulate = std::make_shared<SimulateFlags>();
  CLI::App* weigh_simulate = app.add_subcommand(
      "weigh-simulate", "Print simulated serial protocol lines from the load-cell physics model");
  weigh_simulate->add_option("--session", simulate->session, "calibration or shopping")
      ->check(CLI::IsMember({"calibration", "shopping"}));
  weigh_simulate->add_option("--seed", simulate->seed, "Seed of the cart and the session");
  weigh_simulate
      ->add_option("--known-mass-g", simulate->known_mass_g,
                   "Calibration session: the reference mass")
      ->check(CLI::PositiveNumber);
  weigh_simulate->add_flag("--centre", simulate->centre,
                           "Calibration session: one placement at the centre (else two spots)");
  weigh_simulate->add_option("--events", simulate->events, "Shopping session: true events")
      ->check(CLI::Range(1, 100000));
  weigh_simulate->add_option("--rate", simulate->rate_hz, "ADC rate, samples/s")
      ->check(CLI::IsMember({80.0, 10.0}));
  weigh_simulate->callback([&action, simulate] {
    action.run = [simulate] {
      const sim::LoadCellModelParams params =
          sim::LoadCellModelParams::RandomCart(simulate->seed, simulate->rate_hz);
      sim::Schedule schedule;
      double end_s = 0;
      if (simulate->session == "calibration") {
        const sensors::ScaleGeometry& g = params.geometry;
        const auto place = [&](double t0, double mass, sensors::PointMm at) {
          sim::LoadChange change;
          change.t0_s = t0;
          change.mass_g = mass;
          change.at = at;
          change.ring_g = 0.1 * mass;
          change.decay_per_s = 15;
          schedule.changes.push_back(change);
        };
        if (simulate->centre) {
          place(3, simulate->known_mass_g, {0, 0});
          end_s = 8;
        } else {
          place(3, simulate->known_mass_g, {-g.cell_spacing_x_mm / 4, -g.cell_spacing_y_mm / 4});
          place(8, -simulate->known_mass_g, {-g.cell_spacing_x_mm / 4, -g.cell_spacing_y_mm / 4});
          place(11, simulate->known_mass_g, {g.cell_spacing_x_mm / 4, -g.cell_spacing_y_mm / 4});
          end_s = 16;
        }
      } else {
        sim::WeighScenarioOptions options;
        options.true_events = simulate->events;
        sim::WeighScenario scenario = sim::GenerateWeighScenario(options, params, simulate->seed);
        schedule = scenario.schedule;
        end_s = scenario.end_s;
      }
      std::cout << "# cartsense weigh-simulate (simulation), session " << simulate->session
                << ", seed " << simulate->seed << "\n";
      sim::LoadCellModel model(params, simulate->seed ^ 0x51a7ULL);
      model.Run(
          schedule, end_s,
          [](const LoadCellSample& s) { std::cout << sensors::FormatLoadCellLine(s) << "\n"; },
          [](const ImuSample& s) { std::cout << sensors::FormatImuLine(s) << "\n"; });
      return static_cast<int>(kExitOk);
    };
  });
}

}  // namespace cartsense::app
