// Small text helpers shared by the parsers of outside input (session files, the catalogue).
#pragma once

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

}  // namespace cartsense
