// File syscalls, part 3: duplicating descriptors and fcntl.
#include <cerrno>

#include "emu/syscalls/sys_fs_common.h"
#include "emu/syscalls/syscall_handlers.h"
#include "emu/vfs/vfs_abi.h"

namespace probesim::emu {

int64_t sys_dup(SyscallContext& ctx, const SyscallArgs& a) {
  return ctx.fds().dup(arg_int(a.a[0]), 0, CloseOnExec::No);
}

int64_t sys_dup2(SyscallContext& ctx, const SyscallArgs& a) {
  const int oldfd = arg_int(a.a[0]), newfd = arg_int(a.a[1]);
  if (oldfd == newfd) return ctx.fds().get(oldfd) ? newfd : -EBADF;
  return ctx.fds().dup_to(oldfd, newfd, CloseOnExec::No);
}

int64_t sys_dup3(SyscallContext& ctx, const SyscallArgs& a) {
  const int oldfd = arg_int(a.a[0]), newfd = arg_int(a.a[1]);
  const uint32_t flags = open_flags_from_guest(ctx.arch(), a.a[2] & 0xffffffffu);
  if ((flags & ~kO_CLOEXEC) || oldfd == newfd) return -EINVAL;
  return ctx.fds().dup_to(oldfd, newfd, (flags & kO_CLOEXEC) ? CloseOnExec::Yes : CloseOnExec::No);
}

// F_DUPFD, F_DUPFD_CLOEXEC, F_GETFD, F_SETFD, F_GETFL, F_SETFL, the record locks (sys_lock.cc),
// the memfd seals (sys_memfd.cc); everything else -EINVAL.
// O_PATH fds allow all but F_SETFL (check_fcntl_cmd).
int64_t sys_fcntl(SyscallContext& ctx, const SyscallArgs& a) {
  const int fd = arg_int(a.a[0]);
  const int cmd = arg_int(a.a[1]);
  std::shared_ptr<File> f = fd_file(ctx, fd, PathFd::Allowed);
  if (!f) return -EBADF;
  if (is_lock_cmd(cmd)) return fcntl_lock(ctx, f, cmd, a.a[2]);
  if (is_seal_cmd(cmd)) return f->is_path_only() ? -EBADF : fcntl_seals(f, cmd, a.a[2]);
  switch (cmd) {
    case kF_DUPFD:
    case kF_DUPFD_CLOEXEC: {
      const int min_fd = arg_int(a.a[2]);
      if (min_fd < 0) return -EINVAL;
      return ctx.fds().dup(fd, min_fd, cmd == kF_DUPFD ? CloseOnExec::No : CloseOnExec::Yes);
    }
    case kF_GETFD:
      return ctx.fds().get_cloexec(fd);
    case kF_SETFD:
      return ctx.fds().set_cloexec(fd, (a.a[2] & kFD_CLOEXEC) ? CloseOnExec::Yes : CloseOnExec::No);
    case kF_GETFL:
      return static_cast<int64_t>(open_flags_to_guest(ctx.arch(), f->f_flags()));
    case kF_SETFL: {
      if (f->is_path_only()) return -EBADF;
      const uint32_t want = open_flags_from_guest(ctx.arch(), a.a[2] & 0xffffffffu);
      f->set_f_flags((f->f_flags() & ~kSetflMask) | (want & kSetflMask));
      return 0;
    }
    default:
      return -EINVAL;
  }
}

}  // namespace probesim::emu
