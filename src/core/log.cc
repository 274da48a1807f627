#include "core/log.h"

#include <mutex>

#include <spdlog/sinks/stdout_color_sinks.h>
#include <spdlog/spdlog.h>

namespace cartsense {
namespace {

spdlog::level::level_enum ToSpdlog(LogLevel level) {
  switch (level) {
    case LogLevel::kTrace:
      return spdlog::level::trace;
    case LogLevel::kDebug:
      return spdlog::level::debug;
    case LogLevel::kInfo:
      return spdlog::level::info;
    case LogLevel::kWarn:
      return spdlog::level::warn;
    case LogLevel::kError:
      return spdlog::level::err;
    case LogLevel::kOff:
      return spdlog::level::off;
  }
  return spdlog::level::info;
}

std::mutex& LoggerMutex() {
  static std::mutex mutex;
  return mutex;
}

std::shared_ptr<spdlog::logger> MakeLogger() {
  auto logger = spdlog::get("cartsense");
  if (!logger) {
    logger = spdlog::stderr_color_mt("cartsense");
    logger->set_pattern("%Y-%m-%dT%H:%M:%S.%e %^%l%$ %v");
    logger->set_level(spdlog::level::info);
  }
  return logger;
}

}  // namespace

Result<LogLevel> ParseLogLevel(std::string_view text) {
  if (text == "trace") return LogLevel::kTrace;
  if (text == "debug") return LogLevel::kDebug;
  if (text == "info") return LogLevel::kInfo;
  if (text == "warn") return LogLevel::kWarn;
  if (text == "error") return LogLevel::kError;
  if (text == "off") return LogLevel::kOff;
  return InvalidArgumentError("log level '" + std::string(text) +
                              "': expected trace, debug, info, warn, error or off");
}

void InitLogging(LogLevel level) {
  std::lock_guard lock(LoggerMutex());
  MakeLogger()->set_level(ToSpdlog(level));
}

spdlog::logger& Log() {
  static std::shared_ptr<spdlog::logger> logger = [] {
    std::lock_guard lock(LoggerMutex());
    return MakeLogger();
  }();
  return *logger;
}

}  // namespace cartsense
