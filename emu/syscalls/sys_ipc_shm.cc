// System V shared memory: shmget, shmat, shmdt, shmctl (ipc/shm.c). A segment is an
// in-memory inode; shmat maps it MAP_SHARED into the caller (fork copies the mapping, other
// processes attach by id), so every attachment shares its pages.
#include <cerrno>

#include "emu/ipc/ipc_namespace.h"
#include "emu/machine_state.h"
#include "emu/syscalls/sys_fs_common.h"
#include "emu/syscalls/sys_ipc.h"
#include "emu/syscalls/syscall_handlers.h"
#include "mmu/vm_flags.h"

namespace probesim::emu {
namespace {

constexpr uint64_t kShmMax = ~uint64_t{0} - (uint64_t{1} << 24);  // SHMMAX (shm.h)
constexpr uint64_t kShmLba = 4096;                                // SHMLBA: PAGE_SIZE
constexpr int kShmRdonly = 010000, kShmRnd = 020000, kShmRemap = 040000, kShmExec = 0100000;
constexpr int kShmLock = 11, kShmUnlock = 12;

// struct shmid64_ds (asm-generic/shmbuf.h; x86_64 uses it too).
struct GuestShmid64Ds {
  GuestIpc64Perm shm_perm;
  uint64_t shm_segsz;
  int64_t shm_atime, shm_dtime, shm_ctime;
  int32_t shm_cpid, shm_lpid;
  uint64_t shm_nattch;
  uint64_t unused4, unused5;
};
static_assert(sizeof(GuestShmid64Ds) == 112);

ShmSegment* find_segment(SyscallContext& ctx, int id) {
  return static_cast<ShmSegment*>(ctx.machine().ipc().shm.find(id));
}

int64_t new_segment(SyscallContext& ctx, uint64_t size, std::unique_ptr<IpcObject>& out) {
  auto seg = std::make_unique<ShmSegment>();
  mmu::InodeAttrs attrs;
  attrs.mode = S_IFREG | 0600;
  attrs.nlink = 1;
  attrs.size = size;
  const uint64_t pages = (size + 4095) / 4096 * 4096;
  const std::string key = "sysvshm:" + std::to_string(ctx.machine().ipc().next_shm_inode());
  Result<InodeRef> inode = insert_inode(ctx.inodes(), key, "/SYSV", attrs, nullptr, pages);
  if (!inode) return -ENOMEM;
  seg->file = std::move(*inode);
  seg->size = size;
  seg->cpid = ctx.pid();
  seg->ctime = ipc_now(ctx);
  out = std::move(seg);
  return 0;
}

int64_t shm_stat(SyscallContext& ctx, const ShmSegment& s, uint64_t buf) {
  GuestShmid64Ds d{};
  d.shm_perm = to_guest(s.perm);
  d.shm_segsz = s.size;
  d.shm_atime = s.atime;
  d.shm_dtime = s.dtime;
  d.shm_ctime = s.ctime;
  d.shm_cpid = s.cpid;
  d.shm_lpid = s.lpid;
  d.shm_nattch = s.nattch();
  return put_user_bytes(ctx, buf, &d, sizeof d);
}

// IPC_RMID: the key is free at once; the segment goes with its last attachment.
int64_t shm_rmid(SyscallContext& ctx, ShmSegment& s) {
  IpcNamespace& ns = ctx.machine().ipc();
  ns.shm.forget_key(s);
  s.perm.key = kIpcPrivate;
  s.perm.mode |= ShmSegment::kShmDest;
  ns.reap_segments();
  return 0;
}

}  // namespace

// newseg: SHMMIN (1) .. SHMMAX bytes; an existing segment smaller than size is EINVAL.
int64_t sys_shmget(SyscallContext& ctx, const SyscallArgs& a) {
  const uint64_t size = a.a[1];
  auto make = [&](std::unique_ptr<IpcObject>& out) -> int64_t {
    if (size < 1 || size > kShmMax) return -EINVAL;
    return new_segment(ctx, size, out);
  };
  auto check = [&](IpcObject& obj) -> int64_t {
    return static_cast<ShmSegment&>(obj).size < size ? -EINVAL : 0;
  };
  ctx.machine().ipc().reap_segments();
  return ctx.machine().ipc().shm.get(arg_int(a.a[0]), arg_int(a.a[2]), make, check);
}

// do_shmat: at shmaddr (rounded down with SHM_RND, else it must be SHMLBA-aligned; a busy
// range is EINVAL without SHM_REMAP) or where the mm chooses; SHM_RDONLY maps it read-only.
int64_t sys_shmat(SyscallContext& ctx, const SyscallArgs& a) {
  const int id = arg_int(a.a[0]);
  uint64_t addr = a.a[1];
  const int flags = arg_int(a.a[2]);
  if (id < 0) return -EINVAL;
  if (addr & (kShmLba - 1)) {
    if (!(flags & kShmRnd)) return -EINVAL;
    addr &= ~(kShmLba - 1);
  }
  ShmSegment* s = find_segment(ctx, id);
  if (s == nullptr) return -EINVAL;
  const uint64_t len = (s->size + 4095) / 4096 * 4096;
  int map_flags = mmu::kMapShared;
  if (addr) {
    map_flags |= mmu::kMapFixed;
    if (!(flags & kShmRemap)) {
      const mmu::Vma* v = ctx.mm().find_vma(GuestAddr{addr});
      if (addr + len < addr || (v && v->vm_start.value < addr + len)) return -EINVAL;
    }
  }
  int prot = mmu::kProtRead | ((flags & kShmRdonly) ? 0 : mmu::kProtWrite);
  if (flags & kShmExec) prot |= mmu::kProtExec;
  const mmu::FileMode mode =
      (flags & kShmRdonly) ? mmu::FileMode::ReadOnly : mmu::FileMode::ReadWrite;
  const int64_t r =
      ctx.mm().mmap(GuestAddr{addr}, len, prot, map_flags, s->file.get(), FileOffset{0}, mode);
  if (r < 0) return r;
  s->atime = ipc_now(ctx);
  s->lpid = ctx.pid();
  return r;
}

// shmdt: the attachment that starts at shmaddr (EINVAL if none) is unmapped.
int64_t sys_shmdt(SyscallContext& ctx, const SyscallArgs& a) {
  const uint64_t addr = a.a[0];
  if (addr & (kShmLba - 1)) return -EINVAL;
  const mmu::Vma* v = ctx.mm().find_vma(GuestAddr{addr});
  IpcNamespace& ns = ctx.machine().ipc();
  ShmSegment* s = v && v->vm_start.value == addr && v->vm_pgoff == 0 ? ns.segment_of(v->vm_file)
                                                                     : nullptr;
  if (s == nullptr) return -EINVAL;
  const uint64_t len = (s->size + 4095) / 4096 * 4096;
  ctx.mm().munmap(GuestAddr{addr}, len);
  s->dtime = ipc_now(ctx);
  s->lpid = ctx.pid();
  ns.reap_segments();
  return 0;
}

// shmctl: IPC_STAT, IPC_SET, IPC_RMID, SHM_LOCK/SHM_UNLOCK (the SHM_LOCKED mode flag only).
int64_t sys_shmctl(SyscallContext& ctx, const SyscallArgs& a) {
  const int id = arg_int(a.a[0]);
  const int cmd = arg_int(a.a[1]);
  if (id < 0 || cmd < 0) return -EINVAL;
  const bool known = cmd == kIpcStat || cmd == kIpcSet || cmd == kIpcRmid || cmd == kShmLock ||
                     cmd == kShmUnlock;
  if (!known) return -EINVAL;
  ShmSegment* s = find_segment(ctx, id);
  if (s == nullptr) return -EINVAL;
  switch (cmd) {
    case kIpcStat: return shm_stat(ctx, *s, a.a[2]);
    case kIpcSet: {
      GuestShmid64Ds d;
      if (!ctx.read_user(GuestAddr{a.a[2]}, &d, sizeof d)) return -EFAULT;
      update_perm(s->perm, d.shm_perm);
      s->ctime = ipc_now(ctx);
      return 0;
    }
    case kIpcRmid: return shm_rmid(ctx, *s);
    case kShmLock: s->perm.mode |= ShmSegment::kShmLocked; return 0;
    default: s->perm.mode &= ~ShmSegment::kShmLocked; return 0;
  }
}

}  // namespace probesim::emu
