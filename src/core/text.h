// Small text helpers shared by the parsers of outside input (session files, the catalogue).
#pragma once

#include <cstddef>
#include <string>
#include <string_view>
#include <vector>

namespace cartsense {

// Splits `line` on every ',' (no quoting): "a,,b" gives {"a", "", "b"}; "" gives {""}. The views
// point into `line`.
inline std::vector<std::string_view> SplitCommas(std::string_view line) {
  std::vector<std::string_view> fields;
  std::size_t start = 0;
  while (true) {
    const std::size_t comma = line.find(',', start);
    if (comma == std::string_view::npos) {
      fields.push_back(line.substr(start));
      return fields;
    }
    fields.push_back(line.substr(start, comma - start));
    start = comma + 1;
  }
}

inline bool IsDigit(char c) { return c >= '0' && c <= '9'; }

// True for a non-empty string of ASCII digits.
inline bool AllDigits(std::string_view s) {
  if (s.empty()) return false;
  for (const char c : s) {
    if (!IsDigit(c)) return false;
  }
  return true;
}

// A field value quoted for an error message: bounded in length, non-printable bytes escaped, so
// a hostile file cannot flood the log or put control characters into it.
inline std::string QuoteForMessage(std::string_view value) {
  constexpr std::size_t kMaxShown = 40;
  std::string out = "'";
  for (std::size_t i = 0; i < value.size() && i < kMaxShown; ++i) {
    const auto byte = static_cast<unsigned char>(value[i]);
    if (byte < 0x20 || byte == 0x7f) {
      static constexpr std::string_view kHex = "0123456789abcdef";
      out += "\\x";
      out += kHex[byte >> 4U];
      out += kHex[byte & 0xfU];
    } else {
      out += value[i];
    }
  }
  if (value.size() > kMaxShown) out += "...";
  out += "'";
  return out;
}

// Every line of `text` with `prefix` in front and '\n' after, e.g. to nest one YAML document
// under a key of another: "a: 1\nb: 2" with "  " gives "  a: 1\n  b: 2\n".
inline std::string IndentLines(std::string_view text, std::string_view prefix) {
  std::string out;
  std::size_t start = 0;
  while (start < text.size()) {
    std::size_t end = text.find('\n', start);
    if (end == std::string_view::npos) end = text.size();
    out += prefix;
    out += text.substr(start, end - start);
    out += '\n';
    start = end + 1;
  }
  return out;
}

}  // namespace cartsense
