// Credential syscalls (kernel/sys.c, kernel/groups.c): the get and set calls of the user and
// group ids and the supplementary groups, over the calling process's Cred (emu/cred.h: the
// rules, what privilege means here, and that permission checks are not modelled).
#include <algorithm>
#include <cerrno>
#include <vector>

#include "emu/cred.h"
#include "emu/process.h"
#include "emu/syscalls/syscall_handlers.h"

namespace probesim::emu {
namespace {

uint32_t id_arg(uint64_t v) {
  return static_cast<uint32_t>(v);  // uid_t / gid_t
}

int64_t put_ids(SyscallContext& ctx, const SyscallArgs& a, const Ids& ids) {
  const uint32_t v[3] = {ids.real, ids.eff, ids.saved};
  for (int i = 0; i < 3; ++i)
    if (!ctx.write_user(GuestAddr{a.a[i]}, &v[i], sizeof v[i])) return -EFAULT;
  return 0;
}

Cred& cred(SyscallContext& ctx) {
  return ctx.proc().cred;
}

}  // namespace

int64_t sys_getuid(SyscallContext& ctx, const SyscallArgs&) {
  return cred(ctx).uid.real;
}
int64_t sys_geteuid(SyscallContext& ctx, const SyscallArgs&) {
  return cred(ctx).uid.eff;
}
int64_t sys_getgid(SyscallContext& ctx, const SyscallArgs&) {
  return cred(ctx).gid.real;
}
int64_t sys_getegid(SyscallContext& ctx, const SyscallArgs&) {
  return cred(ctx).gid.eff;
}
int64_t sys_getresuid(SyscallContext& ctx, const SyscallArgs& a) {
  return put_ids(ctx, a, cred(ctx).uid);
}
int64_t sys_getresgid(SyscallContext& ctx, const SyscallArgs& a) {
  return put_ids(ctx, a, cred(ctx).gid);
}

// The set calls: privilege is the caller's CAP_SETUID / CAP_SETGID before the change.
int64_t sys_setuid(SyscallContext& ctx, const SyscallArgs& a) {
  Cred& c = cred(ctx);
  return set_id(c.uid, c.capable(), id_arg(a.a[0]));
}
int64_t sys_setgid(SyscallContext& ctx, const SyscallArgs& a) {
  Cred& c = cred(ctx);
  return set_id(c.gid, c.capable(), id_arg(a.a[0]));
}
int64_t sys_setreuid(SyscallContext& ctx, const SyscallArgs& a) {
  Cred& c = cred(ctx);
  return set_re_id(c.uid, c.capable(), id_arg(a.a[0]), id_arg(a.a[1]));
}
int64_t sys_setregid(SyscallContext& ctx, const SyscallArgs& a) {
  Cred& c = cred(ctx);
  return set_re_id(c.gid, c.capable(), id_arg(a.a[0]), id_arg(a.a[1]));
}
int64_t sys_setresuid(SyscallContext& ctx, const SyscallArgs& a) {
  Cred& c = cred(ctx);
  return set_res_id(c.uid, c.capable(), id_arg(a.a[0]), id_arg(a.a[1]), id_arg(a.a[2]));
}
int64_t sys_setresgid(SyscallContext& ctx, const SyscallArgs& a) {
  Cred& c = cred(ctx);
  return set_res_id(c.gid, c.capable(), id_arg(a.a[0]), id_arg(a.a[1]), id_arg(a.a[2]));
}
int64_t sys_setfsuid(SyscallContext& ctx, const SyscallArgs& a) {
  Cred& c = cred(ctx);
  return set_fs_id(c.uid, c.capable(), id_arg(a.a[0]));
}
int64_t sys_setfsgid(SyscallContext& ctx, const SyscallArgs& a) {
  Cred& c = cred(ctx);
  return set_fs_id(c.gid, c.capable(), id_arg(a.a[0]));
}

// getgroups(size, list): the number of groups; with size > 0 also the list (EINVAL if it is
// too small).
int64_t sys_getgroups(SyscallContext& ctx, const SyscallArgs& a) {
  const int size = static_cast<int>(a.a[0]);
  const std::vector<uint32_t>& groups = cred(ctx).groups;
  if (size < 0) return -EINVAL;
  if (size > 0) {
    if (groups.size() > static_cast<size_t>(size)) return -EINVAL;
    if (!groups.empty() &&
        !ctx.write_user(GuestAddr{a.a[1]}, groups.data(), groups.size() * sizeof(uint32_t))) {
      return -EFAULT;
    }
  }
  return static_cast<int64_t>(groups.size());
}

// setgroups(size, list): CAP_SETGID (EPERM), at most NGROUPS_MAX (EINVAL), each gid valid
// (EINVAL); the list is kept sorted (groups_sort).
int64_t sys_setgroups(SyscallContext& ctx, const SyscallArgs& a) {
  Cred& c = cred(ctx);
  if (!c.capable()) return -EPERM;
  const uint32_t size = static_cast<uint32_t>(a.a[0]);
  if (size > kNgroupsMax) return -EINVAL;
  std::vector<uint32_t> groups(size);
  if (size > 0 && !ctx.read_user(GuestAddr{a.a[1]}, groups.data(), size * sizeof(uint32_t))) {
    return -EFAULT;
  }
  if (std::find(groups.begin(), groups.end(), kNoId) != groups.end()) return -EINVAL;
  std::sort(groups.begin(), groups.end());
  c.groups = std::move(groups);
  return 0;
}

}  // namespace probesim::emu
