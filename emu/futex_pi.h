// PI futex word rules shared by the futex syscall and task exit (kernel/futex/pi.c, core.c).
//
// The word of a PI futex (and of a robust mutex) is the owner's TID plus two flags:
// FUTEX_WAITERS (the kernel has waiters: unlock must enter the kernel) and FUTEX_OWNER_DIED
// (the owner died holding it). The kernel hands a contended PI futex to its first waiter:
// the word becomes that waiter's TID | FUTEX_WAITERS, as wake_futex_pi and
// fixup_pi_state_owner write it, and the waiter returns 0 from its LOCK_PI.
#pragma once

#include <cstdint>

#include "emu/futex_table.h"

namespace probesim::emu {

class MachineState;
class Task;

inline constexpr uint32_t kFutexWaiters = 0x80000000u;
inline constexpr uint32_t kFutexOwnerDied = 0x40000000u;
inline constexpr uint32_t kFutexTidMask = 0x3fffffffu;

// Gives the PI futex `key` to its first Pi waiter: the word (at that waiter's uaddr, in its mm)
// becomes its tid | FUTEX_WAITERS | `extra`, and it wakes returning 0. False when the key has no
// Pi waiter first in line (nothing changed) or the word cannot be written.
bool futex_pi_handoff(MachineState& m, FutexTable::Key key, uint32_t extra);

// futex_exit_release (kernel/futex/core.c) for a task that exits or execs: PI futexes it owns
// with waiters go to their first waiter with FUTEX_OWNER_DIED (exit_pi_state_list), then its
// robust list is walked (exit_robust_list): each mutex it still owns gets FUTEX_OWNER_DIED and
// one waiter is woken; the list_op_pending entry is handled as handle_futex_death's pending op.
void futex_exit_release(MachineState& m, Task& t);

}  // namespace probesim::emu
