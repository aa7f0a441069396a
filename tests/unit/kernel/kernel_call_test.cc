// kernel_call: probesim_kernel_call_trampoline calls a kernel function with up to six integer
// arguments and reports its result with HC_KERNEL_CALL_DONE (no user program needed).
#include <doctest/doctest.h>

#include "kernel_harness.h"

namespace probesim::kernel_test {

TEST_CASE("kernel_call: the selftest targets return their documented results") {
  for (Arch a : kArches) {
    CAPTURE(arch_name(a));
    KernelHarness h(a);
    CHECK(h.kernel_call("kprobe_target", {3, 4}) == 11);
    CHECK(h.kernel_call("kprobe_target2", {3, 4}) == 13);
    CHECK(h.kernel_call("kprobe_recursed_target", {5}) == 120);
    CHECK(h.kernel_call("kprobe_branch_target", {15}) == 5);
    CHECK(h.kernel_call("kprobe_branch_target", {4}) == 104);
    CHECK(h.kernel_call("kprobe_caller_target", {3, 4}) == 12);
    CHECK(h.kernel_call("kprobe_six_args_target", {1, 2, 3, 4, 5, 6}) == 91);
    CHECK(h.kernel_call("kprobe_nokprobe_target", {1}) == 2);
    CHECK(h.kernel_call("kprobe_kprobes_text_target", {1}) == 3);
    CHECK(h.hypercalls.back().nr == HC_KERNEL_CALL_DONE);
  }
}

TEST_CASE("kernel_call: kprobe_riprel_target's global keeps its value between calls") {
  for (Arch a : kArches) {
    CAPTURE(arch_name(a));
    KernelHarness h(a);
    CHECK(h.kernel_call("kprobe_riprel_target", {9}) == 3);  // counter 9, / 3
    CHECK(h.kernel_call("kprobe_riprel_target", {6}) == 5);  // counter 15, / 3
    CHECK(h.read_u64(h.sym("kprobe_selftest_counter")) == 15);
  }
}

TEST_CASE("kernel_call: works after boot and after a user syscall, on its own stack") {
  for (Arch a : kArches) {
    CAPTURE(arch_name(a));
    KernelHarness h(a);
    REQUIRE(h.boot() == Stop::RunInit);
    CHECK(h.kernel_call("kprobe_caller_target", {10, 1}) == 13);
    std::vector<uint8_t> code = a == Arch::X86_64 ? std::vector<uint8_t>{0x0f, 0x05}
                                                  : std::vector<uint8_t>{0x01, 0x00, 0x00, 0xd4};
    std::vector<uint64_t> regs((h.pt_regs_size()) / 8, 0);
    if (a == Arch::X86_64) {
      regs[PTREGS_X86_64_AX / 8] = 39;
      regs[PTREGS_X86_64_IP / 8] = KernelHarness::kUserCode.value;
      regs[PTREGS_X86_64_SP / 8] = KernelHarness::kUserStackTop.value;
      regs[PTREGS_X86_64_FLAGS / 8] = 0x202;
    } else {
      regs[8] = 172;
      regs[PTREGS_ARM64_PC / 8] = KernelHarness::kUserCode.value;
      regs[PTREGS_ARM64_SP / 8] = KernelHarness::kUserStackTop.value;
      regs[PTREGS_ARM64_PSTATE / 8] = 0x3c0 | ARM64_PSTATE_EL1T;
    }
    h.syscall_model = [](const SyscallRequest&) { return 7; };
    REQUIRE(h.run_user(code, regs) == Stop::UserDone);
    CHECK(h.kernel_call("kprobe_target", {1, 1}) == 3);
  }
}

}  // namespace probesim::kernel_test
