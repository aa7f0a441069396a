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
