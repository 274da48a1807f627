#include "paths.h"

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

}  // namespace cartsense::app
