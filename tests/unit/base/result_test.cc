// Result<T> and PROBESIM_TRY (include/probesim/result.h), ScopedAssertContext (assert.h).
#include <doctest/doctest.h>

#include <string>

#include "probesim/assert.h"
#include "probesim/result.h"
#include "support/death_test.h"

using namespace probesim;
using probesim::testing::run_in_child;

namespace {

Result<int> parse_digit(char c) {
  if (c < '0' || c > '9') return Error::make(std::string("not a digit: ") + c);
  return c - '0';
}

Result<int> twice(int v) { return 2 * v; }

Result<void> check_small(int v) {
  if (v > 9) return Error::make("too big: " + std::to_string(v));
  return {};
}

// -Wshadow as an error: two TRYs whose temporaries had one name nested in one statement
// shadowed each other.
#pragma GCC diagnostic push
#pragma GCC diagnostic error "-Wshadow"
Result<int> sum_twice(char a, char b) {
  int x = PROBESIM_TRY(twice(PROBESIM_TRY(parse_digit(a))));
  int y = PROBESIM_TRY(parse_digit(b));
  PROBESIM_TRY_VOID(check_small(y));
  PROBESIM_TRY_VOID(check_small(x));
  return x + y;
}
#pragma GCC diagnostic pop

}  // namespace

TEST_CASE("PROBESIM_TRY: nested and repeated uses in one scope, the first error returns") {
  REQUIRE(sum_twice('3', '4').ok());
  CHECK(sum_twice('3', '4').value() == 10);
  auto bad = sum_twice('x', '4');
  REQUIRE_FALSE(bad.ok());
  CHECK(bad.error().message == "not a digit: x");
  auto big = sum_twice('7', '4');  // x = 14
  REQUIRE_FALSE(big.ok());
  CHECK(big.error().message == "too big: 14");
}

TEST_CASE("Result::value() on an error asserts and names the error (not bad_variant_access)") {
  auto out = run_in_child([] {
    Result<int> r = Error::make("cannot open /nonexistent");
    (void)r.value();
  });
  CHECK(out.aborted);
  CHECK(out.err.find("Result::value() on an error: cannot open /nonexistent") != std::string::npos);
  CHECK(out.err.find("bad_variant_access") == std::string::npos);
}

TEST_CASE("Result::error() on a success asserts") {
  auto out = run_in_child([] {
    Result<int> r = 5;
    (void)r.error();
  });
  CHECK(out.aborted);
  CHECK(out.err.find("Result::error() on a successful Result") != std::string::npos);
}

TEST_CASE("ScopedAssertContext: an assert prints the innermost context, the outer one returns") {
  auto out = run_in_child([] {
    ScopedAssertContext outer([] { return std::string("OUTER-CONTEXT"); });
    { ScopedAssertContext inner([] { return std::string("INNER-CONTEXT"); }); }
    PROBESIM_ASSERT_MSG(false, "after the inner scope");
  });
  CHECK(out.aborted);
  CHECK(out.err.find("after the inner scope") != std::string::npos);
  CHECK(out.err.find("OUTER-CONTEXT") != std::string::npos);
  CHECK(out.err.find("INNER-CONTEXT") == std::string::npos);
  AssertContext none = set_assert_context(nullptr);  // nothing leaked into this thread
  CHECK_FALSE(none);
}
