#include "vision/change_detector.h"

#include <algorithm>
#include <array>
#include <cmath>
#include <string>
#include <utility>

#include <opencv2/imgproc.hpp>

namespace cartsense::vision {
namespace {

constexpr double kMadToSigma = 1.4826;

// Resized to the work scale, float, blurred against sensor noise.
cv::Mat ToWork(const cv::Mat& bgr, const ChangeDetectorParams& params) {
  cv::Mat small;
  cv::resize(bgr, small,
             cv::Size(bgr.cols / params.work_downscale, bgr.rows / params.work_downscale), 0, 0,
             cv::INTER_AREA);
  cv::Mat work;
  small.convertTo(work, CV_32FC3);
  cv::GaussianBlur(work, work, cv::Size(0, 0), params.blur_sigma_px);
  return work;
}

double Median(std::vector<float>& values, double fallback) {
  if (values.empty()) return fallback;
  const auto middle = values.begin() + static_cast<std::ptrdiff_t>(values.size() / 2);
  std::nth_element(values.begin(), middle, values.end());
  return static_cast<double>(*middle);
}

// Per-channel gain g with current ≈ g * reference: the median ratio over pixels bright enough
// to have one. A median ignores the part of the frame that really changed.
cv::Vec3d RobustGain(const cv::Mat& reference, const cv::Mat& current) {
  std::array<std::vector<float>, 3> ratios;
  for (int y = 0; y < reference.rows; y += 2) {
    const auto* r = reference.ptr<cv::Vec3f>(y);
    const auto* c = current.ptr<cv::Vec3f>(y);
    for (int x = 0; x < reference.cols; x += 2) {
      for (std::size_t ch = 0; ch < 3; ++ch) {
        const int k = static_cast<int>(ch);
        if (r[x][k] > 20.0F && c[x][k] > 5.0F) ratios[ch].push_back(c[x][k] / r[x][k]);
      }
    }
  }
  cv::Vec3d gain;
  for (int ch = 0; ch < 3; ++ch) gain[ch] = Median(ratios[static_cast<std::size_t>(ch)], 1.0);
  return gain;
}

cv::Mat ApplyGain(const cv::Mat& image, const cv::Vec3d& gain) {
  cv::Mat out;
  cv::multiply(image, cv::Scalar(gain[0], gain[1], gain[2]), out);
  return out;
}

// Noise sigma (grey levels) of the difference of two aligned frames, from its median absolute
// value; most of a basket frame does not change between stable frames.
double NoiseSigma(const cv::Mat& a, const cv::Mat& b) {
  std::vector<float> diffs;
  diffs.reserve(static_cast<std::size_t>(a.total() / 4 + 1));
  for (int y = 0; y < a.rows; y += 2) {
    const auto* pa = a.ptr<cv::Vec3f>(y);
    const auto* pb = b.ptr<cv::Vec3f>(y);
    for (int x = 0; x < a.cols; x += 2) {
      const float ia = (pa[x][0] + pa[x][1] + pa[x][2]) / 3.0F;
      const float ib = (pb[x][0] + pb[x][1] + pb[x][2]) / 3.0F;
      diffs.push_back(std::abs(ia - ib));
    }
  }
  return kMadToSigma * Median(diffs, 0.0);
}

// 255 where `current` differs from `reference` (already gain-matched) by more than light,
// shadow and noise explain. `shadow_may_lift`: a brightening that keeps the chromaticity is a
// shadow gone (what a removal leaves around the item), not a change.
cv::Mat ChangedMask(const cv::Mat& reference, const cv::Mat& current, double noise_grey,
                    const ChangeDetectorParams& p, bool shadow_may_lift) {
  const double brighten_limit = shadow_may_lift ? 1.0 / p.shadow_min_ratio - 1.0 : p.brighten_ratio;
  cv::Mat mask(reference.size(), CV_8U, cv::Scalar(0));
  const double noise = p.noise_factor * noise_grey;
  for (int y = 0; y < reference.rows; ++y) {
    const auto* r = reference.ptr<cv::Vec3f>(y);
    const auto* c = current.ptr<cv::Vec3f>(y);
    auto* m = mask.ptr<uint8_t>(y);
    for (int x = 0; x < reference.cols; ++x) {
      const double ir = static_cast<double>(r[x][0] + r[x][1] + r[x][2]) / 3.0;
      const double ic = static_cast<double>(c[x][0] + c[x][1] + c[x][2]) / 3.0;
      const double ratio = (ic + 1.0) / (ir + 1.0);
      bool changed = ratio > 1.0 + std::max(brighten_limit, noise / std::max(ir, 1.0)) ||
                     (ratio < p.shadow_min_ratio && ir - ic > noise);
      if (!changed && std::min(ir, ic) > p.chroma_min_level_grey) {
        double chroma = 0;
        for (int k = 0; k < 3; ++k) {
          chroma += std::abs(static_cast<double>(c[x][k]) / (3 * ic) -
                             static_cast<double>(r[x][k]) / (3 * ir));
        }
        changed = chroma > std::max(p.chroma_change, 1.5 * noise / ic);
      }
      m[x] = changed ? 255 : 0;
    }
  }
  return mask;
}

// 255 where the neighbourhood of `current` matches `reference` displaced by a few pixels (an
// item that shifted), inside `changed` only.
cv::Mat ShiftExplained(const cv::Mat& reference, const cv::Mat& current, const cv::Mat& changed,
                       double noise_grey, const ChangeDetectorParams& p) {
  cv::Mat explained(changed.size(), CV_8U, cv::Scalar(0));
  const cv::Rect changed_box = cv::boundingRect(changed);
  if (changed_box.area() == 0) return explained;
  const int s = p.shift_search_px;
  const cv::Rect full(0, 0, changed.cols, changed.rows);
  const cv::Rect roi = cv::Rect(changed_box.x - s - 3, changed_box.y - s - 3,
                                changed_box.width + 2 * s + 6, changed_box.height + 2 * s + 6) &
                       full;
  cv::Mat padded_ref;
  cv::copyMakeBorder(reference, padded_ref, s, s, s, s, cv::BORDER_REPLICATE);
  const cv::Mat cur = current(roi);
  cv::Mat best(roi.size(), CV_32F, cv::Scalar(1e9));
  cv::Mat diff;
  cv::Mat grey_diff;
  for (int dy = -s; dy <= s; ++dy) {
    for (int dx = -s; dx <= s; ++dx) {
      if (dx == 0 && dy == 0) continue;
      const cv::Mat shifted =
          padded_ref(cv::Rect(roi.x + s + dx, roi.y + s + dy, roi.width, roi.height));
      cv::absdiff(cur, shifted, diff);
      cv::transform(diff, grey_diff, cv::Matx13f(1.0F / 3, 1.0F / 3, 1.0F / 3));
      cv::boxFilter(grey_diff, grey_diff, -1, cv::Size(7, 7));
      cv::min(best, grey_diff, best);
    }
  }
  const double limit = std::max(p.shift_match_grey, p.noise_factor * noise_grey);
  cv::Mat matched = best < limit;
  matched.copyTo(explained(roi));
  cv::bitwise_and(explained, changed, explained);
  return explained;
}

// Splits a filled added region into its cores, the parts farther from its edge than
// split_core_share of the farthest, each pixel going to its nearest core: two cores joined by a
// neck are two items of about the same size. Then SplitAtNecks and CutAtConcavities look for
// items of unlike size and overlapping ones.
std::vector<cv::Mat> SplitAtCores(const cv::Mat& filled, double min_area,
                                  const ChangeDetectorParams& p) {
  if (p.split_core_share <= 0) return {filled};
  cv::Mat distance;
  cv::distanceTransform(filled, distance, cv::DIST_L2, 5);
  double max_distance = 0;
  cv::minMaxLoc(distance, nullptr, &max_distance);
  const cv::Mat cores = distance > p.split_core_share * max_distance;
  cv::Mat core_labels;
  const int core_count = cv::connectedComponents(cores, core_labels, 8, CV_32S);
  if (core_count <= 2) return {filled};
  cv::Mat nearest;
  cv::Mat labels;
  cv::distanceTransform(~cores, nearest, labels, cv::DIST_L2, 5, cv::DIST_LABEL_CCOMP);
  std::vector<cv::Mat> parts;
  for (int c = 1; c < core_count; ++c) {
    // DIST_LABEL_CCOMP numbers the zero components itself: find this core's label.
    cv::Point seed;
    cv::minMaxLoc(core_labels == c, nullptr, nullptr, nullptr, &seed);
    const int label = labels.at<int>(seed);
    cv::Mat part = (labels == label) & filled;
    if (cv::countNonZero(part) >= min_area) parts.push_back(part);
  }
  return parts;
}

// Splits one filled added region (work scale, full work-frame mask) where it pinches: items put
// down together touch or overlap a little, and their union then has a neck. The distance to the
// region's edge has one peak per item; two peaks are two items when the highest path between
// them (the saddle of the distance map) drops below `split_neck_ratio` of the lower peak. That
// is a component tree of the distance map, flooded from its highest pixels (union-find): a
// component that meets a higher one at such a saddle is one item's core. OpenCV has watershed
// but no h-maxima, hence this flood. Each core's peak becomes a marker; each pixel goes to the
// nearest marker (cv::watershed on the image measured worse: its labels leak around items,
// docs/cameras.md).
std::vector<cv::Mat> SplitAtNecks(const cv::Mat& filled, const ChangeDetectorParams& p) {
  const cv::Rect full(0, 0, filled.cols, filled.rows);
  const cv::Rect box = cv::boundingRect(filled);
  const cv::Rect roi = cv::Rect(box.x - 2, box.y - 2, box.width + 4, box.height + 4) & full;
  const cv::Mat region = filled(roi);
  cv::Mat distance;
  cv::distanceTransform(region, distance, cv::DIST_L2, cv::DIST_MASK_PRECISE);
  std::vector<int> order;
  order.reserve(static_cast<std::size_t>(cv::countNonZero(region)));
  const auto* d = distance.ptr<float>(0);
  const int cols = distance.cols;
  for (int i = 0; i < static_cast<int>(distance.total()); ++i) {
    if (d[i] > 0) order.push_back(i);
  }
  std::stable_sort(order.begin(), order.end(), [d](int a, int b) { return d[a] > d[b]; });
  // Union-find over pixels; a root knows its component's peak pixel.
  std::vector<int> parent(distance.total(), -1);
  std::vector<int> peak(distance.total(), -1);
  const auto find = [&parent](int i) {
    while (parent[static_cast<std::size_t>(i)] != i) {
      const std::size_t at = static_cast<std::size_t>(i);
      parent[at] = parent[static_cast<std::size_t>(parent[at])];
      i = parent[at];
    }
    return i;
  };
  const double min_peak = p.split_min_radius_px;
  std::vector<int> seeds;  // peak pixels of the cores
  for (int i : order) {
    const std::size_t at = static_cast<std::size_t>(i);
    parent[at] = i;
    peak[at] = i;
    const int x = i % cols;
    const int y = i / cols;
    for (int dy = -1; dy <= 1; ++dy) {
      for (int dx = -1; dx <= 1; ++dx) {
        if ((dx == 0 && dy == 0) || x + dx < 0 || x + dx >= cols || y + dy < 0 ||
            y + dy >= distance.rows) {
          continue;
        }
        const int j = i + dy * cols + dx;
        if (parent[static_cast<std::size_t>(j)] < 0) continue;
        int a = find(i);
        int b = find(j);
        if (a == b) continue;
        // b keeps the higher peak.
        if (d[peak[static_cast<std::size_t>(a)]] > d[peak[static_cast<std::size_t>(b)]]) {
          std::swap(a, b);
        }
        const double lower_peak = static_cast<double>(d[peak[static_cast<std::size_t>(a)]]);
        if (lower_peak >= min_peak && static_cast<double>(d[i]) < p.split_neck_ratio * lower_peak) {
          seeds.push_back(peak[static_cast<std::size_t>(a)]);
        }
        parent[static_cast<std::size_t>(a)] = b;
      }
    }
  }
  if (seeds.empty()) return {filled};
  seeds.push_back(peak[static_cast<std::size_t>(find(order.front()))]);
  // Markers: a disk of half its radius around each core's peak; 0 elsewhere (to be flooded).
  cv::Mat markers(roi.size(), CV_32S, cv::Scalar(0));
  for (std::size_t s = 0; s < seeds.size(); ++s) {
    const cv::Point at(seeds[s] % cols, seeds[s] / cols);
    const int radius = std::max(1, static_cast<int>(0.5 * static_cast<double>(d[seeds[s]])));
    cv::circle(markers, at, radius, cv::Scalar(static_cast<int>(s) + 1), cv::FILLED);
  }
  // Label per pixel of the box: the marker (seed index + 1) it is flooded from.
  // Nearest marker; DIST_LABEL_CCOMP numbers the markers itself: map its labels back.
  cv::Mat nearest;
  cv::Mat ccomp;
  cv::distanceTransform(markers == 0, nearest, ccomp, cv::DIST_L2, 5, cv::DIST_LABEL_CCOMP);
  cv::Mat labels(roi.size(), CV_32S, cv::Scalar(0));
  for (int y = 0; y < labels.rows; ++y) {
    for (int x = 0; x < labels.cols; ++x) {
      const int c = ccomp.at<int>(y, x);
      for (std::size_t s = 0; s < seeds.size(); ++s) {
        if (ccomp.at<int>(seeds[s] / cols, seeds[s] % cols) == c) {
          labels.at<int>(y, x) = static_cast<int>(s) + 1;
          break;
        }
      }
    }
  }
  std::vector<cv::Mat> parts;
  for (std::size_t s = 0; s < seeds.size(); ++s) {
    cv::Mat part(filled.size(), CV_8U, cv::Scalar(0));
    const cv::Mat in_roi = (labels == static_cast<int>(s) + 1) & region;
    in_roi.copyTo(part(roi));
    parts.push_back(part);
  }
  return parts;
}

// Cuts a filled added region (work scale, full work-frame mask) between two concavities of its
// outline: where two items overlap, their union's outline turns inwards at both ends of the
// overlap. A concavity is the farthest outline point from a convex-hull edge (the edge's
// convexity defect; computed here rather than with cv::convexityDefects, which throws on the
// non-monotonic hulls that ragged masks give). The cut joins the pair of concavities, each at
// least split_min_concavity_px deep, whose length over their summed depth is smallest, if that
// ratio is at most split_max_cut_per_depth and the cut runs inside the region; both sides must
// be at least `min_area` px. Each side is cut again, up to `levels` deep.
void CutAtConcavities(const cv::Mat& filled, double min_area, const ChangeDetectorParams& p,
                      int levels, std::vector<cv::Mat>& out) {
  std::vector<std::vector<cv::Point>> contours;
  cv::findContours(filled, contours, cv::RETR_EXTERNAL, cv::CHAIN_APPROX_NONE);
  const auto largest = std::max_element(
      contours.begin(), contours.end(),
      [](const auto& a, const auto& b) { return cv::contourArea(a) < cv::contourArea(b); });
  if (levels <= 0 || largest == contours.end() || largest->size() < 8 ||
      cv::countNonZero(filled) < 2 * min_area) {
    out.push_back(filled);
    return;
  }
  const std::vector<cv::Point>& outline = *largest;
  std::vector<int> hull;
  cv::convexHull(outline, hull, false, false);
  std::sort(hull.begin(), hull.end());
  struct Concavity {
    cv::Point2d at;
    double depth = 0;
  };
  std::vector<Concavity> concavities;
  const int n = static_cast<int>(outline.size());
  for (std::size_t h = 0; h < hull.size(); ++h) {
    const int from = hull[h];
    const int to = h + 1 < hull.size() ? hull[h + 1] : hull[0] + n;
    if (to - from < 3) continue;
    const cv::Point2d a(outline[static_cast<std::size_t>(from)]);
    const cv::Point2d b(outline[static_cast<std::size_t>(to % n)]);
    const cv::Point2d edge = b - a;
    const double length = std::sqrt(edge.dot(edge));
    if (length < 1e-6) continue;
    Concavity deepest;
    for (int i = from + 1; i < to; ++i) {
      const cv::Point2d q(outline[static_cast<std::size_t>(i % n)]);
      const double depth = std::abs(edge.x * (q.y - a.y) - edge.y * (q.x - a.x)) / length;
      if (depth > deepest.depth) deepest = {q, depth};
    }
    if (deepest.depth >= p.split_min_concavity_px) concavities.push_back(deepest);
  }
  double best_cost = p.split_max_cut_per_depth;
  cv::Mat best_cut;
  for (std::size_t i = 0; i < concavities.size(); ++i) {
    for (std::size_t j = i + 1; j < concavities.size(); ++j) {
      const cv::Point2d d = concavities[j].at - concavities[i].at;
      const double length = std::sqrt(d.dot(d));
      const double cost = length / (concavities[i].depth + concavities[j].depth);
      if (length < 2 || cost >= best_cost) continue;
      // Samples every 0.5 px along the cut, both ends included.
      int inside = 0;
      const int samples = static_cast<int>(std::floor(2 * length)) + 1;
      for (int k = 0; k < samples; ++k) {
        const double s = 0.5 * k;
        const cv::Point q(cvRound(concavities[i].at.x + d.x * s / length),
                          cvRound(concavities[i].at.y + d.y * s / length));
        inside += filled.at<uint8_t>(q) != 0 ? 1 : 0;
      }
      if (inside < 0.9 * samples) continue;
      cv::Mat cut = filled.clone();
      cv::line(cut, cv::Point(concavities[i].at), cv::Point(concavities[j].at), cv::Scalar(0), 2);
      cv::Mat labels;
      cv::Mat stats;
      cv::Mat centroids;
      const int count = cv::connectedComponentsWithStats(cut, labels, stats, centroids, 4);
      int big = 0;
      for (int c = 1; c < count; ++c) big += stats.at<int>(c, cv::CC_STAT_AREA) >= min_area ? 1 : 0;
      if (big < 2) continue;
      best_cost = cost;
      best_cut = cut;
    }
  }
  if (best_cut.empty()) {
    out.push_back(filled);
    return;
  }
  cv::Mat labels;
  cv::Mat stats;
  cv::Mat centroids;
  const int count = cv::connectedComponentsWithStats(best_cut, labels, stats, centroids, 4);
  for (int c = 1; c < count; ++c) {
    if (stats.at<int>(c, cv::CC_STAT_AREA) < min_area) continue;
    CutAtConcavities(labels == c, min_area, p, levels - 1, out);
  }
}

// Connected regions of `mask` (work scale) after cleaning, as full-resolution regions.
std::vector<ChangeRegion> Regions(const cv::Mat& mask_in, ChangeRegion::Kind kind,
                                  const cv::Mat& source_bgr, const ChangeDetectorParams& p) {
  cv::Mat opened;
  cv::morphologyEx(mask_in, opened, cv::MORPH_OPEN,
                   cv::getStructuringElement(cv::MORPH_ELLIPSE, cv::Size(3, 3)));
  cv::Mat mask;
  cv::morphologyEx(opened, mask, cv::MORPH_CLOSE,
                   cv::getStructuringElement(cv::MORPH_ELLIPSE, cv::Size(9, 9)));
  // Fill holes: an item's parts that look like the basket are still the item.
  std::vector<std::vector<cv::Point>> contours;
  cv::findContours(mask, contours, cv::RETR_EXTERNAL, cv::CHAIN_APPROX_SIMPLE);
  const int ds = p.work_downscale;
  const double min_area_work = static_cast<double>(p.min_region_px) / (ds * ds);
  std::vector<ChangeRegion> regions;
  // Full-frame masks of the parts: each filled component, split where it pinches (items put
  // down together touch).
  std::vector<cv::Mat> parts;
  for (const std::vector<cv::Point>& contour : contours) {
    if (cv::contourArea(contour) < min_area_work) continue;
    cv::Mat filled(mask.size(), CV_8U, cv::Scalar(0));
    cv::drawContours(filled, std::vector<std::vector<cv::Point>>{contour}, 0, cv::Scalar(255),
                     cv::FILLED);
    if (kind != ChangeRegion::Kind::kAdded) {
      parts.push_back(filled);
      continue;
    }
    for (cv::Mat& piece : SplitAtCores(filled, min_area_work, p)) {
      // A piece the changed pixels fill only in part (an item on other items of like colour) has
      // a ragged outline whose pinches and notches are not item boundaries: not split further.
      const double fill = static_cast<double>(cv::countNonZero(opened & piece)) /
                          static_cast<double>(std::max(1, cv::countNonZero(piece)));
      if (fill < p.split_min_fill) {
        parts.push_back(std::move(piece));
        continue;
      }
      for (cv::Mat& part : SplitAtNecks(piece, p)) {
        if (cv::countNonZero(part) < min_area_work) continue;
        if (p.split_max_cut_per_depth > 0) {
          CutAtConcavities(part, min_area_work, p, 3, parts);
        } else {
          parts.push_back(std::move(part));
        }
      }
    }
  }
  for (const cv::Mat& filled_full : parts) {
    const cv::Rect box = cv::boundingRect(filled_full);
    const cv::Mat filled = filled_full(box);
    ChangeRegion region;
    region.kind = kind;
    region.box_px = cv::Rect(box.x * ds, box.y * ds, box.width * ds, box.height * ds) &
                    cv::Rect(0, 0, source_bgr.cols, source_bgr.rows);
    cv::resize(filled, region.mask, region.box_px.size(), 0, 0, cv::INTER_NEAREST);
    region.crop_bgr = source_bgr(region.box_px).clone();
    region.area_px = cv::countNonZero(region.mask);
    regions.push_back(std::move(region));
  }
  std::sort(regions.begin(), regions.end(),
            [](const ChangeRegion& a, const ChangeRegion& b) { return a.area_px > b.area_px; });
  return regions;
}

}  // namespace

BasketChange CompareStableFrames(const cv::Mat& reference_bgr, const cv::Mat& current_bgr,
                                 const cv::Mat& empty_bgr, int expected_sign,
                                 const ChangeDetectorParams& params) {
  BasketChange change;
  const cv::Mat current = ToWork(current_bgr, params);
  const cv::Mat reference =
      ApplyGain(ToWork(reference_bgr, params), RobustGain(ToWork(reference_bgr, params), current));
  change.noise_grey = NoiseSigma(reference, current);
  const cv::Mat changed = ChangedMask(reference, current, change.noise_grey, params, false);
  // Where something vanished, the shadow it cast went with it.
  const cv::Mat changed_unshadowed =
      ChangedMask(reference, current, change.noise_grey, params, true);
  change.changed_share =
      static_cast<double>(cv::countNonZero(changed)) / static_cast<double>(changed.total());
  if (change.changed_share > params.max_changed_share) {
    change.outcome = BasketChange::Outcome::kSceneChangedTooMuch;
    return change;
  }
  cv::Mat added;
  cv::Mat vanished(changed.size(), CV_8U, cv::Scalar(0));
  if (expected_sign < 0) {
    vanished = changed_unshadowed;
    added = cv::Mat(changed.size(), CV_8U, cv::Scalar(0));
  } else {
    const cv::Mat shifted = ShiftExplained(reference, current, changed, change.noise_grey, params);
    added = changed & ~shifted;
    if (!empty_bgr.empty()) {
      const cv::Mat empty_work = ToWork(empty_bgr, params);
      const cv::Mat empty = ApplyGain(empty_work, RobustGain(empty_work, current));
      const cv::Mat like_empty =
          ~ChangedMask(empty, current, NoiseSigma(empty, current), params, false) & changed;
      added &= ~like_empty;
      if (expected_sign == 0) vanished = like_empty & changed_unshadowed;
    }
  }
  change.regions = Regions(added, ChangeRegion::Kind::kAdded, current_bgr, params);
  std::vector<ChangeRegion> gone =
      Regions(vanished, ChangeRegion::Kind::kVanished, reference_bgr, params);
  for (ChangeRegion& region : gone) change.regions.push_back(std::move(region));
  return change;
}

ChangeDetector::ChangeDetector(ChangeDetectorParams params) : params_(params) {}

Status ChangeDetector::Validate(const ChangeDetectorParams& p) {
  const auto bad = [](const std::string& field, const std::string& why) {
    return InvalidArgumentError("change detector: " + field + " " + why);
  };
  if (p.work_downscale < 1 || p.work_downscale > 8) return bad("work_downscale", "must be 1-8");
  if (!(p.blur_sigma_px > 0)) return bad("blur_sigma_px", "must be > 0");
  if (!(p.motion_share > 0 && p.motion_share < 1)) return bad("motion_share", "must be in (0, 1)");
  if (p.settle_ms < 0) return bad("settle_ms", "must be >= 0");
  if (p.min_still_frames < 1) return bad("min_still_frames", "must be >= 1");
  if (p.max_settle_wait_ms <= p.settle_ms) {
    return bad("max_settle_wait_ms", "must exceed settle_ms");
  }
  if (!(p.shadow_min_ratio > 0 && p.shadow_min_ratio < 1)) {
    return bad("shadow_min_ratio", "must be in (0, 1)");
  }
  if (p.shift_search_px < 0 || p.shift_search_px > 32) {
    return bad("shift_search_px", "must be 0-32");
  }
  if (p.min_region_px < 1) return bad("min_region_px", "must be >= 1");
  if (!(p.max_changed_share > 0 && p.max_changed_share <= 1)) {
    return bad("max_changed_share", "must be in (0, 1]");
  }
  return Status::Ok();
}

bool ChangeDetector::IsMoving(const cv::Mat& work_grey) const {
  cv::Mat diff;
  cv::absdiff(work_grey, previous_grey_, diff);
  std::vector<float> samples;
  samples.reserve(diff.total() / 4 + 1);
  for (int y = 0; y < diff.rows; y += 2) {
    const auto* d = diff.ptr<float>(y);
    for (int x = 0; x < diff.cols; x += 2) samples.push_back(d[x]);
  }
  const double noise = kMadToSigma * Median(samples, 0.0);
  const double limit = std::max(params_.motion_min_diff_grey, params_.motion_noise_factor * noise);
  const double moving_share =
      static_cast<double>(cv::countNonZero(diff > limit)) / static_cast<double>(diff.total());
  return moving_share > params_.motion_share;
}

void ChangeDetector::NoteWeightEvent(Timestamp t, double delta_g) {
  // An event older than the last comparison explains a change already reported.
  if (last_compare_t_ && t <= *last_compare_t_) return;
  if (std::abs(delta_g) < params_.min_weight_change_g) return;
  pending_weight_g_ = delta_g;
  still_since_.reset();  // compare frames from now on
  still_frames_ = 0;
}

Result<std::optional<BasketChange>> ChangeDetector::AddFrame(Timestamp t,
                                                             const cv::Mat& frame_bgr) {
  if (frame_bgr.empty() || frame_bgr.type() != CV_8UC3) {
    return InvalidArgumentError("change detector: frame at t_ns " + std::to_string(t.ns) +
                                " is not an 8-bit BGR image");
  }
  if (!previous_grey_.empty() && frame_bgr.size() != frame_size_) {
    return InvalidArgumentError("change detector: frame at t_ns " + std::to_string(t.ns) +
                                " changed size");
  }
  if (previous_t_ && t <= *previous_t_) {
    return InvalidArgumentError("change detector: frame at t_ns " + std::to_string(t.ns) +
                                " is not after the previous one");
  }
  cv::Mat grey;
  cv::cvtColor(ToWork(frame_bgr, params_), grey, cv::COLOR_BGR2GRAY);
  // Between event-triggered clips there are no frames: a first frame that matches the last one
  // of the previous clip continues its still run.
  const bool motion = previous_grey_.empty() || IsMoving(grey);
  const std::optional<Timestamp> previous_t = previous_t_;
  const cv::Mat previous_bgr = previous_bgr_;
  previous_grey_ = grey;
  previous_bgr_ = frame_bgr.clone();
  previous_t_ = t;
  frame_size_ = frame_bgr.size();

  if (motion) {
    if (!moving_ || !motion_start_) {
      motion_start_ = t;
      timeout_reported_ = false;
    }
    moving_ = true;
    still_since_.reset();
    still_frames_ = 0;
    if (!timeout_reported_ && (t - *motion_start_).ns > params_.max_settle_wait_ms * 1'000'000) {
      timeout_reported_ = true;
      ++settle_timeouts_;
      BasketChange change;
      change.outcome = BasketChange::Outcome::kNotSettled;
      change.t = t;
      change.motion_start = *motion_start_;
      return std::optional<BasketChange>(std::move(change));
    }
    return std::optional<BasketChange>();
  }
  if (!moving_ && !pending_weight_g_) return std::optional<BasketChange>();
  if (!still_since_) {
    // The still run starts with the previous frame: it already showed this scene.
    still_since_ = previous_t.value_or(t);
    still_frames_ = 1;
    previous_bgr.convertTo(still_sum_, CV_32FC3);
  }
  cv::accumulate(frame_bgr, still_sum_);
  ++still_frames_;
  // The first reference (the empty cart, no hand yet) needs only min_still_frames: a session's
  // first clip may hold just two frames before the first hand comes in.
  const bool settled_long_enough =
      reference_.empty() || (t - *still_since_).ns >= params_.settle_ms * 1'000'000;
  if (still_frames_ < params_.min_still_frames || !settled_long_enough) {
    return std::optional<BasketChange>();
  }
  return Settle(t);
}

std::optional<BasketChange> ChangeDetector::EndOfClip() {
  if (!still_since_ || still_frames_ < params_.min_still_frames || !previous_t_) {
    return std::nullopt;
  }
  return Settle(*previous_t_);
}

std::optional<BasketChange> ChangeDetector::Settle(Timestamp t) {
  cv::Mat stable;
  still_sum_.convertTo(stable, CV_8UC3, 1.0 / still_frames_);
  const Timestamp motion_start = motion_start_.value_or(t);
  moving_ = false;
  motion_start_.reset();
  still_since_.reset();
  still_frames_ = 0;
  last_compare_t_ = t;
  if (reference_.empty()) {
    reference_ = stable;
    empty_ = stable;
    pending_weight_g_.reset();
    return std::nullopt;
  }
  int sign = 0;
  if (pending_weight_g_) sign = *pending_weight_g_ > 0 ? 1 : -1;
  pending_weight_g_.reset();
  BasketChange change = CompareStableFrames(reference_, stable, empty_, sign, params_);
  change.t = t;
  change.motion_start = motion_start;
  if (change.outcome == BasketChange::Outcome::kCompared) reference_ = stable;
  return change;
}

}  // namespace cartsense::vision
