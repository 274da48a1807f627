// `cartsense version` and `cartsense doctor`: what is installed, and whether it works.
#include <algorithm>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <string>
#include <thread>
#include <vector>

#include <CLI/Version.hpp>
#include <nlohmann/json.hpp>
#include <opencv2/core/utility.hpp>
#include <opencv2/core/version.hpp>
#include <sodium.h>
#include <spdlog/version.h>
#include <sqlite3.h>
#include <sys/statvfs.h>
#include <unistd.h>

#include "commands.h"
#include "core/checksum.h"
#include "paths.h"
#include "vision/model_bundle.h"

namespace cartsense::app {
namespace {

namespace fs = std::filesystem;

struct Check {
  std::string name;
  bool ok;
  std::string detail;
};

std::vector<Check> LibraryChecks() {
  std::vector<Check> checks;
  const std::string opencv_runtime = cv::getVersionString();
  checks.push_back({"library.opencv", opencv_runtime == CV_VERSION,
                    "runtime " + opencv_runtime + ", built against " + CV_VERSION});
  const std::string sqlite_runtime = sqlite3_libversion();
  checks.push_back(
      {"library.sqlite3",
       sqlite3_libversion_number() >= SQLITE_VERSION_NUMBER && sqlite3_threadsafe() != 0,
       "runtime " + sqlite_runtime + ", built against " + SQLITE_VERSION +
           (sqlite3_threadsafe() != 0 ? ", thread-safe" : ", NOT thread-safe")});
  const bool sodium_ok = sodium_init() >= 0;
  checks.push_back(
      {"library.libsodium", sodium_ok && Sha256Hex("abc").starts_with("ba7816bf"),
       std::string("runtime ") + sodium_version_string() +
           (sodium_ok ? ", initialised, SHA-256 self-test passed" : ", sodium_init failed")});
  checks.push_back({"library.spdlog", true,
                    std::to_string(SPDLOG_VER_MAJOR) + "." + std::to_string(SPDLOG_VER_MINOR) +
                        "." + std::to_string(SPDLOG_VER_PATCH) + " (header)"});
  checks.push_back({"library.nlohmann_json", true,
                    std::to_string(NLOHMANN_JSON_VERSION_MAJOR) + "." +
                        std::to_string(NLOHMANN_JSON_VERSION_MINOR) + "." +
                        std::to_string(NLOHMANN_JSON_VERSION_PATCH) + " (header)"});
  checks.push_back({"library.cli11", true, std::string(CLI11_VERSION) + " (header)"});
  return checks;
}

Check CpuCheck() {
  __builtin_cpu_init();
  // x86-64-v2 is the release build's baseline; the rest are used behind runtime dispatch.
  struct Feature {
    const char* name;
    bool present;
    bool required;
  };
  const std::vector<Feature> features = {
      {"sse4.2", __builtin_cpu_supports("sse4.2") != 0, true},
      {"ssse3", __builtin_cpu_supports("ssse3") != 0, true},
      {"popcnt", __builtin_cpu_supports("popcnt") != 0, true},
      {"avx2", __builtin_cpu_supports("avx2") != 0, false},
      {"fma", __builtin_cpu_supports("fma") != 0, false},
      {"avx512f", __builtin_cpu_supports("avx512f") != 0, false},
      {"avx512vnni", __builtin_cpu_supports("avx512vnni") != 0, false},
  };
  bool ok = true;
  std::string detail = "x86-64-v2 baseline: ";
  std::string missing, optional;
  for (const Feature& f : features) {
    if (f.required && !f.present) {
      ok = false;
      missing += std::string(missing.empty() ? "" : " ") + f.name;
    }
    if (!f.required && f.present) optional += std::string(optional.empty() ? "" : " ") + f.name;
  }
  detail += ok ? "present" : "MISSING " + missing;
  detail += "; wider: " + (optional.empty() ? std::string("none") : optional);
  detail += "; " + std::to_string(std::max(1u, std::thread::hardware_concurrency())) +
            " hardware threads";
  return {"cpu.features", ok, detail};
}

Check DataFolderCheck(const std::string& data_dir) {
  std::error_code error;
  fs::create_directories(data_dir, error);
  if (error)
    return {"data_folder.write", false, "cannot create " + data_dir + ": " + error.message()};
  const fs::path probe = fs::path(data_dir) / (".doctor-probe-" + std::to_string(::getpid()));
  const fs::path renamed = probe.string() + ".done";
  {
    std::ofstream out(probe, std::ios::binary);
    out << "cartsense doctor probe";
    out.flush();
    if (!out) return {"data_folder.write", false, "cannot write in " + data_dir};
  }
  fs::rename(probe, renamed, error);
  std::string back;
  if (!error) std::getline(std::ifstream(renamed), back);
  fs::remove(probe);
  fs::remove(renamed);
  if (error || back != "cartsense doctor probe") {
    return {"data_folder.write", false, "write/rename/read-back failed in " + data_dir};
  }
  struct statvfs stats {};
  std::string space;
  bool enough_space = true;
  if (::statvfs(data_dir.c_str(), &stats) == 0) {
    const double free_gib =
        static_cast<double>(stats.f_bavail) * static_cast<double>(stats.f_frsize) / (1 << 30);
    enough_space = free_gib >= 1.0;
    space = ", " + std::to_string(static_cast<int>(free_gib)) + " GiB free" +
            (enough_space ? "" : " (under 1 GiB)");
  }
  return {"data_folder.write", enough_space,
          fs::absolute(data_dir).string() + " writable (write, rename, read back)" + space};
}

std::vector<Check> BundleChecks(const std::string& models_dir) {
  std::vector<Check> checks;
  auto bundle = FindNewestBundle(models_dir + "/recognizer");
  if (!bundle.ok()) {
    checks.push_back({"model_bundle", false, bundle.status().message()});
    return checks;
  }
  if (bundle->empty()) {
    checks.push_back({"model_bundle", true,
                      "no recognizer bundle installed under " + models_dir + "/recognizer"});
    return checks;
  }
  Status verified = VerifyBundleChecksums(*bundle);
  checks.push_back(
      {"model_bundle", verified.ok(),
       verified.ok() ? *bundle + ": every file matches its sha256" : verified.message()});
  return checks;
}

}  // namespace

void RegisterInfoCommands(CLI::App& app, CommandAction& action) {
  CLI::App* version = app.add_subcommand("version", "Print the cartsense version");
  version->callback([&action] {
    action.run = [] {
      std::cout << "cartsense " << CARTSENSE_VERSION << "\n";
      return kExitOk;
    };
  });

  struct DoctorOptions {
    bool json = false;
    std::string data_dir;
    std::string models_dir;
  };
  auto options = std::make_shared<DoctorOptions>();
  CLI::App* doctor = app.add_subcommand(
      "doctor", "Check the installation: libraries, CPU features, the data folder, model bundles");
  doctor->add_flag("--json", options->json,
                   "Print one JSON object: {ok, checks: [{name, ok, detail}]}");
  doctor->add_option("--data-dir", options->data_dir,
                     "Folder the cart writes its ledger and logs to (default: $CARTSENSE_DATA_DIR "
                     "or ./var)");
  doctor->add_option("--models-dir", options->models_dir,
                     "Folder of model bundles (default: the repository's models/)");
  doctor->callback([&action, options] {
    action.run = [options] {
      const std::string data_dir = options->data_dir.empty() ? DefaultDataDir() : options->data_dir;
      const std::string models_dir =
          options->models_dir.empty() ? DefaultRepoPath("models") : options->models_dir;
      std::vector<Check> checks = LibraryChecks();
      checks.push_back(CpuCheck());
      checks.push_back(DataFolderCheck(data_dir));
      for (Check& c : BundleChecks(models_dir)) checks.push_back(std::move(c));
      const bool all_ok =
          std::all_of(checks.begin(), checks.end(), [](const Check& c) { return c.ok; });
      if (options->json) {
        nlohmann::json out;
        out["ok"] = all_ok;
        out["version"] = CARTSENSE_VERSION;
        out["checks"] = nlohmann::json::array();
        for (const Check& c : checks) {
          out["checks"].push_back({{"name", c.name}, {"ok", c.ok}, {"detail", c.detail}});
        }
        std::cout << out.dump(2) << "\n";
      } else {
        std::cout << "cartsense " << CARTSENSE_VERSION << " doctor\n";
        for (const Check& c : checks) {
          std::cout << (c.ok ? "  [ ok ] " : "  [FAIL] ") << c.name << ": " << c.detail << "\n";
        }
        std::cout << (all_ok ? "all checks passed\n" : "some checks FAILED\n");
      }
      return all_ok ? kExitOk : kExitProblemFound;
    };
  });
}

}  // namespace cartsense::app
