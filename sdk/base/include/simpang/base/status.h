// Errors as values: Status for an operation that returns nothing, StatusOr<T> for one that returns
// a T. Used on every event path of the SDK and the hub, where exceptions are not allowed. Part of
// the base library (simpang::base), which the hub's components link without the plugin runtime;
// plugin code may keep including simpang/sdk/status.h, which forwards here.
//
//   simpang::StatusOr<Config> c = parse(text);
//   if (!c.ok()) { log(c.status().message()); return c.status(); }
//   use(*c);
#pragma once

#include <string>
#include <utility>
#include <variant>

namespace simpang {

// Thread rule: a value type; distinct objects may be used from distinct threads freely.
class [[nodiscard]] Status {
 public:
  Status() = default;  // success
  static Status Ok() { return Status(); }
  static Status Error(std::string message) { return Status(std::move(message), true); }

  bool ok() const { return !failed_; }
  // What went wrong; empty on success.
  const std::string& message() const { return message_; }

 private:
  Status(std::string message, bool failed) : message_(std::move(message)), failed_(failed) {}
  std::string message_;
  bool failed_ = false;
};

template <typename T>
class [[nodiscard]] StatusOr {
 public:
  StatusOr(T value) : value_(std::move(value)) {}  // NOLINT: implicit by design
  // REQUIRES: !status.ok()
  StatusOr(Status status) : value_(std::move(status)) {}  // NOLINT: implicit by design

  bool ok() const { return std::holds_alternative<T>(value_); }
  Status status() const { return ok() ? Status::Ok() : std::get<Status>(value_); }

  // REQUIRES: ok()
  T& value() & { return std::get<T>(value_); }
  const T& value() const& { return std::get<T>(value_); }
  T&& value() && { return std::get<T>(std::move(value_)); }
  T& operator*() & { return value(); }
  const T& operator*() const& { return value(); }
  T* operator->() { return &value(); }
  const T* operator->() const { return &value(); }

 private:
  std::variant<T, Status> value_;
};

}  // namespace simpang

// Returns the Status of `expr` from the enclosing function if it is an error.
#define SIMPANG_RETURN_IF_ERROR(expr)          \
  do {                                         \
    ::simpang::Status simpang_status_ = (expr); \
    if (!simpang_status_.ok()) {               \
      return simpang_status_;                  \
    }                                          \
  } while (false)
