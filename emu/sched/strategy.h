// Scheduling strategies (docs/design.md "Determinism contract"): at each scheduling point the
// Scheduler asks its strategy which runnable task runs next and for how many steps (user-mode
// instructions, Cpu::StepScope) before the strategy wants to decide again. A quantum also ends
// early at the natural scheduling points: a blocking syscall, exit, exec, a signal to deliver,
// and (when the strategy asks, preempt_for) the return from a syscall that woke or created a
// task. A strategy never reads host state: (program, seed, strategy spec, run index) -> the
// same decisions.
//
// Who may touch what: the Scheduler, on the emulation thread.
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "emu/deterministic_rng.h"
#include "probesim/result.h"

namespace probesim::emu {

class Task;

// One preemption of a guided schedule: task `tid` is preempted when it has retired `insns`
// user instructions, and `next_tid` runs instead (if it can).
struct GuidedPreemption {
  int tid = 0;
  uint64_t insns = 0;
  int next_tid = 0;
  bool operator==(const GuidedPreemption&) const = default;
};

// A parsed strategy name: "rr", "random", "pct:D[:STEPS[:POINTS]]",
// "bounded:K[:STEPS[:TASKS[:POINTS]]]",
// "replay:FILE"; "guided" is made by shrinking (a non-preemptive schedule plus exactly the
// listed preemptions).
struct StrategySpec {
  enum class Kind { RoundRobin, Random, Pct, Replay, Guided, Bounded } kind = Kind::RoundRobin;
  uint32_t depth = 0;   // pct: the bug depth D (D-1 priority change points); bounded: K
  uint64_t steps = 0;   // pct, bounded: estimated steps of a run (change points in [1, steps])
  uint64_t points = 0;  // pct, bounded: scheduling points (atomics, syscalls) of a run; 0: none
  uint32_t tasks = 2;   // bounded: tasks that may run (a preemption picks one of tasks-1 others)
  std::string file;     // replay: the trace
  std::vector<GuidedPreemption> preemptions;  // guided
  // guided: the free choices to repeat. When task `tid` ends a quantum by itself (blocks,
  // exits, yields) with `insns` retired, `next_tid` runs next if it can (each entry once, in
  // order). Shrinking keeps a failing run's choices while it drops preemptions.
  std::vector<GuidedPreemption> choices;
  std::string text() const;  // canonical form, parse(text()) == *this
};

// Errors name the bad part and list the accepted forms.
Result<StrategySpec> parse_strategy(std::string_view text);

struct PickContext {
  uint64_t steps;    // user instructions retired by all tasks so far
  uint64_t quantum;  // the machine's quantum (the longest budget a strategy should hand out)
  uint64_t points = 0;    // atomic and syscall instructions retired by all tasks so far
  bool at_point = false;  // the last quantum ended in front of one (it is the next to retire)
  int prev_tid = -1;        // the task whose quantum ended last (-1: none yet)
  uint64_t prev_insns = 0;  // its retired user instructions then
  bool prev_preempted = false;  // it ended by its budget (else it stopped by itself)
};

class SchedStrategy {
 public:
  virtual ~SchedStrategy() = default;
  struct Pick {
    size_t index;     // into the runnable tasks, in run-queue (FIFO) order
    uint64_t budget;  // steps before the strategy wants to decide again (>= 1)
    // ... or in front of the sync_budget-th atomic/syscall of the quantum (0: none; Cpu::run)
    uint64_t sync_budget = 0;
  };
  // `runnable` is never empty.
  virtual Pick pick(std::span<Task* const> runnable, const PickContext& ctx) = 0;
  // `woken` became runnable (created or woken) while `running` is in a quantum: true ends that
  // quantum at its next scheduling point (the syscall's return to user mode).
  virtual bool preempt_for(const Task& running, const Task& woken) {
    (void)running;
    (void)woken;
    return false;
  }
};

// rr: FIFO run queue, full quanta. random: a random runnable task for 1..quantum steps.
// pct:D: Burckhardt et al., "A Randomized Scheduler with Probabilistic Guarantees of Finding
// Bugs" (ASPLOS'10): random distinct priorities (>= D), D-1 change points drawn uniformly in
// [1, steps] (with POINTS, each with probability 1/2 in front of the n-th of the run's
// atomics and syscalls instead, n in [1, POINTS]); the highest-priority runnable task runs; at
// a change point the running task's priority drops below every initial one. Run `run` of a
// seed draws from its own RNG stream.
// guided: the running task keeps the CPU until it blocks or exits, except at the listed
// preemptions (what shrinking a failing schedule keeps); where the last task ended its quantum
// by itself, a listed choice for that (tid, insns) names the next task (with every preemption
// and choice of a one-CPU run the schedule is that run's); otherwise a free choice prefers a
// task with a preemption to come whose successor can run, then one no fired preemption took
// the CPU from, then the run queue's first.
std::unique_ptr<SchedStrategy> make_strategy(const StrategySpec& spec, uint64_t seed,
                                             uint64_t run);

// bounded:K (CHESS: Musuvathi and Qadeer, "Iterative Context Bounding for Systematic Testing
// of Multithreaded Programs", PLDI'07): every schedule with at most K preemptions, in
// depth-first order. The base schedule is non-preemptive (as guided: the running task keeps
// the CPU until it blocks or exits, then the run queue's first task runs). The candidate
// preemption points are the run's scheduling points: kBoundedPoints block boundaries (the first
// at or past global step STEPS*(p+1)/(kBoundedPoints+1): block boundaries subsampled, for races
// on plain memory) and, with POINTS, the front of each of the run's atomics and syscalls (the
// n-th retired by any task, n in 1..POINTS; every ceil(POINTS/kBoundedMaxSyncPoints)-th when
// more), ordered by their estimated place in the run (step p at (p+1)/(kBoundedPoints+1), point
// n at n/(POINTS+1); ties: the step first). A preemption hands the CPU to the j-th other
// runnable task by tid (j < TASKS-1; with fewer others runnable it does not happen). Run i is
// the i-th schedule of the depth-first (preorder) enumeration: run 0 preempts nothing, then
// [c0 j0], [c0 j0, c1 j0], ... so a search resumes at any run index, and runs split between
// processes find what a serial search finds.
inline constexpr uint32_t kBoundedPoints = 64;
inline constexpr uint64_t kBoundedMaxSyncPoints = 256;
inline constexpr uint32_t kBoundedMaxK = 8;
struct BoundedPreemption {
  uint64_t step;   // a block boundary: the global step count from which it is due (else 0)
  uint32_t other;  // j: which other runnable task (by tid) runs instead
  uint64_t point = 0;  // a scheduling point: in front of the n-th atomic/syscall (else 0)
  bool operator==(const BoundedPreemption&) const = default;
};
// The preemptions of run `run` of a bounded spec (empty for run 0); run < *strategy_runs(spec).
std::vector<BoundedPreemption> bounded_schedule(const StrategySpec& spec, uint64_t run);

// How many distinct runs a strategy has (bounded: the schedules of the enumeration, saturated
// at UINT64_MAX); empty: unbounded (random, pct: any run index is another draw).
std::optional<uint64_t> strategy_runs(const StrategySpec& spec);

// Default step estimate for pct and bounded when the spec gives none (explore measures it).
inline constexpr uint64_t kPctDefaultSteps = 1'000'000;

}  // namespace probesim::emu
