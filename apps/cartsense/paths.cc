#include "paths.h"

#include <algorithm>
#include <array>
#include <cstdlib>
#include <filesystem>

#include <unistd.h>

namespace cartsense::app {
namespace {

namespace fs = std::filesystem;

fs::path ExecutableDir() {
  std::array<char, 4096> buffer{};
  const ssize_t n = ::readlink("/proc/self/exe", buffer.data(), buffer.size() - 1);
  if (n <= 0) return {};
  return fs::path(std::string(buffer.data(), static_cast<std::size_t>(n))).parent_path();
}

}  // namespace

std::string DefaultRepoPath(const std::string& name) {
  if (const char* home = std::getenv("CARTSENSE_HOME"); home != nullptr && *home != '\0') {
    return (fs::path(home) / name).string();
  }
  std::error_code error;
  if (fs::exists(name, error)) return name;
  // build/<preset>/bin/cartsense -> repository root three levels up.
  const fs::path exe_dir = ExecutableDir();
  if (!exe_dir.empty()) {
    const fs::path candidate = exe_dir.parent_path().parent_path().parent_path() / name;
    if (fs::exists(candidate, error)) return candidate.string();
  }
  return name;
}

std::string DefaultDataDir() {
  if (const char* dir = std::getenv("CARTSENSE_DATA_DIR"); dir != nullptr && *dir != '\0') {
    return dir;
  }
  return "var";
}

std::string RepoRoot() {
  return fs::path(DefaultRepoPath("data/catalogue")).parent_path().parent_path().string();
}

Result<std::vector<std::string>> ExpandSessionDirs(const std::vector<std::string>& dirs) {
  std::vector<std::string> sessions;
  for (const std::string& dir : dirs) {
    if (!fs::is_directory(dir)) return NotFoundError(dir + ": no such folder");
    if (fs::exists(fs::path(dir) / "manifest.json")) {
      sessions.push_back(dir);
      continue;
    }
    std::vector<std::string> inside;
    for (const fs::directory_entry& entry : fs::directory_iterator(dir)) {
      if (entry.is_directory() && fs::exists(entry.path() / "manifest.json")) {
        inside.push_back(entry.path().string());
      }
    }
    if (inside.empty()) {
      return NotFoundError(dir + ": neither a session (no manifest.json) nor a folder of sessions");
    }
    std::sort(inside.begin(), inside.end());
    sessions.insert(sessions.end(), inside.begin(), inside.end());
  }
  return sessions;
}

}  // namespace cartsense::app
