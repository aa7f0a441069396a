// Process: a thread group with one address space. Owns its mm (the model), the Cpu that
// realizes that mm in Unicorn, its fd table, fs struct (cwd/umask), signal dispositions and
// tasks. Owned by MachineState (keyed by pid). Identity object: not copyable.
//
// Who may touch what: everything here is mutated only on the emulation thread, by syscall
// handlers of this process's tasks or by the machine's run loop between quanta.
#pragma once

#include <array>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "emu/cpu.h"
#include "emu/cred.h"
#include "emu/exit_status.h"
#include "emu/itimers.h"
#include "emu/signals.h"
#include "emu/task.h"
#include "emu/vfs/exe_file.h"
#include "emu/vfs/fd_table.h"
#include "emu/vfs/fs_struct.h"
#include "mmu/mm.h"

namespace probesim::emu {

// A recorded rt_sigaction (struct kernel_sigaction layout is arch-specific; we keep the values).
struct KSigaction {
  uint64_t handler = 0;   // SIG_DFL 0, SIG_IGN 1, or a guest address
  uint64_t flags = 0;
  uint64_t restorer = 0;
  uint64_t mask = 0;
};

struct Rlimit {
  uint64_t cur;
  uint64_t max;
};

class Process {
 public:
  static constexpr int kNsig = 64;
  static constexpr int kRlimits = 16;
  static constexpr int kRlimitStack = 3, kRlimitNofile = 7, kRlimitSigpending = 11;

  // `resident`: the first task's registers are already in the engine (spawn), else they
  // come from its saved context (fork).
  Process(int pid, int ppid, std::unique_ptr<mmu::Mm> mm, bool resident = true);
  ~Process();
  Process(const Process&) = delete;
  Process& operator=(const Process&) = delete;

  int pid() const { return pid_; }
  int ppid() const { return ppid_; }
  mmu::Mm& mm() { return *mm_; }
  const mmu::Mm& mm() const { return *mm_; }
  Cpu* cpu() { return cpu_.get(); }
  void attach_cpu(std::unique_ptr<Cpu> cpu);  // realizes the mm in the new engine
  void release_cpu();                          // the engine goes; the mm model stays

  FdTable& fds() { return fds_; }
  // The machine's file limit as RLIMIT_NOFILE: hard = files, soft = min(1024, files).
  void set_nofile_limit(uint64_t files);
  // setrlimit's effect beyond the stored value (RLIMIT_NOFILE bounds the fd table).
  void set_rlimit(int resource, Rlimit lim);
  FsStruct& fs() { return fs_; }
  Task& main_task() { return *tasks_.front(); }
  std::vector<std::unique_ptr<Task>>& tasks() { return tasks_; }
  const std::vector<std::unique_ptr<Task>>& tasks() const { return tasks_; }
  Task& add_task(int tid);          // a new thread (clone with CLONE_THREAD)
  Task* task(int tid);
  size_t live_tasks() const;
  // Make `t` the task whose registers are in the Cpu (saving the previous resident's).
  void switch_to(Task& t);
  Task* resident() { return resident_; }

  std::string exe_path;   // guest path of the executable (/proc/self/exe)
  ExeFile exe_file;       // its inode, writes denied (ETXTBSY) until the process exits
  std::string comm;       // basename, 15 chars (TASK_COMM_LEN - 1)
  std::vector<std::string> argv;  // of the image it runs (spawn / the last execve)
  // mm->arg_start/arg_end: where the argv strings are in the mm (/proc/<pid>/cmdline reads
  // them there, so a program that rewrites them shows the change, as on Linux).
  GuestAddr arg_start, arg_end;
  // mm->env_start/env_end and mm->start_stack (the initial sp, at argc): /proc/<pid>/stat.
  GuestAddr env_start, env_end, start_stack;
  GuestAddr start_code, end_code, start_data, end_data;  // the program's (ExecImage)
  GuestAddr vdso;  // mm->context.vdso: [vdso]'s start (0: none); kept across fork
  std::array<KSigaction, kNsig + 1> sigactions{};
  // A handler for SIGSEGV or SIGBUS is installed: its data faults need exact PCs
  // (Cpu::set_precise_faults).
  bool handles_fault_signals() const {
    return sigactions[kSigBus].handler > 1 || sigactions[kSigSegv].handler > 1;  // not DFL/IGN
  }
  std::array<Rlimit, kRlimits> rlimits{};
  int pgid = 0;
  int sid = 0;
  Cred cred;  // credentials (emu/cred.h): per process, copied at fork
  // mm->membarrier_state: the membarrier registrations of this mm (sys_mm.cc); a fork's copy
  // of the mm keeps them (dup_mm copies the mm_struct), an exec'd one starts with none.
  uint32_t membarrier_state = 0;
  PendingSignals shared_pending;  // signals for the whole process (kill)
  ProcessTimers timers;           // itimers and POSIX timers (not inherited by fork)
  // Job control (kernel/signal.c signal->group_stop / SIGNAL_STOP_*): the stop signal while
  // the process is stopped (else 0), and what wait4 reports next, each once: a stop
  // (WUNTRACED, the signal) or a continue (WCONTINUED).
  int group_stop = 0;
  int stop_report = 0;
  bool cont_report = false;
  bool reaped = false;            // collected by wait4: gone from the parent's point of view
  // signal->cutime/cstime: the utime/stime of the children it reaped (wait_task_zombie adds
  // each child's own times and its cutime/cstime).
  Cycles cutime{0}, cstime{0};
  Task* vfork_parent = nullptr;   // blocked in vfork until this process execs or exits
  // execve validated and built the new image inside a syscall hook; the run loop swaps it
  // in after the quantum (the old engine cannot be destroyed from inside its own hook).
  struct PendingExec {
    std::unique_ptr<mmu::Mm> mm;
    uint64_t entry = 0, sp = 0;
    std::string exe_path, comm;
    ExeFile exe_file;
    std::vector<std::string> argv;
    GuestAddr arg_start, arg_end;
    GuestAddr vdso;
    GuestAddr env_start, env_end, start_stack;
    GuestAddr start_code, end_code, start_data, end_data;
  };
  std::optional<PendingExec> pending_exec;
  // The memory-limit charge of this process's engine (MachineLimits::kEngineCharge); given
  // back when the engine goes for good (reap_resources), kept across exec.
  mmu::BudgetCharge engine_charge;
  // Replace the address space (exec): a new mm and a fresh engine for it.
  void replace_mm(std::unique_ptr<mmu::Mm> mm, std::unique_ptr<Cpu> cpu, Task& survivor);
  void set_parent(int ppid) { ppid_ = ppid; }

  bool exited() const { return exit_.has_value(); }
  const std::optional<ExitStatus>& exit_status() const { return exit_; }
  void set_exit(ExitStatus s);

 private:
  int pid_;
  int ppid_;
  std::unique_ptr<mmu::Mm> mm_;
  std::unique_ptr<Cpu> cpu_;  // destroyed before mm_ (declared after it)
  FdTable fds_;
  FsStruct fs_;
  std::vector<std::unique_ptr<Task>> tasks_;
  Task* resident_ = nullptr;  // the task whose registers the Cpu holds
  std::optional<ExitStatus> exit_;
};

}  // namespace probesim::emu
