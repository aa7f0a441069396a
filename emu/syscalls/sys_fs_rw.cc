// File syscalls, part 2: moving data (read/write and friends, sendfile, getdents64), seeking,
// truncation, sync and ioctl.
#include <algorithm>
#include <cerrno>
#include <vector>

#include "emu/syscalls/sys_fs_common.h"
#include "emu/syscalls/syscall_handlers.h"
#include "emu/vfs/vfs_abi.h"

namespace probesim::emu {
namespace {

enum class Dir { Read, Write };

std::shared_ptr<File> rw_file(SyscallContext& ctx, int fd, Dir dir) {
  std::shared_ptr<File> f = fd_file(ctx, fd, PathFd::Rejected);
  if (!f || !(dir == Dir::Read ? f->readable() : f->writable())) return nullptr;
  return f;
}

int64_t do_rw(SyscallContext& ctx, const SyscallArgs& a, Dir dir, bool positional) {
  std::shared_ptr<File> f = rw_file(ctx, arg_int(a.a[0]), dir);
  if (!f) return -EBADF;
  std::optional<uint64_t> pos;
  if (positional) {
    if (static_cast<int64_t>(a.a[3]) < 0) return -EINVAL;
    pos = a.a[3];
  }
  return dir == Dir::Read ? read_to_user(ctx, *f, GuestAddr{a.a[1]}, a.a[2], pos)
                          : write_from_user(ctx, *f, GuestAddr{a.a[1]}, a.a[2], pos);
}

struct Iovec {
  uint64_t base;
  uint64_t len;
};

// readv/writev: segments in order, stopping at the first short transfer (fs/read_write.c).
int64_t do_rwv(SyscallContext& ctx, const SyscallArgs& a, Dir dir) {
  std::shared_ptr<File> f = rw_file(ctx, arg_int(a.a[0]), dir);
  if (!f) return -EBADF;
  const int iovcnt = arg_int(a.a[2]);
  if (iovcnt < 0 || iovcnt > kIovMax) return -EINVAL;
  std::vector<Iovec> iov(static_cast<size_t>(iovcnt));
  if (!ctx.read_user(GuestAddr{a.a[1]}, iov.data(), iov.size() * sizeof(Iovec))) return -EFAULT;
  uint64_t total = 0;
  // A negative length or total is EINVAL before anything moves; a bad segment (access_ok
  // included) ends the transfer there, EFAULT only if it is the first (as Linux 6.x and qemu).
  for (const Iovec& v : iov) {
    if (static_cast<int64_t>(v.len) < 0 || __builtin_add_overflow(total, v.len, &total) ||
        static_cast<int64_t>(total) < 0) {
      return -EINVAL;
    }
  }
  int64_t done = 0;
  for (const Iovec& v : iov) {
    if (v.len == 0) continue;
    const int64_t n = dir == Dir::Read ? read_to_user(ctx, *f, GuestAddr{v.base}, v.len, {})
                                       : write_from_user(ctx, *f, GuestAddr{v.base}, v.len, {});
    if (n < 0) return done ? done : n;
    done += n;
    if (static_cast<uint64_t>(n) < v.len) break;
  }
  return done;
}

// Copies up to count bytes from in (at *pos, or its f_pos) to out; on a short write the
// unwritten part is given back to in's f_pos. Returns bytes copied or -errno if none.
int64_t copy_file_to_file(File& in, File& out, std::optional<uint64_t> pos, uint64_t count) {
  std::vector<uint8_t> chunk(std::min<uint64_t>(count, 64 * 1024));
  uint64_t done = 0;
  while (done < count) {
    const std::span<uint8_t> want(chunk.data(), std::min<uint64_t>(chunk.size(), count - done));
    const int64_t n = pos ? in.pread(want, *pos + done) : in.read(want);
    if (n <= 0) {
      if (done > 0 || n == 0) break;
      return n == File::kWouldBlock ? -EAGAIN : n;
    }
    const int64_t w = out.write(std::span<const uint8_t>(chunk.data(), static_cast<size_t>(n)));
    const int64_t written = std::max<int64_t>(w, 0);
    if (written < n && !pos && in.is_regular()) {
      in.set_f_pos(in.f_pos() - static_cast<uint64_t>(n - written));
    }
    if (w < 0) return done ? static_cast<int64_t>(done) : w;
    done += static_cast<uint64_t>(w);
    if (w < n || static_cast<uint64_t>(n) < want.size()) break;
  }
  return static_cast<int64_t>(done);
}

}  // namespace

int64_t sys_read(SyscallContext& ctx, const SyscallArgs& a) {
  return do_rw(ctx, a, Dir::Read, false);
}
int64_t sys_write(SyscallContext& ctx, const SyscallArgs& a) {
  return do_rw(ctx, a, Dir::Write, false);
}
int64_t sys_pread64(SyscallContext& ctx, const SyscallArgs& a) {
  return do_rw(ctx, a, Dir::Read, true);
}
int64_t sys_pwrite64(SyscallContext& ctx, const SyscallArgs& a) {
  return do_rw(ctx, a, Dir::Write, true);
}
int64_t sys_readv(SyscallContext& ctx, const SyscallArgs& a) {
  return do_rwv(ctx, a, Dir::Read);
}
int64_t sys_writev(SyscallContext& ctx, const SyscallArgs& a) {
  return do_rwv(ctx, a, Dir::Write);
}

int64_t sys_lseek(SyscallContext& ctx, const SyscallArgs& a) {
  std::shared_ptr<File> f = fd_file(ctx, arg_int(a.a[0]), PathFd::Rejected);
  if (!f) return -EBADF;
  const int whence = arg_int(a.a[2]);
  if (whence < kSEEK_SET || whence > kSEEK_HOLE) return -EINVAL;
  return f->lseek(static_cast<int64_t>(a.a[1]), whence);
}

// sendfile(out_fd, in_fd, offset*, count): in_fd must be a regular file or a device.
int64_t sys_sendfile(SyscallContext& ctx, const SyscallArgs& a) {
  std::shared_ptr<File> in = rw_file(ctx, arg_int(a.a[1]), Dir::Read);
  std::shared_ptr<File> out = rw_file(ctx, arg_int(a.a[0]), Dir::Write);
  if (!in || !out) return -EBADF;
  if (out->f_flags() & kO_APPEND) return -EINVAL;
  const uint32_t in_type = in->inode()->attrs().mode & S_IFMT;
  if (in_type != S_IFREG && in_type != S_IFCHR) return -EINVAL;
  std::optional<uint64_t> pos;
  if (a.a[2] != 0) {
    int64_t off = 0;
    if (!ctx.read_user(GuestAddr{a.a[2]}, &off, sizeof off)) return -EFAULT;
    if (off < 0) return -EINVAL;
    pos = static_cast<uint64_t>(off);
  }
  const int64_t n = copy_file_to_file(*in, *out, pos, std::min<uint64_t>(a.a[3], kMaxRwCount));
  if (pos && n > 0) {
    const int64_t new_off = static_cast<int64_t>(*pos) + n;
    if (!ctx.write_user(GuestAddr{a.a[2]}, &new_off, sizeof new_off)) return -EFAULT;
  }
  return n;
}

int64_t sys_getdents64(SyscallContext& ctx, const SyscallArgs& a) {
  std::shared_ptr<File> f = fd_file(ctx, arg_int(a.a[0]), PathFd::Rejected);
  if (!f) return -EBADF;
  if (!f->is_dir()) return -ENOTDIR;
  std::vector<uint8_t> buf(std::min<uint64_t>(a.a[2] & 0xffffffffu, 1 << 20));
  const uint64_t pos = f->f_pos();
  const int64_t n = f->getdents64(buf);
  if (n <= 0) return n;
  if (!ctx.write_user(GuestAddr{a.a[1]}, buf.data(), static_cast<size_t>(n))) {
    f->set_f_pos(pos);
    return -EFAULT;
  }
  return n;
}

int64_t sys_ftruncate(SyscallContext& ctx, const SyscallArgs& a) {
  std::shared_ptr<File> f = fd_file(ctx, arg_int(a.a[0]), PathFd::Rejected);
  if (!f) return -EBADF;
  const int64_t length = static_cast<int64_t>(a.a[1]);
  if (length < 0 || !f->is_regular() || !f->writable()) return -EINVAL;
  return f->truncate(static_cast<uint64_t>(length));
}

int64_t sys_fsync(SyscallContext& ctx, const SyscallArgs& a) {
  std::shared_ptr<File> f = fd_file(ctx, arg_int(a.a[0]), PathFd::Rejected);
  return f ? f->fsync() : -EBADF;
}

int64_t sys_fdatasync(SyscallContext& ctx, const SyscallArgs& a) {
  return sys_fsync(ctx, a);
}

// The fd-generic ioctls of do_vfs_ioctl, then the file's own (-ENOTTY: never a terminal).
int64_t sys_ioctl(SyscallContext& ctx, const SyscallArgs& a) {
  const int fd = arg_int(a.a[0]);
  std::shared_ptr<File> f = fd_file(ctx, fd, PathFd::Rejected);
  if (!f) return -EBADF;
  const uint64_t cmd = a.a[1] & 0xffffffffu;
  const GuestAddr arg{a.a[2]};
  int on = 0;
  switch (cmd) {
    case kFIOCLEX:
      return ctx.fds().set_cloexec(fd, CloseOnExec::Yes);
    case kFIONCLEX:
      return ctx.fds().set_cloexec(fd, CloseOnExec::No);
    case kFIONBIO:
    case kFIOASYNC: {
      if (!ctx.read_user(arg, &on, sizeof on)) return -EFAULT;
      const uint32_t bit = cmd == kFIONBIO ? kO_NONBLOCK : kFASYNC;
      f->set_f_flags(on ? (f->f_flags() | bit) : (f->f_flags() & ~bit));
      return 0;
    }
    case kFIONREAD:
      if (!f->is_regular()) break;
      on = static_cast<int>(std::min<uint64_t>(
          f->inode()->i_size() - std::min(f->f_pos(), f->inode()->i_size()), INT32_MAX));
      return put_user_bytes(ctx, arg.value, &on, sizeof on);
    default:
      break;
  }
  return f->ioctl(cmd, arg.value);
}

}  // namespace probesim::emu
