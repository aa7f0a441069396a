// Event filters (probes/trace_events/event_filter.h): Linux's predicate language, its
// parse errors with positions, and matching against a record's printed fields.
#include "probes/trace_events/event_filter.h"

#include <doctest/doctest.h>

#include "probes/trace_events/trace_record.h"

using namespace probesim::trace_events;

namespace {

const FilterField kFields[] = {{"n", false}, {"fd", false}, {"path", true}};

TraceRecord rec(const std::string& n, const std::string& fd, const std::string& path) {
  TraceRecord r;
  r.comm = "cat";
  r.pid = 42;
  r.cpu = 1;
  r.fields = {{"n", n}, {"fd", fd}, {"path", "\"" + path + "\""}};
  return r;
}

bool matches(const std::string& text, const TraceRecord& r) {
  auto f = EventFilter::parse(text, kFields);
  REQUIRE_MESSAGE(std::holds_alternative<EventFilter>(f), text);
  return std::get<EventFilter>(f).matches(r);
}

FilterError error_of(const std::string& text) {
  auto f = EventFilter::parse(text, kFields);
  REQUIRE_MESSAGE(std::holds_alternative<FilterError>(f), text);
  return std::get<FilterError>(f);
}

}  // namespace

TEST_CASE("filters compare numbers as printed: decimal, hex, negative, and bit tests") {
  const TraceRecord r = rec("4096", "-2", "/etc/passwd");
  CHECK(matches("n == 4096", r));
  CHECK(matches("n == 0x1000", r));
  CHECK_FALSE(matches("n != 4096", r));
  CHECK(matches("n > 100 && n <= 4096", r));
  CHECK(matches("fd < 0", r));
  CHECK(matches("fd == -2", r));
  CHECK(matches("n & 0x1000", r));
  CHECK_FALSE(matches("n & 0x1", r));
  CHECK(matches("common_pid == 42 && CPU == 1", r));
}

TEST_CASE("filters on strings: ==, != and ~ globs, COMM, &&, ||, ! and parentheses") {
  const TraceRecord r = rec("1", "3", "/etc/passwd");
  CHECK(matches("path == \"/etc/passwd\"", r));
  CHECK(matches("path ~ \"/etc/*\"", r));
  CHECK(matches("path ~ \"*pass??\"", r));
  CHECK_FALSE(matches("path ~ \"/usr/*\"", r));
  CHECK(matches("COMM == cat", r));
  CHECK(matches("comm ~ 'c*'", r));
  CHECK(matches("!(fd == 1 || fd == 2) && path != /tmp", r));
  CHECK_FALSE(matches("fd == 1 || (fd == 3 && n == 2)", r));
}

TEST_CASE("filter parse errors are Linux's, at the offending token") {
  CHECK(error_of("nope == 1").message == "Field not found");
  CHECK(error_of("nope == 1").pos == 0);
  CHECK(error_of("n = 1").message == "Invalid operator");
  CHECK(error_of("n = 1").pos == 2);
  CHECK(error_of("n < x").message == "Invalid value (did you forget quotes)?");
  CHECK(error_of("n == 12z").message == "Illegal integer value");
  CHECK(error_of("path < \"a\"").message == "Illegal operation for field type");
  CHECK(error_of("n ~ 1").message == "Illegal operation for field type");
  CHECK(error_of("path == \"abc").message == "Missing matching quote");
  CHECK(error_of("(n == 1").message == "Too many '('");
  CHECK(error_of("n == 1)").message == "Too few '('");
  CHECK(error_of("n == 1 &&").message == "Meaningless filter expression");
  CHECK(error_of("n = 1").file_text("n = 1") == "n = 1\n  ^\nparse_error: Invalid operator\n");
}
