// Fuzz target: a session's truth.json parser (outside input: sessions come from simulators,
// labelling tools and other machines). Anything may be rejected; nothing may crash, hang or
// leak, and whatever parses must hold the parser's invariants.
#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string>

#include "session/session_truth.h"

namespace {

void Check(bool condition) {
  if (!condition) std::abort();
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string text(reinterpret_cast<const char*>(data), size);
  auto parsed = cartsense::session::ParseTruth(text, "fuzz");
  if (!parsed.ok()) {
    Check(!parsed.status().message().empty());
    return 0;
  }
  const auto& events = parsed->events;
  Check(std::is_sorted(events.begin(), events.end(),
                       [](const auto& a, const auto& b) { return a.t < b.t; }));
  for (const auto& event : events) {
    Check(event.t.ns >= 0);
    Check(event.pieces >= 1);
    Check(!event.settle || event.settle->ns >= 0);
  }
  for (const auto& line : parsed->final_basket) Check(line.quantity >= 0);
  return 0;
}
