// Result<T>: the one mechanism for bad input at module boundaries (docs/conventions.md §6b).
// A failed Result carries an Error whose message names the input and what is wrong, and an
// optional Linux errno (positive) for errors that the guest or a probe API would see.
// Our own bugs are not Results: they are PROBESIM_ASSERT (see assert.h).
#pragma once

#include <string>
#include <utility>
#include <variant>

#include "probesim/assert.h"

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

  // value() of a failed Result is a bug of the caller (check ok() first): it asserts, naming
  // the error, instead of throwing std::bad_variant_access.
  T& value() & { return std::get<0>(checked()); }
  const T& value() const& { return std::get<0>(checked()); }
  T&& value() && { return std::get<0>(std::move(checked())); }
  T& operator*() & { return value(); }
  const T& operator*() const& { return value(); }
  T* operator->() { return &value(); }
  const T* operator->() const { return &value(); }

  // error()/take_error() of a successful Result are bugs too.
  const Error& error() const {
    PROBESIM_ASSERT_MSG(!ok(), "Result::error() on a successful Result");
    return std::get<1>(v_);
  }
  Error&& take_error() {
    PROBESIM_ASSERT_MSG(!ok(), "Result::take_error() on a successful Result");
    return std::get<1>(std::move(v_));
  }

 private:
  std::variant<T, Error>& checked() {
    if (!ok()) [[unlikely]]
      ::probesim::assert_fail("ok()", __FILE__, __LINE__,
                              "Result::value() on an error: " + std::get<1>(v_).message);
    return v_;
  }
  const std::variant<T, Error>& checked() const {
    return const_cast<Result*>(this)->checked();
  }

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

#define PROBESIM_CONCAT_INNER_(a, b) a##b
#define PROBESIM_CONCAT_(a, b) PROBESIM_CONCAT_INNER_(a, b)

// TRY(expr): evaluate a Result; on failure return its Error from the enclosing function, else
// yield its value. Each use has its own temporary (__COUNTER__), so several TRYs can share one
// scope or nest (PROBESIM_TRY(f(PROBESIM_TRY(g())))).
#define PROBESIM_TRY(expr) PROBESIM_TRY_IMPL_(expr, PROBESIM_CONCAT_(probesim_try_r_, __COUNTER__))
#define PROBESIM_TRY_IMPL_(expr, r)                   \
  ({                                                  \
    auto&& r = (expr);                                \
    if (!r.ok()) return r.take_error();               \
    std::move(r.value());                             \
  })

#define PROBESIM_TRY_VOID(expr) \
  PROBESIM_TRY_VOID_IMPL_(expr, PROBESIM_CONCAT_(probesim_try_r_, __COUNTER__))
#define PROBESIM_TRY_VOID_IMPL_(expr, r)              \
  do {                                                \
    auto&& r = (expr);                                \
    if (!r.ok()) return r.take_error();               \
  } while (0)

}  // namespace probesim
