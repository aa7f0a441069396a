// memfd_create(2) and the seal commands of fcntl (mm/memfd.c): an anonymous tmpfs file
// (emu/vfs/memfd_file.h) and F_ADD_SEALS / F_GET_SEALS on it.
#include <cerrno>

#include "emu/syscalls/sys_fs_common.h"
#include "emu/syscalls/syscall_handlers.h"
#include "emu/vfs/memfd_file.h"
#include "mmu/mm.h"

namespace probesim::emu {
namespace {

constexpr uint32_t kMfdCloexec = 0x1, kMfdAllowSealing = 0x2;  // include/uapi/linux/memfd.h
constexpr size_t kMfdNameMaxLen = 249;                         // NAME_MAX - strlen("memfd:")
constexpr int kF_ADD_SEALS = 1033, kF_GET_SEALS = 1034;        // F_LINUX_SPECIFIC_BASE + 9, 10

}  // namespace

// Flags MFD_CLOEXEC and MFD_ALLOW_SEALING; anything else is EINVAL (MFD_HUGETLB too: there is
// no hugetlbfs). The name: EFAULT, or EINVAL past 249 bytes.
int64_t sys_memfd_create(SyscallContext& ctx, const SyscallArgs& a) {
  const uint32_t flags = static_cast<uint32_t>(a.a[1]);
  if (flags & ~(kMfdCloexec | kMfdAllowSealing)) return -EINVAL;
  Result<std::string> name = ctx.mm().strncpy_from_user(GuestAddr{a.a[0]}, kMfdNameMaxLen + 1);
  if (!name) return name.error().err == ENAMETOOLONG ? -EINVAL : neg_errno(name.error());
  const CloseOnExec cloexec = (flags & kMfdCloexec) ? CloseOnExec::Yes : CloseOnExec::No;
  if (int fd = ctx.fds().lowest_free(); fd < 0) return fd;  // get_unused_fd_flags comes first
  Result<std::shared_ptr<File>> file =
      ctx.vfs().make_memfd(caller_of(ctx), *name, (flags & kMfdAllowSealing) != 0);
  if (!file) return neg_errno(file.error());
  return ctx.fds().install(std::move(*file), cloexec);
}

bool is_seal_cmd(int cmd) {
  return cmd == kF_ADD_SEALS || cmd == kF_GET_SEALS;
}

// memfd_fcntl: EINVAL on files that are no memfd.
int64_t fcntl_seals(const std::shared_ptr<File>& f, int cmd, uint64_t arg) {
  auto* memfd = dynamic_cast<MemfdFile*>(f.get());
  if (!memfd) return -EINVAL;
  if (cmd == kF_GET_SEALS) return memfd->seals();
  return memfd->add_seals(static_cast<uint32_t>(arg));
}

}  // namespace probesim::emu
