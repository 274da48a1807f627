// 8-bit grey view of a camera frame or photo, for the readers that work on luminance alone
// (barcodes, calibration boards).
#ifndef CARTSENSE_VISION_GREY_IMAGE_H_
#define CARTSENSE_VISION_GREY_IMAGE_H_

#include <opencv2/core.hpp>

#include "core/status.h"

namespace cartsense::vision {

// An 8-bit image with 1 (returned as is, sharing pixels), 3 (BGR) or 4 (BGRA) channels as one
// 8-bit grey channel. An error names what is wrong with an empty image, another pixel depth or
// another channel count.
Result<cv::Mat> ToGrey8(const cv::Mat& image);

}  // namespace cartsense::vision

#endif  // CARTSENSE_VISION_GREY_IMAGE_H_
