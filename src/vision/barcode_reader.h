// The barcode reader: EAN-13, UPC-A, EAN-8, UPC-E and GS1 DataBar from one still image (a
// scanner-camera frame or a photo), decoded by zxing-cpp, check digits validated, reported as
// GTINs.
//
// zxing-cpp 1.4 alone misses codes that are rotated 5-45 degrees, small (under 2 px per module)
// or blurred (issue 7). So the reader first finds candidate code regions (pixels whose gradients
// are strong and point one way: the structure tensor's anisotropy), estimates each region's bar
// direction, cuts it out turned so the bars stand upright, rescales it to a few pixels per
// module, stretches its contrast, averages along the bars and tries zxing on that crop with a
// few binarizers and a sharpened copy. The whole frame is also tried once as zxing would see it.
// A region nothing read is then taken as motion-blurred: its profile across the bars is
// deconvolved for a sweep of blur lengths (a 1-D problem whatever the blur's direction, since
// the bars are parallel) and each result decoded; a code read by two attempts is reported.
// The work is bounded (`max_candidates`, a fixed list of attempts per candidate), so a 640x480
// frame costs a bounded time (bench/barcode_bench.cc; figures in docs/benchmarks.md).
//
//   BarcodeReader reader;                       // BarcodeReaderParams{} defaults
//   CS_ASSIGN_OR_RETURN(std::vector<BarcodeRead> codes, reader.Read(grey_or_bgr_image));
//   for (const BarcodeRead& code : codes) use(code.format, code.gtin, code.corners_px);
#pragma once

#include <array>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include <opencv2/core.hpp>

#include "core/packets.h"
#include "core/status.h"

namespace cartsense::vision {

struct BarcodeReaderParams {
  // Regions cut out and tried per image, best first (the work bound).
  int max_candidates = 4;
  // Images larger than this (longest side) are searched for regions at a reduced size; crops
  // are still cut from the full image.
  int search_max_side_px = 1024;
  // A region must cover at least this many pixels at search size.
  double min_region_area_px = 300;
  // Crops are rescaled so the code's length is about this many pixels (an EAN-13 with its quiet
  // zones is 113 modules: about 3.5 px per module).
  double crop_length_px = 400;
  double max_upscale = 4;
  // Also run zxing on the whole image, as zxing alone would (catches what region finding misses).
  bool try_whole_image = true;
  // Motion blur: the best candidates that nothing else read (at most this many per image) are
  // read again from a profile across their bars (the image averaged along the bars over half
  // the region's height, on the line through the region across the whole image, sampled at
  // deblur_profile_scale samples per input pixel), deconvolved for a box blur of each length
  // from deblur_min_px to deblur_max_px (input pixels, deblur_step_px apart) with several
  // regularisers. A code must be read by deblur_min_votes of those attempts.
  int deblur_candidates = 1;
  double deblur_min_px = 2.5;
  double deblur_max_px = 14;
  double deblur_step_px = 0.25;
  double deblur_profile_scale = 2;
  int deblur_min_votes = 2;
  // When that sweep finds no code, it is run again with each box convolved with a Gaussian of
  // this sigma (input pixels; 0: not run): the optics' blur (defocus, the lens, the sensor's
  // anti-aliasing) left in after a box-only deconvolution hides single modules of codes under
  // 2 px per module. Votes add up over both sweeps.
  double deblur_optics_sigma_px = 0.9;
};

struct BarcodeRead {
  BarcodeFormat format = BarcodeFormat::kEan13;
  // 13 digits for EAN-13, UPC-A (leading 0), UPC-E (expanded to UPC-A, leading 0) and DataBar
  // items; the 8 digits of an EAN-8; 14 digits for a DataBar GTIN-14 naming a case.
  std::string gtin;
  // The code's corners in the input image (zxing's order: top-left, top-right, bottom-right,
  // bottom-left of the code as read; a linear code's scan line when only that is known).
  std::array<cv::Point2f, 4> corners_px{};
  // Read only after undoing motion blur: deconvolution can turn artefacts into bars, so a single
  // frame's such read is not a scan on its own (the scan debouncer wants a second frame).
  bool from_deblurred = false;
  cv::Point2f centre_px() const;
};

// What zxing's text for a code of `format` means as a GTIN: check digit validated, UPC-A and
// UPC-E expanded to 13 digits, EAN-8 as its 8 digits. Errors name the format and the text.
Result<std::string> GtinFromDecodedText(BarcodeFormat format, std::string_view text);

// A region that looks like a linear barcode: its centre, length along the bars' normal, height
// along the bars, the normal's angle (degrees, image x towards y) and a score (for ranking).
struct BarcodeCandidate {
  cv::Point2d centre_px;
  double length_px = 0;
  double height_px = 0;
  double normal_angle_deg = 0;
  double score = 0;
};

class BarcodeReader {
 public:
  explicit BarcodeReader(BarcodeReaderParams params = {});

  // Every distinct code found in `image` (8-bit grey, BGR or BGRA), in the order found. An empty
  // vector when there is none; an error for an empty image or an unsupported pixel type.
  Result<std::vector<BarcodeRead>> Read(const cv::Mat& image) const;

  // The candidate regions of an 8-bit grey image, best first, at most max_candidates (exposed
  // for tests and the debug view).
  std::vector<BarcodeCandidate> FindCandidates(const cv::Mat& grey) const;

  const BarcodeReaderParams& params() const { return params_; }

 private:
  BarcodeReaderParams params_;
};

// A photo for the reader: PNG, JPEG or WebP (told by its first bytes, not its name), decoded to
// 8-bit grey with its EXIF orientation applied. NotFound for a missing or unreadable file,
// InvalidArgument for another type or a damaged image; errors name the file.
Result<cv::Mat> LoadBarcodePhoto(const std::string& path);
// The same for bytes in memory; `source` names them in errors.
Result<cv::Mat> DecodeBarcodePhoto(const std::vector<uint8_t>& bytes, const std::string& source);

// zxing-cpp alone on the whole image, for comparison (docs/benchmarks.md): `try_harder` sets
// zxing's tryHarder, tryRotate and tryDownscale (its defaults in 1.4); without it, one fast
// pass. Same GTIN validation as the reader.
Result<std::vector<BarcodeRead>> ReadWithZxingOnly(const cv::Mat& image, bool try_harder);

}  // namespace cartsense::vision
