// System V message queues: msgget, msgsnd, msgrcv, msgctl (ipc/msg.c). The caller is root, so
// no ipcperms check fails (CAP_IPC_OWNER) and IPC_SET may raise msg_qbytes.
#include <cerrno>
#include <climits>

#include "emu/ipc/msg_queue.h"
#include "emu/machine_state.h"
#include "emu/syscalls/sys_fs_common.h"
#include "emu/syscalls/sys_ipc.h"
#include "emu/syscalls/syscall_handlers.h"

namespace probesim::emu {
namespace {

constexpr int kMsgNoerror = 010000, kMsgExcept = 020000, kMsgCopy = 040000;

// struct msqid64_ds (asm-generic/msgbuf.h; x86_64 uses it too).
struct GuestMsqid64Ds {
  GuestIpc64Perm msg_perm;
  int64_t msg_stime, msg_rtime, msg_ctime;
  uint64_t msg_cbytes, msg_qnum, msg_qbytes;
  int32_t msg_lspid, msg_lrpid;
  uint64_t unused4, unused5;
};
static_assert(sizeof(GuestMsqid64Ds) == 120);

MsgQueue* find_queue(SyscallContext& ctx, int id) {
  return static_cast<MsgQueue*>(ctx.machine().ipc().msg.find(id));
}

// convert_mode
MsgQueue::Search search_mode(int64_t& type, int flags) {
  if (type == 0) return MsgQueue::Search::Any;
  if (type < 0) {
    type = type == LONG_MIN ? LONG_MAX : -type;
    return MsgQueue::Search::LessEqual;
  }
  return (flags & kMsgExcept) ? MsgQueue::Search::NotEqual : MsgQueue::Search::Equal;
}

int64_t msg_stat(SyscallContext& ctx, const MsgQueue& q, uint64_t buf) {
  GuestMsqid64Ds d{};
  d.msg_perm = to_guest(q.perm);
  d.msg_stime = q.stime;
  d.msg_rtime = q.rtime;
  d.msg_ctime = q.ctime;
  d.msg_cbytes = q.cbytes;
  d.msg_qnum = q.q.size();
  d.msg_qbytes = q.qbytes;
  d.msg_lspid = q.lspid;
  d.msg_lrpid = q.lrpid;
  return put_user_bytes(ctx, buf, &d, sizeof d);
}

}  // namespace

int64_t sys_msgget(SyscallContext& ctx, const SyscallArgs& a) {
  const int flags = arg_int(a.a[1]);
  auto make = [&](std::unique_ptr<IpcObject>& out) -> int64_t {
    auto q = std::make_unique<MsgQueue>();
    q->ctime = ipc_now(ctx);
    out = std::move(q);
    return 0;
  };
  return ctx.machine().ipc().msg.get(arg_int(a.a[0]), flags, make,
                                     [](IpcObject&) -> int64_t { return 0; });
}

// do_msgsnd: EINVAL for a bad size, type or id; a full queue blocks (EAGAIN with IPC_NOWAIT).
int64_t sys_msgsnd(SyscallContext& ctx, const SyscallArgs& a) {
  const int id = arg_int(a.a[0]);
  const uint64_t msgp = a.a[1];
  const int64_t size = static_cast<int64_t>(a.a[2]);
  const int flags = arg_int(a.a[3]);
  if (size < 0 || static_cast<uint64_t>(size) > kMsgMax || id < 0) return -EINVAL;
  int64_t mtype;
  if (!ctx.read_user(GuestAddr{msgp}, &mtype, sizeof mtype)) return -EFAULT;
  if (mtype < 1) return -EINVAL;
  std::vector<uint8_t> text(static_cast<size_t>(size));
  if (!ctx.read_user(GuestAddr{msgp + 8}, text.data(), text.size())) return -EFAULT;
  MsgQueue* q = find_queue(ctx, id);
  if (q == nullptr) return -EINVAL;
  if (!q->fits(text.size())) {
    if (flags & kIpcNowait) return -EAGAIN;
    return ipc_block(ctx, *q);
  }
  q->cbytes += text.size();
  q->q.push_back(MsgQueue::Msg{mtype, std::move(text)});
  q->lspid = ctx.pid();
  q->stime = ipc_now(ctx);
  ipc_wake(ctx, *q);
  return 0;
}

// do_msgrcv: the message (type, then text cut to msgsz with MSG_NOERROR, else E2BIG and it
// stays); none: ENOMSG with IPC_NOWAIT, else the caller blocks.
int64_t sys_msgrcv(SyscallContext& ctx, const SyscallArgs& a) {
  const int id = arg_int(a.a[0]);
  const uint64_t msgp = a.a[1];
  const int64_t bufsz = static_cast<int64_t>(a.a[2]);
  int64_t type = static_cast<int64_t>(a.a[3]);
  const int flags = arg_int(a.a[4]);
  if (id < 0 || bufsz < 0) return -EINVAL;
  if (flags & kMsgCopy) return -EINVAL;  // CONFIG_CHECKPOINT_RESTORE is not modelled
  const MsgQueue::Search mode = search_mode(type, flags);
  MsgQueue* q = find_queue(ctx, id);
  if (q == nullptr) return -EINVAL;
  auto it = q->find(mode, type);
  if (it == q->q.end()) {
    if (flags & kIpcNowait) return -ENOMSG;
    return ipc_block(ctx, *q);
  }
  if (static_cast<uint64_t>(bufsz) < it->text.size() && !(flags & kMsgNoerror)) return -E2BIG;
  MsgQueue::Msg m = std::move(*it);
  q->q.erase(it);
  q->cbytes -= m.text.size();
  q->lrpid = ctx.pid();
  q->rtime = ipc_now(ctx);
  ipc_wake(ctx, *q);
  const size_t n = std::min(m.text.size(), static_cast<size_t>(bufsz));
  if (!ctx.write_user(GuestAddr{msgp}, &m.mtype, sizeof m.mtype)) return -EFAULT;
  if (!ctx.write_user(GuestAddr{msgp + 8}, m.text.data(), n)) return -EFAULT;
  return static_cast<int64_t>(n);
}

// msgctl: IPC_STAT, IPC_SET (uid, gid, mode, msg_qbytes), IPC_RMID (waiters get EIDRM).
int64_t sys_msgctl(SyscallContext& ctx, const SyscallArgs& a) {
  const int id = arg_int(a.a[0]);
  const int cmd = arg_int(a.a[1]);
  if (id < 0 || cmd < 0) return -EINVAL;
  if (cmd != kIpcStat && cmd != kIpcSet && cmd != kIpcRmid) return -EINVAL;
  MsgQueue* q = find_queue(ctx, id);
  if (q == nullptr) return -EINVAL;
  if (cmd == kIpcStat) return msg_stat(ctx, *q, a.a[2]);
  if (cmd == kIpcSet) {
    GuestMsqid64Ds d;
    if (!ctx.read_user(GuestAddr{a.a[2]}, &d, sizeof d)) return -EFAULT;
    update_perm(q->perm, d.msg_perm);
    q->qbytes = d.msg_qbytes;
    q->ctime = ipc_now(ctx);
    ipc_wake(ctx, *q);  // senders may fit now
    return 0;
  }
  std::unique_ptr<IpcObject> gone = ctx.machine().ipc().msg.remove(id);
  ipc_wake_removed(ctx, *gone);
  return 0;
}

}  // namespace probesim::emu
