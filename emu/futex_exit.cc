// PI hand-off and futex_exit_release (see futex_pi.h).
#include "emu/futex_key.h"
#include "emu/futex_pi.h"
#include "emu/machine_state.h"

namespace probesim::emu {
namespace {

constexpr int kRobustListLimit = 2048;  // ROBUST_LIST_LIMIT (include/uapi/linux/futex.h)

bool read_word(mmu::Mm& mm, uint64_t uaddr, uint32_t& v) {
  return mm.copy_from_user(&v, GuestAddr{uaddr}, sizeof v);
}
bool write_word(mmu::Mm& mm, uint64_t uaddr, uint32_t v) {
  return mm.copy_to_user(GuestAddr{uaddr}, &v, sizeof v);
}

void wake_one_shared(MachineState& m, mmu::Mm& mm, uint64_t uaddr) {
  for (Task* w : m.futexes().dequeue(futex_key(mm, uaddr, /*shared=*/true), 1, ~0u))
    m.sched().wake(*w, 0);
}

// handle_futex_death (kernel/futex/core.c). False stops the walk (a fault or a bad address).
bool handle_futex_death(MachineState& m, Task& t, uint64_t uaddr, bool pi, bool pending_op) {
  mmu::Mm& mm = t.proc().mm();
  uint32_t uval;
  if (uaddr % 4 || !read_word(mm, uaddr, uval)) return false;
  const uint32_t owner = uval & kFutexTidMask;
  if (pending_op && !pi && owner == 0) {  // died between the unlock and the wake
    wake_one_shared(m, mm, uaddr);
    return true;
  }
  if (owner != static_cast<uint32_t>(t.tid())) return true;
  if (!write_word(mm, uaddr, (uval & kFutexWaiters) | kFutexOwnerDied)) return false;
  if (!pi && (uval & kFutexWaiters)) wake_one_shared(m, mm, uaddr);
  return true;
}

// fetch_robust_entry: a list pointer whose bit 0 marks a PI futex.
bool fetch_entry(mmu::Mm& mm, uint64_t at, uint64_t& entry, bool& pi) {
  uint64_t raw;
  if (!mm.copy_from_user(&raw, GuestAddr{at}, sizeof raw)) return false;
  entry = raw & ~uint64_t{1};
  pi = raw & 1;
  return true;
}

// exit_robust_list: struct robust_list_head { next; long futex_offset; list_op_pending; }.
void exit_robust_list(MachineState& m, Task& t) {
  const uint64_t head = t.robust_list.value;
  mmu::Mm& mm = t.proc().mm();
  uint64_t entry, pending;
  int64_t offset;
  bool pi, pending_pi;
  if (!fetch_entry(mm, head, entry, pi)) return;
  if (!mm.copy_from_user(&offset, GuestAddr{head + 8}, sizeof offset)) return;
  if (!fetch_entry(mm, head + 16, pending, pending_pi)) return;
  for (int limit = kRobustListLimit; entry != head && limit > 0; --limit) {
    uint64_t next;
    bool next_pi;
    const bool fetched = fetch_entry(mm, entry, next, next_pi);
    if (entry != pending && !handle_futex_death(m, t, entry + offset, pi, false)) return;
    if (!fetched) return;
    entry = next;
    pi = next_pi;
  }
  if (pending) handle_futex_death(m, t, pending + offset, pending_pi, true);
}

// exit_pi_state_list: the PI futexes `t` owns that have waiters go to their first waiter.
void exit_pi_state_list(MachineState& m, Task& t) {
  for (const auto& [key, w] : m.futexes().pi_heads()) {
    uint32_t uval;
    if (!read_word(w.task->proc().mm(), w.uaddr, uval)) continue;
    if ((uval & kFutexTidMask) == static_cast<uint32_t>(t.tid()))
      futex_pi_handoff(m, key, kFutexOwnerDied);
  }
}

}  // namespace

bool futex_pi_handoff(MachineState& m, FutexTable::Key key, uint32_t extra) {
  const FutexTable::Waiter* top = m.futexes().front(key);
  if (!top || top->kind != FutexWaitKind::Pi) return false;
  Task& next = *top->task;
  const uint32_t nval = static_cast<uint32_t>(next.tid()) | kFutexWaiters | extra;
  if (!write_word(next.proc().mm(), top->uaddr, nval)) return false;
  m.futexes().pop_front(key);
  m.sched().wake(next, 0);
  return true;
}

void futex_exit_release(MachineState& m, Task& t) {
  exit_pi_state_list(m, t);
  if (t.robust_list.value) exit_robust_list(m, t);
  t.robust_list = GuestAddr{0};
}

}  // namespace probesim::emu
