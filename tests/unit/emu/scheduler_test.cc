// Scheduler rules that need no guest code: deadlines, idling, and when nothing can run again.
#include <doctest/doctest.h>

#include <memory>

#include "emu/process.h"
#include "emu/sched/strategy.h"
#include "emu/scheduler.h"

using namespace probesim;
using namespace probesim::emu;

namespace {

struct Fixture {
  Process proc{1, 0, std::make_unique<mmu::Mm>(mmu::MmLayout{GuestAddr{0x7f0000000000},
                                                             GuestAddr{0x7ffffffff000}})};
};

// Runs the task once on `s`, where it goes to sleep until `deadline_ns`.
void run_then_sleep(Scheduler& s, Task& t, uint64_t deadline_ns) {
  s.add(t);
  auto step = s.next(1000);
  REQUIRE(step);
  REQUIRE(step->task == &t);
  s.block(t, WaitInfo{WaitInfo::Kind::Sleep, deadline_ns, 0});
  s.finish(*step);
}

}  // namespace

TEST_CASE("scheduler: an idle CPU jumps to the next deadline and wakes the sleeper there") {
  Fixture f;
  Scheduler s(1, make_strategy(StrategySpec{}, 1, 0), VirtualClock::kDefaultHz, 0);
  Task& t = f.proc.main_task();
  run_then_sleep(s, t, 5'000'000'000);
  auto step = s.next(1000);
  REQUIRE(step);
  CHECK(step->task == &t);
  CHECK(s.clock(0).monotonic_ns() == 5'000'000'000);
}

TEST_CASE("scheduler: a sleep until KTIME_MAX is blocked forever, found at once (sleep infinity)") {
  Fixture f;
  Scheduler s(1, make_strategy(StrategySpec{}, 1, 0), VirtualClock::kDefaultHz, 0);
  Task& t = f.proc.main_task();
  run_then_sleep(s, t, kKtimeMax);
  size_t events = s.log().size();
  CHECK_FALSE(s.next(1000));
  CHECK_FALSE(s.next(1000));
  CHECK(t.state == TaskState::Blocked);
  CHECK(s.log().size() == events);  // no idle event per attempt: host memory stays bounded
  CHECK(s.clock(0).monotonic_ns() < 1'000'000);  // and no jump to the end of time
}

TEST_CASE("scheduler: a deadline the saturated clock cannot reach ends the run, it never spins") {
  Fixture f;
  // At 3 GHz the cycle counter saturates (UINT64_MAX cycles) about 6.1e18 ns: before KTIME_MAX.
  Scheduler s(1, make_strategy(StrategySpec{}, 1, 0), 3'000'000'000, 0);
  Task& t = f.proc.main_task();
  run_then_sleep(s, t, kKtimeMax - 1);
  CHECK_FALSE(s.next(1000));
  CHECK(t.state == TaskState::Blocked);
  CHECK(s.clock(0).cycles().value == UINT64_MAX);
  CHECK(s.log().size() < 10);
}

namespace {

std::unique_ptr<Process> process(int pid) {
  return std::make_unique<Process>(
      pid, 1,
      std::make_unique<mmu::Mm>(mmu::MmLayout{GuestAddr{0x7f0000000000}, GuestAddr{0x7ffffffff000}}));
}

}  // namespace

// A shrunk schedule repeats the failing run's choices where a task stopped by itself: the
// listed choice for (the last quantum's task, its count then) picks the next task, each entry
// once and in order; where none is listed (or its task cannot run) the last task keeps the CPU.
// A quantum that ended by its budget at a listed count matches nothing.
TEST_CASE("guided: a listed choice names the next task where the last one stopped by itself") {
  auto p101 = process(101), p102 = process(102), p103 = process(103);
  Task* runnable[] = {&p102->main_task(), &p103->main_task()};
  StrategySpec spec;
  spec.kind = StrategySpec::Kind::Guided;
  spec.choices = {{101, 500, 103}, {101, 500, 102}, {101, 700, 104}};
  std::unique_ptr<SchedStrategy> g = make_strategy(spec, 0, 0);
  auto pick = [&](int prev_tid, uint64_t prev_insns, bool by_budget = false) {
    PickContext ctx{0, 1000};
    ctx.prev_tid = prev_tid;
    ctx.prev_insns = prev_insns;
    ctx.prev_preempted = by_budget;
    SchedStrategy::Pick p = g->pick(runnable, ctx);
    CHECK(p.budget == 1000);
    return runnable[p.index]->tid();
  };
  CHECK(pick(101, 500, true) == 102);  // ended by its budget there: no choice (a free one)
  CHECK(pick(101, 500) == 103);  // the first choice listed for (101, 500)
  CHECK(pick(101, 500) == 102);  // the second, although 103 (the last task) could go on
  CHECK(pick(101, 500) == 102);  // none left for (101, 500): the last task keeps the CPU
  CHECK(pick(101, 700) == 102);  // 104 cannot run: the last task keeps the CPU
  CHECK(pick(102, 600) == 102);  // nothing listed there
}
