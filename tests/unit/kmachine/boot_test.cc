// The machine boots the guest kernel on both arches, and kernel_call runs its functions.
#include <cerrno>

#include "kmachine.h"

using namespace probesim;
using namespace probesim::kmachine;

TEST_CASE("kernel boot: start_kernel reaches rest_init through Linux's boot steps on both arches") {
  for (Arch a : kArches) {
    auto m = boot(a);
    const emu::GuestKernel* k = m->state().kernel();
    REQUIRE(k != nullptr);
    CHECK(k->boot_log() == std::vector<std::string>{"start_kernel", "setup_arch", "trap_init",
                                                   "mm_init", "init_kprobes", "rest_init"});
    CHECK(k->booted());
    CHECK(k->panic().empty());
  }
}

TEST_CASE("kernel boot: without Options::kernel there is no guest kernel and no kprobes") {
  auto m = Machine::create(Options{.arch = Arch::X86_64, .kernel = false});
  REQUIRE(m.ok());
  CHECK(m.value()->state().kernel() == nullptr);
  CHECK(m.value()->state().kprobes() == nullptr);
  auto r = m.value()->kernel_call("kprobe_target", {1, 2});
  CHECK_FALSE(r.ok());
}

TEST_CASE("kernel_call: the selftest functions return their documented results on both arches") {
  for (Arch a : kArches) {
    auto m = boot(a);
    CHECK(call(*m, "kprobe_target", {3, 4}) == 11);
    CHECK(call(*m, "kprobe_target2", {3, 4}) == 13);
    CHECK(call(*m, "kprobe_recursed_target", {5}) == 120);
    CHECK(call(*m, "kprobe_branch_target", {20}) == 10);
    CHECK(call(*m, "kprobe_branch_target", {5}) == 105);
    CHECK(call(*m, "kprobe_caller_target", {3, 4}) == 12);
    CHECK(call(*m, "kprobe_six_args_target", {1, 1, 1, 1, 1, 1}) == 21);
    CHECK(call(*m, "kprobe_riprel_target", {9}) == 3);
    CHECK(call(*m, "kprobe_riprel_target", {3}) == 4);  // the global kept 9, now 12
  }
}

TEST_CASE("kernel_call: unknown symbols and too many arguments are errors, not crashes") {
  auto m = boot(Arch::X86_64);
  auto r = m->kernel_call("no_such_function", {});
  REQUIRE_FALSE(r.ok());
  CHECK(r.error().err == ENOENT);
  auto r2 = m->kernel_call("kprobe_target", {1, 2, 3, 4, 5, 6, 7});
  REQUIRE_FALSE(r2.ok());
  CHECK(r2.error().err == E2BIG);
}

TEST_CASE("kernel_call: calling a non-function address oopses as an error naming the place") {
  for (Arch a : kArches) {
    auto m = boot(a);
    // kprobe_selftest_counter is data: executing it faults (no exec permission).
    auto r = m->kernel_call("kprobe_selftest_counter", {});
    REQUIRE_FALSE(r.ok());
    CHECK(r.error().err == EFAULT);
    CHECK(r.error().message.find("kernel_call(kprobe_selftest_counter)") != std::string::npos);
    CHECK(call(*m, "kprobe_target", {1, 1}) == 3);  // the machine still works
  }
}

TEST_CASE("kernel_call: a syscall path has no task to run for: an oops and an error, not a crash") {
  for (Arch a : kArches) {
    auto m = boot(a);
    auto r = m->kernel_call("ksys_write", {1, 0, 0});
    REQUIRE_FALSE(r.ok());
    CHECK(r.error().err == EFAULT);
    CHECK(r.error().message.find("HC_SYSCALL without a task") != std::string::npos);
    CHECK(m->state().kernel()->oopses().size() == 1);
    CHECK(call(*m, "kprobe_target", {2, 2}) == 6);
  }
}

TEST_CASE("kernel panic: every later spawn, run and kernel_call says the machine panicked") {
  for (Arch a : kArches) {
    auto m = boot(a);
    auto r = m->kernel_call("panic", {0});
    REQUIRE_FALSE(r.ok());
    CHECK(r.error().err == EIO);
    CHECK(r.error().message == "kernel_call(panic): Kernel panic - not syncing: (no message)");
    REQUIRE(m->panic().has_value());
    CHECK(*m->panic() == "Kernel panic - not syncing: (no message)");
    auto pid = m->spawn({guest(a, "hello")}, {});
    REQUIRE_FALSE(pid.ok());
    CHECK(pid.error().err == EIO);
    CHECK(pid.error().message.find("spawn: the guest kernel panicked (Kernel panic") == 0);
    auto again = m->kernel_call("kprobe_target", {3, 4});
    REQUIRE_FALSE(again.ok());
    CHECK(again.error().err == EIO);
    CHECK(again.error().message.find("kernel_call(kprobe_target): the guest kernel panicked") == 0);
    uint64_t insns = m->stats().instructions;
    CHECK(m->run());  // nothing can run: it returns at once
    CHECK(m->stats().instructions == insns);
  }
}
