// Implementation of include/cartsense/cartsense.h over the C++ layers. No exception may cross
// the C boundary: every entry point catches and reports CARTSENSE_INTERNAL.
#include <cstring>
#include <exception>
#include <string>

#include "cartsense/cartsense.h"
#include "core/status.h"
#include "vision/model_bundle.h"

namespace {

using cartsense::Status;
using cartsense::StatusCode;

cartsense_status ToC(StatusCode code) {
  // The C numbers mirror StatusCode; the static_assert keeps them from drifting apart.
  static_assert(static_cast<int>(StatusCode::kUnimplemented) == CARTSENSE_UNIMPLEMENTED);
  return static_cast<cartsense_status>(static_cast<int>(code));
}

// Copies `text` into `out` (capacity `capacity`), truncating and always NUL-terminating.
void CopyOut(const std::string& text, char* out, size_t capacity) {
  if (out == nullptr || capacity == 0) return;
  const size_t length = text.size() < capacity - 1 ? text.size() : capacity - 1;
  std::memcpy(out, text.data(), length);
  out[length] = '\0';
}

cartsense_status Report(const Status& status, char* message, size_t message_capacity) {
  CopyOut(status.ok() ? std::string() : status.ToString(), message, message_capacity);
  return ToC(status.code());
}

}  // namespace

extern "C" {

const char* cartsense_version(void) { return CARTSENSE_VERSION; }

const char* cartsense_status_name(cartsense_status status) {
  switch (status) {
    case CARTSENSE_OK:
      return "OK";
    case CARTSENSE_INVALID_ARGUMENT:
      return "INVALID_ARGUMENT";
    case CARTSENSE_NOT_FOUND:
      return "NOT_FOUND";
    case CARTSENSE_ALREADY_EXISTS:
      return "ALREADY_EXISTS";
    case CARTSENSE_OUT_OF_RANGE:
      return "OUT_OF_RANGE";
    case CARTSENSE_FAILED_PRECONDITION:
      return "FAILED_PRECONDITION";
    case CARTSENSE_DATA_LOSS:
      return "DATA_LOSS";
    case CARTSENSE_UNAVAILABLE:
      return "UNAVAILABLE";
    case CARTSENSE_CANCELLED:
      return "CANCELLED";
    case CARTSENSE_DEADLINE_EXCEEDED:
      return "DEADLINE_EXCEEDED";
    case CARTSENSE_INTERNAL:
      return "INTERNAL";
    case CARTSENSE_UNIMPLEMENTED:
      return "UNIMPLEMENTED";
  }
  return "UNKNOWN";
}

cartsense_status cartsense_find_newest_bundle(const char* models_root, char* path_out,
                                              size_t path_capacity, char* message,
                                              size_t message_capacity) {
  try {
    if (models_root == nullptr || path_out == nullptr || path_capacity == 0) {
      return Report(cartsense::InvalidArgumentError("models_root and path_out are required"),
                    message, message_capacity);
    }
    auto found = cartsense::FindNewestBundle(models_root);
    if (!found.ok()) return Report(found.status(), message, message_capacity);
    if (found->empty()) {
      return Report(cartsense::NotFoundError(std::string("no model bundle under ") + models_root),
                    message, message_capacity);
    }
    if (found->size() + 1 > path_capacity) {
      return Report(cartsense::OutOfRangeError("the bundle path needs " +
                                               std::to_string(found->size() + 1) + " bytes"),
                    message, message_capacity);
    }
    CopyOut(*found, path_out, path_capacity);
    return Report(Status::Ok(), message, message_capacity);
  } catch (const std::exception& error) {
    return Report(cartsense::InternalError(error.what()), message, message_capacity);
  }
}

cartsense_status cartsense_verify_bundle(const char* bundle_dir, char* message,
                                         size_t message_capacity) {
  try {
    if (bundle_dir == nullptr) {
      return Report(cartsense::InvalidArgumentError("bundle_dir is required"), message,
                    message_capacity);
    }
    return Report(cartsense::VerifyBundleChecksums(bundle_dir), message, message_capacity);
  } catch (const std::exception& error) {
    return Report(cartsense::InternalError(error.what()), message, message_capacity);
  }
}

}  // extern "C"
