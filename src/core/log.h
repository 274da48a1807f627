// Logging through spdlog. One process-wide logger named "cartsense", writing to stderr, so that
// commands keep stdout for their results (JSON and tables).
//
//   InitLogging(LogLevel::kInfo);
//   Log().info("weigh chain open: {} cells at {} Hz", cells, rate_hz);
//
// Payment data is never logged: log a payment's token id and amount, never card data.
#pragma once

#include <string_view>

#include <spdlog/logger.h>

#include "core/status.h"

namespace cartsense {

enum class LogLevel { kTrace, kDebug, kInfo, kWarn, kError, kOff };

// Parses "trace", "debug", "info", "warn", "error" or "off".
Result<LogLevel> ParseLogLevel(std::string_view text);

// Sets up the "cartsense" logger on stderr at `level`. Safe to call more than once.
void InitLogging(LogLevel level);

// The process-wide logger (initialised at kInfo on first use if InitLogging was not called).
spdlog::logger& Log();

}  // namespace cartsense
