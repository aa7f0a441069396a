// Byte layouts of struct stat (both arches), statx, statfs and linux_dirent64, and the
// arm64 open-flag encoding. Expected offsets are written out from the uapi headers.
#include "emu/vfs/kstat.h"

#include <doctest/doctest.h>

#include <cstring>

#include "emu/vfs/vfs_abi.h"

namespace probesim::emu {
namespace {

uint64_t le(const uint8_t* p, size_t n) {
  uint64_t v = 0;
  for (size_t i = 0; i < n; ++i) v |= uint64_t{p[i]} << (8 * i);
  return v;
}

KStat sample() {
  KStat s;
  s.dev = {0, 32};
  s.ino = 0x1122334455667788;
  s.mode = 0100755;
  s.nlink = 3;
  s.uid = 1000;
  s.gid = 1001;
  s.rdev = {1, 9};
  s.size = 0x123456789;
  s.blksize = 4096;
  s.blocks = 77;
  s.atime = {1700000001, 11};
  s.mtime = {1700000002, 22};
  s.ctime = {1700000003, 33};
  return s;
}

}  // namespace

TEST_CASE("x86_64 struct stat is 144 bytes with st_nlink before st_mode") {
  const std::vector<uint8_t> b = encode_stat(Arch::X86_64, sample());
  REQUIRE(b.size() == 144);
  CHECK(le(&b[0], 8) == 32);  // st_dev = new_encode_dev(0:32)
  CHECK(le(&b[8], 8) == 0x1122334455667788);
  CHECK(le(&b[16], 8) == 3);  // st_nlink (8 bytes)
  CHECK(le(&b[24], 4) == 0100755);
  CHECK(le(&b[28], 4) == 1000);
  CHECK(le(&b[32], 4) == 1001);
  CHECK(le(&b[36], 4) == 0);  // __pad0
  CHECK(le(&b[40], 8) == ((1 << 8) | 9));
  CHECK(le(&b[48], 8) == 0x123456789);
  CHECK(le(&b[56], 8) == 4096);
  CHECK(le(&b[64], 8) == 77);
  CHECK(le(&b[72], 8) == 1700000001);
  CHECK(le(&b[80], 8) == 11);
  CHECK(le(&b[88], 8) == 1700000002);
  CHECK(le(&b[96], 8) == 22);
  CHECK(le(&b[104], 8) == 1700000003);
  CHECK(le(&b[112], 8) == 33);
  for (size_t i = 120; i < 144; ++i) CHECK(b[i] == 0);
}

TEST_CASE("arm64 struct stat is 128 bytes with st_mode before a 4-byte st_nlink") {
  const std::vector<uint8_t> b = encode_stat(Arch::AArch64, sample());
  REQUIRE(b.size() == 128);
  CHECK(le(&b[0], 8) == 32);
  CHECK(le(&b[8], 8) == 0x1122334455667788);
  CHECK(le(&b[16], 4) == 0100755);
  CHECK(le(&b[20], 4) == 3);
  CHECK(le(&b[24], 4) == 1000);
  CHECK(le(&b[28], 4) == 1001);
  CHECK(le(&b[32], 8) == ((1 << 8) | 9));
  CHECK(le(&b[40], 8) == 0);  // __pad1
  CHECK(le(&b[48], 8) == 0x123456789);
  CHECK(le(&b[56], 4) == 4096);
  CHECK(le(&b[60], 4) == 0);  // __pad2
  CHECK(le(&b[64], 8) == 77);
  CHECK(le(&b[72], 8) == 1700000001);
  CHECK(le(&b[80], 8) == 11);
  CHECK(le(&b[88], 8) == 1700000002);
  CHECK(le(&b[96], 8) == 22);
  CHECK(le(&b[104], 8) == 1700000003);
  CHECK(le(&b[112], 8) == 33);
  CHECK(le(&b[120], 8) == 0);
}

TEST_CASE("statx layout: basic stats, split device numbers, no btime") {
  const std::array<uint8_t, kStatxSize> b = encode_statx(sample());
  CHECK(le(&b[0], 4) == kSTATX_BASIC_STATS);
  CHECK(le(&b[4], 4) == 4096);
  CHECK(le(&b[16], 4) == 3);
  CHECK(le(&b[20], 4) == 1000);
  CHECK(le(&b[24], 4) == 1001);
  CHECK(le(&b[28], 2) == 0100755);
  CHECK(le(&b[32], 8) == 0x1122334455667788);
  CHECK(le(&b[40], 8) == 0x123456789);
  CHECK(le(&b[48], 8) == 77);
  CHECK(le(&b[64], 8) == 1700000001);
  CHECK(le(&b[72], 4) == 11);
  CHECK(le(&b[80], 8) == 0);  // btime
  CHECK(le(&b[88], 8) == 0);
  CHECK(le(&b[96], 8) == 1700000003);
  CHECK(le(&b[112], 8) == 1700000002);
  CHECK(le(&b[128], 4) == 1);
  CHECK(le(&b[132], 4) == 9);
  CHECK(le(&b[136], 4) == 0);
  CHECK(le(&b[140], 4) == 32);
}

TEST_CASE("linux_dirent64 records are 8-byte aligned with a NUL-terminated name") {
  uint8_t buf[64];
  std::memset(buf, 0xee, sizeof buf);
  CHECK(dirent64_reclen(1) == 24);
  CHECK(dirent64_reclen(4) == 24);
  CHECK(dirent64_reclen(5) == 32);
  const size_t n = encode_dirent64(buf, 42, 7, 8, "hello");
  REQUIRE(n == 32);
  CHECK(le(&buf[0], 8) == 42);
  CHECK(le(&buf[8], 8) == 7);
  CHECK(le(&buf[16], 2) == 32);
  CHECK(buf[18] == 8);
  CHECK(std::memcmp(&buf[19], "hello", 6) == 0);
  for (size_t i = 25; i < 32; ++i) CHECK(buf[i] == 0);
  CHECK(encode_dirent64(std::span<uint8_t>(buf, 31), 1, 1, 8, "hello") == 0);
}

TEST_CASE("arm64 encodes O_DIRECTORY, O_NOFOLLOW, O_DIRECT and O_LARGEFILE differently") {
  CHECK(open_flags_from_guest(Arch::AArch64, 040000) == kO_DIRECTORY);
  CHECK(open_flags_from_guest(Arch::AArch64, 0100000) == kO_NOFOLLOW);
  CHECK(open_flags_from_guest(Arch::AArch64, 0200000) == kO_DIRECT);
  CHECK(open_flags_from_guest(Arch::AArch64, 0400000) == kO_LARGEFILE);
  CHECK(open_flags_from_guest(Arch::X86_64, 040000) == kO_DIRECT);
  const uint32_t f = kO_RDWR | kO_CREAT | kO_DIRECTORY | kO_CLOEXEC | kO_LARGEFILE;
  CHECK(open_flags_to_guest(Arch::AArch64, f) == (02 | 0100 | 040000 | 02000000 | 0400000));
  CHECK(open_flags_from_guest(Arch::AArch64, open_flags_to_guest(Arch::AArch64, f)) == f);
}

TEST_CASE("statfs is 120 bytes of 64-bit words") {
  KStatfs s;
  s.f_type = 0x794c7630;
  s.f_bsize = 4096;
  s.f_fsid[0] = 5;
  s.f_namelen = 255;
  s.f_frsize = 4096;
  const std::array<uint8_t, kStatfsSize> b = encode_statfs(s);
  CHECK(le(&b[0], 8) == 0x794c7630);
  CHECK(le(&b[8], 8) == 4096);
  CHECK(le(&b[56], 4) == 5);
  CHECK(le(&b[64], 8) == 255);
  CHECK(le(&b[72], 8) == 4096);
}

}  // namespace probesim::emu
