// RunTap: what the machine tells a recorder (record/recorder.h) or a replayer
// (record/replayer.h) about a run, beyond the scheduling decisions the Scheduler reports.
// Who may touch what: MachineState, on the emulation thread.
#pragma once

#include <cstdint>
#include <optional>
#include <string>

#include "emu/record/trace.h"

namespace probesim::emu {

class Task;

// Where a replay stopped following its trace (rr's "divergence"): the first mismatch.
struct Divergence {
  int tid = -1;          // -1: no task in particular
  uint64_t insns = 0;    // the task's retired user instructions
  uint64_t pc = 0;       // the task's user PC (0: unknown)
  uint64_t decision = 0; // index of the scheduling decision
  std::string what;      // e.g. "registers differ at a checkpoint"
  std::string expected, actual;
};

class RunTap {
 public:
  virtual ~RunTap() = default;
  // The guest (task t, null outside any task) reads the cycle counter whose value is `now`
  // (a time syscall, rdtsc, cntvct_el0): returns the value the guest sees.
  virtual uint64_t time_read(const Task* t, uint64_t now) = 0;
  // Whether the checkpoint at the end of the current quantum includes a memory digest.
  virtual bool memory_digest_due() const = 0;
  // The current quantum ended; `cp` is its checkpoint when the task is still alive.
  virtual void quantum_end(const Task& t, bool preempted, const std::optional<TraceCheckpoint>& cp) = 0;
  virtual const Divergence* divergence() const { return nullptr; }
};

}  // namespace probesim::emu
