// Status and Result: the error vocabulary at every library boundary.
//
// Why not exceptions: the embedded API promises that nothing throws across it, and the hot
// paths (decide/step) must not allocate or unwind. A Status is cheap when OK (no allocation)
// and carries a human-readable message naming the file, line, field or unit that is wrong.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <utility>
#include <variant>

namespace hetsched {

enum class StatusCode : std::uint8_t {
  kOk = 0,
  kInvalidArgument,   // caller passed something malformed (bad CLI value, bad field)
  kNotFound,          // file, platform, model, unit ... does not exist
  kIoError,           // open/read/write failed
  kCorrupt,           // data is present but fails validation (checksum, magic, schema)
  kUnavailable,       // the machine lacks the facility (no cpufreq here); not a failure
  kPermissionDenied,  // e.g. a sysfs write without root
  kOutOfRange,        // index or value outside its table
  kInternal,          // a bug of ours
};

std::string_view to_string(StatusCode code) noexcept;

class [[nodiscard]] Status {
 public:
  Status() noexcept = default;  // OK
  Status(StatusCode code, std::string message) : code_(code), message_(std::move(message)) {}

  static Status Ok() noexcept { return {}; }
  bool ok() const noexcept { return code_ == StatusCode::kOk; }
  StatusCode code() const noexcept { return code_; }
  const std::string& message() const noexcept { return message_; }
  // "not_found: platform 'foo' (known: rockpi_n10, ...)"
  std::string to_string() const;

 private:
  StatusCode code_ = StatusCode::kOk;
  std::string message_;
};

// Convenience constructors: Error(kNotFound, "...").
inline Status Error(StatusCode code, std::string message) { return {code, std::move(message)}; }

// Result<T>: a value or a non-OK Status (std::expected is C++23; GCC 12 lacks it).
template <typename T>
class [[nodiscard]] Result {
 public:
  Result(T value) : v_(std::move(value)) {}  // NOLINT(google-explicit-constructor)
  Result(Status status) : v_(std::move(status)) {  // NOLINT(google-explicit-constructor)
    if (std::get<Status>(v_).ok()) v_ = Status(StatusCode::kInternal, "Result built from an OK Status");
  }

  bool ok() const noexcept { return std::holds_alternative<T>(v_); }
  explicit operator bool() const noexcept { return ok(); }
  // Precondition: ok().
  T& value() & { return std::get<T>(v_); }
  const T& value() const& { return std::get<T>(v_); }
  T&& value() && { return std::get<T>(std::move(v_)); }
  T* operator->() { return &std::get<T>(v_); }
  const T* operator->() const { return &std::get<T>(v_); }
  T& operator*() & { return value(); }
  const T& operator*() const& { return value(); }
  // OK status when a value is held.
  Status status() const { return ok() ? Status::Ok() : std::get<Status>(v_); }

 private:
  std::variant<T, Status> v_;
};

}  // namespace hetsched

// Propagate a non-OK Status from an expression returning Status.
#define HETSCHED_RETURN_IF_ERROR(expr)       \
  do {                                       \
    ::hetsched::Status hetsched_st_ = (expr); \
    if (!hetsched_st_.ok()) return hetsched_st_; \
  } while (0)
