// FutexTable: Linux's futex hash, modelled as an ordered map from a key to a FIFO of waiters.
// Keys are what get_futex_key gives (emu/futex_key.h): (mm, user address) for private futexes,
// (inode, file offset) or (shared anonymous memory, offset) for shared ones, so waiters in
// different processes meet on MAP_SHARED memory. Waiters are woken in FIFO order, filtered by
// bitset, which makes wake order deterministic (all tasks have one priority, so the rt_mutex
// waiter order of PI futexes is FIFO too).
//
// Waiter kinds (kernel/futex/): Plain (FUTEX_WAIT*), RequeuePi (FUTEX_WAIT_REQUEUE_PI, waiting
// on a plain word to be requeued onto `pi_key`) and Pi (waiting to own a PI futex: LOCK_PI or
// requeued). `uaddr` is the word in the waiter's own mm.
//
// Who may touch what: futex syscall handlers and task exit, on the emulation thread. Holds
// non-owning Task pointers; remove() is called when a waiter dies, times out or is interrupted.
#pragma once

#include <cstdint>
#include <deque>
#include <map>
#include <optional>
#include <utility>
#include <vector>

#include "emu/task.h"

namespace probesim::emu {

enum class FutexWaitKind : uint8_t { Plain, RequeuePi, Pi };

class FutexTable {
 public:
  using Key = std::pair<const void*, uint64_t>;
  struct Waiter {
    Task* task = nullptr;
    uint32_t bitset = ~0u;
    FutexWaitKind kind = FutexWaitKind::Plain;
    uint64_t uaddr = 0;
    Key pi_key{};         // RequeuePi: the PI futex it may be requeued onto
    uint64_t pi_uaddr = 0;  // ... and that futex's address in the waiter's mm
  };

  void enqueue(Key key, Task& t, uint32_t bitset) { enqueue(key, Waiter{&t, bitset}); }
  void enqueue(Key key, Waiter w);
  // Dequeue up to n Plain waiters whose bitset intersects `bitset`, in FIFO order. Stops at the
  // first non-Plain waiter of the key and sets *pi_seen (futex_wake's -EINVAL).
  std::vector<Task*> dequeue(Key key, int64_t n, uint32_t bitset, bool* pi_seen = nullptr);
  // Move up to n waiters from one key to another (FUTEX_REQUEUE); returns how many moved.
  int64_t requeue(Key from, Key to, int64_t n);
  // The first waiter of a key, if any (not removed).
  const Waiter* front(Key key) const;
  // Remove and return the first waiter of a key.
  std::optional<Waiter> pop_front(Key key);
  // Every key with a Pi waiter, with its first Pi waiter (for exit_pi_state_list), ordered by
  // (uaddr, tid).
  std::vector<std::pair<Key, Waiter>> pi_heads() const;
  void remove(Task& t);  // a waiter timed out, was interrupted or died
  size_t waiters(Key key) const;

 private:
  std::map<Key, std::deque<Waiter>> queues_;
};

}  // namespace probesim::emu
