// RaceWatch (emu/record/race_watch.h): the conflicting accesses around a preemption, from the
// loads and stores of a watched run.
#include <doctest/doctest.h>

#include "emu/record/race_watch.h"

using probesim::emu::RaceWatch;

namespace {

constexpr uint64_t kCounter = 0x4bb340, kLoad = 0x401848, kStore = 0x401854;
constexpr uint64_t kMm = 1, kChildMm = 2;  // a process's address space and its forked child's

// racy's bump: task `tid` loads the counter, (preempted here), stores it.
void load(RaceWatch& w, int tid) { w.access(tid, kMm, kCounter, 8, false, kLoad); }
void store(RaceWatch& w, int tid) { w.access(tid, kMm, kCounter, 8, true, kStore); }

}  // namespace

TEST_CASE("race watch: a read before a preemption, a foreign write meanwhile and the task's own "
          "write after it are a lost update") {
  RaceWatch w;
  load(w, 101);
  w.access(101, kMm, 0x7ffff000, 8, true, 0x40184f);  // the call's push: no load of that slot
  w.preempted(101, 1000);
  load(w, 102);
  store(w, 102);
  w.access(101, kMm, 0x7ffff000, 8, false, 0x401834);  // the ret, back in 101
  store(w, 101);
  const RaceWatch::Conflict* c = w.conflict(101, 1000);
  REQUIRE(c != nullptr);
  CHECK(c->addr == kCounter);
  CHECK(c->size == 8);
  CHECK((c->read.tid == 101 && c->read.pc == kLoad));
  CHECK((c->other.tid == 102 && c->other.pc == kStore));
  CHECK((c->write.tid == 101 && c->write.pc == kStore));
  CHECK(w.conflict(101, 999) == nullptr);
  CHECK(w.conflict(102, 1000) == nullptr);
}

TEST_CASE("race watch: no conflict without a foreign write in between, or when the task wrote "
          "the location itself before the other task did") {
  RaceWatch alone;
  load(alone, 101);
  alone.preempted(101, 10);
  store(alone, 101);  // nobody wrote meanwhile: the location is its own again
  store(alone, 102);
  store(alone, 101);
  CHECK(alone.conflict(101, 10) == nullptr);

  RaceWatch other_place;
  load(other_place, 101);
  other_place.preempted(101, 10);
  other_place.access(102, kMm, kCounter + 8, 8, true, kStore);  // the next word: no overlap
  store(other_place, 101);
  CHECK(other_place.conflict(101, 10) == nullptr);
}

TEST_CASE("race watch: only the task's last preemption and its last loads count") {
  RaceWatch w;
  load(w, 101);
  for (uint64_t i = 0; i < RaceWatch::kRecentLoads; ++i)
    w.access(101, kMm, 0x1000 + 8 * i, 8, false, 0x400000);
  w.preempted(101, 10);  // the counter's load is too far back
  store(w, 102);
  store(w, 101);
  CHECK(w.conflict(101, 10) == nullptr);

  load(w, 101);
  w.preempted(101, 20);
  w.preempted(101, 30);  // preempted again before the foreign write: the later one holds it
  store(w, 102);
  store(w, 101);
  CHECK(w.conflict(101, 20) == nullptr);
  REQUIRE(w.conflict(101, 30) != nullptr);
  CHECK(w.conflict(101, 30)->other.tid == 102);
}

TEST_CASE("race watch: the same address in another address space (a forked child) is another "
          "location") {
  RaceWatch w;
  load(w, 101);
  w.preempted(101, 10);
  w.access(150, kChildMm, kCounter, 8, true, kStore);  // the child's copy of the counter
  store(w, 101);
  CHECK(w.conflict(101, 10) == nullptr);

  load(w, 101);
  w.preempted(101, 20);
  w.access(150, kChildMm, kCounter, 8, true, kStore);
  store(w, 102);  // a thread of 101's process
  store(w, 101);
  REQUIRE(w.conflict(101, 20) != nullptr);
  CHECK(w.conflict(101, 20)->other.tid == 102);
}
