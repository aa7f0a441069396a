// MachineLimits: the machine-wide limits (probesim::Limits) and what the guest has used of
// each. The memory and disk budgets are charged by the mmu (every Mm's commit, every page
// cache's guest-written pages); the task count by MachineState (spawn, fork, clone: +1; a
// task's death: -1). Validation of the configured values happens once, at machine creation.
//
// Ownership: MachineState owns one, declared before everything that charges it (inode cache,
// processes), so it outlives them. Touched only by the emulation thread.
#pragma once

#include <cstdint>

#include "mmu/budget.h"
#include "probesim/limits.h"
#include "probesim/result.h"

namespace probesim::emu {

class MachineLimits {
 public:
  explicit MachineLimits(const Limits& limits)
      : limits_(limits), memory_(limits.mem), disk_(limits.disk) {}
  MachineLimits(const MachineLimits&) = delete;
  MachineLimits& operator=(const MachineLimits&) = delete;

  // Bad values are errors naming the limit (a machine cannot run with 0 tasks).
  static Result<void> validate(const Limits& limits);

  const Limits& limits() const { return limits_; }
  mmu::Budget& memory() { return memory_; }
  // A process's CPU engine (one Unicorn instance: translation cache, softmmu tables) costs the
  // host about 3.2 MB, measured as the RSS of 4095 forked processes (Unicorn 2.0.1, x86-64 and
  // arm64 alike). Each process charges this much of the memory budget while its engine lives,
  // so the memory limit bounds engines too: fork and spawn fail with ENOMEM past it.
  static constexpr uint64_t kEngineCharge = uint64_t{4} << 20;
  mmu::BudgetCharge charge_engine() { return mmu::BudgetCharge::take(memory_, kEngineCharge); }
  mmu::Budget& disk() { return disk_; }
  // fork/vfork/clone: one more task fits (else EAGAIN, as copy_process when nr_threads reaches
  // max_threads or RLIMIT_NPROC).
  bool task_fits() const { return tasks_ < limits_.tasks; }
  void task_created() { ++tasks_; }
  void task_gone() { --tasks_; }
  uint64_t tasks() const { return tasks_; }

 private:
  Limits limits_;
  mmu::Budget memory_;
  mmu::Budget disk_;
  uint64_t tasks_ = 0;  // live tasks (zombies' memory stays charged until they are reaped)
};

inline Result<void> MachineLimits::validate(const Limits& l) {
  constexpr uint64_t kMinMem = uint64_t{16} << 20;  // below this not even a static hello runs
  if (l.mem < kMinMem) {
    return Error::make("memory limit " + std::to_string(l.mem) + " is below the 16 MiB minimum",
                       EINVAL);
  }
  if (l.tasks < 1) return Error::make("task limit must be at least 1", EINVAL);
  if (l.files < 3 || l.files > Limits::kNrOpen) {
    return Error::make("file limit " + std::to_string(l.files) + " must be between 3 and " +
                           std::to_string(Limits::kNrOpen) + " (Linux's nr_open)",
                       EINVAL);
  }
  return {};
}

}  // namespace probesim::emu
