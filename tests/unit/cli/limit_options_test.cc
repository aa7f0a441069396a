// --limit-* flags: sizes with K/M/G suffixes, counts as plain integers, defaults untouched.
#include <doctest/doctest.h>

#include "cli/run_options.h"

using probesim::cli::parse_run_options;
using probesim::cli::parse_size;

namespace {
template <size_t N>
auto parse(const char* const (&argv)[N]) {
  return parse_run_options(static_cast<int>(N), argv);
}
}  // namespace

TEST_CASE("limit options: --limit-mem/--limit-disk take sizes, tasks and files integers") {
  const char* const argv[] = {"probesim", "run", "--limit-mem", "512M", "--limit-disk", "3G",
                              "--limit-tasks", "100", "--limit-files", "2048", "--", "/bin/x"};
  auto o = parse(argv);
  REQUIRE(o.ok());
  CHECK(o->limits.mem == (uint64_t{512} << 20));
  CHECK(o->limits.disk == (uint64_t{3} << 30));
  CHECK(o->limits.tasks == 100);
  CHECK(o->limits.files == 2048);
}

TEST_CASE("limit options: without flags the documented defaults stay") {
  const char* const argv[] = {"probesim", "run", "/bin/x"};
  auto o = parse(argv);
  REQUIRE(o.ok());
  const probesim::Limits defaults;
  CHECK(o->limits.mem == defaults.mem);
  CHECK(o->limits.mem == (uint64_t{4} << 30));
  CHECK(o->limits.disk == (uint64_t{2} << 30));
  CHECK(o->limits.tasks == 4096);
  CHECK(o->limits.files == 4096);
}

TEST_CASE("limit options: sizes accept K, M, G (powers of 1024) and reject anything else") {
  CHECK(parse_size("--limit-mem", "4096").value() == 4096);
  CHECK(parse_size("--limit-mem", "8k").value() == 8192);
  CHECK(parse_size("--limit-mem", "2G").value() == (uint64_t{2} << 30));
  for (const char* bad : {"", "G", "-1", "1T", "1.5G", "12MB", "99999999999999999999G"}) {
    auto r = parse_size("--limit-mem", bad);
    CHECK_FALSE(r.ok());
    CHECK(r.error().message.find("--limit-mem") != std::string::npos);
  }
  const char* const argv[] = {"probesim", "run", "--limit-tasks", "lots", "/bin/x"};
  auto o = parse(argv);
  REQUIRE_FALSE(o.ok());
  CHECK(o.error().message.find("--limit-tasks") != std::string::npos);
}
