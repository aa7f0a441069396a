// Tier (a) errors: our own bugs. Always on, never compiled out. Prints the condition, the
// location and whatever context the subsystem registered (guest PC, registers, last trace
// events) and aborts. Never use this for bad input (Result) or guest events (StopReason).
#pragma once

#include <functional>
#include <string>
#include <utility>

namespace probesim {

// A subsystem may register a context dumper that the assert prints (e.g. the Cpu prints
// registers). Thread-local; the innermost registration wins. Returns the previous one.
using AssertContext = std::function<std::string()>;
AssertContext set_assert_context(AssertContext ctx);

// Registers `ctx` for the lifetime of the scope and puts the previous context back at its end
// (also when an exception leaves the scope).
class ScopedAssertContext {
 public:
  explicit ScopedAssertContext(AssertContext ctx) : prev_(set_assert_context(std::move(ctx))) {}
  ~ScopedAssertContext() { set_assert_context(std::move(prev_)); }
  ScopedAssertContext(const ScopedAssertContext&) = delete;
  ScopedAssertContext& operator=(const ScopedAssertContext&) = delete;

 private:
  AssertContext prev_;
};

[[noreturn]] void assert_fail(const char* cond, const char* file, int line, const std::string& msg);

}  // namespace probesim

#define PROBESIM_ASSERT(cond)                                                \
  do {                                                                       \
    if (!(cond)) [[unlikely]]                                                \
      ::probesim::assert_fail(#cond, __FILE__, __LINE__, std::string());     \
  } while (0)

#define PROBESIM_ASSERT_MSG(cond, msg)                                       \
  do {                                                                       \
    if (!(cond)) [[unlikely]]                                                \
      ::probesim::assert_fail(#cond, __FILE__, __LINE__, (msg));             \
  } while (0)
