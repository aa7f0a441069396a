// A machine's life from the host's side (issue 11): teardown with tasks still blocked,
// programs that sleep forever, and hypercalls made from user code.
#include <doctest/doctest.h>

#include <string>
#include <vector>

#include "emu/machine_state.h"
#include "probesim/machine.h"

using namespace probesim;

namespace {

struct Flavour {
  Arch arch;
  const char* dir;
};
constexpr Flavour kFlavours[] = {{Arch::X86_64, "x86_64-glibc"}, {Arch::AArch64, "aarch64-glibc"}};

std::string guest(const Flavour& f, const std::string& name) {
  return std::string(PROBESIM_GUEST_DIR) + "/" + f.dir + "/" + name;
}

std::unique_ptr<Machine> machine(Arch arch, bool kernel = true) {
  auto m = Machine::create(Options{.arch = arch, .seed = 1, .kernel = kernel});
  REQUIRE_MESSAGE(m.ok(), (m.ok() ? "" : m.error().message));
  return std::move(m.value());
}

}  // namespace

// ASan reported a heap use-after-free here (~MachineState -> ~PipeFile -> Pipe::changed ->
// WaitQueues::wake_all -> Scheduler::wake_restart on a freed Task): `make test-asan` runs it.
TEST_CASE("teardown: a machine destroyed while tasks block on pipes, wait4 or futexes") {
  for (const Flavour& f : kFlavours)
    for (bool kernel : {true, false})
      for (const char* mode : {"pipe", "full", "wait", "mutex", "sleep"}) {
        CAPTURE(f.dir);
        CAPTURE(kernel);
        CAPTURE(mode);
        auto m = machine(f.arch, kernel);
        auto pid = m->spawn({guest(f, "deadlock"), mode}, {});
        REQUIRE(pid.ok());
        CHECK(m->run());
        CHECK_FALSE(m->exit_of(pid.value()).has_value());
        CHECK_FALSE(m->blocked_tids().empty());
        m.reset();  // every blocked task leaves its wait queue before anything is freed
      }
}

TEST_CASE("sleep forever: nanosleep of INT64_MAX seconds is reported at once, memory bounded") {
  for (const Flavour& f : kFlavours) {
    auto m = machine(f.arch);
    auto pid = m->spawn({guest(f, "deadlock"), "sleep"}, {});
    REQUIRE(pid.ok());
    CHECK(m->run());  // nothing can run again: the deadline is KTIME_MAX
    CHECK(m->captured_stdout(pid.value()) == "sleep\n");
    std::vector<Machine::BlockedTask> blocked = m->blocked_tasks();
    REQUIRE(blocked.size() == 1);
    CHECK(blocked[0].tid == pid.value());
    CHECK(blocked[0].wait == "sleep");
    CHECK(m->schedule_log().size() < 10);       // no event per idle attempt
    CHECK(m->virtual_time_ns() < 1'000'000'000);  // and no jump to the end of time
  }
}

TEST_CASE("sleep forever: busybox sleep infinity sleeps 68-year steps until time saturates") {
  // Debian's busybox-static: clock_nanosleep({INT_MAX s}) in a loop. The fifth deadline is past
  // KTIME_MAX: it used to overflow the cycle counter and idle forever, growing ~1 GB/s.
  auto m = machine(Arch::X86_64);
  auto pid = m->spawn({"/bin/busybox", "sleep", "infinity"}, {});
  REQUIRE(pid.ok());
  CHECK(m->run());
  CHECK_FALSE(m->exit_of(pid.value()).has_value());
  std::vector<Machine::BlockedTask> blocked = m->blocked_tasks();
  REQUIRE(blocked.size() == 1);
  CHECK(blocked[0].wait == "sleep");
  CHECK(m->virtual_time_ns() >= 4 * 2'147'483'647'000'000'000ull);
  CHECK(m->virtual_time_ns() <= emu::kKtimeMax);
  CHECK(m->schedule_log().size() < 40);
}

TEST_CASE("hypercalls from user code: SIGSEGV on x86 (#GP), SIGILL on arm64, the kernel untouched") {
  for (const Flavour& f : kFlavours) {
    auto m = machine(f.arch);
    const emu::GuestKernel& k = *m->state().kernel();
    size_t boot_steps = k.boot_log().size();
    auto pid = m->spawn({guest(f, "hypercall")}, {});
    REQUIRE(pid.ok());
    CHECK(m->run());
    auto e = m->exit_of(pid.value());
    REQUIRE(e.has_value());
    bool x86 = f.arch == Arch::X86_64;
    CHECK(e->signaled);
    CHECK(e->signo == (x86 ? 11 : 4));
    REQUIRE(e->fault.has_value());
    CHECK(e->fault->what.find(x86 ? "general protection" : "undefined instruction") == 0);
    uint8_t insn[4] = {};  // the fault is reported at the hypercall instruction itself
    REQUIRE(m->state().process(pid.value())->mm().copy_from_user(insn, GuestAddr{e->fault->pc}, 4));
    if (x86)
      CHECK((insn[0] == 0xcd && insn[1] == 0xe9));
    else
      CHECK((insn[0] | insn[1] << 8 | insn[2] << 16 | uint32_t{insn[3]} << 24) == 0xd4000002u);
    CHECK(m->captured_stdout(pid.value()) == "hypercall from user mode\n");
    CHECK(k.boot_log().size() == boot_steps);  // HC_BOOT_STEP from user code did nothing
    CHECK(k.panic().empty());
    CHECK(k.oopses().empty());
  }
}
