// Kernel-side access to guest memory and fault classification.
#include <doctest/doctest.h>

#include <cstring>

#include "mmu_test_util.h"

namespace probesim::mmu {
namespace {

using test::anon_map;
using test::kLayout;
using test::kPg;

constexpr int kRW = kProtRead | kProtWrite;
const uint64_t kA = kLayout.mmap_base.value - 0x1000000;

TEST_CASE("copy_from_user needs VM_READ on every byte, copy_to_user needs VM_WRITE") {
  Mm mm(kLayout);
  REQUIRE(anon_map(mm, kA, kPg, kRW, kMapFixed) > 0);
  REQUIRE(anon_map(mm, kA + kPg, kPg, kProtRead, kMapFixed) > 0);
  REQUIRE(anon_map(mm, kA + 2 * kPg, kPg, kProtNone, kMapFixed) > 0);
  REQUIRE(anon_map(mm, kA + 3 * kPg, kPg, kProtWrite, kMapFixed) > 0);
  char buf[32] = {};
  CHECK(mm.copy_to_user(GuestAddr{kA + kPg - 8}, "0123456789abcdef", 8));
  CHECK(!mm.copy_to_user(GuestAddr{kA + kPg - 8}, "0123456789abcdef", 16));  // into r--
  CHECK(mm.copy_from_user(buf, GuestAddr{kA + kPg - 8}, 16));                // rw- then r--
  CHECK(std::memcmp(buf, "01234567", 8) == 0);
  CHECK(!mm.copy_from_user(buf, GuestAddr{kA + 2 * kPg - 4}, 8));  // into ---
  CHECK(!mm.copy_from_user(buf, GuestAddr{kA + 3 * kPg}, 4));      // -w-: not readable
  CHECK(mm.copy_to_user(GuestAddr{kA + 3 * kPg}, "x", 1));
  CHECK(!mm.copy_from_user(buf, GuestAddr{kA + 4 * kPg}, 1));      // unmapped
  CHECK(!mm.copy_from_user(buf, GuestAddr{~uint64_t{0} - 2}, 8));  // wraps
  CHECK(mm.copy_from_user(buf, GuestAddr{0}, 0));                  // nothing to copy
  // A failed copy_to_user writes nothing.
  char probe = 0;
  REQUIRE(mm.copy_to_user(GuestAddr{kA + kPg - 1}, "XY", 2) == false);  // rw- then r--
  REQUIRE(mm.copy_from_user(&probe, GuestAddr{kA + kPg - 1}, 1));
  CHECK(probe == '7');
  mm.verify();
}

TEST_CASE(
    "strncpy_from_user returns the string, EFAULT on a bad address, ENAMETOOLONG without a NUL") {
  Mm mm(kLayout);
  REQUIRE(anon_map(mm, kA, 2 * kPg, kRW, kMapFixed) > 0);
  REQUIRE(mm.copy_to_user(GuestAddr{kA + 10}, "/etc/passwd", 12));
  auto s = mm.strncpy_from_user(GuestAddr{kA + 10}, 4096);
  REQUIRE(s.ok());
  CHECK(s.value() == "/etc/passwd");
  auto too_long = mm.strncpy_from_user(GuestAddr{kA + 10}, 11);  // NUL is byte 12
  REQUIRE(!too_long.ok());
  CHECK(too_long.error().err == ENAMETOOLONG);
  CHECK(mm.strncpy_from_user(GuestAddr{kA + 10}, 12).ok());
  // A string running off the end of the mapping faults.
  std::string fill(kPg, 'a');
  REQUIRE(mm.copy_to_user(GuestAddr{kA + kPg}, fill.data(), kPg));
  auto off_end = mm.strncpy_from_user(GuestAddr{kA + kPg}, 3 * kPg);
  REQUIRE(!off_end.ok());
  CHECK(off_end.error().err == EFAULT);
  auto unmapped = mm.strncpy_from_user(GuestAddr{0x1000}, 16);
  REQUIRE(!unmapped.ok());
  CHECK(unmapped.error().err == EFAULT);
}

TEST_CASE("peek/poke ignore protections but need a mapping") {
  Mm mm(kLayout);
  REQUIRE(anon_map(mm, kA, kPg, kProtNone, kMapFixed) > 0);
  const uint64_t v = 0x0102030405060708;
  CHECK(mm.poke(GuestAddr{kA + 16}, &v, 8));
  uint64_t got = 0;
  CHECK(mm.peek(GuestAddr{kA + 16}, &got, 8));
  CHECK(got == v);
  CHECK(!mm.copy_from_user(&got, GuestAddr{kA + 16}, 8));
  CHECK(!mm.peek(GuestAddr{kA + kPg - 4}, &got, 8));
  CHECK(!mm.poke(GuestAddr{kA + kPg - 4}, &v, 8));
}

TEST_CASE(
    "poke into a page-cache private VMA makes the whole VMA a private copy, never the page cache") {
  InodeCache c;
  const std::string data = test::pattern(3 * kPg);
  test::TempFile file(data);
  Inode* ino = test::file_inode(c, file, "f", 3 * kPg);
  Mm mm(kLayout), other(kLayout);
  test::RecordingObserver obs;
  mm.set_observer(&obs);
  REQUIRE(mm.mmap(GuestAddr{0x400000}, 3 * kPg, kProtRead | kProtExec, kMapPrivate | kMapFixed, ino,
                  FileOffset{0}) == 0x400000);
  REQUIRE(other.mmap(GuestAddr{0x400000}, 3 * kPg, kProtRead | kProtExec, kMapPrivate | kMapFixed,
                     ino, FileOffset{0}) == 0x400000);
  obs.clear_events();
  const uint8_t int3 = 0xcc;
  REQUIRE(mm.poke(GuestAddr{0x401004}, &int3, 1));
  const Vma* v = mm.vma_at(GuestAddr{0x401004});
  CHECK(v->private_copy());
  CHECK(v->vm_start.value == 0x400000);  // no split: COW at VMA granularity
  CHECK(mm.vma_count() == 1);
  CHECK(mm.stats().private_copies == 1);
  uint8_t b = 0;
  REQUIRE(mm.peek(GuestAddr{0x401004}, &b, 1));
  CHECK(b == 0xcc);
  REQUIRE(other.peek(GuestAddr{0x401004}, &b, 1));
  CHECK(b == static_cast<uint8_t>(data[kPg + 4]));
  CHECK(ino->i_mapping().base()[kPg + 4] == static_cast<uint8_t>(data[kPg + 4]));
  CHECK(!ino->dirty());
  // The observer saw the run move: unmap of the old run, then the new one.
  REQUIRE(obs.events.size() == 2);
  CHECK(!obs.events[0].map);
  CHECK(obs.events[1].map);
  CHECK(obs.events[1].host == v->anon->data() + v->anon_offset);
  obs.check(mm);
  mm.verify();
  c.iput(ino);
}

TEST_CASE("classify_fault: MapErr outside VMAs, AccErr without permission, Bus beyond EOF") {
  InodeCache c;
  test::TempFile file(test::pattern(kPg + 1));
  Inode* ino = test::file_inode(c, file, "f", kPg + 1);
  Mm mm(kLayout);
  REQUIRE(mm.mmap(GuestAddr{0x400000}, 4 * kPg, kProtRead | kProtExec, kMapPrivate | kMapFixed, ino,
                  FileOffset{0}) == 0x400000);
  CHECK(mm.classify_fault(GuestAddr{0x3ff000}, Access::Read) == FaultKind::MapErr);
  CHECK(mm.classify_fault(GuestAddr{0x400000}, Access::Read) == FaultKind::None);
  CHECK(mm.classify_fault(GuestAddr{0x400000}, Access::Exec) == FaultKind::None);
  CHECK(mm.classify_fault(GuestAddr{0x400000}, Access::Write) == FaultKind::AccErr);
  CHECK(mm.classify_fault(GuestAddr{0x401fff}, Access::Read) == FaultKind::None);  // partial page
  CHECK(mm.classify_fault(GuestAddr{0x402000}, Access::Read) == FaultKind::Bus);
  CHECK(mm.classify_fault(GuestAddr{0x402000}, Access::Write) == FaultKind::AccErr);
  CHECK(mm.classify_fault(GuestAddr{0x404000}, Access::Read) == FaultKind::MapErr);
  uint8_t b = 1;
  CHECK(mm.copy_from_user(&b, GuestAddr{0x401001}, 1));  // the last page past EOF reads zero
  CHECK(b == 0);
  CHECK(!mm.copy_from_user(&b, GuestAddr{0x402000}, 1));  // a page beyond EOF is -EFAULT
  CHECK(!mm.peek(GuestAddr{0x402000}, &b, 1));
  c.iput(ino);
}

}  // namespace
}  // namespace probesim::mmu
