// File locks: fcntl's record-lock commands and flock(2) (fs/locks.c: fcntl_getlk,
// fcntl_setlk, flock). The lock table is FileLocks (emu/vfs/file_locks.h); a request that must
// wait blocks on the inode and re-executes the syscall when one of its locks goes.
#include <cerrno>
#include <cstring>

#include "emu/machine_state.h"
#include "emu/syscalls/sys_fs_common.h"
#include "emu/syscalls/syscall_handlers.h"
#include "emu/vfs/file_locks.h"
#include "emu/vfs/vfs_abi.h"

namespace probesim::emu {
namespace {

// struct flock, the same on x86_64 and arm64 (include/uapi/asm-generic/fcntl.h).
struct GuestFlock {
  int16_t l_type;
  int16_t l_whence;
  int32_t pad0;
  int64_t l_start;
  int64_t l_len;
  int32_t l_pid;
  int32_t pad1;
};
static_assert(sizeof(GuestFlock) == 32);

constexpr int kF_GETLK = 5, kF_SETLK = 6, kF_SETLKW = 7;
constexpr int kF_OFD_GETLK = 36, kF_OFD_SETLK = 37, kF_OFD_SETLKW = 38;
constexpr uint64_t kLOCK_SH = 1, kLOCK_EX = 2, kLOCK_NB = 4, kLOCK_UN = 8, kLOCK_MAND = 32;

bool is_ofd(int cmd) { return cmd >= kF_OFD_GETLK && cmd <= kF_OFD_SETLKW; }

// flock_to_posix_lock: the byte range of l, from l_whence, with its overflow rules.
int to_range(const File& f, const GuestFlock& l, FileLock& out) {
  int64_t base;
  switch (l.l_whence) {
    case kSEEK_SET: base = 0; break;
    case kSEEK_CUR: base = static_cast<int64_t>(f.f_pos()); break;
    case kSEEK_END: base = static_cast<int64_t>(f.stat().size); break;
    default: return -EINVAL;
  }
  if (l.l_start > kOffsetMax - base) return -EOVERFLOW;
  out.start = base + l.l_start;
  if (out.start < 0) return -EINVAL;
  if (l.l_len > 0) {
    if (l.l_len - 1 > kOffsetMax - out.start) return -EOVERFLOW;
    out.end = out.start + (l.l_len - 1);
  } else if (l.l_len < 0) {
    if (out.start + l.l_len < 0) return -EINVAL;
    out.end = out.start - 1;
    out.start += l.l_len;
  } else {
    out.end = kOffsetMax;
  }
  return 0;
}

// The request of a record-lock command: its owner (the process, or the open file for OFD
// locks, whose l_pid must be 0) and range; -errno as fcntl_getlk/fcntl_setlk check them.
int to_request(SyscallContext& ctx, const std::shared_ptr<File>& f, int cmd, const GuestFlock& l,
               FileLock& req) {
  if (int err = to_range(*f, l, req); err != 0) return err;
  if (l.l_type != kF_RDLCK && l.l_type != kF_WRLCK && l.l_type != kF_UNLCK) return -EINVAL;
  req.type = l.l_type;
  req.pid = ctx.pid();
  if (is_ofd(cmd)) {
    if (l.l_pid != 0) return -EINVAL;
    req.kind = LockKind::Ofd;
    req.file = f.get();
    req.file_ref = f;
  }
  return 0;
}

// posix_lock_to_flock.
GuestFlock to_guest(const FileLock& held) {
  GuestFlock out{};
  out.l_type = static_cast<int16_t>(held.type);
  out.l_whence = kSEEK_SET;
  out.l_start = held.start;
  out.l_len = held.end == kOffsetMax ? 0 : held.end - held.start + 1;
  out.l_pid = held.kind == LockKind::Ofd ? -1 : held.pid;
  return out;
}

int64_t getlk(SyscallContext& ctx, const std::shared_ptr<File>& f, int cmd, uint64_t arg,
              GuestFlock l) {
  if (l.l_type != kF_RDLCK && l.l_type != kF_WRLCK) return -EINVAL;
  FileLock req;
  if (int err = to_request(ctx, f, cmd, l, req); err != 0) return err;
  std::optional<FileLock> held = ctx.machine().file_locks().test(f->inode(), req);
  if (held) {
    l = to_guest(*held);
  } else {
    l.l_type = kF_UNLCK;
  }
  return put_user_bytes(ctx, arg, &l, sizeof l);
}

// A conflicting request waits (F_SETLKW, flock without LOCK_NB) unless that would deadlock.
int64_t wait_for(SyscallContext& ctx, const File& f, const FileLock& req, const FileLock& blocker) {
  FileLocks& locks = ctx.machine().file_locks();
  if (locks.would_deadlock(req, blocker)) return -EDEADLK;
  locks.block(f.inode(), req, blocker, ctx.task());
  ctx.disposition = SyscallDisposition::Blocked;
  return 0;
}

int64_t setlk(SyscallContext& ctx, const std::shared_ptr<File>& f, int cmd, const GuestFlock& l) {
  FileLock req;
  if (int err = to_request(ctx, f, cmd, l, req); err != 0) return err;
  // check_fmode_for_setlk
  if ((req.type == kF_RDLCK && !f->readable()) || (req.type == kF_WRLCK && !f->writable()))
    return -EBADF;
  FileLock blocker;
  const int r = ctx.machine().file_locks().set_record(f->inode(), req, &blocker);
  if (r != -EAGAIN || (cmd != kF_SETLKW && cmd != kF_OFD_SETLKW)) return r;
  return wait_for(ctx, *f, req, blocker);
}

}  // namespace

int64_t fcntl_lock(SyscallContext& ctx, const std::shared_ptr<File>& f, int cmd, uint64_t arg) {
  if (f->is_path_only()) return -EBADF;  // check_fcntl_cmd
  GuestFlock l;
  if (!ctx.read_user(GuestAddr{arg}, &l, sizeof l)) return -EFAULT;
  if (cmd == kF_GETLK || cmd == kF_OFD_GETLK) return getlk(ctx, f, cmd, arg, l);
  return setlk(ctx, f, cmd, l);
}

bool is_lock_cmd(int cmd) {
  return cmd == kF_GETLK || cmd == kF_SETLK || cmd == kF_SETLKW || is_ofd(cmd);
}

// flock(2): LOCK_SH / LOCK_EX / LOCK_UN, | LOCK_NB; LOCK_MAND is ignored (Linux 5.15+).
int64_t sys_flock(SyscallContext& ctx, const SyscallArgs& a) {
  const uint64_t cmd = a.a[1] & 0xffffffffu;
  if (cmd & kLOCK_MAND) return 0;
  int type;
  switch (cmd & ~kLOCK_NB) {
    case kLOCK_SH: type = kF_RDLCK; break;
    case kLOCK_EX: type = kF_WRLCK; break;
    case kLOCK_UN: type = kF_UNLCK; break;
    default: return -EINVAL;
  }
  std::shared_ptr<File> f = fd_file(ctx, arg_int(a.a[0]), PathFd::Rejected);
  if (!f) return -EBADF;
  if (type != kF_UNLCK && !f->readable() && !f->writable()) return -EBADF;
  FileLock req;
  req.kind = LockKind::Flock;
  req.pid = ctx.pid();
  req.file = f.get();
  req.file_ref = f;
  req.type = type;
  const int r = ctx.machine().file_locks().set_flock(f->inode(), req);
  if (r != -EAGAIN || (cmd & kLOCK_NB)) return r;  // EWOULDBLOCK == EAGAIN
  return wait_for(ctx, *f, req, req);
}

}  // namespace probesim::emu
