#include "emu/syscalls/poll_wait.h"

#include <cerrno>

#include "emu/machine_state.h"
#include "emu/virtual_clock.h"

namespace probesim::emu {

uint64_t take_poll_deadline(SyscallContext& ctx, std::optional<uint64_t> timeout_ns) {
  Task& t = ctx.task();
  if (std::optional<uint64_t> saved = t.poll_deadline_ns) {
    t.poll_deadline_ns.reset();
    return *saved;
  }
  return timeout_ns ? ktime_add_safe(ctx.clock().monotonic_ns(), *timeout_ns) : kKtimeMax;
}

int64_t poll_sleep(SyscallContext& ctx, std::span<const void* const> objects, uint64_t deadline) {
  if (ctx.machine().has_deliverable_signal(ctx.task())) return -EINTR;  // -ERESTARTNOHAND
  if (deadline != kKtimeMax && ctx.clock().monotonic_ns() >= deadline) return 0;
  for (const void* o : objects) ctx.machine().waitq().add(o, ctx.task());
  ctx.task().poll_deadline_ns = deadline;
  ctx.machine().sched().block(ctx.task(), WaitInfo{WaitInfo::Kind::Poll, deadline, 0});
  ctx.disposition = SyscallDisposition::Blocked;
  return 0;
}

uint64_t poll_remaining_ns(SyscallContext& ctx, uint64_t deadline) {
  const uint64_t now = ctx.clock().monotonic_ns();
  return deadline > now ? deadline - now : 0;
}

}  // namespace probesim::emu
