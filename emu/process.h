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
#include "emu/exit_status.h"
#include "emu/task.h"
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

  Process(int pid, int ppid, std::unique_ptr<mmu::Mm> mm);
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
  FsStruct& fs() { return fs_; }
  Task& main_task() { return *tasks_.front(); }
  std::vector<std::unique_ptr<Task>>& tasks() { return tasks_; }
  Task& add_task(int tid);          // a new thread (clone with CLONE_THREAD)
  Task* task(int tid);
  size_t live_tasks() const;
  // Make `t` the task whose registers are in the Cpu (saving the previous resident's).
  void switch_to(Task& t);
  Task* resident() { return resident_; }

  std::string exe_path;   // guest path of the executable (/proc/self/exe)
  std::string comm;       // basename, 15 chars (TASK_COMM_LEN - 1)
  std::array<KSigaction, kNsig + 1> sigactions{};
  std::array<Rlimit, kRlimits> rlimits{};
  int pgid = 0;
  int sid = 0;

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
