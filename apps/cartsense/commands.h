// Each subcommand family registers itself on the root CLI11 app. main.cc calls every
// Register*Commands function explicitly (no static registration a linker could drop).
//
// Exit codes of every subcommand (documented in README.md):
//   0  success
//   1  the command ran and found a problem (a failed check, a damaged file, a goal not met)
//   2  bad command line or configuration
//   3  a needed file, device or model could not be used
//   4  internal error
#pragma once

#include <functional>

#include <CLI/CLI.hpp>

namespace cartsense::app {

enum ExitCode : int {
  kExitOk = 0,
  kExitProblemFound = 1,
  kExitUsage = 2,
  kExitUnavailable = 3,
  kExitInternal = 4,
};

// A subcommand sets its action here; main runs the one the user chose and returns its code.
struct CommandAction {
  std::function<int()> run;
};

void RegisterInfoCommands(CLI::App& app, CommandAction& action);     // version, doctor
void RegisterWeighCommands(CLI::App& app, CommandAction& action);    // weigh-eval, calibrate-scale
void RegisterSessionCommands(CLI::App& app, CommandAction& action);  // replay
void RegisterSimCommands(CLI::App& app, CommandAction& action);      // sim
void RegisterRecordCommands(CLI::App& app, CommandAction& action);   // record
void RegisterBarcodeCommands(CLI::App& app, CommandAction& action);  // read-barcodes
// calibrate-cameras
void RegisterCalibrateCommands(CLI::App& app, CommandAction& action);
// recognize, enroll, eval-recognition
void RegisterRecognitionCommands(CLI::App& app, CommandAction& action);
void RegisterChangeCommands(CLI::App& app, CommandAction& action);  // eval-changes
void RegisterEvalCommands(CLI::App& app, CommandAction& action);    // eval
void RegisterBasketCommands(CLI::App& app, CommandAction& action);  // basket
// eval-vision
void RegisterEvalVisionCommands(CLI::App& app, CommandAction& action);
// export-crops
void RegisterCropExportCommands(CLI::App& app, CommandAction& action);

}  // namespace cartsense::app
