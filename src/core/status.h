// Status and Result<T>: errors as values with context, never exceptions across layers.
//
//   Result<Config> LoadConfig(const std::string& path) {
//     CS_ASSIGN_OR_RETURN(std::string text, ReadFile(path));
//     CS_RETURN_IF_ERROR(Validate(text).WithContext("config " + path));
//     ...
//   }
#pragma once

#include <cassert>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <variant>

namespace cartsense {

enum class StatusCode {
  kOk = 0,
  kInvalidArgument,  // bad input from a file, sensor, request or caller
  kNotFound,         // a named thing (file, key, product) does not exist
  kAlreadyExists,
  kOutOfRange,
  kFailedPrecondition,  // the system is not in a state to do this
  kDataLoss,            // corrupt or truncated data (checksum mismatch, torn file)
  kUnavailable,         // a device or service cannot be reached now
  kCancelled,           // shut down or closed while waiting
  kDeadlineExceeded,
  kInternal,  // a bug: an invariant does not hold
  kUnimplemented,
};

std::string_view StatusCodeName(StatusCode code);

// The text of an errno value (thread-safe, unlike std::strerror).
std::string ErrnoMessage(int error_number);

class [[nodiscard]] Status {
 public:
  Status() = default;
  Status(StatusCode code, std::string message) : code_(code), message_(std::move(message)) {}

  static Status Ok() { return {}; }
  bool ok() const { return code_ == StatusCode::kOk; }
  StatusCode code() const { return code_; }
  // The message, context first: "loading cart.yaml: key 'weigh.rate_hz': expected ...".
  const std::string& message() const { return message_; }
  // "INVALID_ARGUMENT: loading cart.yaml: ..." or "OK".
  std::string ToString() const;

  // Prefixes what the caller was doing; keeps the code.
  Status WithContext(std::string_view context) const&;
  Status WithContext(std::string_view context) &&;

  friend bool operator==(const Status& a, const Status& b) {
    return a.code_ == b.code_ && a.message_ == b.message_;
  }

 private:
  StatusCode code_ = StatusCode::kOk;
  std::string message_;
};

inline Status InvalidArgumentError(std::string m) {
  return {StatusCode::kInvalidArgument, std::move(m)};
}
inline Status NotFoundError(std::string m) { return {StatusCode::kNotFound, std::move(m)}; }
inline Status AlreadyExistsError(std::string m) {
  return {StatusCode::kAlreadyExists, std::move(m)};
}
inline Status OutOfRangeError(std::string m) { return {StatusCode::kOutOfRange, std::move(m)}; }
inline Status FailedPreconditionError(std::string m) {
  return {StatusCode::kFailedPrecondition, std::move(m)};
}
inline Status DataLossError(std::string m) { return {StatusCode::kDataLoss, std::move(m)}; }
inline Status UnavailableError(std::string m) { return {StatusCode::kUnavailable, std::move(m)}; }
inline Status CancelledError(std::string m) { return {StatusCode::kCancelled, std::move(m)}; }
inline Status DeadlineExceededError(std::string m) {
  return {StatusCode::kDeadlineExceeded, std::move(m)};
}
inline Status InternalError(std::string m) { return {StatusCode::kInternal, std::move(m)}; }
inline Status UnimplementedError(std::string m) {
  return {StatusCode::kUnimplemented, std::move(m)};
}

// A value or the Status that explains why there is none.
template <typename T>
class [[nodiscard]] Result {
 public:
  Result(T value) : state_(std::move(value)) {}        // NOLINT(google-explicit-constructor)
  Result(Status status) : state_(std::move(status)) {  // NOLINT(google-explicit-constructor)
    assert(!std::get<Status>(state_).ok() && "Result built from an OK status has no value");
    if (std::get<Status>(state_).ok()) {
      state_ = Status(StatusCode::kInternal, "Result built from an OK status");
    }
  }

  bool ok() const { return std::holds_alternative<T>(state_); }
  // OK when there is a value.
  Status status() const { return ok() ? Status::Ok() : std::get<Status>(state_); }

  // Precondition: ok(). Checked in debug builds.
  T& value() & {
    assert(ok());
    return std::get<T>(state_);
  }
  const T& value() const& {
    assert(ok());
    return std::get<T>(state_);
  }
  T&& value() && {
    assert(ok());
    return std::get<T>(std::move(state_));
  }
  T& operator*() & { return value(); }
  const T& operator*() const& { return value(); }
  T* operator->() { return &value(); }
  const T* operator->() const { return &value(); }

  T value_or(T fallback) const& { return ok() ? std::get<T>(state_) : std::move(fallback); }

  Result WithContext(std::string_view context) && {
    if (ok()) return std::move(*this);
    return std::get<Status>(state_).WithContext(context);
  }

 private:
  std::variant<T, Status> state_;
};

namespace internal {
inline const Status& AsStatus(const Status& s) { return s; }
template <typename T>
Status AsStatus(const Result<T>& r) {
  return r.status();
}
}  // namespace internal

}  // namespace cartsense

#define CS_CONCAT_INNER(a, b) a##b
#define CS_CONCAT(a, b) CS_CONCAT_INNER(a, b)

// Returns the Status from the enclosing function if `expr` (a Status or Result) is an error.
#define CS_RETURN_IF_ERROR(expr)                                   \
  do {                                                             \
    auto&& cs_status_or_result = (expr);                           \
    if (!cs_status_or_result.ok()) {                               \
      return ::cartsense::internal::AsStatus(cs_status_or_result); \
    }                                                              \
  } while (false)

// Like CS_RETURN_IF_ERROR, with "context: " put before the message.
#define CS_RETURN_IF_ERROR_CTX(expr, context)                                           \
  do {                                                                                  \
    auto&& cs_status_or_result = (expr);                                                \
    if (!cs_status_or_result.ok()) {                                                    \
      return ::cartsense::internal::AsStatus(cs_status_or_result).WithContext(context); \
    }                                                                                   \
  } while (false)

// `lhs` is a declaration or an lvalue; `expr` a Result<T>.
// NOLINTBEGIN(bugprone-macro-parentheses): `lhs` may be a declaration, which cannot be bracketed.
#define CS_ASSIGN_OR_RETURN(lhs, expr) \
  CS_ASSIGN_OR_RETURN_IMPL(CS_CONCAT(cs_result_, __LINE__), lhs, expr)
#define CS_ASSIGN_OR_RETURN_IMPL(tmp, lhs, expr) \
  auto tmp = (expr);                             \
  if (!tmp.ok()) return tmp.status();            \
  lhs = std::move(tmp).value()
// NOLINTEND(bugprone-macro-parentheses)

// Returns an Internal error naming the condition and the place if `cond` does not hold.
#define CS_RET_CHECK(cond)                                                               \
  do {                                                                                   \
    if (!(cond)) {                                                                       \
      return ::cartsense::InternalError(std::string("check failed: ") + #cond + " at " + \
                                        __FILE__ + ":" + std::to_string(__LINE__));      \
    }                                                                                    \
  } while (false)
