// Budgets: Mm commit accounting (Linux's strict overcommit, mm_commit.cc) and the page cache's
// write budget (the overlay's space, ENOSPC).
#include <doctest/doctest.h>

#include "mmu/address_space.h"
#include "mmu_test_util.h"

namespace probesim::mmu {
namespace {

using test::anon_map;
using test::kLayout;
using test::kPg;

constexpr int kRW = kProtRead | kProtWrite;

TEST_CASE("commit: writable anonymous memory is charged, PROT_NONE is not, ENOMEM past the limit") {
  Budget b(16 * kPg);
  Mm mm(kLayout);
  mm.set_commit_budget(&b);
  CHECK(anon_map(mm, 0, 64 * kPg, kProtNone) > 0);
  CHECK(b.used() == 0);
  const int64_t a = anon_map(mm, 0, 10 * kPg, kRW);
  REQUIRE(a > 0);
  CHECK(b.used() == 10 * kPg);
  CHECK(mm.committed() == 10 * kPg);
  const size_t vmas = mm.vma_count();
  CHECK(anon_map(mm, 0, 7 * kPg, kRW) == -ENOMEM);
  CHECK(anon_map(mm, 0, 7 * kPg, kRW, kMapNoreserve) == -ENOMEM);  // charged too: host safety
  CHECK(mm.vma_count() == vmas);  // nothing changed
  CHECK(anon_map(mm, 0, 6 * kPg, kRW) > 0);
  CHECK(b.used() == 16 * kPg);
  CHECK(mm.munmap(GuestAddr{static_cast<uint64_t>(a)}, 4 * kPg) == 0);
  CHECK(b.used() == 12 * kPg);
  mm.verify();
}

TEST_CASE("commit: MAP_FIXED over charged memory gives it back first, read-only maps are free") {
  Budget b(8 * kPg);
  Mm mm(kLayout);
  mm.set_commit_budget(&b);
  const int64_t a = anon_map(mm, 0, 8 * kPg, kRW);
  REQUIRE(a > 0);
  CHECK(anon_map(mm, static_cast<uint64_t>(a), 8 * kPg, kRW, kMapFixed) == a);
  CHECK(b.used() == 8 * kPg);
  CHECK(anon_map(mm, 0, 100 * kPg, kProtRead) > 0);
  CHECK(b.used() == 8 * kPg);
  mm.verify();
}

TEST_CASE("commit: mprotect to writable is charged (ENOMEM, unchanged), write removal keeps it") {
  Budget b(8 * kPg);
  Mm mm(kLayout);
  mm.set_commit_budget(&b);
  const int64_t r = anon_map(mm, 0, 16 * kPg, kProtNone);
  REQUIRE(r > 0);
  const GuestAddr at{static_cast<uint64_t>(r)};
  CHECK(mm.mprotect(at, 16 * kPg, kRW) == -ENOMEM);
  CHECK(mm.vma_count() == 1);
  CHECK((mm.vma_at(at)->vm_flags & VM_WRITE) == 0);
  CHECK(mm.mprotect(at, 8 * kPg, kRW) == 0);
  CHECK(b.used() == 8 * kPg);
  CHECK(mm.mprotect(at, 8 * kPg, kProtRead) == 0);  // VM_ACCOUNT stays, as Linux
  CHECK(b.used() == 8 * kPg);
  mm.verify();
}

TEST_CASE("commit: brk growth is charged and stops at the limit, fork charges a copy (ENOMEM)") {
  Budget b(12 * kPg);
  Mm mm(kLayout);
  mm.set_commit_budget(&b);
  mm.set_brk_base(GuestAddr{0x600000});
  CHECK(mm.brk(GuestAddr{0x600000 + 5 * kPg}) == 0x600000 + 5 * kPg);
  CHECK(b.used() == 5 * kPg);
  {
    auto child = mm.dup();
    REQUIRE(child.ok());
    CHECK(b.used() == 10 * kPg);
  }
  CHECK(b.used() == 5 * kPg);  // the child mm's death gave its charge back
  CHECK(mm.brk(GuestAddr{0x600000 + 13 * kPg}) == 0x600000 + 5 * kPg);  // did not fit
  CHECK(mm.brk(GuestAddr{0x600000 + 7 * kPg}) == 0x600000 + 7 * kPg);
  auto refused = mm.dup();
  REQUIRE(!refused.ok());
  CHECK(refused.error().err == ENOMEM);
  CHECK(b.used() == 7 * kPg);
  mm.verify();
}

TEST_CASE("write budget: writes charge new pages, cut short at the limit, then ENOSPC") {
  Budget b(3 * kPg);
  InodeCache c;
  c.set_write_budget(&b);
  auto ino = c.insert("overlay:1", "f", InodeAttrs{}, nullptr, 16 * kPg);
  REQUIRE(ino.ok());
  AddressSpace& as = (*ino)->i_mapping();
  const std::string data = test::pattern(2 * kPg);
  const std::span<const uint8_t> bytes(reinterpret_cast<const uint8_t*>(data.data()), data.size());
  CHECK(as.write(FileOffset{0}, bytes).value() == 2 * kPg);
  CHECK(as.write(FileOffset{0}, bytes).value() == 2 * kPg);  // rewriting costs nothing
  CHECK(b.used() == 2 * kPg);
  CHECK(as.write(FileOffset{2 * kPg + 10}, bytes).value() == kPg - 10);  // short
  CHECK(b.used() == 3 * kPg);
  auto full = as.write(FileOffset{3 * kPg}, bytes);
  REQUIRE(!full.ok());
  CHECK(full.error().err == ENOSPC);
  REQUIRE(as.truncate(kPg).ok());
  CHECK(b.used() == kPg);
  (*ino)->mark_dirty();
  (*ino)->attrs().nlink = 0;  // unlinked: the last iput evicts it and its charge goes
  c.iput(*ino);
  CHECK(c.size() == 0);
  CHECK(b.used() == 0);
}

}  // namespace
}  // namespace probesim::mmu
