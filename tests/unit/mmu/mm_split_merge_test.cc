// VMA split/merge edge cases: munmap, mprotect, brk, madvise.
#include <doctest/doctest.h>

#include "mmu_test_util.h"

namespace probesim::mmu {
namespace {

using test::anon_map;
using test::kLayout;
using test::kPg;

constexpr int kRW = kProtRead | kProtWrite;
const uint64_t kA = kLayout.mmap_base.value - 0x1000000;  // inside the anonymous window

struct Span {
  uint64_t start, end;
  bool operator==(const Span&) const = default;
};
std::vector<Span> spans(const Mm& mm) {
  std::vector<Span> out;
  for (const Vma* v : mm.vmas()) out.push_back({v->vm_start.value, v->vm_end.value});
  return out;
}

// A fixture: one 8-page RW anonymous VMA at kA, observed.
struct Fixture {
  Mm mm{kLayout};
  test::RecordingObserver obs;
  Fixture() {
    mm.set_observer(&obs);
    REQUIRE(anon_map(mm, kA, 8 * kPg, kRW, kMapFixed) == static_cast<int64_t>(kA));
  }
  void check() {
    mm.verify();
    obs.check(mm);
  }
};

TEST_CASE("munmap of the middle splits a VMA in two") {
  Fixture f;
  REQUIRE(f.mm.munmap(GuestAddr{kA + 3 * kPg}, 2 * kPg) == 0);
  CHECK(spans(f.mm) == std::vector<Span>{{kA, kA + 3 * kPg}, {kA + 5 * kPg, kA + 8 * kPg}});
  CHECK(f.mm.vmas()[1]->vm_pgoff == (kA + 5 * kPg) >> kPageShift);
  CHECK(f.mm.stats().splits == 2);
  f.check();
}

TEST_CASE("munmap of the head or the tail shrinks the VMA") {
  Fixture f;
  REQUIRE(f.mm.munmap(GuestAddr{kA}, kPg) == 0);
  REQUIRE(f.mm.munmap(GuestAddr{kA + 7 * kPg}, kPg) == 0);
  CHECK(spans(f.mm) == std::vector<Span>{{kA + kPg, kA + 7 * kPg}});
  f.check();
}

TEST_CASE("munmap spanning several VMAs and holes removes exactly the range") {
  Fixture f;
  REQUIRE(anon_map(f.mm, kA + 10 * kPg, 4 * kPg, kProtRead, kMapFixed) > 0);
  REQUIRE(anon_map(f.mm, kA + 16 * kPg, 4 * kPg, kRW, kMapFixed) > 0);
  REQUIRE(f.mm.munmap(GuestAddr{kA + 6 * kPg}, 12 * kPg) == 0);
  CHECK(spans(f.mm) == std::vector<Span>{{kA, kA + 6 * kPg}, {kA + 18 * kPg, kA + 20 * kPg}});
  f.check();
  // Unmapping nothing succeeds too.
  REQUIRE(f.mm.munmap(GuestAddr{kA + 30 * kPg}, kPg) == 0);
  f.check();
}

TEST_CASE("munmap rejects unaligned addresses and length 0, the length rounds up to pages") {
  Fixture f;
  CHECK(f.mm.munmap(GuestAddr{kA + 1}, kPg) == -EINVAL);
  CHECK(f.mm.munmap(GuestAddr{kA}, 0) == -EINVAL);
  REQUIRE(f.mm.munmap(GuestAddr{kA}, 1) == 0);  // one whole page
  CHECK(spans(f.mm) == std::vector<Span>{{kA + kPg, kA + 8 * kPg}});
  f.check();
}

TEST_CASE("munmapped anonymous memory reads zero when mapped again") {
  Fixture f;
  const uint32_t v = 0xabcdef01;
  REQUIRE(f.mm.copy_to_user(GuestAddr{kA + 2 * kPg}, &v, 4));
  REQUIRE(f.mm.munmap(GuestAddr{kA}, 8 * kPg) == 0);
  REQUIRE(anon_map(f.mm, kA, 8 * kPg, kRW, kMapFixed) > 0);
  uint32_t got = 1;
  REQUIRE(f.mm.copy_from_user(&got, GuestAddr{kA + 2 * kPg}, 4));
  CHECK(got == 0);
  f.check();
}

TEST_CASE("mprotect splits a VMA and re-merges it when the protection is restored") {
  Fixture f;
  REQUIRE(f.mm.mprotect(GuestAddr{kA + 2 * kPg}, 3 * kPg, kProtRead) == 0);
  CHECK(spans(f.mm) == std::vector<Span>{{kA, kA + 2 * kPg},
                                         {kA + 2 * kPg, kA + 5 * kPg},
                                         {kA + 5 * kPg, kA + 8 * kPg}});
  CHECK(vm_flags_string(f.mm.vmas()[1]->vm_flags) == "r--p");
  f.check();
  REQUIRE(f.mm.mprotect(GuestAddr{kA + 2 * kPg}, 3 * kPg, kRW) == 0);
  CHECK(spans(f.mm) == std::vector<Span>{{kA, kA + 8 * kPg}});
  CHECK(f.mm.stats().merges >= 2);
  f.check();
}

TEST_CASE("mprotect over a range with a hole fails with ENOMEM") {
  Fixture f;
  REQUIRE(f.mm.munmap(GuestAddr{kA + 4 * kPg}, kPg) == 0);
  CHECK(f.mm.mprotect(GuestAddr{kA}, 8 * kPg, kProtRead) == -ENOMEM);
  CHECK(f.mm.mprotect(GuestAddr{kA + 20 * kPg}, kPg, kProtRead) == -ENOMEM);
  CHECK(f.mm.mprotect(GuestAddr{kA + 1}, kPg, kProtRead) == -EINVAL);
  CHECK(f.mm.mprotect(GuestAddr{kA}, kPg, 0x40) == -EINVAL);
  f.check();
}

TEST_CASE(
    "mprotect adding PROT_WRITE keeps VM_ACCOUNT, so a read-only VMA made writable stays split") {
  Mm mm(kLayout);
  REQUIRE(anon_map(mm, kA, 4 * kPg, kProtRead, kMapFixed) > 0);
  REQUIRE(mm.mprotect(GuestAddr{kA + kPg}, kPg, kRW) == 0);
  REQUIRE(mm.mprotect(GuestAddr{kA + kPg}, kPg, kProtRead) == 0);
  CHECK(mm.vma_count() == 3);  // the middle keeps VM_ACCOUNT, as in Linux
  CHECK((mm.vmas()[1]->vm_flags & VM_ACCOUNT) != 0);
  mm.verify();
}

TEST_CASE("mprotect adding PROT_WRITE to a page-cache private file VMA makes a private copy") {
  InodeCache c;
  test::TempFile file(test::pattern(4 * kPg));
  Inode* ino = test::file_inode(c, file, "f", 4 * kPg);
  Mm mm(kLayout);
  test::RecordingObserver obs;
  mm.set_observer(&obs);
  REQUIRE(mm.mmap(GuestAddr{0x400000}, 4 * kPg, kProtRead, kMapPrivate | kMapFixed, ino,
                  FileOffset{0}) == 0x400000);
  REQUIRE(mm.mprotect(GuestAddr{0x401000}, kPg, kRW) == 0);
  const Vma* mid = mm.vma_at(GuestAddr{0x401000});
  CHECK(mid->private_copy());
  CHECK(!mm.vma_at(GuestAddr{0x400000})->private_copy());
  CHECK(mm.stats().private_copies == 1);
  CHECK(ino->i_mapping().page_mapcount(PageIndex{1}) == 0);
  CHECK(ino->i_mapping().page_mapcount(PageIndex{2}) == 1);
  // Restoring read-only does not undo the copy: the pieces stay apart.
  REQUIRE(mm.mprotect(GuestAddr{0x401000}, kPg, kProtRead) == 0);
  CHECK(mm.vma_count() == 3);
  mm.verify();
  obs.check(mm);
  c.iput(ino);
}

TEST_CASE("brk grows and shrinks one [heap] VMA and refuses to go below start_brk") {
  Mm mm(kLayout);
  test::RecordingObserver obs;
  mm.set_observer(&obs);
  mm.set_brk_base(GuestAddr{0x600123});
  CHECK(mm.start_brk().value == 0x601000);
  CHECK(mm.brk(GuestAddr{0}) == 0x601000);
  CHECK(mm.vma_count() == 0);
  CHECK(mm.brk(GuestAddr{0x601800}) == 0x601800);
  REQUIRE(mm.vma_count() == 1);
  CHECK(mm.vmas()[0]->name == "[heap]");
  CHECK(mm.vmas()[0]->vm_end.value == 0x602000);
  const uint32_t v = 77;
  REQUIRE(mm.copy_to_user(GuestAddr{0x601000}, &v, 4));
  for (uint64_t b = 0x603000; b < 0x603000 + 200 * kPg; b += 3 * kPg) {  // many small steps
    REQUIRE(mm.brk(GuestAddr{b}) == b);
    REQUIRE(mm.vma_count() == 1);
  }
  // Past the 64 MiB reserve: the heap moves to a bigger arena, still one VMA, data kept.
  const uint64_t big = 0x601000 + (uint64_t{80} << 20);
  REQUIRE(mm.brk(GuestAddr{big}) == big);
  CHECK(mm.vma_count() == 1);
  uint32_t got = 0;
  REQUIRE(mm.copy_from_user(&got, GuestAddr{0x601000}, 4));
  CHECK(got == 77);
  obs.check(mm);
  CHECK(mm.brk(GuestAddr{0x500000}) == big);  // below start_brk: unchanged
  CHECK(mm.brk(GuestAddr{0x602000}) == 0x602000);
  CHECK(mm.vmas()[0]->vm_end.value == 0x602000);
  CHECK(mm.brk(GuestAddr{0x601000}) == 0x601000);
  CHECK(mm.vma_count() == 0);
  mm.verify();
  obs.check(mm);
}

TEST_CASE("brk does not grow into another mapping (nor the guard page before it)") {
  Mm mm(kLayout);
  mm.set_brk_base(GuestAddr{0x600000});
  REQUIRE(anon_map(mm, 0x610000, kPg, kRW, kMapFixed) > 0);
  CHECK(mm.brk(GuestAddr{0x60f000}) == 0x60f000);
  CHECK(mm.brk(GuestAddr{0x610000}) == 0x60f000);  // needs a free page after the heap
  CHECK(mm.brk(GuestAddr{0x611000}) == 0x60f000);
  mm.verify();
}

TEST_CASE("brk shrink then grow gives zeroed memory") {
  Mm mm(kLayout);
  mm.set_brk_base(GuestAddr{0x600000});
  REQUIRE(mm.brk(GuestAddr{0x604000}) == 0x604000);
  const uint32_t v = 5;
  REQUIRE(mm.copy_to_user(GuestAddr{0x603000}, &v, 4));
  REQUIRE(mm.brk(GuestAddr{0x602000}) == 0x602000);
  REQUIRE(mm.brk(GuestAddr{0x604000}) == 0x604000);
  uint32_t got = 1;
  REQUIRE(mm.copy_from_user(&got, GuestAddr{0x603000}, 4));
  CHECK(got == 0);
  mm.verify();
}

TEST_CASE("madvise MADV_DONTNEED zeroes private anonymous pages and restores file pages") {
  InodeCache c;
  const std::string data = test::pattern(2 * kPg);
  test::TempFile file(data);
  Inode* ino = test::file_inode(c, file, "f", 2 * kPg);
  Mm mm(kLayout);
  REQUIRE(anon_map(mm, kA, 4 * kPg, kRW, kMapFixed) > 0);
  REQUIRE(mm.mmap(GuestAddr{0x400000}, 2 * kPg, kRW, kMapPrivate | kMapFixed, ino, FileOffset{0}) ==
          0x400000);
  const uint32_t v = 9;
  REQUIRE(mm.copy_to_user(GuestAddr{kA + kPg}, &v, 4));
  REQUIRE(mm.copy_to_user(GuestAddr{0x401000}, &v, 4));
  REQUIRE(mm.madvise(GuestAddr{kA}, 4 * kPg, kMadvDontneed) == 0);
  REQUIRE(mm.madvise(GuestAddr{0x400000}, 2 * kPg, kMadvDontneed) == 0);
  uint32_t got = 1;
  REQUIRE(mm.copy_from_user(&got, GuestAddr{kA + kPg}, 4));
  CHECK(got == 0);
  REQUIRE(mm.copy_from_user(&got, GuestAddr{0x401000}, 4));
  CHECK(got == *reinterpret_cast<const uint32_t*>(data.data() + kPg));
  CHECK(mm.madvise(GuestAddr{kA}, kPg, 999) == -EINVAL);
  CHECK(mm.madvise(GuestAddr{kA + 8 * kPg}, kPg, kMadvDontneed) == -ENOMEM);
  CHECK(mm.vma_count() == 2);
  // Flag-changing advice splits like mprotect, and re-merges when undone.
  REQUIRE(mm.madvise(GuestAddr{kA + kPg}, kPg, kMadvDontfork) == 0);
  CHECK(mm.vma_count() == 4);
  REQUIRE(mm.madvise(GuestAddr{kA + kPg}, kPg, kMadvDofork) == 0);
  CHECK(mm.vma_count() == 2);
  mm.verify();
  c.iput(ino);
}

}  // namespace
}  // namespace probesim::mmu

namespace probesim::mmu {
namespace {

TEST_CASE("mprotect with PROT_GROWSDOWN applies from the start of the stack VMA") {
  Mm mm(test::kLayout);
  const uint64_t top = 0x7ffff0000000;
  REQUIRE(test::anon_map(mm, top - 8 * kPg, 8 * kPg, kRW, kMapFixed | kMapGrowsdown) > 0);
  REQUIRE(mm.mprotect(GuestAddr{top - 2 * kPg}, kPg, kProtRead | kProtExec | kProtGrowsdown) == 0);
  REQUIRE(mm.vma_count() == 2);
  CHECK(mm.vmas()[0]->vm_start.value == top - 8 * kPg);
  CHECK(vm_flags_string(mm.vmas()[0]->vm_flags) == "r-xp");
  CHECK(mm.mprotect(GuestAddr{kA}, kPg, kProtRead | kProtGrowsdown) == -ENOMEM);  // unmapped
  REQUIRE(test::anon_map(mm, kA, kPg, kRW, kMapFixed) > 0);
  CHECK(mm.mprotect(GuestAddr{kA}, kPg, kProtRead | kProtGrowsdown) == -EINVAL);  // not a stack
  mm.verify();
}

TEST_CASE("set_vma_name names the VMA and merges it with an equal neighbour") {
  Mm mm(test::kLayout);
  test::RecordingObserver obs;
  mm.set_observer(&obs);
  REQUIRE(test::anon_map(mm, kA, 2 * kPg, kRW, kMapFixed) > 0);
  REQUIRE(mm.set_vma_name(GuestAddr{kA}, "[stack]").ok());
  REQUIRE(test::anon_map(mm, kA + 2 * kPg, kPg, kRW, kMapFixed) > 0);
  CHECK(mm.vma_count() == 2);  // names differ
  REQUIRE(mm.set_vma_name(GuestAddr{kA + 2 * kPg}, "[stack]").ok());
  CHECK(mm.vma_count() == 1);
  CHECK(mm.vmas()[0]->name == "[stack]");
  auto bad = mm.set_vma_name(GuestAddr{0x1000}, "x");
  REQUIRE(!bad.ok());
  CHECK(bad.error().err == ENOMEM);
  mm.verify();
  obs.check(mm);
}

}  // namespace
}  // namespace probesim::mmu
