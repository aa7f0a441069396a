// Extended attributes, read side (fs/xattr.c): getxattr/lgetxattr/fgetxattr and the list
// calls. The guest filesystem stores no extended attributes (the host root's are not
// passed through): a get finds nothing (ENODATA) and a list is empty (0), after the same
// path, fd and name checks Linux makes. Debian's ls -l asks for every file's
// security.selinux and system.posix_acl_access this way.
#include <array>
#include <cerrno>
#include <string_view>

#include "emu/syscalls/sys_fs_common.h"
#include "emu/syscalls/syscall_handlers.h"
#include "mmu/mm.h"

namespace probesim::emu {
namespace {

constexpr size_t kXattrNameMax = 255;  // XATTR_NAME_MAX (include/uapi/linux/limits.h)

// xattr_resolve_name(): the namespaces a filesystem with xattr handlers knows (ext4, tmpfs).
constexpr std::array<std::string_view, 4> kXattrPrefixes = {"security.", "system.", "trusted.",
                                                             "user."};

// The path lookup of path_getxattr/path_listxattr: 0 or -errno.
int64_t lookup(SyscallContext& ctx, uint64_t path_ptr, Follow follow) {
  Result<std::string> path = path_arg(ctx, path_ptr);
  if (!path) return neg_errno(path.error());
  Result<KStat> st = ctx.vfs().stat(caller_of(ctx), ctx.fs().cwd, *path, follow);
  return st ? 0 : neg_errno(st.error());
}

// getxattr() after the lookup: the name is copied like strncpy_from_user into
// char[XATTR_NAME_MAX + 1] (empty or too long: ERANGE), an unknown namespace is EOPNOTSUPP,
// and no attribute exists: ENODATA.
int64_t getxattr_name(SyscallContext& ctx, uint64_t name_ptr) {
  Result<std::string> name = ctx.mm().strncpy_from_user(GuestAddr{name_ptr}, kXattrNameMax + 1);
  if (!name) return name.error().err == ENAMETOOLONG ? -ERANGE : neg_errno(name.error());
  if (name->empty()) return -ERANGE;
  for (std::string_view prefix : kXattrPrefixes)
    if (name->starts_with(prefix) && name->size() > prefix.size()) return -ENODATA;
  return -EOPNOTSUPP;
}

int64_t path_getxattr(SyscallContext& ctx, const SyscallArgs& a, Follow follow) {
  if (int64_t r = lookup(ctx, a.a[0], follow); r < 0) return r;
  return getxattr_name(ctx, a.a[1]);
}

int64_t path_listxattr(SyscallContext& ctx, const SyscallArgs& a, Follow follow) {
  if (int64_t r = lookup(ctx, a.a[0], follow); r < 0) return r;
  return 0;  // an empty list
}

}  // namespace

int64_t sys_getxattr(SyscallContext& ctx, const SyscallArgs& a) {
  return path_getxattr(ctx, a, Follow::Yes);
}

int64_t sys_lgetxattr(SyscallContext& ctx, const SyscallArgs& a) {
  return path_getxattr(ctx, a, Follow::No);
}

int64_t sys_fgetxattr(SyscallContext& ctx, const SyscallArgs& a) {
  if (!fd_file(ctx, arg_int(a.a[0]), PathFd::Rejected)) return -EBADF;  // fdget: no O_PATH
  return getxattr_name(ctx, a.a[1]);
}

int64_t sys_listxattr(SyscallContext& ctx, const SyscallArgs& a) {
  return path_listxattr(ctx, a, Follow::Yes);
}

int64_t sys_llistxattr(SyscallContext& ctx, const SyscallArgs& a) {
  return path_listxattr(ctx, a, Follow::No);
}

int64_t sys_flistxattr(SyscallContext& ctx, const SyscallArgs& a) {
  return fd_file(ctx, arg_int(a.a[0]), PathFd::Rejected) ? 0 : -EBADF;
}

}  // namespace probesim::emu
