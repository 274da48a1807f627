// The packet types every layer speaks, and Packet, the timestamped type-erased envelope the
// pipeline runner moves between stages.
//
// A Packet's timestamp is when it exists on the timeline: for a sensor sample the time it was
// taken; for evidence a stage derives, the time of the input that made it (never earlier), so
// that merging streams by timestamp is causal and deterministic.
#pragma once

#include <array>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <typeindex>
#include <typeinfo>
#include <utility>
#include <vector>

#include <opencv2/core/mat.hpp>

#include "core/status.h"
#include "core/time.h"

namespace cartsense {

// One reading of the load-cell ADCs: raw counts per cell (24-bit signed, sign-extended), in the
// cells' fixed order (front-left, front-right, back-left, back-right). Temperature when a sensor
// is fitted.
struct LoadCellSample {
  static constexpr int kMaxCells = 4;
  Timestamp t;
  std::array<int32_t, kMaxCells> raw_counts{};
  int cell_count = kMaxCells;
  std::optional<double> temperature_c;
};

// Accelerometer reading in m/s^2 in the cart frame (z up).
struct ImuSample {
  Timestamp t;
  double ax_mps2 = 0, ay_mps2 = 0, az_mps2 = 0;
};

// One camera image. `image` is 8-bit BGR (or grey for the scanner camera); cv::Mat shares its
// buffer, so copying a frame is cheap and the pixels must be treated as read-only.
struct CameraFrame {
  Timestamp t;
  int camera_id = 0;
  int64_t frame_index = 0;
  cv::Mat image;
};

enum class BarcodeFormat { kEan13, kEan8, kUpcA, kUpcE, kGs1DataBar, kOther };

// A decoded barcode. `gtin` is the 13-digit GTIN (UPC-A/UPC-E expanded), or the 8 digits of an
// EAN-8.
struct ScannerRead {
  Timestamp t;
  BarcodeFormat format = BarcodeFormat::kEan13;
  std::string gtin;
  int camera_id = 0;
};

// Something the shopper did on the touchscreen.
struct ShopperAction {
  enum class Kind { kAnswerPrompt, kChooseProduct, kRemoveItem, kRequestHelp, kStartCheckout };
  Timestamp t;
  Kind kind = Kind::kAnswerPrompt;
  std::string prompt_id;   // the prompt answered, if any
  std::string product_id;  // the product chosen or removed, if any
  std::string answer;      // free-form answer ("yes", "no", a choice id)
};

// A timestamped, immutable, type-erased value. Copying a Packet copies a pointer.
class Packet {
 public:
  Packet() = default;

  template <typename T>
  static Packet Make(Timestamp t, T value) {
    Packet p;
    p.timestamp_ = t;
    p.type_ = std::type_index(typeid(T));
    p.holder_ = std::make_shared<const T>(std::move(value));
    return p;
  }

  bool empty() const { return holder_ == nullptr; }
  Timestamp timestamp() const { return timestamp_; }
  std::type_index type() const { return type_; }

  template <typename T>
  bool Holds() const {
    return holder_ != nullptr && type_ == std::type_index(typeid(T));
  }

  // The value, or an error naming both types when the packet holds something else.
  template <typename T>
  Result<std::shared_ptr<const T>> Get() const {
    if (!Holds<T>()) {
      return InvalidArgumentError(std::string("packet holds ") +
                                  (holder_ ? type_.name() : "nothing") + ", not " +
                                  typeid(T).name());
    }
    return std::static_pointer_cast<const T>(holder_);
  }

  // Precondition: Holds<T>().
  template <typename T>
  const T& Value() const {
    return *static_cast<const T*>(holder_.get());
  }

 private:
  Timestamp timestamp_;
  std::type_index type_ = std::type_index(typeid(void));
  std::shared_ptr<const void> holder_;
};

}  // namespace cartsense
