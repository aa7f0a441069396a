// FutexTable: Linux's futex hash, modelled as an ordered map from a key to a FIFO of waiters.
// Keys are (mm, user address), the mm being the task's mmu::Mm; an address inside a shared file
// mapping (MAP_SHARED of a file, /dev/shm, System V shm) keys as (inode, file offset), as
// get_futex_key's shared keys, so processes mapping the file meet there. (Linux keys such an
// address by mm when FUTEX_PRIVATE_FLAG is given; here it is the file page either way.)
// Waiters are woken in FIFO order, filtered by bitset, which makes wake order deterministic.
//
// Who may touch what: futex syscall handlers and task exit (clear_child_tid), on the emulation
// thread. Holds non-owning Task pointers; remove() is called when a waiter dies or times out.
#pragma once

#include <cstdint>
#include <deque>
#include <map>
#include <utility>

#include "emu/task.h"

namespace probesim::emu {

class FutexTable {
 public:
  using Key = std::pair<const void*, uint64_t>;  // (mm, uaddr)

  void enqueue(Key key, Task& t, uint32_t bitset);
  // Dequeue up to n waiters whose bitset intersects `bitset`, in FIFO order.
  std::vector<Task*> dequeue(Key key, int64_t n, uint32_t bitset);
  // Move up to n waiters from one key to another (FUTEX_REQUEUE); returns how many moved.
  int64_t requeue(Key from, Key to, int64_t n);
  void remove(Task& t);  // a waiter timed out, was interrupted or died
  size_t waiters(Key key) const;
  // The key a (mm, uaddr) key stands for (see above).
  static Key canonical(Key key);

 private:
  struct Waiter {
    Task* task;
    uint32_t bitset;
  };
  std::map<Key, std::deque<Waiter>> queues_;
};

}  // namespace probesim::emu
