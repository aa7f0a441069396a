// File syscalls, part 4: changing the namespace (mkdir, unlink, rmdir, rename, link, symlink)
// and attributes (chmod, chown, utimensat), and statfs. All changes land in the Vfs overlay,
// never on the host.
#include <cerrno>

#include "emu/syscalls/sys_fs_common.h"
#include "emu/syscalls/syscall_handlers.h"
#include "emu/vfs/kstat.h"
#include "emu/vfs/vfs_abi.h"

namespace probesim::emu {
namespace {

int64_t ok_or_errno(const Result<void>& r) {
  return r ? 0 : neg_errno(r.error());
}

// Runs op(caller, base, path) for a (dirfd, path pointer) pair.
template <class Op>
int64_t with_path(SyscallContext& ctx, int dirfd, uint64_t path_ptr, Op op) {
  Result<std::string> path = path_arg(ctx, path_ptr);
  if (!path) return neg_errno(path.error());
  Result<std::string> base = at_base(ctx, dirfd, *path);
  if (!base) return neg_errno(base.error());
  return ok_or_errno(op(caller_of(ctx), *base, *path));
}

int64_t do_mkdirat(SyscallContext& ctx, int dirfd, uint64_t path, uint32_t mode) {
  return with_path(ctx, dirfd, path, [&](const Caller& c, std::string_view b, std::string_view p) {
    return ctx.vfs().mkdir(c, b, p, mode);
  });
}

int64_t do_unlinkat(SyscallContext& ctx, int dirfd, uint64_t path, uint32_t flags) {
  if (flags & ~kAT_REMOVEDIR) return -EINVAL;
  return with_path(ctx, dirfd, path, [&](const Caller& c, std::string_view b, std::string_view p) {
    return (flags & kAT_REMOVEDIR) ? ctx.vfs().rmdir(c, b, p) : ctx.vfs().unlink(c, b, p);
  });
}

// The old and new names of renameat/linkat: each path read from the guest and its dirfd
// resolved (EFAULT, ENAMETOOLONG, EBADF, ENOTDIR as path_arg and at_base report them).
struct TwoNames {
  std::string old_path, new_path, old_base, new_base;
};

Result<TwoNames> two_names(SyscallContext& ctx, int olddir, uint64_t oldp, int newdir,
                           uint64_t newp) {
  TwoNames n;
  n.old_path = PROBESIM_TRY(path_arg(ctx, oldp));
  n.new_path = PROBESIM_TRY(path_arg(ctx, newp));
  n.old_base = PROBESIM_TRY(at_base(ctx, olddir, n.old_path));
  n.new_base = PROBESIM_TRY(at_base(ctx, newdir, n.new_path));
  return n;
}

int64_t do_renameat(SyscallContext& ctx, int olddir, uint64_t oldp, int newdir, uint64_t newp) {
  Result<TwoNames> n = two_names(ctx, olddir, oldp, newdir, newp);
  if (!n) return neg_errno(n.error());
  return ok_or_errno(
      ctx.vfs().rename(caller_of(ctx), n->old_base, n->old_path, n->new_base, n->new_path));
}

// linkat: flags AT_SYMLINK_FOLLOW (follow a final symlink of the old name) only; AT_EMPTY_PATH
// needs CAP_DAC_READ_SEARCH in Linux and is refused here (EINVAL, as for unknown flags).
int64_t do_linkat(SyscallContext& ctx, int olddir, uint64_t oldp, int newdir, uint64_t newp,
                  uint64_t flags) {
  if (flags & ~uint64_t{kAT_SYMLINK_FOLLOW}) return -EINVAL;
  Result<TwoNames> n = two_names(ctx, olddir, oldp, newdir, newp);
  if (!n) return neg_errno(n.error());
  const Follow follow = (flags & kAT_SYMLINK_FOLLOW) ? Follow::Yes : Follow::No;
  return ok_or_errno(
      ctx.vfs().link(caller_of(ctx), n->old_base, n->old_path, n->new_base, n->new_path, follow));
}

int64_t do_fchmodat(SyscallContext& ctx, int dirfd, uint64_t path, uint32_t mode) {
  return with_path(ctx, dirfd, path, [&](const Caller& c, std::string_view b, std::string_view p) {
    return ctx.vfs().chmod(c, b, p, mode);
  });
}

// symlinkat: the target is read like a path (EFAULT, ENAMETOOLONG; empty: ENOENT) before the
// new name is looked at.
int64_t do_symlinkat(SyscallContext& ctx, uint64_t target_ptr, int dirfd, uint64_t path) {
  Result<std::string> target = path_arg(ctx, target_ptr);
  if (!target) return neg_errno(target.error());
  if (target->empty()) return -ENOENT;
  return with_path(ctx, dirfd, path, [&](const Caller& c, std::string_view b, std::string_view p) {
    return ctx.vfs().symlink(c, *target, b, p);
  });
}

uint32_t id_arg(uint64_t v) {
  return static_cast<uint32_t>(v);  // uid_t / gid_t: (uid_t)-1 is kNoId
}

// do_fchownat: flags AT_SYMLINK_NOFOLLOW and AT_EMPTY_PATH (an empty path names dirfd itself,
// O_PATH fds included); lchown is AT_SYMLINK_NOFOLLOW.
int64_t do_fchownat(SyscallContext& ctx, int dirfd, uint64_t path_ptr, uint64_t uid, uint64_t gid,
                    uint32_t flags) {
  if (flags & ~(kAT_SYMLINK_NOFOLLOW | kAT_EMPTY_PATH)) return -EINVAL;
  Result<std::string> path = path_arg(ctx, path_ptr);
  if (!path) return neg_errno(path.error());
  if (path->empty()) {
    if (!(flags & kAT_EMPTY_PATH)) return -ENOENT;
    if (dirfd != kAT_FDCWD) {
      std::shared_ptr<File> f = fd_file(ctx, dirfd, PathFd::Allowed);
      if (!f) return -EBADF;
      ctx.vfs().chown(*f, id_arg(uid), id_arg(gid));
      return 0;
    }
    *path = ".";
  }
  Result<std::string> base = at_base(ctx, dirfd, *path);
  if (!base) return neg_errno(base.error());
  const Follow follow = (flags & kAT_SYMLINK_NOFOLLOW) ? Follow::No : Follow::Yes;
  return ok_or_errno(
      ctx.vfs().chown(caller_of(ctx), *base, *path, id_arg(uid), id_arg(gid), follow));
}

bool valid_nsec(int64_t nsec) {
  return nsec == kUTIME_NOW || nsec == kUTIME_OMIT || (nsec >= 0 && nsec < 1'000'000'000);
}

}  // namespace

int64_t sys_mkdir(SyscallContext& ctx, const SyscallArgs& a) {
  return do_mkdirat(ctx, kAT_FDCWD, a.a[0], static_cast<uint32_t>(a.a[1]));
}
int64_t sys_mkdirat(SyscallContext& ctx, const SyscallArgs& a) {
  return do_mkdirat(ctx, arg_int(a.a[0]), a.a[1], static_cast<uint32_t>(a.a[2]));
}
int64_t sys_unlink(SyscallContext& ctx, const SyscallArgs& a) {
  return do_unlinkat(ctx, kAT_FDCWD, a.a[0], 0);
}
int64_t sys_unlinkat(SyscallContext& ctx, const SyscallArgs& a) {
  return do_unlinkat(ctx, arg_int(a.a[0]), a.a[1], static_cast<uint32_t>(a.a[2]));
}
int64_t sys_rmdir(SyscallContext& ctx, const SyscallArgs& a) {
  return do_unlinkat(ctx, kAT_FDCWD, a.a[0], kAT_REMOVEDIR);
}
int64_t sys_rename(SyscallContext& ctx, const SyscallArgs& a) {
  return do_renameat(ctx, kAT_FDCWD, a.a[0], kAT_FDCWD, a.a[1]);
}
int64_t sys_renameat(SyscallContext& ctx, const SyscallArgs& a) {
  return do_renameat(ctx, arg_int(a.a[0]), a.a[1], arg_int(a.a[2]), a.a[3]);
}
int64_t sys_link(SyscallContext& ctx, const SyscallArgs& a) {
  return do_linkat(ctx, kAT_FDCWD, a.a[0], kAT_FDCWD, a.a[1], 0);
}
int64_t sys_linkat(SyscallContext& ctx, const SyscallArgs& a) {
  return do_linkat(ctx, arg_int(a.a[0]), a.a[1], arg_int(a.a[2]), a.a[3], a.a[4] & 0xffffffffu);
}
int64_t sys_symlink(SyscallContext& ctx, const SyscallArgs& a) {
  return do_symlinkat(ctx, a.a[0], kAT_FDCWD, a.a[1]);
}
int64_t sys_symlinkat(SyscallContext& ctx, const SyscallArgs& a) {
  return do_symlinkat(ctx, a.a[0], arg_int(a.a[1]), a.a[2]);
}
int64_t sys_chown(SyscallContext& ctx, const SyscallArgs& a) {
  return do_fchownat(ctx, kAT_FDCWD, a.a[0], a.a[1], a.a[2], 0);
}
int64_t sys_lchown(SyscallContext& ctx, const SyscallArgs& a) {
  return do_fchownat(ctx, kAT_FDCWD, a.a[0], a.a[1], a.a[2], kAT_SYMLINK_NOFOLLOW);
}
int64_t sys_fchownat(SyscallContext& ctx, const SyscallArgs& a) {
  return do_fchownat(ctx, arg_int(a.a[0]), a.a[1], a.a[2], a.a[3], static_cast<uint32_t>(a.a[4]));
}
int64_t sys_fchown(SyscallContext& ctx, const SyscallArgs& a) {
  std::shared_ptr<File> f = fd_file(ctx, arg_int(a.a[0]), PathFd::Rejected);
  if (!f) return -EBADF;
  ctx.vfs().chown(*f, id_arg(a.a[1]), id_arg(a.a[2]));
  return 0;
}
int64_t sys_chmod(SyscallContext& ctx, const SyscallArgs& a) {
  return do_fchmodat(ctx, kAT_FDCWD, a.a[0], static_cast<uint32_t>(a.a[1]));
}
int64_t sys_fchmodat(SyscallContext& ctx, const SyscallArgs& a) {
  return do_fchmodat(ctx, arg_int(a.a[0]), a.a[1], static_cast<uint32_t>(a.a[2]));
}

int64_t sys_fchmod(SyscallContext& ctx, const SyscallArgs& a) {
  std::shared_ptr<File> f = fd_file(ctx, arg_int(a.a[0]), PathFd::Rejected);
  if (!f) return -EBADF;
  ctx.vfs().chmod(*f, static_cast<uint32_t>(a.a[1]));
  return 0;
}

// utimensat(dirfd, path, times[2], flags); a null path (futimens) means dirfd itself.
int64_t sys_utimensat(SyscallContext& ctx, const SyscallArgs& a) {
  const int dirfd = arg_int(a.a[0]);
  const uint32_t flags = static_cast<uint32_t>(a.a[3]);
  if (flags & ~(kAT_SYMLINK_NOFOLLOW | kAT_EMPTY_PATH)) return -EINVAL;
  Timespec times[2] = {{0, kUTIME_NOW}, {0, kUTIME_NOW}};
  if (a.a[2] != 0) {
    if (!ctx.read_user(GuestAddr{a.a[2]}, times, sizeof times)) return -EFAULT;
    if (!valid_nsec(times[0].nsec) || !valid_nsec(times[1].nsec)) return -EINVAL;
  }
  std::string path;
  if (a.a[1] != 0) {
    Result<std::string> p = path_arg(ctx, a.a[1]);
    if (!p) return neg_errno(p.error());
    path = std::move(*p);
  } else if (flags & kAT_SYMLINK_NOFOLLOW) {
    return -EINVAL;
  } else if (dirfd == kAT_FDCWD) {
    return -EFAULT;
  }
  if (path.empty()) {
    if (a.a[1] != 0 && !(flags & kAT_EMPTY_PATH)) return -ENOENT;
    std::shared_ptr<File> f = fd_file(ctx, dirfd, PathFd::Rejected);
    if (!f) return -EBADF;
    ctx.vfs().utimens(*f, times);
    return 0;
  }
  Result<std::string> base = at_base(ctx, dirfd, path);
  if (!base) return neg_errno(base.error());
  const Follow follow = (flags & kAT_SYMLINK_NOFOLLOW) ? Follow::No : Follow::Yes;
  return ok_or_errno(ctx.vfs().utimens(caller_of(ctx), *base, path, times, follow));
}

int64_t sys_statfs(SyscallContext& ctx, const SyscallArgs& a) {
  Result<std::string> path = path_arg(ctx, a.a[0]);
  if (!path) return neg_errno(path.error());
  Result<KStatfs> st = ctx.vfs().statfs(caller_of(ctx), ctx.fs().cwd, *path);
  if (!st) return neg_errno(st.error());
  const std::array<uint8_t, kStatfsSize> bytes = encode_statfs(*st);
  return put_user_bytes(ctx, a.a[1], bytes.data(), bytes.size());
}

int64_t sys_fstatfs(SyscallContext& ctx, const SyscallArgs& a) {
  std::shared_ptr<File> f = fd_file(ctx, arg_int(a.a[0]), PathFd::Allowed);
  if (!f) return -EBADF;
  const std::array<uint8_t, kStatfsSize> bytes = encode_statfs(Vfs::statfs_of(f->dev()));
  return put_user_bytes(ctx, a.a[1], bytes.data(), bytes.size());
}

}  // namespace probesim::emu
