// The sleep shared by poll, ppoll, select, pselect6 and the epoll waits (fs/select.c's
// poll_schedule_timeout and do_poll's loop). A call polls its files; with nothing ready it
// sleeps in a Poll wait on every file's wait object (WaitInfo::Kind::Poll). Any wake (a
// queue, the deadline, a signal) restarts the syscall, which polls again and decides: ready
// files first, then -EINTR for a pending signal, then 0 once the deadline has passed. The
// absolute deadline survives the restart in Task::poll_deadline_ns (Linux's restart_block).
#pragma once

#include <cstdint>
#include <optional>
#include <span>

#include "emu/syscalls/syscall.h"

namespace probesim::emu {

// The call's absolute deadline (virtual monotonic ns; kKtimeMax: none): a restarted call's
// saved one, else now + timeout_ns (none: wait forever). Clears the saved one, so every call
// takes it exactly once, on entry.
uint64_t take_poll_deadline(SyscallContext& ctx, std::optional<uint64_t> timeout_ns);

// Nothing was ready: -EINTR when a signal is pending, 0 when `deadline` has passed; otherwise
// blocks the task on `objects` until one changes (the return value is then meaningless and
// ctx.disposition is Blocked).
int64_t poll_sleep(SyscallContext& ctx, std::span<const void* const> objects, uint64_t deadline);

// The temporary signal mask of ppoll, pselect6 and epoll_pwait(2) (set_user_sigmask): in force
// while the call sleeps; a handler's frame saves the caller's mask (Task::saved_sigmask), else it
// is restored on the way out. A restarted call keeps the mask saved by its first run. 0 or
// -EINVAL (size) / -EFAULT; uset 0: no change.
int64_t set_user_sigmask(SyscallContext& ctx, uint64_t uset, uint64_t size);

// Nanoseconds left until `deadline` (0 once passed) — what ppoll/pselect6/select write back.
uint64_t poll_remaining_ns(SyscallContext& ctx, uint64_t deadline);

}  // namespace probesim::emu
