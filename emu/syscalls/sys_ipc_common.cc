#include <cerrno>

#include "emu/machine_state.h"
#include "emu/syscalls/sys_ipc.h"

namespace probesim::emu {

GuestIpc64Perm to_guest(const IpcPerm& p) {
  GuestIpc64Perm g{};
  g.key = p.key;
  g.uid = p.uid;
  g.gid = p.gid;
  g.cuid = p.cuid;
  g.cgid = p.cgid;
  g.mode = p.mode;
  g.seq = p.seq;
  return g;
}

void update_perm(IpcPerm& p, const GuestIpc64Perm& in) {
  p.uid = in.uid;
  p.gid = in.gid;
  p.mode = (p.mode & ~0777u) | (in.mode & 0777u);
}

int64_t ipc_now(SyscallContext& ctx) { return ctx.clock().realtime().sec; }

int64_t ipc_block(SyscallContext& ctx, const IpcObject& obj, uint64_t deadline_ns,
                  int64_t timeout_ret) {
  ctx.machine().waitq().add(&obj, ctx.task());
  WaitInfo w{WaitInfo::Kind::Queue, deadline_ns, timeout_ret};
  w.restartable = false;
  ctx.machine().sched().block(ctx.task(), w);
  ctx.disposition = SyscallDisposition::Blocked;
  return 0;
}

void ipc_wake(SyscallContext& ctx, const IpcObject& obj) {
  ctx.machine().waitq().wake_all(&obj, ctx.machine().sched());
}

void ipc_wake_removed(SyscallContext& ctx, const IpcObject& obj) {
  for (Task* t : ctx.machine().waitq().take(&obj)) ctx.machine().sched().wake(*t, -EIDRM);
}

}  // namespace probesim::emu
