// Boot of vmprobesim: start_kernel's steps, in order, each reported by HC_BOOT_STEP.
#include <doctest/doctest.h>

#include "kernel_harness.h"

namespace probesim::kernel_test {

TEST_CASE("boot: start_kernel runs setup_arch, trap_init, mm_init, init_kprobes, rest_init in "
          "order, reporting each step, then hands over with HC_RUN_INIT") {
  const std::vector<std::string> steps = {"start_kernel", "setup_arch",   "trap_init",
                                          "mm_init",      "init_kprobes", "rest_init"};
  for (Arch a : kArches) {
    CAPTURE(arch_name(a));
    KernelHarness h(a);
    h.trace(steps);
    REQUIRE(h.boot() == Stop::RunInit);
    CHECK(h.calls == steps);
    std::vector<uint64_t> reported;
    for (const HypercallRecord& r : h.hypercalls)
      if (r.nr == HC_BOOT_STEP) reported.push_back(r.args[0]);
    CHECK(reported == std::vector<uint64_t>{BOOT_STEP_START_KERNEL, BOOT_STEP_SETUP_ARCH,
                                            BOOT_STEP_TRAP_INIT, BOOT_STEP_MM_INIT,
                                            BOOT_STEP_INIT_KPROBES, BOOT_STEP_REST_INIT});
    REQUIRE(!h.hypercalls.empty());
    CHECK(h.hypercalls.back().nr == HC_RUN_INIT);
  }
}

TEST_CASE("boot: trap_init points the registers the model's syscall emulation reads at the "
          "entry code") {
  for (Arch a : kArches) {
    CAPTURE(arch_name(a));
    KernelHarness h(a);
    REQUIRE(h.boot() == Stop::RunInit);
    if (a == Arch::X86_64) {
      CHECK(h.msr(X86_MSR_LSTAR) == h.sym("entry_SYSCALL_64").value);
      CHECK(h.msr(X86_MSR_SYSCALL_MASK) == X86_SYSCALL_MASK);
      CHECK(h.reg(UC_X86_REG_GS_BASE) == h.sym("pcpu_hot").value);
    } else {
      CHECK(h.reg(UC_ARM64_REG_VBAR_EL1) == h.sym("vectors").value);
    }
  }
}

TEST_CASE("boot: the ELF entry is the arch's head code (startup_64 / primary_entry)") {
  for (Arch a : kArches) {
    CAPTURE(arch_name(a));
    loader::ElfFile image = load_kernel_image(a);
    KernelHarness h(a);
    CHECK(image.entry() == h.sym(a == Arch::X86_64 ? "startup_64" : "primary_entry").value);
    CHECK(image.entry() == (a == Arch::X86_64 ? KERNEL_BASE_X86_64 : KERNEL_BASE_ARM64));
  }
}

}  // namespace probesim::kernel_test
