// vm.max_map_count (MmLayout::max_map_count, Mm::map_count) with the checks Linux makes, and
// the emulator's max_exec_map_count (executable VMAs: Unicorn regions, emu/uc_regions.h).
#include <doctest/doctest.h>

#include "mmu_test_util.h"

namespace probesim::mmu {
namespace {

using test::anon_map;
using test::kPg;

constexpr int kRW = kProtRead | kProtWrite;

MmLayout limited(uint64_t max) {
  MmLayout l = test::kLayout;
  l.max_map_count = max;
  return l;
}

// n one-page VMAs at the bottom of the layout, alternating protections so none merge.
void map_pages(Mm& mm, uint64_t n) {
  for (uint64_t i = 0; i < n; ++i) {
    const uint64_t at = 0x10000000 + 2 * i * kPg;
    REQUIRE(anon_map(mm, at, kPg, (i & 1) ? kProtRead : kRW, kMapFixed) ==
            static_cast<int64_t>(at));
  }
}

TEST_CASE("max_map_count is Linux's 65530 unless the emulator lowers it") {
  CHECK(test::kLayout.max_map_count == 65530);
  Mm mm(test::kLayout);
  CHECK(mm.map_count() == 0);
}

TEST_CASE("mmap refuses a new VMA with ENOMEM once map_count is above max_map_count") {
  Mm mm(limited(4));
  map_pages(mm, 5);  // do_mmap checks map_count > max: the fifth map is made at 4
  CHECK(mm.map_count() == 5);
  CHECK(anon_map(mm, 0, kPg, kRW) == -ENOMEM);
  CHECK(anon_map(mm, 0x20000000, kPg, kRW, kMapFixed) == -ENOMEM);
  CHECK(mm.vma_count() == 5);
  REQUIRE(mm.munmap(GuestAddr{0x10000000}, kPg) == 0);  // unmapping whole VMAs always works
  REQUIRE(mm.munmap(GuestAddr{0x10000000 + 2 * kPg}, kPg) == 0);
  CHECK(anon_map(mm, 0, kPg, kRW) > 0);
  mm.verify();
}

TEST_CASE("munmap punching a hole into one VMA at max_map_count is ENOMEM, trimming is not") {
  Mm mm(limited(2));
  map_pages(mm, 1);
  REQUIRE(anon_map(mm, 0x30000000, 4 * kPg, kRW, kMapFixed) == 0x30000000);
  CHECK(mm.munmap(GuestAddr{0x30000000 + kPg}, kPg) == -ENOMEM);  // would make 3
  // A MAP_FIXED mapping into the middle of a VMA splits it the same way.
  CHECK(anon_map(mm, 0x30000000 + 2 * kPg, kPg, kProtRead, kMapFixed) == -ENOMEM);
  CHECK(mm.vma_count() == 2);
  CHECK(mm.munmap(GuestAddr{0x30000000}, kPg) == 0);  // the head: still 2 VMAs
  CHECK(mm.munmap(GuestAddr{0x30000000 + 3 * kPg}, kPg) == 0);  // the tail
  CHECK(mm.vma_count() == 2);
  mm.verify();
}

TEST_CASE("mprotect and madvise refuse a split past max_map_count with ENOMEM") {
  Mm mm(limited(2));
  REQUIRE(anon_map(mm, 0x30000000, 4 * kPg, kRW, kMapFixed) == 0x30000000);
  const GuestAddr mid{0x30000000 + kPg};
  CHECK(mm.mprotect(mid, kPg, kProtRead) == -ENOMEM);  // two splits: 3 VMAs > 2
  CHECK(mm.madvise(mid, kPg, kMadvDontfork) == -ENOMEM);
  CHECK(mm.vma_count() == 1);
  CHECK(mm.mprotect(GuestAddr{0x30000000}, kPg, kProtRead) == 0);  // one split: 2 VMAs
  CHECK(mm.vma_count() == 2);
  CHECK(mm.mprotect(GuestAddr{0x30000000}, 4 * kPg, kProtRead) == 0);  // no split: merges
  CHECK(mm.vma_count() == 1);
  mm.verify();
}

TEST_CASE("brk does not grow above max_map_count (do_brk_flags: ENOMEM)") {
  Mm mm(limited(1));
  mm.set_brk_base(GuestAddr{0x01000000});
  map_pages(mm, 2);  // map_count 2 > 1
  CHECK(mm.brk(GuestAddr{0x01000000 + kPg}) == 0x01000000);
  REQUIRE(mm.munmap(GuestAddr{0x10000000}, kPg) == 0);  // 1: not above the limit
  CHECK(mm.brk(GuestAddr{0x01000000 + kPg}) == 0x01000000 + kPg);
  mm.verify();
}

TEST_CASE("write_private_page refuses a replaced page that would pass max_map_count") {
  InodeCache c;
  test::TempFile f(test::pattern(4 * kPg));
  Inode* ino = test::file_inode(c, f, "f", 4 * kPg);
  Mm mm(limited(3));
  REQUIRE(mm.mmap(GuestAddr{0x30000000}, 4 * kPg, kProtRead | kProtExec, kMapPrivate | kMapFixed,
                  ino, FileOffset{0}, FileMode::ReadOnly) == 0x30000000);
  const uint8_t cc[] = {0xcc};
  REQUIRE(mm.write_private_page(GuestAddr{0x30000000 + kPg}, cc).ok());  // 1 + 2 runs
  CHECK(mm.map_count() == 3);
  const Result<void> r = mm.write_private_page(GuestAddr{0x30000000 + 3 * kPg}, cc);
  REQUIRE_FALSE(r.ok());
  CHECK(r.error().err == ENOMEM);
  CHECK(mm.write_private_page(GuestAddr{0x30000000 + kPg + 1}, cc).ok());  // the same copy
  CHECK(mm.replaced_pages() == 1);
  mm.verify();
  mm.munmap(GuestAddr{0x30000000}, 4 * kPg);
  c.iput(ino);
}

MmLayout exec_limited(uint64_t max_exec) {
  MmLayout l = test::kLayout;
  l.max_exec_map_count = max_exec;
  return l;
}

TEST_CASE("PROT_EXEC mmaps stop at max_exec_map_count with ENOMEM, data mappings do not count") {
  Mm mm(exec_limited(2));
  map_pages(mm, 10);  // 10 data VMAs
  CHECK(mm.exec_map_count() == 0);
  const int rx = kProtRead | kProtExec;
  CHECK(anon_map(mm, 0x20000000, kPg, rx, kMapFixed) == 0x20000000);
  CHECK(anon_map(mm, 0x20002000, kPg, rx | kProtWrite, kMapFixed) == 0x20002000);
  CHECK(anon_map(mm, 0x20004000, kPg, rx, kMapFixed) == 0x20004000);  // made at 2 (`>`)
  CHECK(mm.exec_map_count() == 3);
  CHECK(anon_map(mm, 0, kPg, rx) == -ENOMEM);
  CHECK(anon_map(mm, 0, kPg, kRW) > 0);  // a data mapping still fits
  CHECK(mm.vma_count() == 14);
  mm.verify();
}

TEST_CASE("mprotect adding an executable VMA or splitting one is held to max_exec_map_count") {
  Mm mm(exec_limited(1));
  REQUIRE(anon_map(mm, 0x30000000, 4 * kPg, kRW, kMapFixed) == 0x30000000);
  const int rx = kProtRead | kProtExec;
  CHECK(mm.mprotect(GuestAddr{0x30000000}, kPg, rx) == 0);  // 1 executable VMA
  CHECK(mm.mprotect(GuestAddr{0x30002000}, kPg, rx) == -ENOMEM);  // a second one
  CHECK(mm.mprotect(GuestAddr{0x30000000}, kPg, kRW) == 0);  // back: merged, none
  CHECK(mm.exec_map_count() == 0);
  CHECK(mm.mprotect(GuestAddr{0x30000000}, 4 * kPg, rx) == 0);  // the whole VMA: one
  CHECK(mm.exec_map_count() == 1);
  CHECK(mm.mprotect(GuestAddr{0x30001000}, kPg, kProtRead) == -ENOMEM);  // splits it in two
  CHECK(mm.munmap(GuestAddr{0x30001000}, kPg) == -ENOMEM);  // a hole splits it too
  CHECK(mm.mprotect(GuestAddr{0x30000000}, kPg, kProtRead) == 0);  // a trim: still one
  CHECK(mm.exec_map_count() == 1);
  mm.verify();
}

TEST_CASE("mprotect of a piece that merges into its neighbour is counted after the merge") {
  // Linux's mprotect_fixup tries vma_merge before split_vma, so a piece taking its
  // neighbour's protections adds no VMA even at max_map_count; the executable count, held
  // to max_exec_map_count the same way, counts the VMAs left after merging too.
  Mm mm(exec_limited(1));
  const int rx = kProtRead | kProtExec;
  REQUIRE(anon_map(mm, 0x30000000, 4 * kPg, kRW, kMapFixed) == 0x30000000);
  REQUIRE(mm.mprotect(GuestAddr{0x30000000}, kPg, rx) == 0);  // [rx][rw rw rw]: at the limit
  CHECK(mm.mprotect(GuestAddr{0x30001000}, kPg, rx) == 0);  // joins the rx VMA: still one
  CHECK(mm.exec_map_count() == 1);
  CHECK(mm.vma_count() == 2);
  CHECK(mm.mprotect(GuestAddr{0x30002000}, 2 * kPg, rx) == 0);  // the rest: one rx VMA
  CHECK(mm.exec_map_count() == 1);
  CHECK(mm.vma_count() == 1);
  CHECK(mm.mprotect(GuestAddr{0x30003000}, kPg, kRW) == 0);  // a tail trimmed off: one
  CHECK(mm.mprotect(GuestAddr{0x30001000}, kPg, kRW) == -ENOMEM);  // a middle piece: two
  CHECK(mm.exec_map_count() == 1);
  mm.verify();

  Mm full(limited(2));  // max_map_count: [rw][r] at 2; r's first page becoming rw merges left
  REQUIRE(anon_map(full, 0x30000000, 4 * kPg, kRW, kMapFixed) == 0x30000000);
  REQUIRE(full.mprotect(GuestAddr{0x30002000}, 2 * kPg, kProtRead) == 0);
  REQUIRE(full.map_count() == 2);
  CHECK(full.mprotect(GuestAddr{0x30002000}, kPg, kRW) == 0);  // no split: [rw rw rw][r]
  CHECK(full.map_count() == 2);
  CHECK(full.mprotect(GuestAddr{0x30000000}, kPg, kProtRead) == -ENOMEM);  // a real split
  full.verify();
}

TEST_CASE("fork's child inherits max_map_count and the map count") {
  Mm mm(limited(3));
  map_pages(mm, 3);
  auto child = mm.dup();
  REQUIRE(child.ok());
  CHECK((*child)->layout().max_map_count == 3);
  CHECK((*child)->map_count() == 3);
}

}  // namespace
}  // namespace probesim::mmu
