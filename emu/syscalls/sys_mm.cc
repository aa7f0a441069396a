// Memory syscalls: thin wrappers over the mm model (mmu::Mm), which implements Linux's
// semantics and returns -errno itself. Here: argument checks that involve the fd table
// (mmap of a file needs a regular file opened with compatible access), and the calls that
// only query or advise: msync, mincore, fadvise64, membarrier (their model is stated at each).
#include <sys/stat.h>

#include <algorithm>
#include <cerrno>
#include <vector>

#include "emu/process.h"
#include "emu/vfs/fd_table.h"
#include "emu/machine_state.h"
#include "emu/syscalls/syscall_handlers.h"
#include "emu/vfs/file.h"
#include "emu/vfs/memfd_file.h"
#include "mmu/vm_flags.h"

namespace probesim::emu {
namespace {

// mmap of an fd: the inode to map and whether the file was opened for writing, or -errno
// (EBADF, ENODEV, EACCES) as do_mmap checks. The mm itself refuses shared writable mappings of
// files opened read-only (FileMode::ReadOnly), as Linux does through VM_MAYWRITE.
int64_t mmap_file(SyscallContext& ctx, int fd, int prot, int flags, mmu::Inode** inode,
                  mmu::FileMode* mode) {
  std::shared_ptr<File> f = ctx.fds().get(fd);
  if (!f) return -EBADF;
  if (!f->is_regular() || f->is_path_only()) return -ENODEV;
  if (!f->readable()) return -EACCES;
  *inode = f->inode();
  *mode = f->writable() ? mmu::FileMode::ReadWrite : mmu::FileMode::ReadOnly;
  // A write-sealed memfd (memfd_file.h): no writable shared mapping, and none that mprotect
  // could make writable (no VM_MAYWRITE; the mapping then behaves as one of a read-only file).
  if (const auto* memfd = dynamic_cast<const MemfdFile*>(f.get());
      memfd && !memfd->may_map_shared_write() && (flags & mmu::kMapType) != mmu::kMapPrivate) {
    if (prot & mmu::kProtWrite) return -EPERM;
    *mode = mmu::FileMode::ReadOnly;
  }
  return 0;
}

}  // namespace

int64_t sys_mmap(SyscallContext& ctx, const SyscallArgs& a) {
  int prot = static_cast<int>(a.a[2]);
  int flags = static_cast<int>(a.a[3]);
  mmu::Inode* inode = nullptr;
  mmu::FileMode mode = mmu::FileMode::ReadWrite;
  if (!(flags & mmu::kMapAnonymous)) {
    int64_t r = mmap_file(ctx, static_cast<int>(a.a[4]), prot, flags, &inode, &mode);
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

namespace {

// include/uapi/asm-generic/mman-common.h
constexpr int kMsAsync = 1, kMsInvalidate = 2, kMsSync = 4;
constexpr int kPosixFadvNoreuse = 5;  // POSIX_FADV_NORMAL 0 ... NOREUSE 5 (uapi/linux/fadvise.h)

// include/uapi/linux/membarrier.h
enum MembarrierCmd : uint32_t {
  kMbQuery = 0,
  kMbGlobal = 1 << 0,
  kMbGlobalExpedited = 1 << 1,
  kMbRegisterGlobalExpedited = 1 << 2,
  kMbPrivateExpedited = 1 << 3,
  kMbRegisterPrivateExpedited = 1 << 4,
  kMbPrivateExpeditedSyncCore = 1 << 5,
  kMbRegisterPrivateExpeditedSyncCore = 1 << 6,
  kMbPrivateExpeditedRseq = 1 << 7,
  kMbRegisterPrivateExpeditedRseq = 1 << 8,
};
constexpr uint32_t kMbFlagCpu = 1;  // MEMBARRIER_CMD_FLAG_CPU
// Linux 6.1's MEMBARRIER_CMD_BITMASK on x86-64 and arm64 (both have SYNC_CORE and RSEQ; 6.3's
// MEMBARRIER_CMD_GET_REGISTRATIONS is not in 6.1, the kernel uname reports).
constexpr uint32_t kMbCommands = (kMbRegisterPrivateExpeditedRseq << 1) - 1;

// Each private command and the registration that must precede it (the registration of the
// mm's membarrier_state; the global expedited one needs none from its caller).
struct MbPrivate {
  uint32_t cmd, registration;
};
constexpr MbPrivate kMbPrivate[] = {
    {kMbPrivateExpedited, kMbRegisterPrivateExpedited},
    {kMbPrivateExpeditedSyncCore, kMbRegisterPrivateExpeditedSyncCore},
    {kMbPrivateExpeditedRseq, kMbRegisterPrivateExpeditedRseq},
};

}  // namespace

// msync (mm/msync.c): EINVAL for unknown flags, MS_ASYNC|MS_SYNC or an unaligned start;
// ENOMEM when the range wraps or holes lie in it (MS_ASYNC stops at the first hole; the other
// calls go on and report ENOMEM at the end). A MAP_SHARED file mapping maps the page-cache
// frames themselves (mmu/README.md), so its stores are already what read(2) sees: there is
// nothing to write back and no disk to wait for.
int64_t sys_msync(SyscallContext& ctx, const SyscallArgs& a) {
  const uint64_t start = a.a[0];
  const int flags = static_cast<int>(a.a[2]);
  if ((flags & ~(kMsAsync | kMsInvalidate | kMsSync)) || !page_aligned(start)) return -EINVAL;
  if ((flags & kMsAsync) && (flags & kMsSync)) return -EINVAL;
  const uint64_t end = start + page_align_up(a.a[1]);
  if (end < start) return -ENOMEM;
  int64_t unmapped = 0;
  for (uint64_t at = start; at < end;) {
    const mmu::Vma* v = ctx.mm().find_vma(GuestAddr{at});
    if (!v) return -ENOMEM;
    if (at < v->vm_start.value) {
      if (flags == kMsAsync || v->vm_start.value >= end) return -ENOMEM;
      unmapped = -ENOMEM;
    }
    if ((flags & kMsInvalidate) && (v->vm_flags & mmu::VM_LOCKED)) return -EBUSY;
    at = v->vm_end.value;
  }
  return unmapped;
}

// mincore (mm/mincore.c): EINVAL for an unaligned start, ENOMEM for a range past TASK_SIZE or
// reaching a hole (the pages before it are reported first), EFAULT for the vector. The model
// keeps no residency (host memory backs every page of a VMA), so every mapped page counts as
// resident: 1.
int64_t sys_mincore(SyscallContext& ctx, const SyscallArgs& a) {
  const uint64_t start = a.a[0], len = a.a[1], vec = a.a[2];
  if (!page_aligned(start)) return -EINVAL;
  if (!ctx.access_ok(GuestAddr{start}, len)) return -ENOMEM;
  const uint64_t pages = page_align_up(len) >> kPageShift;
  if (!ctx.access_ok(GuestAddr{vec}, pages)) return -EFAULT;
  const uint64_t end = start + (pages << kPageShift);
  for (uint64_t at = start; at < end;) {
    const mmu::Vma* v = ctx.mm().vma_at(GuestAddr{at});
    if (!v) return -ENOMEM;
    const uint64_t stop = std::min(v->vm_end.value, end);
    const std::vector<uint8_t> resident((stop - at) >> kPageShift, 1);
    const uint64_t out = vec + ((at - start) >> kPageShift);
    if (!ctx.write_user(GuestAddr{out}, resident.data(), resident.size())) return -EFAULT;
    at = stop;
  }
  return 0;
}

// fadvise64 / arm64's fadvise64_64 (mm/fadvise.c generic_fadvise): EBADF (O_PATH too), ESPIPE
// for a pipe, EINVAL for a negative length or unknown advice; otherwise 0. The advice itself
// changes nothing here: the page cache never evicts (readahead and dropping clean pages have
// no modelled effect).
int64_t sys_fadvise64(SyscallContext& ctx, const SyscallArgs& a) {
  std::shared_ptr<File> f = ctx.fds().get(static_cast<int>(a.a[0]));
  if (!f || f->is_path_only()) return -EBADF;
  if (S_ISFIFO(f->inode()->attrs().mode)) return -ESPIPE;
  const int64_t len = static_cast<int64_t>(a.a[2]);
  const int advice = static_cast<int>(a.a[3]);
  if (len < 0 || advice < 0 || advice > kPosixFadvNoreuse) return -EINVAL;
  return 0;
}

// membarrier (kernel/sched/membarrier.c): QUERY, the registrations (kept per process, as
// mm->membarrier_state) and the barriers, which need their registration first (EPERM). A
// barrier has nothing to wait for: the CPUs of the machine run one at a time, so every store
// of another CPU is already visible when the caller runs.
int64_t sys_membarrier(SyscallContext& ctx, const SyscallArgs& a) {
  const uint32_t cmd = static_cast<uint32_t>(a.a[0]);
  const uint32_t flags = static_cast<uint32_t>(a.a[1]);
  const uint32_t allowed = cmd == kMbPrivateExpeditedRseq ? kMbFlagCpu : 0;
  if (flags & ~allowed) return -EINVAL;
  uint32_t& state = ctx.proc().membarrier_state;
  switch (cmd) {
    case kMbQuery:
      return kMbCommands;
    case kMbGlobal:
    case kMbGlobalExpedited:
      return 0;
    case kMbRegisterGlobalExpedited:
    case kMbRegisterPrivateExpedited:
    case kMbRegisterPrivateExpeditedSyncCore:
    case kMbRegisterPrivateExpeditedRseq:
      state |= cmd;
      return 0;
    default:
      break;
  }
  for (const MbPrivate& p : kMbPrivate)
    if (p.cmd == cmd) return (state & p.registration) ? 0 : -EPERM;
  return -EINVAL;
}

}  // namespace probesim::emu
