// FutexTable ordering and pipe buffering rules.
#include <doctest/doctest.h>

#include <memory>
#include <vector>

#include "emu/futex_table.h"
#include "emu/process.h"
#include "emu/vfs/pipe_file.h"
#include "emu/vfs/vfs_abi.h"

using namespace probesim;
using namespace probesim::emu;

namespace {
// Threads of one (never run) process; the futex table only keeps pointers to them.
struct Fixture {
  Process proc{1, 0, std::make_unique<mmu::Mm>(mmu::MmLayout{GuestAddr{0x7f0000000000},
                                                             GuestAddr{0x7ffffffff000}})};
  Task& task(int tid) { return tid == 1 ? proc.main_task() : proc.add_task(tid); }
};
}  // namespace

TEST_CASE("futex: waiters are woken in FIFO order and the count is honoured") {
  Fixture f;
  FutexTable ft;
  Task &a = f.task(1), &b = f.task(2), &c = f.task(3);
  for (Task* t : {&a, &b, &c}) ft.enqueue({&f.proc.mm(), 0x1000}, *t, ~0u);
  auto first = ft.dequeue({&f.proc.mm(), 0x1000}, 2, ~0u);
  REQUIRE(first.size() == 2);
  CHECK(first[0] == &a);
  CHECK(first[1] == &b);
  CHECK(ft.waiters({&f.proc.mm(), 0x1000}) == 1);
  CHECK(ft.dequeue({&f.proc.mm(), 0x2000}, 5, ~0u).empty());  // another address: nobody
}

TEST_CASE("futex: WAKE_BITSET wakes only waiters whose bitset intersects") {
  Fixture f;
  FutexTable ft;
  Task &a = f.task(1), &b = f.task(2);
  ft.enqueue({&f.proc.mm(), 8}, a, 0x1);
  ft.enqueue({&f.proc.mm(), 8}, b, 0x2);
  auto woken = ft.dequeue({&f.proc.mm(), 8}, 10, 0x2);
  REQUIRE(woken.size() == 1);
  CHECK(woken[0] == &b);
}

TEST_CASE("futex: REQUEUE moves waiters in order and remove() forgets a task everywhere") {
  Fixture f;
  FutexTable ft;
  Task &a = f.task(1), &b = f.task(2), &c = f.task(3);
  for (Task* t : {&a, &b, &c}) ft.enqueue({&f.proc.mm(), 8}, *t, ~0u);
  CHECK(ft.requeue({&f.proc.mm(), 8}, {&f.proc.mm(), 16}, 2) == 2);
  CHECK(ft.waiters({&f.proc.mm(), 8}) == 1);
  CHECK(ft.waiters({&f.proc.mm(), 16}) == 2);
  ft.remove(a);
  auto rest = ft.dequeue({&f.proc.mm(), 16}, 10, ~0u);
  REQUIRE(rest.size() == 1);
  CHECK(rest[0] == &b);
}

TEST_CASE("futex: a plain wake stops at a PI waiter, PI heads come in (uaddr, tid) order") {
  Fixture f;
  FutexTable ft;
  Task &a = f.task(1), &b = f.task(2), &c = f.task(3);
  ft.enqueue({&f.proc.mm(), 8}, a, ~0u);
  ft.enqueue({&f.proc.mm(), 8}, FutexTable::Waiter{&b, ~0u, FutexWaitKind::Pi, 8, {}, 0});
  ft.enqueue({&f.proc.mm(), 8}, c, ~0u);
  bool pi_seen = false;
  auto woken = ft.dequeue({&f.proc.mm(), 8}, 10, ~0u, &pi_seen);
  CHECK(pi_seen);  // futex_wake gives -EINVAL there
  REQUIRE(woken.size() == 1);
  CHECK(woken[0] == &a);
  ft.enqueue({&f.proc.mm(), 4}, FutexTable::Waiter{&c, ~0u, FutexWaitKind::Pi, 4, {}, 0});
  auto heads = ft.pi_heads();
  REQUIRE(heads.size() == 2);
  CHECK(heads[0].second.uaddr == 4);
  CHECK(heads[1].second.task == &b);
  auto first = ft.pop_front({&f.proc.mm(), 8});
  REQUIRE(first);
  CHECK(first->task == &b);
  CHECK(ft.front({&f.proc.mm(), 8})->task == &c);
}

TEST_CASE("pipe: bytes come out in order, partial reads, EOF after the last writer") {
  auto pipe = std::make_shared<Pipe>();
  int changes = 0;
  pipe->on_change = [&](const Pipe&, PollMask) { ++changes; };
  auto rd = std::make_unique<PipeFile>(kO_RDONLY, "pipe", InodeRef(), pipe, false);
  auto wr = std::make_unique<PipeFile>(kO_WRONLY, "pipe", InodeRef(), pipe, true);
  uint8_t buf[4];
  CHECK(rd->read(buf) == File::kWouldBlock);  // empty with a writer: would block
  const uint8_t msg[] = {'a', 'b', 'c', 'd', 'e', 'f'};
  CHECK(wr->write(msg) == 6);
  CHECK(rd->read(buf) == 4);
  CHECK(buf[0] == 'a');
  CHECK(buf[3] == 'd');
  CHECK(rd->read(buf) == 2);
  CHECK(buf[0] == 'e');
  wr.reset();                   // the last writer closes ...
  CHECK(rd->read(buf) == 0);    // ... readers see end of file
  CHECK(changes >= 3);
}

TEST_CASE("pipe: a full pipe would block, a pipe without readers is EPIPE") {
  auto pipe = std::make_shared<Pipe>();
  auto rd = std::make_unique<PipeFile>(kO_RDONLY, "pipe", InodeRef(), pipe, false);
  auto wr = std::make_unique<PipeFile>(kO_WRONLY, "pipe", InodeRef(), pipe, true);
  std::vector<uint8_t> big(Pipe::kCapacity + 100, 'x');
  CHECK(wr->write(big) == static_cast<int64_t>(Pipe::kCapacity));  // what fits
  uint8_t one = 'y';
  CHECK(wr->write(std::span<const uint8_t>(&one, 1)) == File::kWouldBlock);
  rd.reset();
  CHECK(wr->write(std::span<const uint8_t>(&one, 1)) == -EPIPE);
}

TEST_CASE("pipe: reopening an end (/proc/self/fd/N) gives a new end of the same pipe") {
  auto pipe = std::make_shared<Pipe>();
  auto rd = std::make_unique<PipeFile>(kO_RDONLY, "pipe:[7]", InodeRef(), pipe, false);
  auto wr = std::make_unique<PipeFile>(kO_WRONLY, "pipe:[7]", InodeRef(), pipe, true);
  std::shared_ptr<File> rd2 = wr->reopen(kO_RDONLY);  // bash's <(cmd): open("/dev/fd/63")
  std::shared_ptr<File> wr2 = rd->reopen(kO_WRONLY);
  std::shared_ptr<File> both = rd->reopen(kO_RDWR);
  REQUIRE(rd2);
  REQUIRE(wr2);
  REQUIRE(both);
  CHECK(pipe->readers == 3);
  CHECK(pipe->writers == 3);
  CHECK(rd2->path() == "pipe:[7]");
  const uint8_t msg[] = {'h', 'i'};
  CHECK(wr2->write(msg) == 2);
  uint8_t buf[2];
  CHECK(rd2->read(std::span<uint8_t>(buf, 1)) == 1);
  CHECK(both->read(std::span<uint8_t>(buf, 1)) == 1);
  CHECK(buf[0] == 'i');
  CHECK(rd2->write(msg) == -EBADF);
  CHECK(wr2->read(buf) == -EBADF);
  CHECK((both->poll() & kEPOLLOUT) != 0);
  wr.reset();
  wr2.reset();
  CHECK(both->read(buf) == File::kWouldBlock);  // the O_RDWR end is a writer too
  both.reset();
  CHECK(pipe->writers == 0);
  CHECK(rd2->read(buf) == 0);
}
