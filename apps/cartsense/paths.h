// Where the command finds the repository's folders (models/, data/) and the cart's data folder.
#pragma once

#include <string>

#include "core/status.h"

namespace cartsense::app {

// $CARTSENSE_HOME/<name> if set; else <name> under the current folder if it exists; else the
// repository root guessed from the executable (build/<preset>/bin/cartsense); else <name>.
std::string DefaultRepoPath(const std::string& name);

// $CARTSENSE_DATA_DIR if set, else ./var.
std::string DefaultDataDir();

}  // namespace cartsense::app
