// GuestKernel: the machine's guest kernel (docs/design.md "The kernel"; the image's contract
// is docs/guest-kernel.md "The model's contract"). It owns the image's memory (KernelSpace), the kprobes engine and
// the kernel engines, and all of the kernel's behaviour: boot (kernel_boot.cc), early kprobes
// (kernel_early_kprobes.cc), kernel_call (kernel_call.cc), the syscall entry, hypercalls and
// the return to user mode (kernel_entry.cc), kprobe traps and oopses (kernel_kprobes.cc).
// It reaches the machine only through KernelHost (kernel_host.h).
//
// Ownership: the KernelSpace outlives every engine (they map its memory); the kernel engine is
// a Cpu with no mm (Linux's init_mm: kernel threads, boot, kernel_call). Tasks' kernel stacks
// come from the KernelSpace: start_user_task / child_regs take one, release_task returns it.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "emu/arch/kernel_arch.h"
#include "emu/cpu.h"
#include "emu/kernel/kernel_host.h"
#include "emu/kernel/kernel_space.h"
#include "emu/user_regs.h"
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

struct KernelConfig {
  Arch arch = Arch::X86_64;
  int cpus = 1;
  uint64_t cpu_hz = 0;
  bool kprobe_boost = true;         // x86: jump back from boostable slots
  bool kprobe_optimization = true;  // debug.kprobes-optimization at boot
  std::string cmdline;              // boot_command_line, without the ekprobe= list
  std::vector<std::string> early_kprobes;  // "sym[+off]", appended as one ekprobe= list
  double probe_cost = 1.0;                 // KprobeConfig::cost_scale
  uint64_t optimize_delay_ns = 20'000'000;  // KprobeConfig::optimize_delay_ns (OPTIMIZE_DELAY)
};

class GuestKernel {
 public:
  GuestKernel(KernelConfig config, KernelHost& host);
  ~GuestKernel();
  // Loads the image, sets up kprobes and runs start_kernel up to rest_init's HC_RUN_INIT.
  // Call once; the engines' hooks reach this kernel during boot, so the host must already
  // route them here. EIO when boot panics or stops early; E2BIG for a command line over
  // COMMAND_LINE_SIZE.
  Result<void> boot();
  GuestKernel(const GuestKernel&) = delete;
  GuestKernel& operator=(const GuestKernel&) = delete;

  // --- Engines and tasks (kernel_boot.cc) ---
  // A Cpu mapping the kernel areas with the CPU state boot programmed (a process's engine).
  Result<std::unique_ptr<Cpu>> new_engine();
  // A new task's kernel stack, and a fresh user pt_regs (entry, sp) there with the CPU in
  // kernel mode at ret_from_fork. ENOMEM when no kernel stack is left.
  Result<void> start_user_task(Task& t, Cpu& cpu, uint64_t entry, uint64_t sp);
  // exec inside HC_SYSCALL: a fresh user pt_regs for the new image on t's kernel stack.
  void reset_user_regs(Task& t, Cpu& cpu, uint64_t entry, uint64_t sp);
  // clone/fork: the child's kernel stack holds a copy of the parent's pt_regs returning 0 (on
  // `stack` when nonzero); ctx (a copy of the parent's CPU) starts at ret_from_fork. False
  // when no kernel stack is left.
  bool child_regs(Task& parent, Task& child, CpuContext& ctx, uint64_t stack);
  // A task will never run again: its kretprobe instances and kernel stack go.
  void release_task(Task& t);
  // t is about to run on logical CPU `logical_cpu`: the per-CPU state that says so.
  void put_on_cpu(Task& t, Cpu& cpu, int logical_cpu);
  // A task that stopped inside HC_SYSCALL runs again: restart or finish the syscall, deliver
  // a pending signal. False if its process died of it.
  bool resume_in_kernel(Task& t, Cpu& cpu);
  bool in_kernel_mode(Cpu& cpu) const;
  // The user registers of t while it is in the kernel: the pt_regs its entry saved.
  UserRegs entry_user_regs(Task& t);
  GuestAddr pt_regs_of(const Task& t) const;
  // Is this stop the kernel's (kernel PC or kernel mode)? Then oops() handles it.
  bool owns_stop(Cpu& cpu, const CpuStop& stop) const;
  // A fault, trap or invalid instruction in kernel mode: Linux oopses and kills the task.
  void oops(Process& p, Task& t, const CpuStop& stop);

  // --- Hooks of the engines (kernel_entry.cc, kernel_kprobes.cc) ---
  void syscall_entry(Cpu& cpu);  // the user syscall instruction
  bool on_trap(Cpu& cpu, uint32_t intno);

  // --- kernel_call (kernel_call.cc) ---
  // Calls kernel function `fn` with up to six arguments in kernel mode with no task: on logical
  // CPU 0, or from inside a probe handler on the same CPU on a nested engine. Errors: ENOENT
  // unknown symbol, E2BIG too many arguments, EFAULT a fault or runaway (with the oops), EIO
  // when the kernel panicked during the call (the machine refuses calls after a panic).
  Result<uint64_t> call(std::string_view fn, std::span<const uint64_t> args);
  int hit_cpu() const;             // the logical CPU a probe hit happens on now
  void run_optimizer_if_due();     // the delayed kprobe_optimizer (between quanta)

  // --- State, for inspection ---
  KernelSpace& space() { return *space_; }
  const KernelSpace& space() const { return *space_; }
  probes::KprobeManager& kprobes() { return *kprobes_; }
  const probes::KprobeManager& kprobes() const { return *kprobes_; }
  const std::vector<EarlyKprobe>& early_kprobes() const { return early_kprobes_; }
  // The kernel log: the boot functions that reported, in order, early kprobes' registration,
  // hits before init_kprobes and conversion, then what printk adds (e.g. the uprobes engine's
  // pr_warn lines).
  const std::vector<std::string>& boot_log() const { return boot_log_; }
  void printk(std::string line) { boot_log_.push_back(std::move(line)); }
  const std::vector<std::string>& oopses() const { return oopses_; }  // kernel-mode faults
  const std::string& panic() const { return panic_; }  // HC_PANIC's message, or ""
  bool booted() const { return run_init_; }             // HC_RUN_INIT reached
  uint64_t hypercalls() const { return hypercalls_; }

 private:
  class CallScope;
  // boot (kernel_boot.cc)
  Result<void> create_kprobes();
  void for_each_engine(const std::function<void(Cpu&)>& fn);
  // early kprobes (kernel_early_kprobes.cc)
  Result<void> prepare_early_kprobes();
  void boot_step_action(uint64_t step);
  void register_early_kprobes();
  void convert_early_kprobes();
  void log_early_hit(uint64_t op);
  // kernel_call (kernel_call.cc)
  Result<Cpu*> call_engine();
  // entry, hypercalls (kernel_entry.cc)
  void on_hypercall(Cpu& cpu);
  uint64_t hypercall(Cpu& cpu, uint64_t nr, const uint64_t* args);
  void hc_syscall(Cpu& cpu, Task& t, uint64_t nr, GuestAddr args);
  void finish_hypercall(Cpu& cpu, Task& t);
  void hypercall_oops(Cpu& cpu, const char* why);
  // kprobes (kernel_kprobes.cc)
  bool kprobe_trap(Cpu& cpu);
  // Observer mode: the cycles a Detour hit's copy runs beyond the instruction its breakpoint's
  // block was charged (the other instructions the jump will replace), as their own block would.
  Cycles observed_detour_cycles(Cpu& cpu, GuestAddr addr, const probes::HitResult& r) const;
  void optimized_callback(uint64_t op, GuestAddr regs);
  // optimized_callback's host call site (Cpu::add_call_site): optimized_callback(arg0, arg1).
  static void optimized_callback_site(Cpu& cpu, void* self);
  void add_call_sites(Cpu& cpu);  // on every engine: optimized_callback's
  probes::HitContext hit_context() const;

  KernelConfig config_;
  KernelHost& host_;
  std::unique_ptr<KernelSpace> space_;
  std::unique_ptr<KernelArch> arch_;  // everything that differs per architecture
  // Declared before `kprobes_`: the manager goes first and detaches them.
  std::vector<EarlyKprobe> early_kprobes_;
  std::unique_ptr<probes::KprobeManager> kprobes_;
  std::unique_ptr<Cpu> engine_;  // boot and kernel_call
  // Engines for kernel_calls nested in probe handlers (a Unicorn engine cannot re-enter
  // itself): nested_engines_[d] serves depth d + 1, created on first use.
  std::vector<std::unique_ptr<Cpu>> nested_engines_;
  int call_depth_ = 0;  // kernel_calls in progress
  int call_cpu_ = 0;    // the logical CPU they run on
  std::vector<std::string> boot_log_;
  GuestAddr ret_from_fork_, call_trampoline_, call_stack_;
  std::optional<uint64_t> call_result_;  // HC_KERNEL_CALL_DONE of the running kernel_call
  bool run_init_ = false;
  std::string panic_;
  std::vector<std::string> oopses_;
  uint64_t hypercalls_ = 0;
};

}  // namespace probesim::emu
