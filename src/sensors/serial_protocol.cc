#include "sensors/serial_protocol.h"

#include <array>
#include <charconv>
#include <cmath>
#include <cstdio>
#include <vector>

namespace cartsense::sensors {
namespace {

constexpr std::size_t kMaxFields = 8;

// Splits on ',' into at most kMaxFields fields; false if there are more.
bool SplitFields(std::string_view text, std::vector<std::string_view>* fields) {
  fields->clear();
  std::size_t start = 0;
  while (true) {
    const std::size_t comma = text.find(',', start);
    if (fields->size() == kMaxFields) return false;
    if (comma == std::string_view::npos) {
      fields->push_back(text.substr(start));
      return true;
    }
    fields->push_back(text.substr(start, comma - start));
    start = comma + 1;
  }
}

std::string Quote(std::string_view field) {
  std::string out = "'";
  for (const char c : field.substr(0, 24)) {
    const auto byte = static_cast<unsigned char>(c);
    if (byte >= 0x20 && byte < 0x7f) {
      out += c;
    } else {
      std::array<char, 8> hex{};
      std::snprintf(hex.data(), hex.size(), "\\x%02x", byte);
      out += hex.data();
    }
  }
  if (field.size() > 24) out += "...";
  return out + "'";
}

Result<Timestamp> ParseTimestampUs(std::string_view field) {
  uint64_t us = 0;
  const char* end = field.data() + field.size();
  const auto [ptr, ec] = std::from_chars(field.data(), end, us);
  if (field.empty() || ec != std::errc() || ptr != end) {
    return InvalidArgumentError("timestamp " + Quote(field) +
                                " is not an unsigned decimal number of microseconds");
  }
  if (us > kMaxSerialTimestampUs) {
    return InvalidArgumentError("timestamp " + Quote(field) + " us is beyond the limit of " +
                                std::to_string(kMaxSerialTimestampUs) + " us");
  }
  return Timestamp::FromNanoseconds(static_cast<int64_t>(us) * 1000);
}

Result<int32_t> ParseCounts(std::string_view field, int cell) {
  int64_t value = 0;
  const char* end = field.data() + field.size();
  const auto [ptr, ec] = std::from_chars(field.data(), end, value);
  const std::string what = "cell " + std::to_string(cell) + " counts " + Quote(field);
  if (field.empty() || ec == std::errc::result_out_of_range) {
    return InvalidArgumentError(what + " is not a 24-bit signed number");
  }
  if (ec != std::errc() || ptr != end) {
    return InvalidArgumentError(what + " is not a signed decimal integer");
  }
  if (value < kAdcMinCounts || value > kAdcMaxCounts) {
    return InvalidArgumentError(what + " is outside the 24-bit range [" +
                                std::to_string(kAdcMinCounts) + ", " +
                                std::to_string(kAdcMaxCounts) + "]");
  }
  return static_cast<int32_t>(value);
}

Result<double> ParseFinite(std::string_view field, const std::string& name, double min_value,
                           double max_value) {
  double value = 0;
  const char* end = field.data() + field.size();
  const auto [ptr, ec] = std::from_chars(field.data(), end, value);
  if (field.empty() || ec != std::errc() || ptr != end) {
    return InvalidArgumentError(name + " " + Quote(field) + " is not a decimal number");
  }
  if (!std::isfinite(value)) {
    return InvalidArgumentError(name + " " + Quote(field) + " is not finite");
  }
  if (value < min_value || value > max_value) {
    return InvalidArgumentError(name + " " + Quote(field) + " is outside [" +
                                std::to_string(min_value) + ", " + std::to_string(max_value) + "]");
  }
  return value;
}

int HexDigit(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

Result<SerialRecord> ParseLoadCell(const std::vector<std::string_view>& fields) {
  if (fields.size() != 6 && fields.size() != 7) {
    return InvalidArgumentError("load-cell line has " + std::to_string(fields.size()) +
                                " fields; expected L,t_us,c0,c1,c2,c3[,T<temp_c>]");
  }
  LoadCellSample sample;
  CS_ASSIGN_OR_RETURN(sample.t, ParseTimestampUs(fields[1]));
  sample.cell_count = LoadCellSample::kMaxCells;
  for (int cell = 0; cell < LoadCellSample::kMaxCells; ++cell) {
    CS_ASSIGN_OR_RETURN(sample.raw_counts[static_cast<std::size_t>(cell)],
                        ParseCounts(fields[static_cast<std::size_t>(2 + cell)], cell));
  }
  if (fields.size() == 7) {
    const std::string_view temperature = fields[6];
    if (temperature.empty() || temperature[0] != 'T') {
      return InvalidArgumentError("temperature field " + Quote(temperature) +
                                  " must look like T21.5");
    }
    CS_ASSIGN_OR_RETURN(sample.temperature_c, ParseFinite(temperature.substr(1), "temperature (C)",
                                                          kMinTemperatureC, kMaxTemperatureC));
  }
  return SerialRecord(sample);
}

Result<SerialRecord> ParseImu(const std::vector<std::string_view>& fields) {
  if (fields.size() != 5) {
    return InvalidArgumentError("accelerometer line has " + std::to_string(fields.size()) +
                                " fields; expected A,t_us,ax,ay,az");
  }
  ImuSample sample;
  CS_ASSIGN_OR_RETURN(sample.t, ParseTimestampUs(fields[1]));
  CS_ASSIGN_OR_RETURN(sample.ax_mps2, ParseFinite(fields[2], "ax (m/s^2)", -kMaxAccelerationMps2,
                                                  kMaxAccelerationMps2));
  CS_ASSIGN_OR_RETURN(sample.ay_mps2, ParseFinite(fields[3], "ay (m/s^2)", -kMaxAccelerationMps2,
                                                  kMaxAccelerationMps2));
  CS_ASSIGN_OR_RETURN(sample.az_mps2, ParseFinite(fields[4], "az (m/s^2)", -kMaxAccelerationMps2,
                                                  kMaxAccelerationMps2));
  return SerialRecord(sample);
}

std::string WithChecksum(std::string body, bool with_checksum) {
  if (!with_checksum) return body;
  std::array<char, 8> suffix{};
  std::snprintf(suffix.data(), suffix.size(), "*%02X", SerialChecksum(body));
  return body + suffix.data();
}

}  // namespace

uint8_t SerialChecksum(std::string_view bytes) {
  uint8_t sum = 0;
  for (const char c : bytes) sum = static_cast<uint8_t>(sum ^ static_cast<uint8_t>(c));
  return sum;
}

Result<SerialRecord> ParseSerialLine(std::string_view line) {
  if (!line.empty() && line.back() == '\n') line.remove_suffix(1);
  if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
  if (line.size() > kMaxSerialLineLength) {
    return InvalidArgumentError("line of " + std::to_string(line.size()) +
                                " bytes is longer than " + std::to_string(kMaxSerialLineLength));
  }
  if (line.empty() || line[0] == '#') return SerialRecord(std::monostate{});
  if (line.find('\0') != std::string_view::npos) {
    return InvalidArgumentError("line contains a NUL byte");
  }

  std::string_view body = line;
  const std::size_t star = line.rfind('*');
  if (star != std::string_view::npos) {
    const std::string_view check = line.substr(star + 1);
    if (check.size() != 2 || HexDigit(check[0]) < 0 || HexDigit(check[1]) < 0) {
      return InvalidArgumentError("checksum " + Quote(check) + " is not two hex digits");
    }
    body = line.substr(0, star);
    const int expected = HexDigit(check[0]) * 16 + HexDigit(check[1]);
    const int actual = SerialChecksum(body);
    if (expected != actual) {
      std::array<char, 64> message{};
      std::snprintf(message.data(), message.size(),
                    "checksum mismatch: line says %02X, bytes give %02X", expected, actual);
      return InvalidArgumentError(message.data());
    }
  }

  std::vector<std::string_view> fields;
  fields.reserve(kMaxFields);
  if (!SplitFields(body, &fields)) {
    return InvalidArgumentError("line has more than " + std::to_string(kMaxFields) + " fields");
  }
  if (fields[0] == "L") return ParseLoadCell(fields);
  if (fields[0] == "A") return ParseImu(fields);
  return InvalidArgumentError("unknown record type " + Quote(fields[0]) +
                              "; expected L (load cells), A (accelerometer) or # (comment)");
}

std::string FormatLoadCellLine(const LoadCellSample& sample, bool with_checksum) {
  std::string body = "L," + std::to_string(sample.t.ns / 1000);
  for (int cell = 0; cell < LoadCellSample::kMaxCells; ++cell) {
    body += "," + std::to_string(sample.raw_counts[static_cast<std::size_t>(cell)]);
  }
  if (sample.temperature_c.has_value()) {
    std::array<char, 32> temperature{};
    std::snprintf(temperature.data(), temperature.size(), ",T%.2f", *sample.temperature_c);
    body += temperature.data();
  }
  return WithChecksum(std::move(body), with_checksum);
}

std::string FormatImuLine(const ImuSample& sample, bool with_checksum) {
  std::array<char, 96> values{};
  std::snprintf(values.data(), values.size(), ",%.4f,%.4f,%.4f", sample.ax_mps2, sample.ay_mps2,
                sample.az_mps2);
  return WithChecksum("A," + std::to_string(sample.t.ns / 1000) + values.data(), with_checksum);
}

Result<SerialRecord> SerialStreamDecoder::Decode(std::string_view line) {
  ++lines_;
  const std::string where = "line " + std::to_string(lines_) + ": ";
  Result<SerialRecord> record = ParseSerialLine(line);
  if (!record.ok()) {
    ++bad_lines_;
    return record.status().WithContext(where.substr(0, where.size() - 2));
  }
  std::optional<Timestamp>* last = nullptr;
  Timestamp t;
  if (const auto* load = std::get_if<LoadCellSample>(&record.value())) {
    last = &last_load_cell_t_;
    t = load->t;
  } else if (const auto* imu = std::get_if<ImuSample>(&record.value())) {
    last = &last_imu_t_;
    t = imu->t;
  } else {
    return record;
  }
  if (last->has_value() && t <= **last) {
    ++bad_lines_;
    ++out_of_order_lines_;
    return InvalidArgumentError(where + "timestamp " + std::to_string(t.ns / 1000) +
                                " us is not after the previous one (" +
                                std::to_string((*last)->ns / 1000) + " us); line dropped");
  }
  *last = t;
  return record;
}

}  // namespace cartsense::sensors
