// Fuzz target: the barcode reader on outside images (photos given to `cartsense read-barcodes`,
// scanner-camera frames). Input that starts like a PNG, JPEG or WebP goes through
// DecodeBarcodePhoto; anything else is raw 8-bit grey pixels (first byte: width - 16), which
// reaches the region search and zxing-cpp directly. Anything may be rejected or read as no code;
// nothing may crash, hang or leak, and every code reported must carry a valid GTIN.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <vector>

#include <opencv2/core.hpp>

#include "core/gtin.h"
#include "vision/barcode_reader.h"

namespace {

void Check(bool condition) {
  if (!condition) std::abort();
}

void ReadAndCheck(const cv::Mat& image) {
  static const cartsense::vision::BarcodeReader reader;
  auto reads = reader.Read(image);
  if (!reads.ok()) return;
  for (const cartsense::vision::BarcodeRead& read : *reads) {
    Check(read.gtin.size() == 8 || read.gtin.size() == 13 || read.gtin.size() == 14);
    Check(cartsense::HasValidGtinCheckDigit(read.gtin));
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  constexpr std::size_t kMaxPixels = 1 << 20;  // bounds the time per input
  const bool encoded =
      size >= 4 && ((data[0] == 0x89 && data[1] == 'P') || (data[0] == 0xff && data[1] == 0xd8) ||
                    (data[0] == 'R' && data[1] == 'I'));
  if (encoded) {
    const std::vector<uint8_t> bytes(data, data + size);
    auto image = cartsense::vision::DecodeBarcodePhoto(bytes, "fuzz");
    if (!image.ok()) {
      Check(!image.status().message().empty());
      return 0;
    }
    if (image->total() <= kMaxPixels) ReadAndCheck(*image);
    return 0;
  }
  if (size < 2) return 0;
  const int width = 16 + data[0];
  const int height = static_cast<int>((size - 1) / static_cast<std::size_t>(width));
  if (height < 1) return 0;
  std::vector<uint8_t> pixels(data + 1, data + 1 + static_cast<std::size_t>(width) * height);
  ReadAndCheck(cv::Mat(height, width, CV_8U, pixels.data()));
  return 0;
}
