// cartsense: the cart runtime's one command. `cartsense --help` lists the subcommands.
#include <exception>
#include <iostream>

#include "commands.h"

int main(int argc, char** argv) {
  using namespace cartsense::app;
  CLI::App app{"cartsense: the brain of an AI smart shopping cart"};
  app.require_subcommand(1);
  CommandAction action;
  RegisterInfoCommands(app, action);
  RegisterWeighCommands(app, action);
  RegisterSessionCommands(app, action);
  RegisterSimCommands(app, action);
  RegisterRecordCommands(app, action);
  RegisterBarcodeCommands(app, action);
  RegisterCalibrateCommands(app, action);
  RegisterRecognitionCommands(app, action);
  RegisterChangeCommands(app, action);
  RegisterEvalCommands(app, action);
  RegisterBasketCommands(app, action);
  RegisterEvalVisionCommands(app, action);
  RegisterCropExportCommands(app, action);
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    const int code = app.exit(e);
    return code == 0 ? kExitOk : kExitUsage;
  }
  if (!action.run) return kExitUsage;
  try {
    return action.run();
  } catch (const std::exception& e) {
    std::cerr << "cartsense: internal error: " << e.what() << "\n";
    return kExitInternal;
  }
}
