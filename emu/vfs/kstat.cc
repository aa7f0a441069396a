#include "emu/vfs/kstat.h"

#include <cstring>

#include "probesim/assert.h"

namespace probesim::emu {
namespace {

template <class T>
using Getter = uint64_t (*)(const T&);

// One field of a user-space layout: where it goes, how wide it is, where its value comes from.
template <class T>
struct Slot {
  uint16_t offset;
  uint8_t size;
  Getter<T> get;
};

uint64_t u(int64_t v) {
  return static_cast<uint64_t>(v);
}

// Field getters shared by the layouts.
constexpr Getter<KStat> kDev = [](const KStat& s) -> uint64_t { return new_encode_dev(s.dev); };
constexpr Getter<KStat> kIno = [](const KStat& s) -> uint64_t { return s.ino; };
constexpr Getter<KStat> kNlink = [](const KStat& s) -> uint64_t { return s.nlink; };
constexpr Getter<KStat> kMode = [](const KStat& s) -> uint64_t { return s.mode; };
constexpr Getter<KStat> kUid = [](const KStat& s) -> uint64_t { return s.uid; };
constexpr Getter<KStat> kGid = [](const KStat& s) -> uint64_t { return s.gid; };
constexpr Getter<KStat> kRdev = [](const KStat& s) -> uint64_t { return new_encode_dev(s.rdev); };
constexpr Getter<KStat> kSize = [](const KStat& s) { return u(s.size); };
constexpr Getter<KStat> kBlksize = [](const KStat& s) -> uint64_t { return s.blksize; };
constexpr Getter<KStat> kBlocks = [](const KStat& s) -> uint64_t { return s.blocks; };
constexpr Getter<KStat> kAtime = [](const KStat& s) { return u(s.atime.sec); };
constexpr Getter<KStat> kAtimeNs = [](const KStat& s) { return u(s.atime.nsec); };
constexpr Getter<KStat> kMtime = [](const KStat& s) { return u(s.mtime.sec); };
constexpr Getter<KStat> kMtimeNs = [](const KStat& s) { return u(s.mtime.nsec); };
constexpr Getter<KStat> kCtime = [](const KStat& s) { return u(s.ctime.sec); };
constexpr Getter<KStat> kCtimeNs = [](const KStat& s) { return u(s.ctime.nsec); };

// arch/x86/include/uapi/asm/stat.h (x86_64): 144 bytes.
constexpr Slot<KStat> kStatX86_64[] = {
    {0, 8, kDev},      {8, 8, kIno},      {16, 8, kNlink},  {24, 4, kMode},
    {28, 4, kUid},     {32, 4, kGid},     {40, 8, kRdev},   {48, 8, kSize},
    {56, 8, kBlksize}, {64, 8, kBlocks},  {72, 8, kAtime},  {80, 8, kAtimeNs},
    {88, 8, kMtime},   {96, 8, kMtimeNs}, {104, 8, kCtime}, {112, 8, kCtimeNs},
};
// include/uapi/asm-generic/stat.h (arm64): 128 bytes.
constexpr Slot<KStat> kStatArm64[] = {
    {0, 8, kDev},      {8, 8, kIno},      {16, 4, kMode},   {20, 4, kNlink},
    {24, 4, kUid},     {28, 4, kGid},     {32, 8, kRdev},   {48, 8, kSize},
    {56, 4, kBlksize}, {64, 8, kBlocks},  {72, 8, kAtime},  {80, 8, kAtimeNs},
    {88, 8, kMtime},   {96, 8, kMtimeNs}, {104, 8, kCtime}, {112, 8, kCtimeNs},
};

// include/uapi/linux/stat.h struct statx. btime is not provided (not in stx_mask).
constexpr Slot<KStat> kStatx[] = {
    {0, 4, [](const KStat&) -> uint64_t { return kSTATX_BASIC_STATS; }},
    {4, 4, kBlksize},
    {16, 4, kNlink},
    {20, 4, kUid},
    {24, 4, kGid},
    {28, 2, kMode},
    {32, 8, kIno},
    {40, 8, kSize},
    {48, 8, kBlocks},
    {64, 8, kAtime},
    {72, 4, kAtimeNs},
    {96, 8, kCtime},
    {104, 4, kCtimeNs},
    {112, 8, kMtime},
    {120, 4, kMtimeNs},
    {128, 4, [](const KStat& s) -> uint64_t { return s.rdev.major; }},
    {132, 4, [](const KStat& s) -> uint64_t { return s.rdev.minor; }},
    {136, 4, [](const KStat& s) -> uint64_t { return s.dev.major; }},
    {140, 4, [](const KStat& s) -> uint64_t { return s.dev.minor; }},
};

// asm-generic/statfs.h with 64-bit __statfs_word.
constexpr Slot<KStatfs> kStatfs[] = {
    {0, 8, [](const KStatfs& s) { return s.f_type; }},
    {8, 8, [](const KStatfs& s) { return s.f_bsize; }},
    {16, 8, [](const KStatfs& s) { return s.f_blocks; }},
    {24, 8, [](const KStatfs& s) { return s.f_bfree; }},
    {32, 8, [](const KStatfs& s) { return s.f_bavail; }},
    {40, 8, [](const KStatfs& s) { return s.f_files; }},
    {48, 8, [](const KStatfs& s) { return s.f_ffree; }},
    {56, 4, [](const KStatfs& s) -> uint64_t { return s.f_fsid[0]; }},
    {60, 4, [](const KStatfs& s) -> uint64_t { return s.f_fsid[1]; }},
    {64, 8, [](const KStatfs& s) { return s.f_namelen; }},
    {72, 8, [](const KStatfs& s) { return s.f_frsize; }},
    {80, 8, [](const KStatfs& s) { return s.f_flags; }},
};

// Little-endian store of the low `size` bytes of v (both guest arches are little-endian).
void store_le(uint8_t* p, uint64_t v, size_t size) {
  for (size_t i = 0; i < size; ++i) p[i] = static_cast<uint8_t>(v >> (8 * i));
}

template <class T>
void fill(std::span<uint8_t> out, std::span<const Slot<T>> slots, const T& value) {
  for (const Slot<T>& s : slots) {
    PROBESIM_ASSERT(s.offset + s.size <= out.size());
    store_le(out.data() + s.offset, s.get(value), s.size);
  }
}

}  // namespace

size_t stat_size(Arch arch) {
  return arch == Arch::X86_64 ? 144 : 128;
}

std::vector<uint8_t> encode_stat(Arch arch, const KStat& st) {
  std::vector<uint8_t> out(stat_size(arch), 0);
  if (arch == Arch::X86_64) {
    fill<KStat>(out, kStatX86_64, st);
  } else {
    fill<KStat>(out, kStatArm64, st);
  }
  return out;
}

std::array<uint8_t, kStatxSize> encode_statx(const KStat& st) {
  std::array<uint8_t, kStatxSize> out{};
  fill<KStat>(out, kStatx, st);
  return out;
}

std::array<uint8_t, kStatfsSize> encode_statfs(const KStatfs& st) {
  std::array<uint8_t, kStatfsSize> out{};
  fill<KStatfs>(out, kStatfs, st);
  return out;
}

size_t encode_dirent64(std::span<uint8_t> out, uint64_t ino, int64_t off, uint8_t type,
                       std::string_view name) {
  const size_t reclen = dirent64_reclen(name.size());
  if (reclen > out.size()) return 0;
  std::memset(out.data(), 0, reclen);
  store_le(out.data(), ino, 8);
  store_le(out.data() + 8, static_cast<uint64_t>(off), 8);
  store_le(out.data() + 16, reclen, 2);
  out[18] = type;
  std::memcpy(out.data() + kDirent64NameOffset, name.data(), name.size());
  return reclen;
}

}  // namespace probesim::emu
