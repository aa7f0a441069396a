// GuestKernel: the machine's guest kernel (DESIGN.md "The kernel"; the image's contract is
// guest/kernel/README.md). MachineState owns one when MachineConfig::kernel is set; its
// behaviour lives in MachineState's kernel_*.cc files (hypercalls, entry, probes, boot).
//
// Ownership: the KernelSpace outlives every engine (they map its memory); the kernel engine is
// a Cpu with no mm (Linux's init_mm: kernel threads, boot, kernel_call).
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "emu/cpu.h"
#include "emu/kernel/kernel_space.h"
#include "probes/kprobe.h"
#include "probes/kprobe_manager.h"

namespace probesim::emu {

// A boot-time (early) kprobe from the command line's `ekprobe=` list: a counting probe
// (nhit) registered before init_kprobes, or the error its registration gave.
struct EarlyKprobe {
  std::string spec;                    // "sym[+off]" as on the command line
  std::unique_ptr<probes::Kprobe> kp;  // registered iff err == 0
  int err = 0;                         // the errno of a failed registration
  std::string error;
};

struct GuestKernel {
  std::unique_ptr<KernelSpace> space;
  // Declared before `kprobes`: the manager goes first and detaches them.
  std::vector<EarlyKprobe> early_kprobes;
  std::unique_ptr<probes::KprobeManager> kprobes;
  std::unique_ptr<Cpu> engine;        // boot and kernel_call
  // Engines for kernel_calls nested in probe handlers (a Unicorn engine cannot re-enter
  // itself): nested_engines[d] serves depth d + 1, created on first use.
  std::vector<std::unique_ptr<Cpu>> nested_engines;
  int call_depth = 0;  // kernel_calls in progress
  int call_cpu = 0;    // the logical CPU they run on
  // The boot functions that reported, in order, and early kprobes' registration, hits before
  // init_kprobes and conversion (kernel_early_kprobes.cc).
  std::vector<std::string> boot_log;
  // CPU state boot programmed (trap_init, setup_arch), copied into every new engine.
  uint64_t lstar = 0, syscall_mask = 0, vbar = 0;
  GuestAddr pcpu_hot, ret_from_fork, call_trampoline, call_stack;
  std::optional<uint64_t> call_result;  // HC_KERNEL_CALL_DONE of the running kernel_call
  bool run_init = false;                // HC_RUN_INIT reached (boot done)
  std::string panic;                    // HC_PANIC's message: the machine stops for good
  std::vector<std::string> oopses;      // kernel-mode faults (each killed its process)
  uint64_t hypercalls = 0;
};

}  // namespace probesim::emu
