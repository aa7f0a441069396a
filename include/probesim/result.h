// Result<T>: the one mechanism for bad input at module boundaries (CONVENTIONS.md §6b).
// A failed Result carries an Error whose message names the input and what is wrong, and an
// optional Linux errno (positive) for errors that the guest or a probe API would see.
// Our own bugs are not Results: they are PROBESIM_ASSERT (see assert.h).
#pragma once

#include <string>
#include <utility>
#include <variant>

namespace probesim {

struct Error {
  std::string message;
  int err = 0;  // Linux errno (positive) when the error has a kernel meaning, else 0

  static Error make(std::string msg, int errno_value = 0) {
    return Error{std::move(msg), errno_value};
  }
};

template <class T>
class [[nodiscard]] Result {
 public:
  Result(T value) : v_(std::move(value)) {}  // NOLINT: implicit by design
  Result(Error e) : v_(std::move(e)) {}      // NOLINT

  bool ok() const { return v_.index() == 0; }
  explicit operator bool() const { return ok(); }

  T& value() & { return std::get<0>(v_); }
  const T& value() const& { return std::get<0>(v_); }
  T&& value() && { return std::get<0>(std::move(v_)); }
  T& operator*() & { return value(); }
  const T& operator*() const& { return value(); }
  T* operator->() { return &value(); }
  const T* operator->() const { return &value(); }

  const Error& error() const { return std::get<1>(v_); }
  Error&& take_error() { return std::get<1>(std::move(v_)); }

 private:
  std::variant<T, Error> v_;
};

template <>
class [[nodiscard]] Result<void> {
 public:
  Result() = default;
  Result(Error e) : err_(std::move(e)), ok_(false) {}  // NOLINT

  bool ok() const { return ok_; }
  explicit operator bool() const { return ok_; }
  const Error& error() const { return err_; }
  Error&& take_error() { return std::move(err_); }

 private:
  Error err_;
  bool ok_ = true;
};

// TRY(expr): evaluate a Result; on failure return its Error from the enclosing function.
#define PROBESIM_TRY(expr)                                      \
  ({                                                            \
    auto&& probesim_try_r_ = (expr);                            \
    if (!probesim_try_r_.ok()) return probesim_try_r_.take_error(); \
    std::move(probesim_try_r_.value());                         \
  })

#define PROBESIM_TRY_VOID(expr)                                 \
  do {                                                          \
    auto&& probesim_try_r_ = (expr);                            \
    if (!probesim_try_r_.ok()) return probesim_try_r_.take_error(); \
  } while (0)

}  // namespace probesim
