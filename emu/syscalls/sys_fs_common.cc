#include "emu/syscalls/sys_fs_common.h"

#include "emu/machine_state.h"

#include <algorithm>
#include <cerrno>
#include <vector>

#include "emu/vfs/fd_table.h"
#include "emu/vfs/fs_struct.h"
#include "emu/vfs/vfs_abi.h"
#include "mmu/mm.h"
#include "probesim/assert.h"

namespace probesim::emu {
namespace {

// Data moves between Files and guest memory in chunks of this size, so a huge count never
// allocates more than this on the host.
constexpr uint64_t kChunk = 64 * 1024;

// Nothing can be transferred now: O_NONBLOCK files say -EAGAIN; a blocking file blocks the task
// on the file's wait object and the syscall restarts when that object changes (WaitQueues).
int64_t would_block(SyscallContext& ctx, const File& f) {
  if (f.f_flags() & kO_NONBLOCK) return -EAGAIN;
  ctx.machine().waitq().add(f.wait_object(), ctx.task());
  ctx.machine().sched().block(ctx.task(), WaitInfo{WaitInfo::Kind::Queue, 0, 0});
  ctx.disposition = SyscallDisposition::Blocked;
  return 0;
}

}  // namespace

Caller caller_of(SyscallContext& ctx) {
  return Caller{ctx.fs(), &ctx.fds(), ctx.exe_path(), ctx.pid(), &ctx.proc().cred};
}

std::shared_ptr<File> fd_file(SyscallContext& ctx, int fd, PathFd path_fd) {
  std::shared_ptr<File> f = ctx.fds().get(fd);
  if (f && path_fd == PathFd::Rejected && f->is_path_only()) return nullptr;
  return f;
}

Result<std::string> at_base(SyscallContext& ctx, int dirfd, std::string_view path) {
  if (!path.empty() && path[0] == '/') return std::string("/");
  if (dirfd == kAT_FDCWD) return ctx.fs().cwd;
  std::shared_ptr<File> dir = ctx.fds().get(dirfd);
  if (!dir) return vfs_error(EBADF, path);
  if (!dir->is_dir()) return vfs_error(ENOTDIR, path);
  return dir->path();
}

Result<std::string> path_arg(SyscallContext& ctx, uint64_t ptr) {
  if (ptr == 0) return Error::make("null path", EFAULT);
  return ctx.read_path(GuestAddr{ptr});
}

// Both directions follow vfs_read/vfs_write: access_ok on the whole buffer first (EFAULT
// before anything moves, even for a count past MAX_RW_COUNT), then chunks. A chunk is limited
// to the part of the user buffer that can be accessed, so a partly bad buffer gives a short
// transfer and a bad one EFAULT with nothing consumed: a pipe keeps its data for the next read
// (pipe_read copies before it consumes), a regular file's f_pos does not move.
int64_t read_to_user(SyscallContext& ctx, File& f, GuestAddr buf, uint64_t count,
                     std::optional<uint64_t> pos) {
  if (!ctx.access_ok(buf, count)) return -EFAULT;
  count = std::min(count, kMaxRwCount);
  std::vector<uint8_t> chunk(std::min(count, kChunk));
  uint64_t done = 0;
  while (done < count) {
    const size_t room = ctx.mm().accessible_prefix(buf + done, std::min(kChunk, count - done),
                                                   mmu::Access::Write);
    if (room == 0) return done ? static_cast<int64_t>(done) : -EFAULT;
    const std::span<uint8_t> want(chunk.data(), room);
    const int64_t n = pos ? f.pread(want, *pos + done) : f.read(want);
    if (n == File::kWouldBlock) return done ? static_cast<int64_t>(done) : would_block(ctx, f);
    if (n < 0) return done ? static_cast<int64_t>(done) : n;
    if (n == 0) break;
    PROBESIM_ASSERT(ctx.write_user(buf + done, chunk.data(), static_cast<size_t>(n)));
    done += static_cast<uint64_t>(n);
    if (static_cast<uint64_t>(n) < want.size()) break;
  }
  return static_cast<int64_t>(done);
}

int64_t write_from_user(SyscallContext& ctx, File& f, GuestAddr buf, uint64_t count,
                        std::optional<uint64_t> pos) {
  if (!ctx.access_ok(buf, count)) return -EFAULT;
  count = std::min(count, kMaxRwCount);
  std::vector<uint8_t> chunk(std::min(count, kChunk));
  uint64_t done = 0;
  while (done < count) {
    const size_t avail = ctx.mm().accessible_prefix(buf + done, std::min(kChunk, count - done),
                                                    mmu::Access::Read);
    if (avail == 0) return done ? static_cast<int64_t>(done) : -EFAULT;
    const std::span<uint8_t> part(chunk.data(), avail);
    PROBESIM_ASSERT(ctx.read_user(buf + done, part.data(), part.size()));
    const int64_t n = pos ? f.pwrite(part, *pos + done) : f.write(part);
    if (n == File::kWouldBlock) return done ? static_cast<int64_t>(done) : would_block(ctx, f);
    if (n < 0) return done ? static_cast<int64_t>(done) : n;
    done += static_cast<uint64_t>(n);
    if (static_cast<uint64_t>(n) < part.size()) break;
  }
  return static_cast<int64_t>(done);
}

int64_t put_user_bytes(SyscallContext& ctx, uint64_t dst, const void* src, size_t n) {
  return ctx.write_user(GuestAddr{dst}, src, n) ? 0 : -EFAULT;
}

}  // namespace probesim::emu
