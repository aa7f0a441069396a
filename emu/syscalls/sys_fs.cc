// File syscalls, part 1: open/close, the stat family, access, readlink, cwd and umask.
// Handlers decode arguments (guest pointers, arch-specific open flags and struct layouts) and
// call the Vfs/FdTable, which implement Linux's semantics. See sys_fs_rw.cc (data),
// sys_fs_fd.cc (dup/fcntl) and sys_fs_ns.cc (namespace and attribute changes).
#include <cerrno>

#include "emu/syscalls/sys_fs_common.h"
#include "emu/syscalls/syscall_handlers.h"
#include "emu/vfs/kstat.h"
#include "emu/vfs/vfs_abi.h"

namespace probesim::emu {
namespace {

int64_t do_openat(SyscallContext& ctx, int dirfd, uint64_t path_ptr, uint64_t guest_flags,
                  uint32_t mode) {
  Result<std::string> path = path_arg(ctx, path_ptr);
  if (!path) return neg_errno(path.error());
  const uint32_t flags = open_flags_from_guest(ctx.arch(), guest_flags);
  if (const int fd = ctx.fds().lowest_free(); fd < 0) return fd;  // EMFILE before any effect
  Result<std::string> base = at_base(ctx, dirfd, *path);
  if (!base) return neg_errno(base.error());
  Result<std::shared_ptr<File>> file = ctx.vfs().open(caller_of(ctx), *base, *path, flags, mode);
  if (!file) return neg_errno(file.error());
  const CloseOnExec cloexec = (flags & kO_CLOEXEC) ? CloseOnExec::Yes : CloseOnExec::No;
  return ctx.fds().install(std::move(*file), cloexec);
}

// The stat of (dirfd, path, flags) for newfstatat/statx: AT_EMPTY_PATH means dirfd itself.
Result<KStat> stat_at(SyscallContext& ctx, int dirfd, uint64_t path_ptr, uint32_t flags) {
  std::string path;
  if (path_ptr != 0 || !(flags & kAT_EMPTY_PATH)) path = PROBESIM_TRY(path_arg(ctx, path_ptr));
  if (path.empty()) {
    if (!(flags & kAT_EMPTY_PATH)) return vfs_error(ENOENT, path);
    if (dirfd != kAT_FDCWD) {
      std::shared_ptr<File> f = fd_file(ctx, dirfd, PathFd::Allowed);
      if (!f) return vfs_error(EBADF, "fd " + std::to_string(dirfd));
      return f->stat();
    }
    path = ".";
  }
  const std::string base = PROBESIM_TRY(at_base(ctx, dirfd, path));
  const Follow follow = (flags & kAT_SYMLINK_NOFOLLOW) ? Follow::No : Follow::Yes;
  return ctx.vfs().stat(caller_of(ctx), base, path, follow);
}

int64_t put_stat(SyscallContext& ctx, uint64_t buf, const Result<KStat>& st) {
  if (!st) return neg_errno(st.error());
  const std::vector<uint8_t> bytes = encode_stat(ctx.arch(), *st);
  return put_user_bytes(ctx, buf, bytes.data(), bytes.size());
}

int64_t do_faccessat(SyscallContext& ctx, int dirfd, uint64_t path_ptr, uint32_t mode,
                     uint32_t flags) {
  if (flags & ~(kAT_EACCESS | kAT_SYMLINK_NOFOLLOW | kAT_EMPTY_PATH)) return -EINVAL;
  if (mode & ~(kR_OK | kW_OK | kX_OK)) return -EINVAL;
  Result<std::string> path = path_arg(ctx, path_ptr);
  if (!path) return neg_errno(path.error());
  if (path->empty() && (flags & kAT_EMPTY_PATH)) *path = ".";
  Result<std::string> base = at_base(ctx, dirfd, *path);
  if (!base) return neg_errno(base.error());
  const Follow follow = (flags & kAT_SYMLINK_NOFOLLOW) ? Follow::No : Follow::Yes;
  Result<void> r = ctx.vfs().access(caller_of(ctx), *base, *path, mode, follow);
  return r ? 0 : neg_errno(r.error());
}

int64_t do_readlinkat(SyscallContext& ctx, int dirfd, uint64_t path_ptr, uint64_t buf, int bufsiz) {
  if (bufsiz <= 0) return -EINVAL;
  Result<std::string> path = path_arg(ctx, path_ptr);
  if (!path) return neg_errno(path.error());
  Result<std::string> base = at_base(ctx, dirfd, *path);
  if (!base) return neg_errno(base.error());
  Result<std::string> target = ctx.vfs().readlink(caller_of(ctx), *base, *path);
  if (!target) return neg_errno(target.error());
  const size_t n = std::min(target->size(), static_cast<size_t>(bufsiz));
  if (!ctx.write_user(GuestAddr{buf}, target->data(), n)) return -EFAULT;
  return static_cast<int64_t>(n);
}

}  // namespace

int64_t sys_open(SyscallContext& ctx, const SyscallArgs& a) {
  return do_openat(ctx, kAT_FDCWD, a.a[0], a.a[1], static_cast<uint32_t>(a.a[2]));
}

// creat(2), x86-64 only (whose open flags are the generic encoding): tar -c opens its archive so.
int64_t sys_creat(SyscallContext& ctx, const SyscallArgs& a) {
  return do_openat(ctx, kAT_FDCWD, a.a[0], kO_CREAT | kO_WRONLY | kO_TRUNC,
                   static_cast<uint32_t>(a.a[1]));
}

int64_t sys_openat(SyscallContext& ctx, const SyscallArgs& a) {
  return do_openat(ctx, arg_int(a.a[0]), a.a[1], a.a[2], static_cast<uint32_t>(a.a[3]));
}

int64_t sys_close(SyscallContext& ctx, const SyscallArgs& a) {
  return ctx.fds().close(arg_int(a.a[0]));
}

int64_t sys_stat(SyscallContext& ctx, const SyscallArgs& a) {
  return put_stat(ctx, a.a[1], stat_at(ctx, kAT_FDCWD, a.a[0], 0));
}

int64_t sys_lstat(SyscallContext& ctx, const SyscallArgs& a) {
  return put_stat(ctx, a.a[1], stat_at(ctx, kAT_FDCWD, a.a[0], kAT_SYMLINK_NOFOLLOW));
}

int64_t sys_fstat(SyscallContext& ctx, const SyscallArgs& a) {
  std::shared_ptr<File> f = fd_file(ctx, arg_int(a.a[0]), PathFd::Allowed);
  if (!f) return -EBADF;
  return put_stat(ctx, a.a[1], f->stat());
}

int64_t sys_newfstatat(SyscallContext& ctx, const SyscallArgs& a) {
  const uint32_t flags = static_cast<uint32_t>(a.a[3]);
  if (flags & ~(kAT_SYMLINK_NOFOLLOW | kAT_NO_AUTOMOUNT | kAT_EMPTY_PATH)) return -EINVAL;
  return put_stat(ctx, a.a[2], stat_at(ctx, arg_int(a.a[0]), a.a[1], flags));
}

int64_t sys_statx(SyscallContext& ctx, const SyscallArgs& a) {
  const uint32_t flags = static_cast<uint32_t>(a.a[2]);
  const uint32_t mask = static_cast<uint32_t>(a.a[3]);
  constexpr uint32_t kValid =
      kAT_SYMLINK_NOFOLLOW | kAT_NO_AUTOMOUNT | kAT_EMPTY_PATH | kAT_STATX_SYNC_TYPE;
  if ((flags & ~kValid) || (flags & kAT_STATX_SYNC_TYPE) == kAT_STATX_SYNC_TYPE) return -EINVAL;
  if (mask & kSTATX__RESERVED) return -EINVAL;
  Result<KStat> st = stat_at(ctx, arg_int(a.a[0]), a.a[1], flags);
  if (!st) return neg_errno(st.error());
  const std::array<uint8_t, kStatxSize> bytes = encode_statx(*st);
  return put_user_bytes(ctx, a.a[4], bytes.data(), bytes.size());
}

int64_t sys_access(SyscallContext& ctx, const SyscallArgs& a) {
  return do_faccessat(ctx, kAT_FDCWD, a.a[0], static_cast<uint32_t>(a.a[1]), 0);
}

int64_t sys_faccessat(SyscallContext& ctx, const SyscallArgs& a) {
  return do_faccessat(ctx, arg_int(a.a[0]), a.a[1], static_cast<uint32_t>(a.a[2]), 0);
}

int64_t sys_faccessat2(SyscallContext& ctx, const SyscallArgs& a) {
  return do_faccessat(ctx, arg_int(a.a[0]), a.a[1], static_cast<uint32_t>(a.a[2]),
                      static_cast<uint32_t>(a.a[3]));
}

int64_t sys_readlink(SyscallContext& ctx, const SyscallArgs& a) {
  return do_readlinkat(ctx, kAT_FDCWD, a.a[0], a.a[1], arg_int(a.a[2]));
}

int64_t sys_readlinkat(SyscallContext& ctx, const SyscallArgs& a) {
  return do_readlinkat(ctx, arg_int(a.a[0]), a.a[1], a.a[2], arg_int(a.a[3]));
}

// getcwd returns the length including the NUL; ENOENT if the cwd was removed.
int64_t sys_getcwd(SyscallContext& ctx, const SyscallArgs& a) {
  const std::string& cwd = ctx.fs().cwd;
  Result<std::string> still = ctx.vfs().resolve_dir(caller_of(ctx), "/", cwd);
  if (!still) return -ENOENT;
  if (a.a[1] < cwd.size() + 1) return -ERANGE;
  if (!ctx.write_user(GuestAddr{a.a[0]}, cwd.c_str(), cwd.size() + 1)) return -EFAULT;
  return static_cast<int64_t>(cwd.size() + 1);
}

int64_t sys_chdir(SyscallContext& ctx, const SyscallArgs& a) {
  Result<std::string> path = path_arg(ctx, a.a[0]);
  if (!path) return neg_errno(path.error());
  Result<std::string> dir = ctx.vfs().resolve_dir(caller_of(ctx), ctx.fs().cwd, *path);
  if (!dir) return neg_errno(dir.error());
  ctx.fs().cwd = std::move(*dir);
  return 0;
}

int64_t sys_fchdir(SyscallContext& ctx, const SyscallArgs& a) {
  std::shared_ptr<File> f = fd_file(ctx, arg_int(a.a[0]), PathFd::Allowed);
  if (!f) return -EBADF;
  if (!f->is_dir()) return -ENOTDIR;
  ctx.fs().cwd = f->path();
  return 0;
}

int64_t sys_umask(SyscallContext& ctx, const SyscallArgs& a) {
  const uint32_t old = ctx.fs().umask;
  ctx.fs().umask = static_cast<uint32_t>(a.a[0]) & 0777;
  return old;
}

}  // namespace probesim::emu
