// Where the command finds the repository's folders (models/, data/) and the cart's data folder.
#pragma once

#include <string>
#include <vector>

#include "core/status.h"

namespace cartsense::app {

// $CARTSENSE_HOME/<name> if set; else <name> under the current folder if it exists; else the
// repository root guessed from the executable (build/<preset>/bin/cartsense); else <name>.
std::string DefaultRepoPath(const std::string& name);

// The repository root as DefaultRepoPath finds it ("" when the command runs inside it):
// simulated sessions store their split path relative to it.
std::string RepoRoot();

// $CARTSENSE_DATA_DIR if set, else ./var.
std::string DefaultDataDir();

// The session folders named on a command line: each folder is a session (it has a
// manifest.json) or holds sessions one level down (taken in name order). An error names a
// missing folder or one that is neither.
Result<std::vector<std::string>> ExpandSessionDirs(const std::vector<std::string>& dirs);

}  // namespace cartsense::app
