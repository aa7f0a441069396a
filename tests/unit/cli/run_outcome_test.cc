// How `probesim run` reports a run that did not end by the program's exit: panic, limits,
// deadlock, sleeping forever (each with its documented exit status).
#include <doctest/doctest.h>

#include "cli/run_outcome.h"

using namespace probesim;
using namespace probesim::cli;

namespace {

std::string guest(const std::string& name) {
  return std::string(PROBESIM_GUEST_DIR) + "/x86_64-glibc/" + name;
}

struct Cli {
  RunOptions o;
  std::unique_ptr<Machine> m;
  int pid = 0;
  bool done = false;

  explicit Cli(std::vector<std::string> argv) {
    o.argv = std::move(argv);
    auto created = Machine::create(Options{.arch = Arch::X86_64, .seed = 1});
    REQUIRE(created.ok());
    m = std::move(created.value());
    auto p = m->spawn(o.argv, {});
    REQUIRE(p.ok());
    pid = p.value();
  }
  std::optional<RunEnd> run() {
    m->set_time_limit(o.max_time_ns);
    done = m->run(o.max_insns);
    return abnormal_end(*m, o, pid, done);
  }
};

}  // namespace

TEST_CASE("run outcome: a program that exits is not abnormal") {
  Cli c({guest("hello")});
  CHECK_FALSE(c.run().has_value());
}

TEST_CASE("run outcome: --max-insns ends a run with status 124 and says where") {
  Cli c({guest("sha256"), "1000000"});
  c.o.max_insns = 20000;
  auto end = c.run();
  REQUIRE(end.has_value());
  CHECK(end->status == kExitLimit);
  CHECK(end->message.find("(pid 100) stopped by --max-insns 20000 (") != std::string::npos);
}

TEST_CASE("run outcome: --max-time stops at that virtual time, even while tasks sleep") {
  Cli c({"/bin/busybox", "sleep", "5"});  // Debian's busybox-static (as the e2e tests)
  c.o.max_time_ns = 10'000'000;
  c.o.max_time_text = "10ms";
  auto end = c.run();
  REQUIRE(end.has_value());
  CHECK(end->status == kExitLimit);
  CHECK(end->message.find("(pid 100) stopped by --max-time 10ms (") != std::string::npos);
  CHECK(c.m->virtual_time_ns() >= 10'000'000);
  CHECK(c.m->virtual_time_ns() < 20'000'000);  // the sleeper's 5 s deadline was not reached
}

TEST_CASE("run outcome: tasks asleep until KTIME_MAX (sleep infinity) sleep forever, status 125") {
  Cli c({guest("deadlock"), "sleep"});
  auto end = c.run();
  REQUIRE(end.has_value());
  CHECK(end->status == kExitDeadlock);
  CHECK(end->message.find("(pid 100) sleeps forever: 1 task(s) asleep") != std::string::npos);
}

TEST_CASE("run outcome: every task blocked forever is a deadlock, status 125") {
  Cli c({guest("deadlock"), "pipe"});
  auto end = c.run();
  REQUIRE(end.has_value());
  CHECK(end->status == kExitDeadlock);
  CHECK(end->message.find("(pid 100) deadlocked: 1 task(s) blocked forever") != std::string::npos);
}

TEST_CASE("run outcome: a guest kernel panic is reported as one, status 123") {
  Cli c({guest("hello")});
  CHECK_FALSE(c.m->kernel_call("panic", {0}).ok());
  auto end = c.run();
  REQUIRE(end.has_value());
  CHECK(end->status == kExitPanic);
  CHECK(end->message.find("guest kernel panic: Kernel panic - not syncing: (no message)") == 0);
}
