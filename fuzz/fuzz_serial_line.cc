// Fuzz target: the load-cell serial line protocol (outside input: whatever the ADC bridge, a
// loose connector or a noisy cable puts on the serial line) and the weigh chain behind it.
// Any line may be rejected; nothing may crash, hang or leak; what parses must print and parse
// back to the same sample; the chain must never emit a non-finite weight.
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <optional>
#include <string>
#include <string_view>

#include "sensors/serial_protocol.h"
#include "sensors/weigh_chain.h"

namespace {

void Check(bool condition) {
  if (!condition) std::abort();
}

void CheckRoundTrip(const cartsense::LoadCellSample& s) {
  using namespace cartsense::sensors;
  const auto again = ParseSerialLine(FormatLoadCellLine(s));
  Check(again.ok());
  const auto& back = std::get<cartsense::LoadCellSample>(*again);
  Check(back.t == s.t);
  Check(back.raw_counts == s.raw_counts);
  Check(back.temperature_c.has_value() == s.temperature_c.has_value());
  if (s.temperature_c.has_value()) Check(std::abs(*back.temperature_c - *s.temperature_c) < 0.006);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace cartsense;
  using namespace cartsense::sensors;
  const std::string_view input(reinterpret_cast<const char*>(data), size);
  static const ScaleCalibration calibration = [] {
    ScaleCalibration c;
    for (std::size_t i = 0; i < kCellCount; ++i) c.cells[i].offset_counts = 100000;
    return c;
  }();
  auto chain = WeighChain::Create(WeighChainParams{}, calibration);
  Check(chain.ok());
  SerialStreamDecoder decoder;
  std::size_t start = 0;
  while (start <= input.size()) {
    std::size_t end = input.find('\n', start);
    if (end == std::string_view::npos) end = input.size();
    const std::string_view line = input.substr(start, end - start);
    start = end + 1;
    auto record = decoder.Decode(line);
    WeighOutput out;
    if (!record.ok()) {
      Check(!record.status().message().empty());
      out = chain->ReportBadInput(Timestamp{}, record.status().message());
    } else if (const auto* sample = std::get_if<LoadCellSample>(&*record)) {
      CheckRoundTrip(*sample);
      out = chain->ProcessSample(*sample);
    } else if (const auto* imu = std::get_if<ImuSample>(&*record)) {
      Check(std::isfinite(imu->ax_mps2) && std::isfinite(imu->ay_mps2) &&
            std::isfinite(imu->az_mps2));
      out = chain->ProcessImu(*imu);
    }
    if (out.event.has_value()) {
      Check(std::isfinite(out.event->delta_g) && std::isfinite(out.event->sigma_g));
      Check(out.event->sigma_g > 0);
      Check(out.event->t_start <= out.event->t_settle);
    }
  }
  Check(decoder.bad_lines() <= decoder.lines());
  return 0;
}
