// Runs a shell command from a test and captures what it prints, for the tests that check the
// `cartsense` command's output and exit codes. Test executables get CARTSENSE_BINARY_DIR from
// cartsense_add_test (tests/CMakeLists.txt).
#pragma once

#include <array>
#include <cstdio>
#include <string>

#include <sys/wait.h>

namespace cartsense::test_support {

struct RunResult {
  int exit_code = -1;  // -1 when the command could not be started or did not exit normally
  std::string out;     // standard output; standard error is discarded
};

inline RunResult RunCommand(const std::string& command) {
  RunResult result;
  FILE* pipe = ::popen((command + " 2>/dev/null").c_str(), "r");
  if (pipe == nullptr) return result;
  std::array<char, 4096> buffer{};
  std::size_t n = 0;
  while ((n = std::fread(buffer.data(), 1, buffer.size(), pipe)) > 0) {
    result.out.append(buffer.data(), n);
  }
  const int status = ::pclose(pipe);
  result.exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  return result;
}

// Runs the `cartsense` program of this build with `arguments`.
inline RunResult RunCartsense(const std::string& arguments) {
  return RunCommand(std::string(CARTSENSE_BINARY_DIR) + "/bin/cartsense " + arguments);
}

}  // namespace cartsense::test_support
