// The conflicting accesses around a preemption (docs/design.md "Determinism contract"; issue 15's
// shrink report): a task read a location shortly before it was preempted, another task wrote
// it while the first was off the CPU, and the first then wrote it itself, from its stale read:
// a lost update, the witness of an atomicity violation. Fed every user load and store of a
// watched run (Cpu::set_access_watch, MachineState::watch_memory) and every preempted quantum.
#pragma once

#include <cstdint>
#include <deque>
#include <map>
#include <optional>
#include <unordered_map>
#include <utility>
#include <vector>

namespace probesim::emu {

class RaceWatch {
 public:
  struct Access {
    int tid = 0;
    uint64_t pc = 0;  // x86: the instruction; arm64: the start of its block
  };
  struct Conflict {
    uint64_t addr = 0;
    uint32_t size = 0;
    Access read;   // the preempted task's load, before the preemption
    Access other;  // another task's store while it was off the CPU (the first one)
    Access write;  // the preempted task's store after it
  };

  // A user load or store by task `tid` at `addr` of address space `space` (its mm: threads
  // share one; a forked child's same address is another location).
  void access(int tid, uint64_t space, uint64_t addr, uint32_t size, bool write, uint64_t pc);
  // A quantum of `tid` ended by its budget when it had retired `insns` user instructions.
  void preempted(int tid, uint64_t insns);
  // The conflict found around that preemption, if any (the first the task's stores closed).
  const Conflict* conflict(int tid, uint64_t insns) const;

  // Loads remembered per task, newest first: a lost update's read lies close to the preemption.
  static constexpr size_t kRecentLoads = 32;

 private:
  struct Load {
    uint64_t space;
    uint64_t addr;
    uint32_t size;
    uint64_t pc;
  };
  // A preempted task's recent loads, each with the first foreign store to it since (if any).
  struct Pending {
    int tid;
    uint64_t insns;
    std::vector<Load> loads;
    std::vector<std::optional<Access>> other;
  };
  std::unordered_map<int, std::deque<Load>> recent_;
  std::vector<Pending> pending_;  // at most one per task: its last preemption
  std::map<std::pair<int, uint64_t>, Conflict> found_;
};

}  // namespace probesim::emu
