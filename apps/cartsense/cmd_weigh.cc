// weigh-eval and calibrate-scale: see issue 3. Registered here; implemented by the weighing layer.
#include "commands.h"

namespace cartsense::app {

void RegisterWeighCommands(CLI::App& /*app*/, CommandAction& /*action*/) {}

}  // namespace cartsense::app
