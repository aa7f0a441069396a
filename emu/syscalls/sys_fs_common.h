// Helpers shared by the file syscalls (sys_fs*.cc): argument decoding, the *at() base
// directory, fd lookup with O_PATH rules, and copying data between Files and guest memory.
#pragma once

#include <memory>
#include <optional>
#include <string>
#include <string_view>

#include "emu/syscalls/syscall.h"
#include "emu/vfs/caller.h"
#include "emu/vfs/file.h"
#include "emu/vfs/vfs.h"

namespace probesim::emu {

// Syscall int arguments are the low 32 bits of the register (the kernel's `int fd`).
inline int arg_int(uint64_t v) {
  return static_cast<int>(static_cast<int32_t>(v));
}
// -errno of a Vfs Error (EIO if it carries none).
inline int64_t neg_errno(const Error& e) {
  return -static_cast<int64_t>(e.err != 0 ? e.err : EIO);
}

Caller caller_of(SyscallContext& ctx);

// Whether an O_PATH fd is acceptable (fstat, fchdir, dirfds, dup, fcntl) or EBADF (data ops).
enum class PathFd { Allowed, Rejected };
// The file at fd, or null meaning EBADF.
std::shared_ptr<File> fd_file(SyscallContext& ctx, int fd, PathFd path_fd);

// The directory a *at() path starts from: "/" for absolute paths, the cwd for AT_FDCWD,
// otherwise the dirfd's directory (EBADF if not open, ENOTDIR if not a directory).
Result<std::string> at_base(SyscallContext& ctx, int dirfd, std::string_view path);

// A path argument; a null pointer is EFAULT like any other bad pointer.
Result<std::string> path_arg(SyscallContext& ctx, uint64_t ptr);

// read/pread into guest memory: up to count bytes from f (at *pos, or at f_pos if pos is
// empty). Returns bytes copied or -errno (only if nothing was copied).
int64_t read_to_user(SyscallContext& ctx, File& f, GuestAddr buf, uint64_t count,
                     std::optional<uint64_t> pos);
// write/pwrite from guest memory.
int64_t write_from_user(SyscallContext& ctx, File& f, GuestAddr buf, uint64_t count,
                        std::optional<uint64_t> pos);

// fcntl's record-lock commands (F_GETLK/F_SETLK/F_SETLKW and the F_OFD_ ones; sys_lock.cc).
bool is_lock_cmd(int cmd);
int64_t fcntl_lock(SyscallContext& ctx, const std::shared_ptr<File>& f, int cmd, uint64_t arg);

// fcntl's F_ADD_SEALS / F_GET_SEALS (sys_memfd.cc): EINVAL unless f is a memfd.
bool is_seal_cmd(int cmd);
int64_t fcntl_seals(const std::shared_ptr<File>& f, int cmd, uint64_t arg);

// Copies an encoded structure to the guest: 0 or -EFAULT.
int64_t put_user_bytes(SyscallContext& ctx, uint64_t dst, const void* src, size_t n);

}  // namespace probesim::emu
