// Helpers shared by the System V IPC syscalls (sys_ipc_msg.cc, sys_ipc_sem.cc): waiting on an
// IPC object, waking its waiters, and struct ipc64_perm (include/uapi/asm-generic/ipcbuf.h,
// the same on x86_64 and arm64).
#pragma once

#include <cstdint>

#include "emu/ipc/ipc_ids.h"
#include "emu/syscalls/syscall.h"

namespace probesim::emu {

struct GuestIpc64Perm {
  int32_t key;
  uint32_t uid, gid, cuid, cgid, mode;
  uint16_t seq, pad2;
  uint64_t unused1, unused2;
};
static_assert(sizeof(GuestIpc64Perm) == 48);

GuestIpc64Perm to_guest(const IpcPerm& p);
// IPC_SET: uid, gid and the low 9 mode bits (ipc_update_perm).
void update_perm(IpcPerm& p, const GuestIpc64Perm& in);
int64_t ipc_now(SyscallContext& ctx);  // seconds of the guest's realtime clock

// The caller waits on `obj` until it changes (the syscall re-executes), the object is removed
// (EIDRM), a signal comes (EINTR: System V IPC is never restarted, SA_RESTART or not) or the
// deadline passes (timeout_ret). deadline 0: none.
int64_t ipc_block(SyscallContext& ctx, const IpcObject& obj, uint64_t deadline_ns = 0,
                  int64_t timeout_ret = 0);
// Every waiter of obj re-executes its syscall.
void ipc_wake(SyscallContext& ctx, const IpcObject& obj);
// IPC_RMID: every waiter of obj returns EIDRM.
void ipc_wake_removed(SyscallContext& ctx, const IpcObject& obj);

}  // namespace probesim::emu
