#include "vision/barcode_reader.h"

#include <algorithm>
#include <cmath>
#include <exception>
#include <fstream>
#include <iterator>
#include <numbers>
#include <optional>
#include <utility>

// zxing-cpp 1.4: Result::text() is UTF-8 with this defined (UTF-16 otherwise, deprecated).
#define ZX_USE_UTF8
#include <ZXing/BarcodeFormat.h>
#include <ZXing/DecodeHints.h>
#include <ZXing/ImageView.h>
#include <ZXing/ReadBarcode.h>
#include <ZXing/Result.h>
#include <opencv2/imgcodecs.hpp>
#include <opencv2/imgproc.hpp>

#include "core/gtin.h"
#include "core/text.h"
#include "session/session_format.h"
#include "vision/grey_image.h"

namespace cartsense::vision {
namespace {

constexpr double kRadToDeg = 180 / std::numbers::pi;
constexpr double kDegToRad = std::numbers::pi / 180;

// The retail symbologies; everything else zxing knows (QR, Code 128, ...) is ignored.
const ZXing::BarcodeFormats kRetailFormats =
    ZXing::BarcodeFormat::EAN13 | ZXing::BarcodeFormat::EAN8 | ZXing::BarcodeFormat::UPCA |
    ZXing::BarcodeFormat::UPCE | ZXing::BarcodeFormat::DataBar |
    ZXing::BarcodeFormat::DataBarExpanded;

// The whole image is searched for these only: zxing reads a UPC-E or an EAN-8 out of part of an
// EAN-13 now and then (with a valid check digit: seen on rotated renders), so the short formats
// are taken only from crops, where the code must span its region (see Collect).
const ZXing::BarcodeFormats kLongFormats =
    ZXing::BarcodeFormat::EAN13 | ZXing::BarcodeFormat::UPCA | ZXing::BarcodeFormat::DataBar |
    ZXing::BarcodeFormat::DataBarExpanded;

BarcodeFormat FromZxing(ZXing::BarcodeFormat format) {
  switch (format) {
    case ZXing::BarcodeFormat::EAN13:
      return BarcodeFormat::kEan13;
    case ZXing::BarcodeFormat::EAN8:
      return BarcodeFormat::kEan8;
    case ZXing::BarcodeFormat::UPCA:
      return BarcodeFormat::kUpcA;
    case ZXing::BarcodeFormat::UPCE:
      return BarcodeFormat::kUpcE;
    case ZXing::BarcodeFormat::DataBar:
    case ZXing::BarcodeFormat::DataBarExpanded:
      return BarcodeFormat::kGs1DataBar;
    default:
      return BarcodeFormat::kOther;
  }
}

// One zxing call on an 8-bit grey image, for at most one symbol: Debian's zxing-cpp 1.4 is built
// with assertions on, and ReadBarcodes looking for several symbols with tryRotate aborts the
// process in Result::operator== ("lineCount() == 1", seen on rotated EAN-13 renders); further
// codes in one image come from the candidate regions instead. zxing-cpp does not promise to be
// exception-free either, so an exception becomes an empty result (an unread frame, not a crash).
ZXing::Results RunZxing(const cv::Mat& grey, const ZXing::DecodeHints& hints) {
  try {
    const ZXing::ImageView view(grey.data, grey.cols, grey.rows, ZXing::ImageFormat::Lum,
                                static_cast<int>(grey.step));
    ZXing::Result result = ZXing::ReadBarcode(view, hints);
    if (!result.isValid()) return {};
    return {std::move(result)};
  } catch (const std::exception&) {
    return {};
  }
}

// The hints for one attempt on a crop: one symbol, no rotations or downscaling (the crop is
// already upright and sized), the given binarizer.
ZXing::DecodeHints CropHints(ZXing::Binarizer binarizer) {
  ZXing::DecodeHints hints;
  hints.setFormats(kRetailFormats)
      .setTryHarder(false)
      .setTryRotate(false)
      .setTryDownscale(false)
      .setMaxNumberOfSymbols(1)
      .setBinarizer(binarizer);
  return hints;
}

std::array<cv::Point2f, 4> Corners(const ZXing::Result& result) {
  const ZXing::Position& p = result.position();
  const auto point = [](ZXing::PointI q) {
    return cv::Point2f(static_cast<float>(q.x), static_cast<float>(q.y));
  };
  return {point(p.topLeft()), point(p.topRight()), point(p.bottomRight()), point(p.bottomLeft())};
}

// Appends the valid retail codes of `results` not already in `reads`; `to_image` maps a point of
// the image zxing saw to the input image. A UPC-E or EAN-8 whose scan line is shorter than
// `min_short_code_span_px` (in the image zxing saw) is dropped: it is part of a longer code.
template <typename MapPoint>
void Collect(const ZXing::Results& results, const MapPoint& to_image,
             std::vector<BarcodeRead>& reads, double min_short_code_span_px = 0) {
  for (const ZXing::Result& result : results) {
    if (!result.isValid()) continue;
    const BarcodeFormat format = FromZxing(result.format());
    if (format == BarcodeFormat::kOther) continue;
    if (format == BarcodeFormat::kUpcE || format == BarcodeFormat::kEan8) {
      const ZXing::PointI start = result.position().topLeft();
      const ZXing::PointI stop = result.position().topRight();
      if (std::hypot(stop.x - start.x, stop.y - start.y) < min_short_code_span_px) continue;
    }
    Result<std::string> gtin = GtinFromDecodedText(format, result.text());
    if (!gtin.ok()) continue;  // a misread that zxing's own checks let through
    const bool seen = std::any_of(reads.begin(), reads.end(), [&](const BarcodeRead& r) {
      return r.format == format && r.gtin == *gtin;
    });
    if (seen) continue;
    BarcodeRead read;
    read.format = format;
    read.gtin = std::move(*gtin);
    const std::array<cv::Point2f, 4> corners = Corners(result);
    for (std::size_t i = 0; i < corners.size(); ++i)
      read.corners_px.at(i) = to_image(corners.at(i));
    reads.push_back(std::move(read));
  }
}

// Stretches the 2nd..98th percentile of `crop` to 0..255 in place; false when the crop is flat
// (no code can be in it).
bool StretchContrast(cv::Mat& crop) {
  std::array<int, 256> histogram{};
  for (int y = 0; y < crop.rows; ++y) {
    const auto* row = crop.ptr<uint8_t>(y);
    for (int x = 0; x < crop.cols; ++x) ++histogram.at(row[x]);
  }
  const int total = crop.rows * crop.cols;
  const int tail = total / 50;
  int low = 0;
  for (int seen = 0; low < 255 && seen + histogram.at(low) <= tail; ++low)
    seen += histogram.at(low);
  int high = 255;
  for (int seen = 0; high > 0 && seen + histogram.at(high) <= tail; --high) {
    seen += histogram.at(high);
  }
  constexpr int kMinContrast = 24;
  if (high - low < kMinContrast) return false;
  const double gain = 255.0 / (high - low);
  crop.convertTo(crop, CV_8U, gain, -low * gain);
  return true;
}

// The bars' normal (radians) in a region: the mode of the per-pixel structure-tensor
// orientation, refined by the summed tensor of the pixels within 15 degrees of it. The region's
// mean tensor alone is led astray on motion-blurred codes: the blur weakens the bars' gradients
// but not those of the label's edges along the blur, and the mask takes those edges in.
double DominantNormal(const cv::Mat& jxx, const cv::Mat& jyy, const cv::Mat& jxy,
                      const cv::Mat& mask) {
  cv::Mat doubled;  // twice the orientation, [0, 2 pi)
  cv::phase(jxx - jyy, 2 * jxy, doubled);
  constexpr int kBins = 90;  // 2 degrees of orientation each
  constexpr double kBinsPerRad = kBins / (2 * std::numbers::pi);
  std::array<double, kBins> histogram{};
  for (int y = 0; y < doubled.rows; ++y) {
    const auto* phi = doubled.ptr<float>(y);
    const auto* in_region = mask.ptr<uint8_t>(y);
    for (int x = 0; x < doubled.cols; ++x) {
      if (in_region[x] == 0) continue;
      const int bin = static_cast<int>(static_cast<double>(phi[x]) * kBinsPerRad) % kBins;
      histogram.at(static_cast<std::size_t>(bin)) += 1;
    }
  }
  const auto count = [&](int bin) {
    return histogram.at(static_cast<std::size_t>((bin + kBins) % kBins));
  };
  int mode = 0;
  double best = -1;
  for (int bin = 0; bin < kBins; ++bin) {
    const double smoothed = count(bin - 1) + 2 * count(bin) + count(bin + 1);
    if (smoothed > best) {
      best = smoothed;
      mode = bin;
    }
  }
  const double mode_phi = (mode + 0.5) / kBinsPerRad;
  constexpr double kReach = 30 * kDegToRad;  // of the doubled angle: 15 degrees
  double sum_xx = 0;
  double sum_yy = 0;
  double sum_xy = 0;
  for (int y = 0; y < doubled.rows; ++y) {
    const auto* phi = doubled.ptr<float>(y);
    const auto* in_region = mask.ptr<uint8_t>(y);
    const auto* xx = jxx.ptr<float>(y);
    const auto* yy = jyy.ptr<float>(y);
    const auto* xy = jxy.ptr<float>(y);
    for (int x = 0; x < doubled.cols; ++x) {
      if (in_region[x] == 0) continue;
      double off = std::abs(static_cast<double>(phi[x]) - mode_phi);
      off = std::min(off, 2 * std::numbers::pi - off);
      if (off > kReach) continue;
      sum_xx += static_cast<double>(xx[x]);
      sum_yy += static_cast<double>(yy[x]);
      sum_xy += static_cast<double>(xy[x]);
    }
  }
  return 0.5 * std::atan2(2 * sum_xy, sum_xx - sum_yy);
}

// Joins regions that lie end to end on one line with the same bar direction: on a blurred code
// a wide space or the centre guard loses its gradient and splits the region in two.
void MergeCollinear(std::vector<BarcodeCandidate>& candidates) {
  for (bool merged = true; merged;) {
    merged = false;
    for (std::size_t i = 0; i < candidates.size() && !merged; ++i) {
      for (std::size_t j = i + 1; j < candidates.size() && !merged; ++j) {
        BarcodeCandidate& a = candidates[i];
        const BarcodeCandidate& b = candidates[j];
        double turn_deg = std::fmod(std::abs(a.normal_angle_deg - b.normal_angle_deg), 180.0);
        turn_deg = std::min(turn_deg, 180 - turn_deg);
        if (turn_deg > 6) continue;
        const double angle = a.normal_angle_deg * kDegToRad;
        const cv::Point2d along(std::cos(angle), std::sin(angle));
        const cv::Point2d across(-along.y, along.x);
        const cv::Point2d offset = b.centre_px - a.centre_px;
        const double u = offset.dot(along);
        const double v = offset.dot(across);
        if (std::abs(v) > 0.25 * std::min(a.height_px, b.height_px)) continue;
        const double gap = std::abs(u) - 0.5 * (a.length_px + b.length_px);
        if (gap > std::max(12.0, 0.1 * (a.length_px + b.length_px))) continue;
        const double u_min = std::min(-0.5 * a.length_px, u - 0.5 * b.length_px);
        const double u_max = std::max(0.5 * a.length_px, u + 0.5 * b.length_px);
        const double v_min = std::min(-0.5 * a.height_px, v - 0.5 * b.height_px);
        const double v_max = std::max(0.5 * a.height_px, v + 0.5 * b.height_px);
        a.centre_px += 0.5 * (u_min + u_max) * along + 0.5 * (v_min + v_max) * across;
        a.length_px = u_max - u_min;
        a.height_px = v_max - v_min;
        a.score += b.score;
        candidates.erase(candidates.begin() + static_cast<std::ptrdiff_t>(j));
        merged = true;
      }
    }
  }
}

// The image averaged along a candidate's bars: one sample per 1/samples_per_px input pixels on
// the line through its centre along the bars' normal, across the whole image, each the mean
// over half the region's height. Bars stay parallel under the renderer's tilt and a real
// camera's small perspective, so any motion blur acts on this profile as a 1-D box whatever
// its direction (its length projected on the normal).
struct BarProfile {
  cv::Mat values;      // 1 x n, CV_32F
  int span_begin = 0;  // the candidate's extent in the profile
  int span_end = 0;
  cv::Point2d origin;  // image point of sample 0
  cv::Point2d step;    // image offset from one sample to the next
};

BarProfile ProfileAcrossBars(const cv::Mat& grey, const BarcodeCandidate& candidate,
                             double samples_per_px) {
  const double angle = candidate.normal_angle_deg * kDegToRad;
  const cv::Point2d along(std::cos(angle), std::sin(angle));
  const cv::Point2d across(-along.y, along.x);
  const cv::Point2d centre = candidate.centre_px;
  // centre + t * along inside the image for t in [t_min, t_max].
  double t_min = -1e9;
  double t_max = 1e9;
  const auto clip = [&](double from, double direction, double limit) {
    if (std::abs(direction) < 1e-9) return;
    const double a = -from / direction;
    const double b = (limit - from) / direction;
    t_min = std::max(t_min, std::min(a, b));
    t_max = std::min(t_max, std::max(a, b));
  };
  clip(centre.x, along.x, grey.cols - 1.0);
  clip(centre.y, along.y, grey.rows - 1.0);
  BarProfile profile;
  const int width = static_cast<int>((t_max - t_min) * samples_per_px);
  const int band = std::max(3, static_cast<int>(0.5 * candidate.height_px));
  if (width < 16) return profile;
  const cv::Point2d corner = centre + t_min * along - (band / 2.0) * across;
  const cv::Matx23d strip_to_image(along.x / samples_per_px, across.x, corner.x,
                                   along.y / samples_per_px, across.y, corner.y);
  cv::Mat strip;
  cv::warpAffine(grey, strip, cv::Mat(strip_to_image), cv::Size(width, band),
                 cv::INTER_LINEAR | cv::WARP_INVERSE_MAP, cv::BORDER_REPLICATE);
  cv::reduce(strip, profile.values, 0, cv::REDUCE_AVG, CV_32F);
  profile.span_begin = std::clamp(
      static_cast<int>((-t_min - 0.6 * candidate.length_px) * samples_per_px), 0, width - 1);
  profile.span_end =
      std::clamp(static_cast<int>((-t_min + 0.6 * candidate.length_px) * samples_per_px),
                 profile.span_begin + 1, width);
  profile.origin = centre + t_min * along;
  profile.step = along / samples_per_px;
  return profile;
}

// The spectrum (DFT, `width` samples) of a box blur `length` samples long, centred on sample 0
// (wrapped); its two end taps are weighted by the fraction of a sample they cover.
cv::Mat BoxResponse(int width, double length) {
  cv::Mat kernel = cv::Mat::zeros(1, width, CV_32F);
  const double half = length / 2;
  const int reach = static_cast<int>(std::ceil(half));
  for (int x = -reach; x <= reach; ++x) {
    const double weight = std::clamp(half + 0.5 - std::abs(x), 0.0, 1.0);
    kernel.at<float>(0, (x + width) % width) += static_cast<float>(weight);
  }
  kernel /= cv::sum(kernel)[0];
  cv::Mat response;
  cv::dft(kernel, response, cv::DFT_COMPLEX_OUTPUT);
  return response;
}

// The spectrum (DFT, `width` samples) of a Gaussian blur of `sigma` samples centred on sample
// 0 (wrapped), truncated at 4 sigma.
cv::Mat GaussianResponse(int width, double sigma) {
  cv::Mat kernel = cv::Mat::zeros(1, width, CV_32F);
  const int reach = static_cast<int>(std::ceil(4 * sigma));
  for (int x = -reach; x <= reach; ++x) {
    kernel.at<float>(0, (x + width) % width) +=
        static_cast<float>(std::exp(-0.5 * x * x / (sigma * sigma)));
  }
  kernel /= cv::sum(kernel)[0];
  cv::Mat response;
  cv::dft(kernel, response, cv::DFT_COMPLEX_OUTPUT);
  return response;
}

// Wiener deconvolution of a profile (given as the DFT of the profile padded to `width`, the
// profile starting at `offset`) by a blur of spectrum `response` (BoxResponse): F = G H* /
// (|H|² + k), k the noise-to-signal ratio that keeps the blur's spectral zeros from blowing up
// noise.
std::vector<float> DeblurProfile(const cv::Mat& spectrum, const cv::Mat& response, int width,
                                 int offset, int samples, float noise_to_signal) {
  cv::Mat restored_spectrum = spectrum.clone();
  const auto* h = response.ptr<cv::Vec2f>(0);
  auto* g = restored_spectrum.ptr<cv::Vec2f>(0);
  for (int u = 0; u < width; ++u) {
    const float power = h[u][0] * h[u][0] + h[u][1] * h[u][1] + noise_to_signal;
    const float re = (g[u][0] * h[u][0] + g[u][1] * h[u][1]) / power;
    const float im = (g[u][1] * h[u][0] - g[u][0] * h[u][1]) / power;
    g[u] = cv::Vec2f(re, im);
  }
  cv::Mat restored;
  cv::idft(restored_spectrum, restored, cv::DFT_REAL_OUTPUT | cv::DFT_SCALE);
  const float* begin = restored.ptr<float>(0) + offset;
  return {begin, begin + samples};
}

// The 2nd and 98th percentiles of a profile's span (its dark and light levels, past the
// outliers).
std::pair<float, float> TailRange(std::vector<float> span) {
  const auto tail = static_cast<std::ptrdiff_t>(span.size() / 50);
  std::nth_element(span.begin(), span.begin() + tail, span.end());
  const float low = span[static_cast<std::size_t>(tail)];
  std::nth_element(span.begin(), span.end() - 1 - tail, span.end());
  const float high = *(span.end() - 1 - tail);
  return {low, high};
}

// A profile as an 8-bit image of two identical rows (zxing wants a symbol on two lines), its
// 2nd..98th percentile over [span_begin, span_end) stretched to 0..255, so that the fixed
// threshold (127) sits between the code's bars and spaces.
cv::Mat ProfileImage(const std::vector<float>& profile, int span_begin, int span_end) {
  const auto [low, high] = TailRange({profile.begin() + span_begin, profile.begin() + span_end});
  cv::Mat image(2, static_cast<int>(profile.size()), CV_8U);
  const float gain = high > low ? 255.0F / (high - low) : 0.0F;
  auto* row = image.ptr<uint8_t>(0);
  for (std::size_t x = 0; x < profile.size(); ++x) {
    row[x] = cv::saturate_cast<uint8_t>((profile[x] - low) * gain);
  }
  image.row(0).copyTo(image.row(1));
  return image;
}

// Whether a short code (EAN-8, UPC-E: `modules` wide) read on a profile between x_start and
// x_stop has quiet zones: from one to four modules beyond each end, past the blur's reach, the
// blurred profile stays near the code's white. Half an EAN-13 read as an EAN-8 has bars there.
// (The crops' test, that a short code spans its region, fails on blurred codes: the region
// takes in the label's edges.)
bool HasQuietZones(const cv::Mat& profile, float x_start, float x_stop, int modules,
                   double blur_samples) {
  const auto* p = profile.ptr<float>(0);
  const int n = profile.cols;
  const int begin = std::clamp(static_cast<int>(x_start), 0, n - 1);
  const int end = std::clamp(static_cast<int>(x_stop), begin + 1, n);
  const auto [darkest, lightest] = TailRange({p + begin, p + end});
  const auto black = static_cast<double>(darkest);
  const auto white = static_cast<double>(lightest);
  const double floor = white - 0.3 * (white - black);
  const double module = static_cast<double>(x_stop - x_start) / modules;
  for (const double side : {-1.0, 1.0}) {
    const auto edge = static_cast<double>(side < 0 ? x_start : x_stop);
    const auto first = static_cast<int>(std::ceil(0.5 * blur_samples + module));
    const auto last = static_cast<int>(std::floor(0.5 * blur_samples + 4 * module));
    for (int d = first; d <= last; ++d) {
      const auto x = static_cast<int>(std::lround(edge + side * d));
      if (x < 0 || x >= n || static_cast<double>(p[x]) < floor) return false;
    }
  }
  return true;
}

// A motion-blurred candidate: its profile across the bars deconvolved for box blurs from
// min_px to max_px (input pixels, step_px apart), each with a strong to a very light
// regulariser (the renders and a good camera have little noise; the light ones restore long
// blurs, the strong ones short blurs with their spectral zeros near the bars' frequencies).
// The restored profile reads only within about a quarter pixel of the blur's length, hence the
// fine sweep. If no code was read twice, the sweep is run again with each box convolved with
// the optics' Gaussian (deblur_optics_sigma_px): on codes under 2 px per module the blur a
// box-only deconvolution leaves in merges single modules. The first code read by min_votes
// attempts (over both sweeps) is returned; a lone read is dropped (sweeping every attempt over
// 1,320 renders gave two wrong codes, each from one attempt).
std::optional<BarcodeRead> ReadBlurredProfile(const BarProfile& profile,
                                              const BarcodeReaderParams& params) {
  const int samples = profile.values.cols;
  const double scale = params.deblur_profile_scale;
  const int pad = static_cast<int>(std::ceil(params.deblur_max_px * scale)) + 8;
  const int width = cv::getOptimalDFTSize(samples + 2 * pad);
  cv::Mat padded;
  cv::copyMakeBorder(profile.values, padded, 0, 0, pad, width - samples - pad,
                     cv::BORDER_REPLICATE);
  cv::Mat spectrum;
  cv::dft(padded, spectrum, cv::DFT_COMPLEX_OUTPUT);
  std::vector<std::pair<BarcodeRead, int>> votes;
  const double step_px = std::max(0.05, params.deblur_step_px);
  const int lengths =
      static_cast<int>(std::floor((params.deblur_max_px - params.deblur_min_px) / step_px + 1e-9));
  // The box sweep, then (if nothing was read twice) the same boxes with the optics' blur.
  std::vector<double> optics_sigmas_px = {0};
  if (params.deblur_optics_sigma_px > 0) optics_sigmas_px.push_back(params.deblur_optics_sigma_px);
  for (const double optics_sigma_px : optics_sigmas_px) {
    const cv::Mat optics =
        optics_sigma_px > 0 ? GaussianResponse(width, optics_sigma_px * scale) : cv::Mat();
    for (int step = 0; step <= lengths; ++step) {
      const double length_px = params.deblur_min_px + step * step_px;
      cv::Mat response = BoxResponse(width, length_px * scale);
      if (!optics.empty()) cv::mulSpectrums(response, optics, response, 0);
      for (const float noise_to_signal : {0.01F, 0.003F, 0.001F, 0.0003F, 0.0001F}) {
        const cv::Mat image =
            ProfileImage(DeblurProfile(spectrum, response, width, pad, samples, noise_to_signal),
                         profile.span_begin, profile.span_end);
        std::vector<BarcodeRead> reads;
        Collect(
            RunZxing(image, CropHints(ZXing::Binarizer::FixedThreshold)),
            [](cv::Point2f p) { return p; }, reads);
        for (BarcodeRead& read : reads) {
          if ((read.format == BarcodeFormat::kEan8 || read.format == BarcodeFormat::kUpcE) &&
              !HasQuietZones(profile.values, read.corners_px[0].x, read.corners_px[1].x,
                             read.format == BarcodeFormat::kEan8 ? 67 : 51, length_px * scale)) {
            continue;
          }
          auto vote = std::find_if(votes.begin(), votes.end(),
                                   [&](const auto& v) { return v.first.gtin == read.gtin; });
          if (vote == votes.end()) {
            votes.emplace_back(std::move(read), 0);
            vote = votes.end() - 1;
          }
          if (++vote->second < params.deblur_min_votes) continue;
          BarcodeRead found = vote->first;
          for (cv::Point2f& corner : found.corners_px) {
            const cv::Point2d at = profile.origin + static_cast<double>(corner.x) * profile.step;
            corner = cv::Point2f(static_cast<float>(at.x), static_cast<float>(at.y));
          }
          found.from_deblurred = true;
          return found;
        }
      }
    }
  }
  return std::nullopt;
}

}  // namespace

cv::Point2f BarcodeRead::centre_px() const {
  cv::Point2f sum(0, 0);
  for (const cv::Point2f& p : corners_px) sum += p;
  return sum * 0.25F;
}

Result<std::string> GtinFromDecodedText(BarcodeFormat format, std::string_view text) {
  const auto fail = [&](std::string_view why) {
    return InvalidArgumentError(std::string(session::BarcodeFormatName(format)) + " " +
                                QuoteForMessage(text) + ": " + std::string(why));
  };
  if (!AllDigits(text)) {
    // DataBar Expanded carries GS1 element strings; only an item's GTIN (AI 01) is read here.
    if (format == BarcodeFormat::kGs1DataBar && text.size() >= 18 && text.substr(0, 4) == "(01)" &&
        AllDigits(text.substr(4, 14))) {
      return GtinFromDecodedText(format, text.substr(4, 14));
    }
    return fail("expected digits only");
  }
  std::size_t expected_digits = 0;
  switch (format) {
    case BarcodeFormat::kEan13:
      expected_digits = 13;
      break;
    case BarcodeFormat::kUpcA:
      expected_digits = 12;
      break;
    case BarcodeFormat::kEan8:
    case BarcodeFormat::kUpcE:
      expected_digits = 8;
      break;
    case BarcodeFormat::kGs1DataBar:
      // zxing gives DataBar Omnidirectional as the 14-digit GTIN, Expanded as "01" + 14 + more.
      if (text.size() > 16 && text.substr(0, 2) == "01") {
        return GtinFromDecodedText(format, text.substr(2, 14));
      }
      expected_digits = 14;
      break;
    case BarcodeFormat::kOther:
      return fail("not a retail symbology");
  }
  if (text.size() != expected_digits) {
    return fail("expected " + std::to_string(expected_digits) + " digits, found " +
                std::to_string(text.size()));
  }
  if (format == BarcodeFormat::kUpcE) {
    CS_ASSIGN_OR_RETURN(const std::string upc_a, ExpandUpcE(text));
    if (!HasValidGtinCheckDigit(upc_a)) return fail("check digit is wrong");
    return "0" + upc_a;
  }
  if (!HasValidGtinCheckDigit(text)) return fail("check digit is wrong");
  if (format == BarcodeFormat::kUpcA) return "0" + std::string(text);
  if (format == BarcodeFormat::kGs1DataBar && text.front() == '0') {
    return std::string(text.substr(1));  // a GTIN-13 (or 12 with another 0) padded to 14
  }
  return std::string(text);
}

BarcodeReader::BarcodeReader(BarcodeReaderParams params) : params_(params) {}

std::vector<BarcodeCandidate> BarcodeReader::FindCandidates(const cv::Mat& grey) const {
  // Search at a bounded size.
  const int longest = std::max(grey.cols, grey.rows);
  const double search_scale =
      longest > params_.search_max_side_px ? double(params_.search_max_side_px) / longest : 1.0;
  cv::Mat search = grey;
  if (search_scale < 1) {
    cv::resize(grey, search, cv::Size(), search_scale, search_scale, cv::INTER_AREA);
  }

  // The structure tensor over a window a few modules wide: a barcode's gradients are strong and
  // all along one direction (the bars' normal); text and texture point every way.
  cv::Mat gx;
  cv::Mat gy;
  cv::Sobel(search, gx, CV_32F, 1, 0, 3);
  cv::Sobel(search, gy, CV_32F, 0, 1, 3);
  cv::Mat jxx = gx.mul(gx);
  cv::Mat jyy = gy.mul(gy);
  cv::Mat jxy = gx.mul(gy);
  const cv::Size window(15, 15);
  cv::blur(jxx, jxx, window);
  cv::blur(jyy, jyy, window);
  cv::blur(jxy, jxy, window);
  // Anisotropy λ1 - λ2 = sqrt((Jxx - Jyy)² + 4 Jxy²); its square root is an RMS gradient
  // (Sobel units: a sharp 0-to-255 step peaks at 1020).
  cv::Mat anisotropy;
  cv::magnitude(jxx - jyy, 2 * jxy, anisotropy);
  cv::Mat barness;
  cv::sqrt(anisotropy, barness);
  cv::Mat coherence = anisotropy / (jxx + jyy + 1e-3);

  // Strong and coherent. The absolute floor keeps flat, noisy frames from producing regions.
  double max_barness = 0;
  cv::minMaxLoc(barness, nullptr, &max_barness);
  constexpr double kMinBarness = 60;
  const double threshold = std::max(kMinBarness, 0.3 * max_barness);
  cv::Mat mask = (barness > threshold) & (coherence > 0.6);
  cv::morphologyEx(mask, mask, cv::MORPH_CLOSE,
                   cv::getStructuringElement(cv::MORPH_ELLIPSE, cv::Size(9, 9)));
  cv::morphologyEx(mask, mask, cv::MORPH_OPEN,
                   cv::getStructuringElement(cv::MORPH_ELLIPSE, cv::Size(5, 5)));

  std::vector<std::vector<cv::Point>> contours;
  cv::findContours(mask, contours, cv::RETR_EXTERNAL, cv::CHAIN_APPROX_SIMPLE);
  std::vector<BarcodeCandidate> candidates;
  for (const std::vector<cv::Point>& contour : contours) {
    const double area = cv::contourArea(contour);
    if (area < params_.min_region_area_px) continue;
    const cv::Rect box = cv::boundingRect(contour);
    const cv::Mat region_mask = mask(box);
    // The dominant gradient direction: the bars' normal, along the code's length.
    const double normal = DominantNormal(jxx(box), jyy(box), jxy(box), region_mask);
    const cv::Point2d along(std::cos(normal), std::sin(normal));
    const cv::Point2d across(-along.y, along.x);
    double u_min = 1e18;
    double u_max = -1e18;
    double v_min = 1e18;
    double v_max = -1e18;
    for (const cv::Point& p : contour) {
      const double u = p.x * along.x + p.y * along.y;
      const double v = p.x * across.x + p.y * across.y;
      u_min = std::min(u_min, u);
      u_max = std::max(u_max, u);
      v_min = std::min(v_min, v);
      v_max = std::max(v_max, v);
    }
    const double length = u_max - u_min;
    const double height = v_max - v_min;
    if (length < 24 || height < 8) continue;
    const double u_mid = 0.5 * (u_min + u_max);
    const double v_mid = 0.5 * (v_min + v_max);
    BarcodeCandidate candidate;
    const double to_input = 1 / search_scale;
    candidate.centre_px = cv::Point2d((u_mid * along.x + v_mid * across.x) * to_input,
                                      (u_mid * along.y + v_mid * across.y) * to_input);
    candidate.length_px = length * to_input;
    candidate.height_px = height * to_input;
    candidate.normal_angle_deg = normal * kRadToDeg;
    candidate.score = cv::mean(barness(box), region_mask)[0] * area;
    candidates.push_back(candidate);
  }
  std::sort(candidates.begin(), candidates.end(),
            [](const BarcodeCandidate& a, const BarcodeCandidate& b) { return a.score > b.score; });
  MergeCollinear(candidates);
  if (candidates.size() > static_cast<std::size_t>(std::max(0, params_.max_candidates))) {
    candidates.resize(static_cast<std::size_t>(std::max(0, params_.max_candidates)));
  }
  return candidates;
}

Result<std::vector<BarcodeRead>> BarcodeReader::Read(const cv::Mat& image) const {
  CS_ASSIGN_OR_RETURN(const cv::Mat grey, ToGrey8(image));
  std::vector<BarcodeRead> reads;

  if (params_.try_whole_image) {
    ZXing::DecodeHints hints = CropHints(ZXing::Binarizer::LocalAverage);
    hints.setFormats(kLongFormats);
    Collect(
        RunZxing(grey, hints), [](cv::Point2f p) { return p; }, reads);
  }

  int deblurred = 0;
  for (const BarcodeCandidate& candidate : FindCandidates(grey)) {
    // A candidate on a code already read is not tried again.
    const bool covered = std::any_of(reads.begin(), reads.end(), [&](const BarcodeRead& r) {
      return cv::norm(cv::Point2d(r.centre_px()) - candidate.centre_px) < 0.5 * candidate.length_px;
    });
    if (covered) continue;

    // The crop: the region with quiet-zone margins, turned so the bars stand upright (crop x
    // along the bars' normal), scaled to about crop_length_px along the code.
    const double margin_u = 0.15 * candidate.length_px + 6;
    const double margin_v = 0.1 * candidate.height_px + 4;
    const double scale =
        std::clamp(params_.crop_length_px / candidate.length_px, 0.25, params_.max_upscale);
    const int crop_width =
        static_cast<int>(std::lround((candidate.length_px + 2 * margin_u) * scale));
    const int crop_height = static_cast<int>(
        std::lround(std::min((candidate.height_px + 2 * margin_v) * scale, 0.6 * crop_width)));
    if (crop_width < 16 || crop_height < 8) continue;
    const double angle = candidate.normal_angle_deg * kDegToRad;
    const cv::Point2d along(std::cos(angle), std::sin(angle));
    const cv::Point2d across(-along.y, along.x);
    const cv::Point2d centre = candidate.centre_px;
    // crop (x, y) -> image: centre + (x - W/2)/scale * along + (y - H/2)/scale * across.
    const cv::Point2d origin =
        centre - (crop_width / 2.0 / scale) * along - (crop_height / 2.0 / scale) * across;
    const cv::Matx23d crop_to_image(along.x / scale, across.x / scale, origin.x, along.y / scale,
                                    across.y / scale, origin.y);
    cv::Mat crop;
    cv::warpAffine(grey, crop, cv::Mat(crop_to_image), cv::Size(crop_width, crop_height),
                   (scale > 1.5 ? cv::INTER_CUBIC : cv::INTER_LINEAR) | cv::WARP_INVERSE_MAP,
                   cv::BORDER_REPLICATE);
    if (!StretchContrast(crop)) continue;
    // Averaging along the bars removes noise without touching the bar edges.
    cv::blur(crop, crop, cv::Size(1, 5));
    const auto to_image = [&](cv::Point2f p) {
      const cv::Vec2d q =
          crop_to_image * cv::Vec3d(static_cast<double>(p.x), static_cast<double>(p.y), 1.0);
      return cv::Point2f(static_cast<float>(q[0]), static_cast<float>(q[1]));
    };

    // The region is the code plus about half the tensor window on each side.
    const double min_short_code_span_px = 0.7 * (candidate.length_px - 16) * scale;
    const std::size_t before = reads.size();
    // After the stretch, 127 is the middle of the code's range: the fixed threshold reads
    // blurred codes the histogram binarizer misses.
    for (const ZXing::Binarizer binarizer :
         {ZXing::Binarizer::FixedThreshold, ZXing::Binarizer::GlobalHistogram}) {
      Collect(RunZxing(crop, CropHints(binarizer)), to_image, reads, min_short_code_span_px);
      if (reads.size() > before) break;
    }
    if (reads.size() > before) continue;
    // Blurred codes: sharpen (unsharp mask at about a module's width) and try again.
    cv::Mat smooth;
    cv::GaussianBlur(crop, smooth, cv::Size(0, 0), std::max(1.0, 1.2 * scale));
    cv::Mat sharp;
    cv::addWeighted(crop, 2.0, smooth, -1.0, 0, sharp);
    Collect(RunZxing(sharp, CropHints(ZXing::Binarizer::FixedThreshold)), to_image, reads,
            min_short_code_span_px);
    if (reads.size() > before || deblurred >= params_.deblur_candidates) continue;
    // Motion blur: deconvolve the profile across the bars (such reads are marked; the scan
    // debouncer wants a second frame for them).
    ++deblurred;
    const BarProfile profile = ProfileAcrossBars(grey, candidate, params_.deblur_profile_scale);
    if (profile.values.empty()) continue;
    std::optional<BarcodeRead> read = ReadBlurredProfile(profile, params_);
    if (!read) continue;
    const bool seen = std::any_of(reads.begin(), reads.end(), [&](const BarcodeRead& r) {
      return r.format == read->format && r.gtin == read->gtin;
    });
    if (!seen) reads.push_back(std::move(*read));
  }
  return reads;
}

Result<cv::Mat> DecodeBarcodePhoto(const std::vector<uint8_t>& bytes, const std::string& source) {
  const auto starts_with = [&](std::size_t offset, std::string_view magic) {
    if (bytes.size() < offset + magic.size()) return false;
    return std::equal(magic.begin(), magic.end(),
                      bytes.begin() + static_cast<std::ptrdiff_t>(offset),
                      [](char m, uint8_t b) { return static_cast<uint8_t>(m) == b; });
  };
  const bool png = starts_with(0, "\x89PNG\r\n\x1a\n");
  const bool jpeg = starts_with(0, "\xff\xd8\xff");
  const bool webp = starts_with(0, "RIFF") && starts_with(8, "WEBP");
  if (!png && !jpeg && !webp) {
    return InvalidArgumentError(source + ": not a PNG, JPEG or WebP image (" +
                                std::to_string(bytes.size()) + " bytes)");
  }
  cv::Mat grey;
  try {
    grey = cv::imdecode(bytes, cv::IMREAD_GRAYSCALE);
  } catch (const cv::Exception& e) {
    return InvalidArgumentError(source + ": damaged " +
                                (png    ? "PNG"
                                 : jpeg ? "JPEG"
                                        : "WebP") +
                                " image: " + e.what());
  }
  if (grey.empty()) {
    return InvalidArgumentError(source + ": damaged " +
                                std::string(png    ? "PNG"
                                            : jpeg ? "JPEG"
                                                   : "WebP") +
                                " image");
  }
  return grey;
}

Result<cv::Mat> LoadBarcodePhoto(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return NotFoundError(path + ": cannot open");
  std::vector<uint8_t> bytes((std::istreambuf_iterator<char>(in)),
                             std::istreambuf_iterator<char>());
  if (in.bad()) return NotFoundError(path + ": read error");
  return DecodeBarcodePhoto(bytes, path);
}

Result<std::vector<BarcodeRead>> ReadWithZxingOnly(const cv::Mat& image, bool try_harder) {
  CS_ASSIGN_OR_RETURN(const cv::Mat grey, ToGrey8(image));
  ZXing::DecodeHints hints;
  hints.setFormats(kRetailFormats)
      .setTryHarder(try_harder)
      .setTryRotate(try_harder)
      .setTryDownscale(try_harder);
  std::vector<BarcodeRead> reads;
  Collect(
      RunZxing(grey, hints), [](cv::Point2f p) { return p; }, reads);
  return reads;
}

}  // namespace cartsense::vision
