// Memory syscalls: thin wrappers over the mm model (mmu::Mm), which implements Linux's
// semantics and returns -errno itself. Here: argument checks that involve the fd table
// (mmap of a file needs a regular file opened with compatible access).
#include <cerrno>

#include "emu/process.h"
#include "emu/vfs/fd_table.h"
#include "emu/machine_state.h"
#include "emu/syscalls/syscall_handlers.h"
#include "emu/vfs/file.h"
#include "mmu/vm_flags.h"

namespace probesim::emu {
namespace {

// mmap of an fd: the inode to map and whether the file was opened for writing, or -errno
// (EBADF, ENODEV, EACCES) as do_mmap checks. The mm itself refuses shared writable mappings of
// files opened read-only (FileMode::ReadOnly), as Linux does through VM_MAYWRITE.
int64_t mmap_file(SyscallContext& ctx, int fd, mmu::Inode** inode, mmu::FileMode* mode) {
  std::shared_ptr<File> f = ctx.fds().get(fd);
  if (!f) return -EBADF;
  if (!f->is_regular() || f->is_path_only()) return -ENODEV;
  if (!f->readable()) return -EACCES;
  *inode = f->inode();
  *mode = f->writable() ? mmu::FileMode::ReadWrite : mmu::FileMode::ReadOnly;
  return 0;
}

}  // namespace

int64_t sys_mmap(SyscallContext& ctx, const SyscallArgs& a) {
  int prot = static_cast<int>(a.a[2]);
  int flags = static_cast<int>(a.a[3]);
  mmu::Inode* inode = nullptr;
  mmu::FileMode mode = mmu::FileMode::ReadWrite;
  if (!(flags & mmu::kMapAnonymous)) {
    int64_t r = mmap_file(ctx, static_cast<int>(a.a[4]), &inode, &mode);
    if (r < 0) return r;
  }
  int64_t r = ctx.mm().mmap(GuestAddr{a.a[0]}, a.a[1], prot, flags, inode, FileOffset{a.a[5]}, mode);
  if (r >= 0 && inode) ctx.machine().uprobe_mmap(ctx.mm(), GuestAddr{static_cast<uint64_t>(r)});
  return r;
}

int64_t sys_munmap(SyscallContext& ctx, const SyscallArgs& a) {
  ctx.machine().uprobe_munmap(ctx.mm(), GuestAddr{a.a[0]}, a.a[1]);
  return ctx.mm().munmap(GuestAddr{a.a[0]}, a.a[1]);
}

int64_t sys_mprotect(SyscallContext& ctx, const SyscallArgs& a) {
  return ctx.mm().mprotect(GuestAddr{a.a[0]}, a.a[1], static_cast<int>(a.a[2]));
}

int64_t sys_brk(SyscallContext& ctx, const SyscallArgs& a) {
  return static_cast<int64_t>(ctx.mm().brk(GuestAddr{a.a[0]}));
}

int64_t sys_madvise(SyscallContext& ctx, const SyscallArgs& a) {
  return ctx.mm().madvise(GuestAddr{a.a[0]}, a.a[1], static_cast<int>(a.a[2]));
}

}  // namespace probesim::emu
