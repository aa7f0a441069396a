// MachineState's side of the guest kernel: booting it, the KernelHost interface it reaches
// the machine through, and the public calls that forward to it (kernel_call, user_regs).
#include <cerrno>

#include "emu/machine_state.h"
#include "emu/syscalls/dispatch.h"

namespace probesim::emu {

KernelConfig MachineState::kernel_config() const {
  return KernelConfig{config_.arch,         config_.cpus,           config_.cpu_hz,
                      config_.kprobe_boost, config_.kprobe_optimization,
                      config_.kernel_cmdline, config_.early_kprobes, config_.probe_cost,
                      config_.kprobe_optimize_delay_ns};
}

Result<std::unique_ptr<Cpu>> MachineState::new_cpu() {
  std::unique_ptr<Cpu> cpu = PROBESIM_TRY(kernel_ ? kernel_->new_engine()
                                                  : Cpu::create(config_.arch, sched_.clock(0), *this));
  cpu->set_sync_points(sync_points());
  if (race_watch_) cpu->set_access_watch(this);
  return cpu;
}

// Scheduling points inside blocks (atomics, syscalls) for the strategies that preempt there
// (pct, bounded, guided), and in every replay (a recorded stop may lie in front of one). rr
// and random keep block boundaries (random's schedules stay those of its seeds so far).
bool MachineState::sync_points() const {
  using K = StrategySpec::Kind;
  const K k = config_.strategy.kind;
  return k == K::Pct || k == K::Bounded || k == K::Guided || sched_.replaying();
}

void MachineState::for_each_process_engine(const std::function<void(Cpu&)>& fn) {
  for (auto& [pid, p] : procs_)
    if (p->cpu()) fn(*p->cpu());
}

// A task preempted (or a CPU paused) inside [addr, addr+len) must not find a jump's rel32
// there when it resumes.
bool MachineState::any_task_pc_in(GuestAddr addr, uint64_t len) {
  for (auto& [pid, proc] : procs_) {
    Cpu* cpu = proc->cpu();
    if (!cpu) continue;
    for (auto& t : proc->tasks()) {
      if (t->state == TaskState::Dead) continue;
      uint64_t pc = t.get() == proc->resident() || !t->context
                        ? cpu->pc()
                        : cpu->context_reg(*t->context, cpu->info().reg_pc);
      if (pc >= addr.value && pc - addr.value < len) return true;
    }
  }
  return false;
}

std::unique_ptr<KernelHost::RunScope> MachineState::kernel_call_scope(Cpu& engine,
                                                                       VirtualClock& clock) {
  return std::make_unique<EngineScope>(*this, engine, clock, nullptr);
}

int64_t MachineState::kernel_syscall(Task& t, const SyscallArgs& a, SyscallDisposition& how) {
  SyscallContext ctx(*this, t.proc(), t);
  int64_t ret = dispatch_syscall(ctx, a);
  how = ctx.disposition;
  return ret;
}

void MachineState::on_syscall(Cpu& cpu) {
  if (kernel_) return kernel_->syscall_entry(cpu);  // the guest kernel takes it from here
  model_syscall(cpu);
}

bool MachineState::on_trap(Cpu& cpu, uint32_t intno) {
  return kernel_ ? kernel_->on_trap(cpu, intno) : uprobe_trap(cpu, intno);
}

UserRegs MachineState::user_regs(Task& t) {
  if (kernel_ && t.in_hypercall) return kernel_->entry_user_regs(t);
  return UserRegs(*t.proc().cpu());
}

UserRegs MachineState::entry_user_regs(Task& t) {
  PROBESIM_ASSERT(kernel_ != nullptr);
  return kernel_->entry_user_regs(t);
}

int MachineState::hit_cpu() const {
  return kernel_ ? kernel_->hit_cpu() : sched_.running_cpu();
}

Result<uint64_t> MachineState::kernel_call(std::string_view fn, std::span<const uint64_t> args) {
  if (!kernel_) return Error::make("kernel_call: this machine runs without a guest kernel", EINVAL);
  PROBESIM_TRY_VOID(refuse_if_panicked("kernel_call(" + std::string(fn) + ")"));
  const bool outermost = !in_flight_;
  Result<uint64_t> r = kernel_->call(fn, args);
  if (outermost) stop_requested_ = false;  // a top-level kernel_call is its own run
  return r;
}

}  // namespace probesim::emu
