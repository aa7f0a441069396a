// Task: one thread of a process (Linux's task_struct, the parts probesim models so far).
// Owned by its Process. Register state lives in the process's Cpu while the task runs; a
// later scheduler saves it in `context` when the task is switched out.
#pragma once

#include <cstdint>

#include "probesim/types.h"

namespace probesim::emu {

class Process;

class Task {
 public:
  Task(int tid, Process& proc) : tid_(tid), proc_(proc) {}
  Task(const Task&) = delete;
  Task& operator=(const Task&) = delete;

  int tid() const { return tid_; }
  Process& proc() { return proc_; }

  GuestAddr clear_child_tid;     // set_tid_address
  GuestAddr robust_list;         // set_robust_list (recorded)
  uint64_t robust_list_len = 0;
  GuestAddr rseq_area;           // rseq (recorded; probesim never restarts sequences)
  uint64_t sigmask = 0;          // rt_sigprocmask (recorded)
  InsnCount insns{0};            // instructions this task executed

 private:
  int tid_;
  Process& proc_;
};

}  // namespace probesim::emu
