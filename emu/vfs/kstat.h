// The kernel's view of a file's attributes (Linux's struct kstat, include/linux/stat.h) and
// the user-space layouts it is copied out as: struct stat (different on x86_64 and arm64),
// struct statx, struct statfs and struct linux_dirent64 (the same on both 64-bit arches).
// Every layout is a table of (field, offset, size) rows; encoders fill zero-initialized
// buffers, so padding and unused fields are always zero (deterministic bytes).
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <span>
#include <string_view>
#include <vector>

#include "emu/virtual_clock.h"
#include "probesim/types.h"

namespace probesim::emu {

struct DevId {
  uint32_t major = 0;
  uint32_t minor = 0;
  constexpr auto operator<=>(const DevId&) const = default;
};

// glibc's dev_t encoding (makedev), as host lstat's st_rdev and InodeAttrs::rdev hold it.
constexpr uint64_t encode_dev(DevId d) {
  return (uint64_t{d.major & 0xfffff000u} << 32) | (uint64_t{d.major & 0xfffu} << 8) |
         (uint64_t{d.minor & 0xffffff00u} << 12) | (d.minor & 0xffu);
}
constexpr DevId decode_dev(uint64_t dev) {
  return DevId{static_cast<uint32_t>(((dev >> 8) & 0xfff) | ((dev >> 32) & ~uint64_t{0xfff})),
               static_cast<uint32_t>((dev & 0xff) | ((dev >> 12) & ~uint64_t{0xff}))};
}
// The kernel's new_encode_dev (include/linux/kdev_t.h), used for struct stat's st_dev/st_rdev.
constexpr uint32_t new_encode_dev(DevId d) {
  return (d.minor & 0xff) | (d.major << 8) | ((d.minor & ~0xffu) << 12);
}

struct KStat {
  DevId dev;
  uint64_t ino = 0;
  uint32_t mode = 0;
  uint32_t nlink = 0;
  uint32_t uid = 0;
  uint32_t gid = 0;
  DevId rdev;
  int64_t size = 0;
  uint32_t blksize = 0;
  uint64_t blocks = 0;  // 512-byte units
  Timespec atime, mtime, ctime;
};

// struct stat: 144 bytes on x86_64 (arch/x86/include/uapi/asm/stat.h), 128 on arm64
// (include/uapi/asm-generic/stat.h).
size_t stat_size(Arch arch);
std::vector<uint8_t> encode_stat(Arch arch, const KStat& st);

// struct statx (include/uapi/linux/stat.h): 256 bytes, the same on every arch.
inline constexpr size_t kStatxSize = 256;
inline constexpr uint32_t kSTATX_BASIC_STATS = 0x7ff;
inline constexpr uint32_t kSTATX__RESERVED = 0x80000000u;
std::array<uint8_t, kStatxSize> encode_statx(const KStat& st);

// struct statfs (asm-generic/statfs.h with 64-bit words): 120 bytes on x86_64 and arm64.
struct KStatfs {
  uint64_t f_type = 0, f_bsize = 0, f_blocks = 0, f_bfree = 0, f_bavail = 0, f_files = 0,
           f_ffree = 0;
  uint32_t f_fsid[2] = {0, 0};
  uint64_t f_namelen = 0, f_frsize = 0, f_flags = 0;
};
inline constexpr size_t kStatfsSize = 120;
std::array<uint8_t, kStatfsSize> encode_statfs(const KStatfs& st);

// struct linux_dirent64 { u64 d_ino; s64 d_off; u16 d_reclen; u8 d_type; char d_name[]; }:
// the record holds the name and its NUL, padded to a multiple of 8 bytes.
inline constexpr size_t kDirent64NameOffset = 19;
constexpr size_t dirent64_reclen(size_t name_len) {
  return (kDirent64NameOffset + name_len + 1 + 7) & ~size_t{7};
}
// Writes one record at the start of out; returns its length, or 0 if it does not fit.
size_t encode_dirent64(std::span<uint8_t> out, uint64_t ino, int64_t off, uint8_t type,
                       std::string_view name);
// DT_* from a mode's S_IFMT bits (fs_umode_to_dtype).
constexpr uint8_t dt_type(uint32_t mode) {
  return static_cast<uint8_t>((mode >> 12) & 017);
}

}  // namespace probesim::emu
