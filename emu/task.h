// Task: one thread of a process (Linux's task_struct, the parts probesim models). Owned by its
// Process. While a task is resident in its mm's Cpu its registers live in the engine;
// otherwise in `context` (Process::switch_to moves them).
//
// Who may touch what: only the emulation thread; the scheduler changes `state`, syscall
// handlers of this task or of a waker change the wait fields through Scheduler/FutexTable.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>

#include "emu/cpu.h"
#include "emu/signals.h"
#include "probesim/types.h"

namespace probesim::emu {

class Process;

enum class TaskState {
  Runnable,  // on the run queue or current on a logical CPU
  Blocked,   // waiting (futex, sleep); woken by a waker or its deadline
  Dead,      // exited; kept for statistics until the process is reaped
};

// Why a blocked task waits. A deadline (virtual monotonic ns) wakes it with `timeout_ret`.
// Poll (poll/select/epoll_wait sleeping on several wait queues): every wake — a queue, the
// deadline, a signal — restarts the syscall, which re-polls and decides the result itself (as
// do_poll's loop does after schedule_hrtimeout_range returns).
struct WaitInfo {
  enum class Kind { None, Futex, Sleep, Queue, Poll } kind = Kind::None;
  uint64_t deadline_ns = 0;  // 0: no deadline
  int64_t timeout_ret = 0;   // the syscall's return value if the deadline fires
  bool interruptible = true; // a signal wakes it with -EINTR (or restarts it, SA_RESTART)
  bool restartable = true;   // Queue: SA_RESTART restarts it (System V IPC: never, EINTR)
  bool restart_noint = false; // a signal always restarts it after the handler (-ERESTARTNOINTR)
};

class Task {
 public:
  Task(int tid, Process& proc) : tid_(tid), proc_(proc) {}
  Task(const Task&) = delete;
  Task& operator=(const Task&) = delete;

  int tid() const { return tid_; }
  Process& proc() { return proc_; }
  const Process& proc() const { return proc_; }

  TaskState state = TaskState::Runnable;
  WaitInfo wait;
  // A syscall that blocked returns this when the task runs again (set by the waker).
  std::optional<int64_t> pending_ret;
  bool restart_syscall = false;  // woken from a WaitQueue: re-execute the syscall instruction
  // The restarted syscall checks for signals itself (a Poll wait): no handler runs before it.
  bool restart_in_syscall = false;
  // Linux's restart_block for poll/select/epoll_wait: the absolute deadline (virtual monotonic
  // ns; kKtimeMax: none) of the call that blocked in a Poll wait, so that its restart keeps it.
  // Set when it blocks, cleared when it returns.
  std::optional<uint64_t> poll_deadline_ns;
  uint64_t ready_at_ns = 0;      // not before this virtual time (set by wakers on other CPUs)
  std::unique_ptr<CpuContext> context;  // registers while not resident in the Cpu
  // Guest kernel: the top of this task's kernel stack (its user pt_regs sit just below), and
  // whether it is stopped inside HC_SYSCALL (its user registers are then that pt_regs).
  GuestAddr kstack_top{0};
  bool in_hypercall = false;

  GuestAddr clear_child_tid;     // set_tid_address / CLONE_CHILD_CLEARTID
  GuestAddr robust_list;         // set_robust_list (recorded)
  uint64_t robust_list_len = 0;
  GuestAddr rseq_area;           // rseq (recorded; probesim never restarts sequences)
  uint64_t sigmask = 0;          // blocked signals (rt_sigprocmask, handler masks)
  // rt_sigsuspend's caller mask (Linux: saved_sigmask + TIF_RESTORE_SIGMASK): a handler's frame
  // saves it, else it is restored on the way back to user mode.
  std::optional<uint64_t> saved_sigmask;
  AltStack altstack;             // sigaltstack: SA_ONSTACK handlers run there
  // In a group stop (SIGSTOP...): blocked, not interruptible, until SIGCONT or SIGKILL; the
  // syscall result it had (pending_ret / restart_syscall) is kept across the stop.
  bool stopped = false;
  PendingSignals pending;        // signals for this thread (tgkill, faults)
  uint64_t sigwait_mask = 0;     // in rt_sigtimedwait: the signals it waits for (real_blocked)
  InsnCount insns{0};            // instructions this task executed
  // User-mode instructions it retired, uprobes' out-of-line steps excluded (Cpu::user_insns):
  // the same with or without probes, so recorded schedules are keyed by it.
  InsnCount user_insns{0};
  // nvcsw / nivcsw (/proc/<pid>/status *_ctxt_switches, __schedule's switch_count): times its
  // CPU switched away from it because it blocked, or while it was still runnable (preempted
  // at a quantum's end or after sched_yield) to run another task.
  uint64_t nvcsw = 0, nivcsw = 0;
  // utime/stime (task_cputime): the cycles of its quanta (the clock of the CPU it ran on),
  // split between user and kernel mode in proportion to the instructions it retired in each
  // (Cpu::user_insns vs Cpu::insns; without the guest kernel all of it is user time).
  Cycles utime{0}, stime{0};
  uint64_t start_ns = 0;     // start_time: the monotonic ns (its creator's clock) it was made at
  bool fork_noexec = false;  // PF_FORKNOEXEC: made by fork/clone, no execve since
  int last_cpu = 0;          // task_cpu: the logical CPU it last ran on
  // static_prio's nice value (setpriority/getpriority, /proc stat), inherited by fork and
  // clone. The model's scheduling strategies do not weight tasks by it.
  int nice = 0;
  // Atomic and syscall instructions it retired in user mode (Cpu::sync_ops): the scheduling
  // points pct and bounded count; and whether its last quantum ended in front of one.
  uint64_t sync_ops = 0;
  bool at_sync_point = false;

 private:
  int tid_;
  Process& proc_;
};

}  // namespace probesim::emu
