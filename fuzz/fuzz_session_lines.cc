// Fuzz target: the session stream line parsers (load cells, IMU, frames, scanner, touchscreen).
// The first byte picks the parser; the rest is the line. Whatever parses must format and parse
// back to the same line.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>

#include "session/session_format.h"

namespace {

template <typename Parse, typename Format>
void RoundTrip(std::string_view line, Parse parse, Format format) {
  auto parsed = parse(line);
  if (!parsed.ok()) return;
  const std::string printed = format(*parsed);
  auto again = parse(printed);
  if (!again.ok() || format(*again) != printed) std::abort();
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace cartsense::session;
  if (size == 0) return 0;
  const std::string_view line(reinterpret_cast<const char*>(data) + 1, size - 1);
  switch (data[0] % 6) {
    case 0:
      RoundTrip(
          line, [](std::string_view l) { return ParseLoadCellLine(l, 4); }, FormatLoadCellLine);
      break;
    case 1:
      RoundTrip(
          line, [](std::string_view l) { return ParseLoadCellLine(l, 3); }, FormatLoadCellLine);
      break;
    case 2:
      RoundTrip(line, ParseImuLine, FormatImuLine);
      break;
    case 3:
      RoundTrip(line, ParseFrameLine, FormatFrameLine);
      break;
    case 4:
      RoundTrip(line, ParseScannerLine, FormatScannerLine);
      break;
    default:
      RoundTrip(line, ParseTouchscreenLine, FormatTouchscreenLine);
      break;
  }
  return 0;
}
