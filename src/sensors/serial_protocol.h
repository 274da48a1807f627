// The load-cell serial line protocol: what the cart's ADC bridge (4 x HX711-class 24-bit ADCs,
// an optional accelerometer and an optional temperature sensor) sends, one ASCII line per reading.
// docs/weighing.md is the full specification; in short:
//
//   L,<t_us>,<c0>,<c1>,<c2>,<c3>[,T<temp_c>][*<hh>]   load-cell sample, counts per cell in the
//                                                      order front-left, front-right, back-left,
//                                                      back-right; temperature when fitted
//   A,<t_us>,<ax>,<ay>,<az>[*<hh>]                     accelerometer, m/s^2, cart frame (z up)
//   # anything                                         comment (ignored); empty lines ignored
//
// t_us is microseconds since the bridge started (unsigned decimal); counts are signed decimal
// within the 24-bit range; *hh is an optional NMEA-style checksum (XOR of every byte before the
// '*', two hex digits). Example:
//
//   L,1250000,8123456,-23456,120034,99887,T21.5*21
//
// ParseSerialLine checks one line alone; SerialStreamDecoder also checks that timestamps of each
// kind increase strictly, and says which line broke a rule.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <variant>

#include "core/packets.h"
#include "core/status.h"

namespace cartsense::sensors {

inline constexpr int32_t kAdcMinCounts = -(1 << 23);     // -8388608: negative rail
inline constexpr int32_t kAdcMaxCounts = (1 << 23) - 1;  // 8388607: positive rail
inline constexpr std::size_t kMaxSerialLineLength = 200;
// Timestamps beyond this (about 31 years of microseconds) are garbage, not a long uptime.
inline constexpr uint64_t kMaxSerialTimestampUs = 1'000'000'000'000'000ULL;
inline constexpr double kMinTemperatureC = -40.0;
inline constexpr double kMaxTemperatureC = 125.0;
inline constexpr double kMaxAccelerationMps2 = 160.0;  // 16 g: the accelerometer's range

// One decoded line: a load-cell sample, an accelerometer sample, or nothing (comment, blank).
using SerialRecord = std::variant<std::monostate, LoadCellSample, ImuSample>;

// Parses one line (without or with its trailing "\n" / "\r\n"). Errors are InvalidArgument with
// a message naming the field that is wrong.
Result<SerialRecord> ParseSerialLine(std::string_view line);

// The line for a sample, with a checksum when `with_checksum`. Timestamps are written in whole
// microseconds (sub-microsecond parts are dropped); temperature with 0.01 C resolution.
std::string FormatLoadCellLine(const LoadCellSample& sample, bool with_checksum = true);
std::string FormatImuLine(const ImuSample& sample, bool with_checksum = true);

// XOR of the bytes, as used by the *hh suffix.
uint8_t SerialChecksum(std::string_view bytes);

// Decodes a stream line by line. A bad line is reported and skipped; the decoder stays usable.
// Out-of-order timestamps (not strictly increasing within the load-cell lines, or within the
// accelerometer lines) are errors too: the line is dropped, the last good time is kept.
class SerialStreamDecoder {
 public:
  // The record, or an error "line 12: ..." (the line is counted either way).
  Result<SerialRecord> Decode(std::string_view line);

  int64_t lines() const { return lines_; }
  int64_t bad_lines() const { return bad_lines_; }
  int64_t out_of_order_lines() const { return out_of_order_lines_; }

 private:
  int64_t lines_ = 0;
  int64_t bad_lines_ = 0;
  int64_t out_of_order_lines_ = 0;
  std::optional<Timestamp> last_load_cell_t_;
  std::optional<Timestamp> last_imu_t_;
};

}  // namespace cartsense::sensors
