// Readiness (f_op->poll masks), wait queues shared by pollers and watchers, epoll's ready list
// and eventfd counters, one rule per TEST_CASE.
#include <doctest/doctest.h>

#include <cstring>
#include <map>
#include <memory>
#include <vector>

#include "emu/process.h"
#include "emu/sched/strategy.h"
#include "emu/scheduler.h"
#include "emu/vfs/epoll_file.h"
#include "emu/vfs/eventfd_file.h"
#include "emu/vfs/pipe_file.h"
#include "emu/vfs/vfs_abi.h"
#include "emu/wait_queues.h"

using namespace probesim;
using namespace probesim::emu;

namespace {

struct Fixture {
  Process proc{1, 0, std::make_unique<mmu::Mm>(mmu::MmLayout{GuestAddr{0x7f0000000000},
                                                             GuestAddr{0x7ffffffff000}})};
  Scheduler sched{1, make_strategy(StrategySpec{}, 0, 0), 2'000'000'000, 0};
  WaitQueues q;
  WaitQueueHub hub{q, sched};
};

struct Pipes {
  std::shared_ptr<Pipe> pipe = std::make_shared<Pipe>();
  std::shared_ptr<PipeFile> rd, wr;
  explicit Pipes(PollHub& hub) {
    pipe->on_change = [&hub](const Pipe& p, PollMask key) { hub.wake(&p, key); };
    rd = std::make_shared<PipeFile>(kO_RDONLY, "pipe", InodeRef(), pipe, false);
    wr = std::make_shared<PipeFile>(kO_WRONLY, "pipe", InodeRef(), pipe, true);
  }
};

struct CountingWatcher : PollWatcher {
  std::vector<PollMask> keys;
  void on_wake(PollMask key) override { keys.push_back(key); }
};

const uint8_t kByte[1] = {'x'};

}  // namespace

TEST_CASE("poll: a pipe's read end is IN with data and HUP without writers, its write end ERR "
          "without readers") {
  Fixture f;
  Pipes p(f.hub);
  CHECK(p.rd->poll() == 0);
  CHECK(p.wr->poll() == (kEPOLLOUT | kEPOLLWRNORM));
  CHECK(p.wr->write(kByte) == 1);
  CHECK(p.rd->poll() == (kEPOLLIN | kEPOLLRDNORM));
  p.wr.reset();
  CHECK(p.rd->poll() == (kEPOLLIN | kEPOLLRDNORM | kEPOLLHUP));
  Pipes q(f.hub);
  q.rd.reset();
  CHECK(q.wr->poll() == (kEPOLLOUT | kEPOLLWRNORM | kEPOLLERR));
}

TEST_CASE("wait queues: a woken poller leaves every queue it slept on") {
  Fixture f;
  Task& t = f.proc.main_task();
  int a = 0, b = 0;
  f.sched.block(t, WaitInfo{WaitInfo::Kind::Poll, 0, 0});
  f.q.add(&a, t);
  f.q.add(&b, t);
  f.q.wake_all(&a, f.sched);
  CHECK(t.state == TaskState::Runnable);
  CHECK(t.restart_syscall);
  CHECK(t.restart_in_syscall);  // a Poll wait decides about signals itself
  f.sched.block(t, WaitInfo{WaitInfo::Kind::Queue, 0, 0});
  f.q.wake_all(&b, f.sched);  // no longer queued there
  CHECK(t.state == TaskState::Blocked);
}

TEST_CASE("wait queues: watchers hear every wake with its key, and may unwatch meanwhile") {
  Fixture f;
  int obj = 0;
  CountingWatcher w1, w2;
  f.q.watch(&obj, &w1);
  f.q.watch(&obj, &w2);
  f.q.wake_all(&obj, f.sched, kEPOLLIN);
  f.q.unwatch(&obj, &w1);
  f.q.wake_all(&obj, f.sched, kEPOLLOUT);
  CHECK(w1.keys == std::vector<PollMask>{kEPOLLIN});
  CHECK(w2.keys == std::vector<PollMask>{kEPOLLIN, kEPOLLOUT});
}

TEST_CASE("epoll: level-triggered items stay ready, EPOLLET ones need a new wake concerning "
          "them, EPOLLONESHOT ones need EPOLL_CTL_MOD") {
  Fixture f;
  Pipes p(f.hub);
  auto lt = std::make_shared<EpollFile>(kO_RDWR, InodeRef(), f.hub);
  auto et = std::make_shared<EpollFile>(kO_RDWR, InodeRef(), f.hub);
  auto os = std::make_shared<EpollFile>(kO_RDWR, InodeRef(), f.hub);
  CHECK(lt->ctl(kEPOLL_CTL_ADD, p.rd, 3, EpollEvent{kEPOLLIN, 1}) == 0);
  CHECK(et->ctl(kEPOLL_CTL_ADD, p.rd, 3, EpollEvent{kEPOLLIN | kEPOLLET, 2}) == 0);
  CHECK(os->ctl(kEPOLL_CTL_ADD, p.rd, 3, EpollEvent{kEPOLLIN | kEPOLLONESHOT, 3}) == 0);
  CHECK(lt->ctl(kEPOLL_CTL_ADD, p.rd, 3, EpollEvent{kEPOLLIN, 1}) == -EEXIST);
  CHECK(p.wr->write(kByte) == 1);
  CHECK(p.wr->write(kByte) == 1);
  for (int round = 0; round < 2; ++round) CHECK(lt->send_events(8).size() == 1);
  REQUIRE(et->send_events(8).size() == 1);
  CHECK(et->send_events(8).empty());
  uint8_t c;
  CHECK(p.rd->read({&c, 1}) == 1);  // wakes writers (EPOLLOUT): not a new EPOLLIN event
  CHECK(et->send_events(8).empty());
  CHECK(p.wr->write(kByte) == 1);
  CHECK(et->send_events(8).size() == 1);
  std::vector<EpollEvent> once = os->send_events(8);
  REQUIRE(once.size() == 1);
  CHECK(once[0].data == 3);
  CHECK(os->send_events(8).empty());
  CHECK(os->ctl(kEPOLL_CTL_MOD, p.rd, 3, EpollEvent{kEPOLLIN | kEPOLLONESHOT, 4}) == 0);
  CHECK(os->send_events(8).at(0).data == 4);
}

TEST_CASE("epoll: events come in ready-list order, maxevents leaves the rest in front") {
  Fixture f;
  Pipes a(f.hub), b(f.hub);
  auto ep = std::make_shared<EpollFile>(kO_RDWR, InodeRef(), f.hub);
  CHECK(ep->ctl(kEPOLL_CTL_ADD, a.rd, 3, EpollEvent{kEPOLLIN, 0xa}) == 0);
  CHECK(ep->ctl(kEPOLL_CTL_ADD, b.rd, 4, EpollEvent{kEPOLLIN, 0xb}) == 0);
  CHECK(b.wr->write(kByte) == 1);
  CHECK(a.wr->write(kByte) == 1);
  CHECK(ep->send_events(1).at(0).data == 0xb);
  CHECK(ep->send_events(1).at(0).data == 0xa);  // the one not looked at came first
  std::vector<EpollEvent> both = ep->send_events(8);
  REQUIRE(both.size() == 2);
  CHECK(both[0].data == 0xb);
}

TEST_CASE("epoll: an item goes when its file is released, a cycle is found") {
  Fixture f;
  auto ep = std::make_shared<EpollFile>(kO_RDWR, InodeRef(), f.hub);
  auto inner = std::make_shared<EpollFile>(kO_RDWR, InodeRef(), f.hub);
  {
    Pipes p(f.hub);
    CHECK(p.wr->write(kByte) == 1);
    CHECK(ep->ctl(kEPOLL_CTL_ADD, p.rd, 3, EpollEvent{kEPOLLIN, 1}) == 0);
  }
  CHECK(ep->send_events(8).empty());
  CHECK(ep->ctl(kEPOLL_CTL_ADD, inner, 5, EpollEvent{kEPOLLIN, 1}) == 0);
  CHECK(ep->reaches(inner.get()));
  CHECK_FALSE(inner->reaches(ep.get()));
}

TEST_CASE("eventfd: reads take the count (one with EFD_SEMAPHORE), writes wait at the maximum") {
  Fixture f;
  EventFdFile e(kO_RDWR, InodeRef(), 2, 0, f.hub);
  EventFdFile sem(kO_RDWR, InodeRef(), 2, kEFD_SEMAPHORE, f.hub);
  uint64_t v = 0;
  auto bytes = [&v] { return std::span<uint8_t>(reinterpret_cast<uint8_t*>(&v), 8); };
  CHECK(e.read(bytes()) == 8);
  CHECK(v == 2);
  CHECK(e.read(bytes()) == File::kWouldBlock);
  CHECK(e.poll() == kEPOLLOUT);
  CHECK(sem.read(bytes()) == 8);
  CHECK(v == 1);
  v = ~uint64_t{0} - 1;
  CHECK(e.write(bytes()) == 8);
  CHECK(e.poll() == kEPOLLIN);
  v = 1;
  CHECK(e.write(bytes()) == File::kWouldBlock);
  v = ~uint64_t{0};
  CHECK(e.write(bytes()) == -EINVAL);
  CHECK(e.read(bytes().first(4)) == -EINVAL);
}
