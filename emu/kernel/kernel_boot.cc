// Guest kernel, machine side: boot, engines, putting tasks on CPUs, kernel_call
// (guest/kernel/README.md "The model's contract": mapping and boot, starting user tasks,
// kernel_call).
#include <cerrno>
#include <cstring>

#include "emu/machine_state.h"
#include "guest/kernel/include/entry_abi.h"
#include "guest/kernel/include/hypercall_abi.h"
#include "probes/probe_costs.h"
#include "probesim/assert.h"

namespace probesim::emu {
namespace {

constexpr uint64_t kBootBudget = 10'000'000;      // boot is a few thousand instructions
constexpr uint64_t kKernelCallBudget = 100'000'000;
constexpr uint64_t kArm64El1hMasked = 0x3c0 | ARM64_PSTATE_EL1H;  // DAIF set, EL1h
constexpr uint64_t kX86UserFlags = 0x202;                        // IF | reserved bit 1
constexpr uint64_t kX86KernelFlags = 0x2;

}  // namespace

// A Cpu mapping the kernel areas, with the CPU state boot programmed.
Result<std::unique_ptr<Cpu>> MachineState::new_kernel_engine() {
  GuestKernel& k = *kernel_;
  auto cpu = PROBESIM_TRY(Cpu::create(config_.arch, sched_.clock(0), *this, k.space->regions()));
  if (config_.arch == Arch::X86_64) {
    cpu->set_msr(X86_MSR_LSTAR, k.lstar);
    cpu->set_msr(X86_MSR_SYSCALL_MASK, k.syscall_mask);
  } else {
    cpu->set_reg(UC_ARM64_REG_VBAR_EL1, k.vbar);
  }
  return cpu;
}

Result<std::unique_ptr<Cpu>> MachineState::new_cpu() {
  if (kernel_) return new_kernel_engine();
  return Cpu::create(config_.arch, sched_.clock(0), *this);
}

// Loads the image, sets up kprobes (not initialized yet: early kprobes are branches until
// init_kprobes reports; the kretprobe trampoline is the image's), and runs start_kernel on the
// kernel engine up to rest_init's HC_RUN_INIT.
Result<void> MachineState::boot_kernel() {
  kernel_ = std::make_unique<GuestKernel>();
  GuestKernel& k = *kernel_;
  k.space = PROBESIM_TRY(KernelSpace::create(config_.arch));
  KernelSpace& ks = *k.space;
  ks.invalidate = [this](GuestAddr a, uint64_t len) {
    for_each_engine([&](Cpu& cpu) { cpu.invalidate_code(a, len); });
  };
  if (config_.arch == Arch::X86_64) k.pcpu_hot = ks.sym("pcpu_hot");
  k.ret_from_fork = ks.sym("ret_from_fork");
  k.call_trampoline = ks.sym("probesim_kernel_call_trampoline");
  k.call_stack = PROBESIM_TRY(ks.alloc_stack());
  PROBESIM_TRY_VOID(create_kprobes());
  k.engine = PROBESIM_TRY(Cpu::create(config_.arch, sched_.clock(0), *this, k.space->regions()));
  Cpu& e = *k.engine;
  e.set_step_scope(StepScope::Anywhere);  // kernel-only engine: its budget counts everything
  e.set_pc(ks.entry().value);
  CpuStop stop = e.run(InsnCount{kBootBudget});
  if (!k.panic.empty()) return Error::make("guest kernel panic during boot: " + k.panic, EIO);
  if (!k.run_init)
    return Error::make("guest kernel boot did not reach rest_init (stopped at " +
                           ks.kallsyms().format(GuestAddr{stop.pc ? stop.pc : e.pc()}) + ")",
                       EIO);
  if (config_.arch == Arch::X86_64) {
    k.lstar = e.msr(X86_MSR_LSTAR);
    k.syscall_mask = e.msr(X86_MSR_SYSCALL_MASK);
  } else {
    k.vbar = e.reg(UC_ARM64_REG_VBAR_EL1);
  }
  for (int cpu = 0; cpu < config_.cpus && config_.arch == Arch::X86_64; ++cpu)
    ks.write_u64(k.pcpu_hot + cpu * PCPU_HOT_SIZE + PCPU_CPU_NUMBER, static_cast<uint64_t>(cpu));
  return {};
}

// The kprobes engine, before start_kernel: kprobes_initialized is false until init_kprobes.
Result<void> MachineState::create_kprobes() {
  GuestKernel& k = *kernel_;
  KernelSpace& ks = *k.space;
  probes::KprobeConfig kc{static_cast<uint32_t>(config_.cpus), config_.kprobe_boost,
                          config_.cpu_hz, config_.kprobe_optimization};
  kc.initialized = false;
  k.kprobes = std::make_unique<probes::KprobeManager>(config_.arch, ks, ks.symbols(), kc);
  PROBESIM_TRY_VOID(k.kprobes->set_kretprobe_trampoline(ks.sym("__kretprobe_trampoline")));
  if (const probes::KernelSymbol* cb = ks.kallsyms().find("optimized_callback"))
    k.kprobes->set_optimized_callback(cb->addr);
  k.kprobes->set_optimizer_hooks([this] { return sched_.now_clock().cycles(); },
                                 [this](GuestAddr a, uint64_t len) { return any_pc_in(a, len); });
  return prepare_early_kprobes();
}

// Every engine that maps the kernel areas: the kernel engine, the engines of nested
// kernel_calls and every process's. A kernel text write must reach each of them (stack-facts
// gotcha 3: a translated block never sees host writes), whichever ran the code last.
void MachineState::for_each_engine(const std::function<void(Cpu&)>& fn) {
  if (kernel_) {
    if (kernel_->engine) fn(*kernel_->engine);
    for (auto& e : kernel_->nested_engines)
      if (e) fn(*e);
  }
  for (auto& [pid, p] : procs_)
    if (p->cpu()) fn(*p->cpu());
}

GuestAddr MachineState::pt_regs_of(const Task& t) const {
  size_t size = config_.arch == Arch::X86_64 ? PTREGS_X86_64_SIZE : PTREGS_ARM64_SIZE;
  return t.kstack_top - size;
}

bool MachineState::in_kernel_mode(Cpu& cpu) const {
  if (config_.arch == Arch::AArch64)
    return (cpu.reg(UC_ARM64_REG_PSTATE) & ARM64_PSTATE_MODE_MASK) == ARM64_PSTATE_EL1H;
  return kernel_->space->contains(GuestAddr{cpu.reg(UC_X86_REG_RIP)});
}

// A fresh user pt_regs (entry, sp, user flags) at the top of t's kernel stack, and the CPU in
// kernel mode at ret_from_fork, which returns to it (README.md "Starting user tasks").
void MachineState::start_in_kernel(Task& t, Cpu& cpu, uint64_t entry, uint64_t sp) {
  KernelSpace& ks = *kernel_->space;
  GuestAddr regs = pt_regs_of(t);
  bool x86 = config_.arch == Arch::X86_64;
  std::memset(ks.host(regs, t.kstack_top.value - regs.value), 0, t.kstack_top.value - regs.value);
  UserRegs u(cpu, ks.host(regs, 8));
  u.set_pc(entry);
  u.set_reg(cpu.info().reg_sp, sp);
  if (x86) {
    u.set_reg(UC_X86_REG_RFLAGS, kX86UserFlags);
    ks.write_u64(regs + PTREGS_X86_64_CS, X86_64_USER_CS);
    ks.write_u64(regs + PTREGS_X86_64_SS, X86_64_USER_DS);
    cpu.set_reg(UC_X86_REG_RFLAGS, kX86KernelFlags);
    cpu.set_reg(UC_X86_REG_GS_BASE, kernel_->pcpu_hot.value);  // kernel mode: put_on_cpu fixes the cpu
    cpu.set_msr(X86_MSR_KERNEL_GS_BASE, 0);
  } else {
    ks.write_u64(regs + PTREGS_ARM64_PSTATE, ARM64_PSTATE_EL1T);
    cpu.set_reg(UC_ARM64_REG_PSTATE, kArm64El1hMasked);
  }
  cpu.set_reg(cpu.info().reg_sp, regs.value);
  cpu.set_pc(kernel_->ret_from_fork.value);
}

// Per-CPU state of the task about to run on logical CPU `logical_cpu` (README.md: write
// both whenever a task is put on a CPU). x86: pcpu_hot[cpu].top_of_stack, and whichever GS
// base holds a pcpu_hot address (GS_BASE in kernel mode, MSR_KERNEL_GS_BASE in user mode;
// the PC cannot tell between `syscall` and the entry's swapgs) now holds this CPU's. arm64:
// SP_EL1 while the task runs on SP_EL0 (its kernel stack is empty then).
void MachineState::put_on_cpu(Task& t, Cpu& cpu, int logical_cpu) {
  GuestKernel& k = *kernel_;
  if (config_.arch == Arch::X86_64) {
    GuestAddr pcpu = k.pcpu_hot + logical_cpu * PCPU_HOT_SIZE;
    k.space->write_u64(pcpu + PCPU_TOP_OF_STACK, t.kstack_top.value);
    uint64_t gs = cpu.reg(UC_X86_REG_GS_BASE);
    bool gs_is_pcpu = gs >= k.pcpu_hot.value && gs < k.pcpu_hot.value + NR_CPUS * PCPU_HOT_SIZE;
    if (gs_is_pcpu)
      cpu.set_reg(UC_X86_REG_GS_BASE, pcpu.value);
    else
      cpu.set_msr(X86_MSR_KERNEL_GS_BASE, pcpu.value);
  } else if ((cpu.reg(UC_ARM64_REG_PSTATE) & ARM64_PSTATE_MODE_MASK) == ARM64_PSTATE_EL1T) {
    cpu.set_reg(UC_ARM64_REG_SP_EL1, t.kstack_top.value);
  }
}

int MachineState::hit_cpu() const {
  return kernel_ && kernel_->call_depth > 0 ? kernel_->call_cpu : sched_.running_cpu();
}

// Runs on the kernel engine; from inside a probe handler (a task's or another kernel_call's
// hook) it runs on a nested engine, on the same logical CPU, with no current task.
Result<uint64_t> MachineState::kernel_call(std::string_view fn, std::span<const uint64_t> args) {
  if (!kernel_) return Error::make("kernel_call: this machine runs without a guest kernel", EINVAL);
  if (args.size() > 6) return Error::make("kernel_call: at most six arguments", E2BIG);
  PROBESIM_TRY_VOID(refuse_if_panicked("kernel_call(" + std::string(fn) + ")"));
  GuestKernel& k = *kernel_;
  GuestAddr target = PROBESIM_TRY(k.space->kallsyms().lookup_name(fn));
  bool nested = k.call_depth > 0 || current_ != nullptr;
  if (!nested) run_kprobe_optimizer();
  int cpu_id = nested ? hit_cpu() : 0;
  Cpu* engine = k.engine.get();
  if (k.call_depth > 0) {
    size_t d = static_cast<size_t>(k.call_depth - 1);
    if (k.nested_engines.size() <= d) k.nested_engines.resize(d + 1);
    if (!k.nested_engines[d]) {
      k.nested_engines[d] = PROBESIM_TRY(new_kernel_engine());
      k.nested_engines[d]->set_step_scope(StepScope::Anywhere);
    }
    engine = k.nested_engines[d].get();
  }
  Cpu& e = *engine;
  bool x86 = config_.arch == Arch::X86_64;
  static constexpr int kX86Args[] = {UC_X86_REG_RDI, UC_X86_REG_RSI, UC_X86_REG_RDX,
                                     UC_X86_REG_RCX, UC_X86_REG_R8,  UC_X86_REG_R9};
  for (size_t i = 0; i < args.size(); ++i)
    e.set_reg(x86 ? kX86Args[i] : UC_ARM64_REG_X0 + static_cast<int>(i), args[i]);
  // The outermost frame: no caller frame record (fp = 0, arm64 lr = 0), so a stack trace
  // taken inside the call ends at the trampoline instead of following stale registers.
  if (x86) {
    e.set_reg(UC_X86_REG_RBP, 0);
    e.set_reg(UC_X86_REG_R11, target.value);
    e.set_reg(UC_X86_REG_GS_BASE, (k.pcpu_hot + cpu_id * PCPU_HOT_SIZE).value);
    e.set_reg(UC_X86_REG_RFLAGS, kX86KernelFlags);
  } else {
    e.set_reg(UC_ARM64_REG_X29, 0);
    e.set_reg(UC_ARM64_REG_X30, 0);
    e.set_reg(UC_ARM64_REG_X16, target.value);
    e.set_reg(UC_ARM64_REG_PSTATE, kArm64El1hMasked);
  }
  // Nested calls use the lower half of the call stack (the outer one is far above).
  e.set_reg(e.info().reg_sp, k.call_stack.value - static_cast<uint64_t>(k.call_depth) * 2048);
  e.set_pc(k.call_trampoline.value);
  VirtualClock& clock = sched_.clock(cpu_id);
  e.set_clock(clock);
  Task* saved_current = current_;
  Cpu* saved_engine = running_engine_;
  int saved_cpu = k.call_cpu;
  current_ = nullptr;
  running_engine_ = &e;
  k.call_cpu = cpu_id;
  ++k.call_depth;
  k.call_result.reset();
  size_t oopses = k.oopses.size();
  uint64_t insns_before = e.insns().value, cycles_before = clock.cycles().value;
  if (!nested) in_flight_ = InFlight{&e, &clock, insns_before, cycles_before};
  CpuStop stop;
  try {
    stop = e.run(InsnCount{kKernelCallBudget});
  } catch (...) {
    --k.call_depth, current_ = saved_current, k.call_cpu = saved_cpu, running_engine_ = saved_engine;
    if (!nested) in_flight_.reset();
    throw;
  }
  --k.call_depth, current_ = saved_current, k.call_cpu = saved_cpu, running_engine_ = saved_engine;
  if (!nested) in_flight_.reset();
  if (!nested) stop_requested_ = false;  // a top-level kernel_call is its own run
  e.set_preemptible(true);
  if (!nested) {  // nested calls are already inside the outer run's accounting
    total_insns_ += e.insns().value - insns_before;
    total_cycles_ += clock.cycles().value - cycles_before;
  }
  std::optional<uint64_t> result = k.call_result;
  k.call_result.reset();
  if (result) return *result;
  // Aborted (a fault, a runaway, stop_current): return probes hijacked on the way down will
  // never see their returns; recycle the kernel-call context's instances (task 0).
  if (!nested) k.kprobes->flush_task(probes::TaskId{0});
  std::string why = panicked()                  ? panic_text()
                    : k.oopses.size() > oopses ? k.oopses.back()
                    : stop.kind == StopKind::Budget
                        ? "did not return within " + std::to_string(kKernelCallBudget) + " instructions"
                        : std::string(stop.kind == StopKind::Fault ? "kernel fault" : "kernel trap") +
                              " at " + k.space->kallsyms().format(GuestAddr{stop.pc});
  return Error::make("kernel_call(" + std::string(fn) + "): " + why, panicked() ? EIO : EFAULT);
}

}  // namespace probesim::emu
