#include "vision/grey_image.h"

#include <string>

#include <opencv2/imgproc.hpp>

namespace cartsense::vision {

Result<cv::Mat> ToGrey8(const cv::Mat& image) {
  if (image.empty()) return InvalidArgumentError("image is empty");
  if (image.depth() != CV_8U) {
    return InvalidArgumentError("image has pixel depth " + std::to_string(image.depth()) +
                                ", expected 8-bit");
  }
  cv::Mat grey;
  switch (image.channels()) {
    case 1:
      grey = image;
      break;
    case 3:
      cv::cvtColor(image, grey, cv::COLOR_BGR2GRAY);
      break;
    case 4:
      cv::cvtColor(image, grey, cv::COLOR_BGRA2GRAY);
      break;
    default:
      return InvalidArgumentError("image has " + std::to_string(image.channels()) +
                                  " channels, expected 1, 3 or 4");
  }
  return grey;
}

}  // namespace cartsense::vision
