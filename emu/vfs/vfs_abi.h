// Linux ABI constants of the file syscalls, with Linux's names behind a `k` prefix (the host's
// <fcntl.h> macros would otherwise replace them). Values are the kernel's uapi ones; they are
// the same on x86_64 and arm64 except four open flags (see kArm64OpenFlags). Internally
// probesim keeps open flags in the generic (x86_64) encoding and converts at the syscall edge.
#pragma once

#include <cstdint>

#include "probesim/types.h"

namespace probesim::emu {

// include/uapi/asm-generic/fcntl.h
inline constexpr uint32_t kO_ACCMODE = 03;
inline constexpr uint32_t kO_RDONLY = 00;
inline constexpr uint32_t kO_WRONLY = 01;
inline constexpr uint32_t kO_RDWR = 02;
inline constexpr uint32_t kO_CREAT = 0100;
inline constexpr uint32_t kO_EXCL = 0200;
inline constexpr uint32_t kO_NOCTTY = 0400;
inline constexpr uint32_t kO_TRUNC = 01000;
inline constexpr uint32_t kO_APPEND = 02000;
inline constexpr uint32_t kO_NONBLOCK = 04000;
inline constexpr uint32_t kO_DSYNC = 010000;
inline constexpr uint32_t kFASYNC = 020000;
inline constexpr uint32_t kO_DIRECT = 040000;
inline constexpr uint32_t kO_LARGEFILE = 0100000;
inline constexpr uint32_t kO_DIRECTORY = 0200000;
inline constexpr uint32_t kO_NOFOLLOW = 0400000;
inline constexpr uint32_t kO_NOATIME = 01000000;
inline constexpr uint32_t kO_CLOEXEC = 02000000;
inline constexpr uint32_t k__O_SYNC = 04000000;
inline constexpr uint32_t kO_PATH = 010000000;
inline constexpr uint32_t k__O_TMPFILE = 020000000;
// Flags F_SETFL may change (fs/fcntl.c SETFL_MASK).
inline constexpr uint32_t kSetflMask = kO_APPEND | kO_NONBLOCK | kO_NOATIME | kO_DIRECT | kFASYNC;

// arch/arm64/include/uapi/asm/fcntl.h: the four flags whose encoding differs.
struct OpenFlagEncoding {
  uint32_t generic;
  uint32_t arm64;
};
inline constexpr OpenFlagEncoding kArm64OpenFlags[] = {
    {kO_DIRECTORY, 040000}, {kO_NOFOLLOW, 0100000}, {kO_DIRECT, 0200000}, {kO_LARGEFILE, 0400000}};

uint32_t open_flags_from_guest(Arch arch, uint64_t guest_flags);
uint64_t open_flags_to_guest(Arch arch, uint32_t flags);

// include/uapi/linux/fcntl.h
inline constexpr int kAT_FDCWD = -100;
inline constexpr uint32_t kAT_SYMLINK_NOFOLLOW = 0x100;
inline constexpr uint32_t kAT_EACCESS = 0x200;
inline constexpr uint32_t kAT_REMOVEDIR = 0x200;
inline constexpr uint32_t kAT_SYMLINK_FOLLOW = 0x400;
inline constexpr uint32_t kAT_NO_AUTOMOUNT = 0x800;
inline constexpr uint32_t kAT_EMPTY_PATH = 0x1000;
inline constexpr uint32_t kAT_STATX_SYNC_TYPE = 0x6000;
inline constexpr uint32_t kAT_STATX_FORCE_SYNC = 0x2000;
inline constexpr uint32_t kAT_STATX_DONT_SYNC = 0x4000;

// fcntl commands (include/uapi/asm-generic/fcntl.h, linux/fcntl.h)
inline constexpr int kF_DUPFD = 0;
inline constexpr int kF_GETFD = 1;
inline constexpr int kF_SETFD = 2;
inline constexpr int kF_GETFL = 3;
inline constexpr int kF_SETFL = 4;
inline constexpr int kF_DUPFD_CLOEXEC = 1030;
inline constexpr int kFD_CLOEXEC = 1;

// lseek whence (include/uapi/linux/fs.h)
inline constexpr int kSEEK_SET = 0;
inline constexpr int kSEEK_CUR = 1;
inline constexpr int kSEEK_END = 2;
inline constexpr int kSEEK_DATA = 3;
inline constexpr int kSEEK_HOLE = 4;

// ioctls, identical on x86_64 and arm64 (include/uapi/asm-generic/ioctls.h)
inline constexpr uint64_t kTCGETS = 0x5401;
inline constexpr uint64_t kTIOCGWINSZ = 0x5413;
inline constexpr uint64_t kFIONREAD = 0x541B;
inline constexpr uint64_t kFIONBIO = 0x5421;
inline constexpr uint64_t kFIONCLEX = 0x5450;
inline constexpr uint64_t kFIOCLEX = 0x5451;
inline constexpr uint64_t kFIOASYNC = 0x5452;

// access(2) modes
inline constexpr uint32_t kF_OK = 0;
inline constexpr uint32_t kX_OK = 1;
inline constexpr uint32_t kW_OK = 2;
inline constexpr uint32_t kR_OK = 4;

// utimensat special nanoseconds (include/uapi/linux/stat.h)
inline constexpr int64_t kUTIME_NOW = (int64_t{1} << 30) - 1;
inline constexpr int64_t kUTIME_OMIT = (int64_t{1} << 30) - 2;

// Limits (include/uapi/linux/limits.h, uio.h; fs/read_write.c MAX_RW_COUNT)
inline constexpr size_t kPathMax = 4096;
inline constexpr size_t kNameMax = 255;
inline constexpr int kMaxSymlinks = 40;
inline constexpr int kIovMax = 1024;
inline constexpr uint64_t kMaxRwCount = 0x7ffff000;

}  // namespace probesim::emu
