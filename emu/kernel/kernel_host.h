// KernelHost: what the guest kernel (GuestKernel) needs from the machine around it, and
// nothing more. MachineState implements it; the kernel never sees processes' files, the VFS or
// the scheduler's queues. Everything here runs on the emulation thread, inside an engine's
// hook or between quanta.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <optional>

#include "emu/exit_status.h"
#include "emu/syscalls/syscall.h"
#include "probesim/types.h"

namespace probesim::emu {

class Cpu;
class SyscallSink;
class Task;
class Process;
class VirtualClock;

class KernelHost {
 public:
  // Held while a kernel_call runs: the machine treats its engine as the running one, with no
  // current task; an outermost call is a run of its own (its instructions and cycles count in
  // the machine's totals when the scope ends, a stop request ends with it).
  class RunScope {
   public:
    virtual ~RunScope() = default;
  };

  // Hooks of every engine the kernel creates (syscall instruction, traps, faults).
  virtual SyscallSink& engine_sink() = 0;
  virtual VirtualClock& cpu_clock(int cpu) = 0;
  virtual VirtualClock& now_clock() = 0;  // the clock of the logical CPU running now
  virtual int running_cpu() const = 0;
  // The task whose engine is running (inside hooks and probe handlers), else null.
  virtual Task* current() = 0;
  // Every process's engine (each maps the kernel areas too).
  virtual void for_each_process_engine(const std::function<void(Cpu&)>& fn) = 0;
  // synchronize_rcu_tasks as a check: is a live task's PC (running or preempted) in range?
  virtual bool any_task_pc_in(GuestAddr addr, uint64_t len) = 0;
  virtual std::unique_ptr<RunScope> kernel_call_scope(Cpu& engine, VirtualClock& clock) = 0;

  // HC_SYSCALL's body: the model's syscall `a` for `t` (dispatch, statistics, strace);
  // returns its result, meaningful when the disposition is Return.
  virtual int64_t kernel_syscall(Task& t, const SyscallArgs& a, SyscallDisposition& how) = 0;
  // Signals on the return to user mode (machine_signals.cc).
  virtual bool has_deliverable_signal(const Task& t) const = 0;
  virtual bool deliver_signals(Task& t) = 0;  // false: the process died of one
  virtual void restore_saved_sigmask(Task& t) = 0;
  virtual void kill_by_signal(Process& p, int sig, std::optional<GuestFault> fault) = 0;
  // A breakpoint trap that is not in kernel memory: the uprobes engine's (or SIGTRAP: false).
  virtual bool uprobe_trap(Cpu& cpu, uint32_t intno) = 0;

 protected:
  ~KernelHost() = default;
};

}  // namespace probesim::emu
