// Guest kernel: boot, engines, starting tasks and putting them on CPUs
// (docs/guest-kernel.md "The model's contract": mapping and boot, starting user tasks).
#include <cerrno>
#include <cstring>
#include <utility>

#include "emu/kernel/guest_kernel.h"
#include "emu/process.h"
#include "emu/virtual_clock.h"
#include "guest/kernel/include/entry_abi.h"
#include "guest/kernel/include/hypercall_abi.h"
#include "probesim/assert.h"

namespace probesim::emu {
namespace {

constexpr uint64_t kBootBudget = 10'000'000;  // boot is a few thousand instructions
constexpr uint64_t kArm64El1hMasked = 0x3c0 | ARM64_PSTATE_EL1H;  // DAIF set, EL1h
constexpr uint64_t kX86UserFlags = 0x202;                        // IF | reserved bit 1
constexpr uint64_t kX86KernelFlags = 0x2;

}  // namespace

GuestKernel::GuestKernel(KernelConfig config, KernelHost& host)
    : config_(std::move(config)), host_(host) {}

// The engines go with the kernel: text the kprobes engine restores while it is torn down
// needs no flushing of them (and some are gone already).
GuestKernel::~GuestKernel() {
  if (space_) space_->invalidate = nullptr;
}

// Loads the image, sets up kprobes (not initialized yet: early kprobes are branches until
// init_kprobes reports; the kretprobe trampoline is the image's), and runs start_kernel on the
// kernel engine up to rest_init's HC_RUN_INIT.
Result<void> GuestKernel::boot() {
  space_ = PROBESIM_TRY(KernelSpace::create(config_.arch));
  KernelSpace& ks = *space_;
  ks.invalidate = [this](GuestAddr a, uint64_t len) {
    for_each_engine([&](Cpu& cpu) { cpu.invalidate_code(a, len); });
  };
  if (x86()) pcpu_hot_ = ks.sym("pcpu_hot");
  ret_from_fork_ = ks.sym("ret_from_fork");
  call_trampoline_ = ks.sym("probesim_kernel_call_trampoline");
  call_stack_ = PROBESIM_TRY(ks.alloc_stack());
  PROBESIM_TRY_VOID(create_kprobes());
  engine_ = PROBESIM_TRY(Cpu::create(config_.arch, host_.cpu_clock(0), host_.engine_sink(), ks.regions()));
  Cpu& e = *engine_;
  e.set_step_scope(StepScope::Anywhere);  // kernel-only engine: its budget counts everything
  e.set_pc(ks.entry().value);
  CpuStop stop = e.run(InsnCount{kBootBudget});
  if (!panic_.empty()) return Error::make("guest kernel panic during boot: " + panic_, EIO);
  if (!run_init_)
    return Error::make("guest kernel boot did not reach rest_init (stopped at " +
                           ks.kallsyms().format(GuestAddr{stop.pc ? stop.pc : e.pc()}) + ")",
                       EIO);
  if (x86()) {
    lstar_ = e.msr(X86_MSR_LSTAR);
    syscall_mask_ = e.msr(X86_MSR_SYSCALL_MASK);
  } else {
    vbar_ = e.reg(UC_ARM64_REG_VBAR_EL1);
  }
  for (int cpu = 0; cpu < config_.cpus && x86(); ++cpu)
    ks.write_u64(pcpu_hot_ + cpu * PCPU_HOT_SIZE + PCPU_CPU_NUMBER, static_cast<uint64_t>(cpu));
  return {};
}

// The kprobes engine, before start_kernel: kprobes_initialized is false until init_kprobes.
Result<void> GuestKernel::create_kprobes() {
  KernelSpace& ks = *space_;
  probes::KprobeConfig kc{static_cast<uint32_t>(config_.cpus), config_.kprobe_boost,
                          config_.cpu_hz, config_.kprobe_optimization};
  kc.initialized = false;
  kprobes_ = std::make_unique<probes::KprobeManager>(config_.arch, ks, ks.symbols(), kc);
  PROBESIM_TRY_VOID(kprobes_->set_kretprobe_trampoline(ks.sym("__kretprobe_trampoline")));
  if (const probes::KernelSymbol* cb = ks.kallsyms().find("optimized_callback"))
    kprobes_->set_optimized_callback(cb->addr);
  kprobes_->set_optimizer_hooks(
      [this] { return host_.now_clock().cycles(); },
      [this](GuestAddr a, uint64_t len) { return host_.any_task_pc_in(a, len); });
  return prepare_early_kprobes();
}

Result<std::unique_ptr<Cpu>> GuestKernel::new_engine() {
  auto cpu = PROBESIM_TRY(Cpu::create(config_.arch, host_.cpu_clock(0), host_.engine_sink(),
                                      space_->regions()));
  if (x86()) {
    cpu->set_msr(X86_MSR_LSTAR, lstar_);
    cpu->set_msr(X86_MSR_SYSCALL_MASK, syscall_mask_);
  } else {
    cpu->set_reg(UC_ARM64_REG_VBAR_EL1, vbar_);
  }
  return cpu;
}

// Every engine that maps the kernel areas: the kernel engine, the engines of nested
// kernel_calls and every process's. A kernel text write must reach each of them (docs/stack-facts.md
// gotcha 3: a translated block never sees host writes), whichever ran the code last.
void GuestKernel::for_each_engine(const std::function<void(Cpu&)>& fn) {
  if (engine_) fn(*engine_);
  for (auto& e : nested_engines_)
    if (e) fn(*e);
  host_.for_each_process_engine(fn);
}

GuestAddr GuestKernel::pt_regs_of(const Task& t) const {
  size_t size = x86() ? PTREGS_X86_64_SIZE : PTREGS_ARM64_SIZE;
  return t.kstack_top - size;
}

UserRegs GuestKernel::entry_user_regs(Task& t) {
  return UserRegs(*t.proc().cpu(), space_->host(pt_regs_of(t), 8));
}

bool GuestKernel::in_kernel_mode(Cpu& cpu) const {
  if (!x86()) return (cpu.reg(UC_ARM64_REG_PSTATE) & ARM64_PSTATE_MODE_MASK) == ARM64_PSTATE_EL1H;
  return space_->contains(GuestAddr{cpu.reg(UC_X86_REG_RIP)});
}

bool GuestKernel::owns_stop(Cpu& cpu, const CpuStop& stop) const {
  return space_->contains(GuestAddr{stop.pc}) || in_kernel_mode(cpu);
}

Result<void> GuestKernel::start_user_task(Task& t, Cpu& cpu, uint64_t entry, uint64_t sp) {
  t.kstack_top = PROBESIM_TRY(space_->alloc_stack());
  reset_user_regs(t, cpu, entry, sp);
  return {};
}

// A fresh user pt_regs (entry, sp, user flags) at the top of t's kernel stack, and the CPU in
// kernel mode at ret_from_fork, which returns to it (docs/guest-kernel.md "Starting user tasks").
void GuestKernel::reset_user_regs(Task& t, Cpu& cpu, uint64_t entry, uint64_t sp) {
  KernelSpace& ks = *space_;
  GuestAddr regs = pt_regs_of(t);
  std::memset(ks.host(regs, t.kstack_top.value - regs.value), 0, t.kstack_top.value - regs.value);
  UserRegs u(cpu, ks.host(regs, 8));
  u.set_pc(entry);
  u.set_reg(cpu.info().reg_sp, sp);
  if (x86()) {
    u.set_reg(UC_X86_REG_RFLAGS, kX86UserFlags);
    ks.write_u64(regs + PTREGS_X86_64_CS, X86_64_USER_CS);
    ks.write_u64(regs + PTREGS_X86_64_SS, X86_64_USER_DS);
    cpu.set_reg(UC_X86_REG_RFLAGS, kX86KernelFlags);
    cpu.set_reg(UC_X86_REG_GS_BASE, pcpu_hot_.value);  // kernel mode: put_on_cpu fixes the cpu
    cpu.set_msr(X86_MSR_KERNEL_GS_BASE, 0);
  } else {
    ks.write_u64(regs + PTREGS_ARM64_PSTATE, ARM64_PSTATE_EL1T);
    cpu.set_reg(UC_ARM64_REG_PSTATE, kArm64El1hMasked);
  }
  cpu.set_reg(cpu.info().reg_sp, regs.value);
  cpu.set_pc(ret_from_fork_.value);
}

bool GuestKernel::child_regs(Task& parent, Task& child, CpuContext& ctx, uint64_t stack) {
  KernelSpace& ks = *space_;
  Cpu& pcpu = *parent.proc().cpu();
  const ArchInfo& info = pcpu.info();
  auto top = ks.alloc_stack();
  if (!top) return false;
  child.kstack_top = top.value();
  size_t size = child.kstack_top.value - pt_regs_of(child).value;
  std::memcpy(ks.host(pt_regs_of(child), size), ks.host(pt_regs_of(parent), size), size);
  UserRegs u(pcpu, ks.host(pt_regs_of(child), size));
  u.set_reg(info.reg_ret, 0);
  if (stack) u.set_reg(info.reg_sp, stack);
  pcpu.set_context_reg(ctx, info.reg_pc, ret_from_fork_.value);
  pcpu.set_context_reg(ctx, info.reg_sp, pt_regs_of(child).value);
  return true;
}

void GuestKernel::release_task(Task& t) {
  if (!t.kstack_top.value) return;
  kprobes_->flush_task(probes::TaskId{static_cast<uint64_t>(t.tid())});
  space_->free_stack(t.kstack_top);
  t.kstack_top = GuestAddr{0};
}

// Per-CPU state of the task about to run on logical CPU `logical_cpu` (docs/guest-kernel.md: write
// both whenever a task is put on a CPU). x86: pcpu_hot[cpu].top_of_stack, and whichever GS
// base holds a pcpu_hot address (GS_BASE in kernel mode, MSR_KERNEL_GS_BASE in user mode;
// the PC cannot tell between `syscall` and the entry's swapgs) now holds this CPU's. arm64:
// SP_EL1 while the task runs on SP_EL0 (its kernel stack is empty then).
void GuestKernel::put_on_cpu(Task& t, Cpu& cpu, int logical_cpu) {
  if (x86()) {
    GuestAddr pcpu = pcpu_hot_ + logical_cpu * PCPU_HOT_SIZE;
    space_->write_u64(pcpu + PCPU_TOP_OF_STACK, t.kstack_top.value);
    uint64_t gs = cpu.reg(UC_X86_REG_GS_BASE);
    bool gs_is_pcpu = gs >= pcpu_hot_.value && gs < pcpu_hot_.value + NR_CPUS * PCPU_HOT_SIZE;
    if (gs_is_pcpu)
      cpu.set_reg(UC_X86_REG_GS_BASE, pcpu.value);
    else
      cpu.set_msr(X86_MSR_KERNEL_GS_BASE, pcpu.value);
  } else if ((cpu.reg(UC_ARM64_REG_PSTATE) & ARM64_PSTATE_MODE_MASK) == ARM64_PSTATE_EL1T) {
    cpu.set_reg(UC_ARM64_REG_SP_EL1, t.kstack_top.value);
  }
}

}  // namespace probesim::emu
