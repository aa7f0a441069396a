// PagedMm: the fault path of the paged MMU (demand-zero, file pages, COW after fork, faults).
#include "mmu/paged_mm.h"

#include <doctest/doctest.h>

#include <cstring>

#include "mmu/frame_space.h"
#include "mmu/mm.h"
#include "mmu/vm_flags.h"
#include "mmu_test_util.h"

using namespace probesim;
using namespace probesim::mmu;
using namespace probesim::mmu::test;

namespace {

constexpr int kRw = kProtRead | kProtWrite;
constexpr int kAnonPrivate = kMapPrivate | kMapAnonymous;

std::unique_ptr<FrameSpace> frames() {
  auto fs = FrameSpace::create(uint64_t{1} << 32);
  REQUIRE(fs.ok());
  return std::move(fs.value());
}

GuestAddr map(Mm& mm, uint64_t len, int prot, int flags = kAnonPrivate, Inode* file = nullptr) {
  const int64_t a = mm.mmap(GuestAddr{0}, len, prot, flags, file, FileOffset{0});
  REQUIRE(a > 0);
  return GuestAddr{static_cast<uint64_t>(a)};
}

}  // namespace

TEST_CASE("paged mm: a first touch of anonymous memory maps one zero frame, nothing more") {
  auto fs = frames();
  Mm mm(kLayout);
  const GuestAddr a = map(mm, uint64_t{1} << 30, kRw);  // 1 GiB: nothing committed
  PagedMm pm(mm, *fs);
  auto f = pm.fill(a + 5 * kPg + 12, Access::Write);
  REQUIRE(f.ok());
  CHECK(f.prot == (VM_READ | VM_WRITE));
  CHECK(fs->stats().in_use == 1);
  CHECK(pm.page_table().entries() == 1);
  CHECK(pm.stats().minor_faults == 1);
  const Pfn pfn = pm.page_table().lookup(a + 5 * kPg)->pfn;
  CHECK(f.phys == FrameSpace::phys(pfn));
  CHECK(fs->data(pfn)[12] == 0);
  CHECK((pm.page_table().lookup(a + 5 * kPg)->flags & kPteDirty) != 0);
  // A second access to the page is a plain translation: no new fault, same frame.
  auto g = pm.fill(a + 5 * kPg, Access::Read);
  CHECK(g.phys == f.phys);
  CHECK(pm.stats().minor_faults == 1);
  pm.verify();
  fs->verify();
}

TEST_CASE("paged mm: no VMA is SEGV_MAPERR, a missing permission SEGV_ACCERR, and nothing maps") {
  auto fs = frames();
  Mm mm(kLayout);
  const GuestAddr ro = map(mm, kPg, kProtRead);
  PagedMm pm(mm, *fs);
  CHECK(pm.fill(GuestAddr{0x1000}, Access::Read).fault == FaultKind::MapErr);
  CHECK(pm.fill(ro, Access::Write).fault == FaultKind::AccErr);
  CHECK(pm.fill(ro, Access::Exec).fault == FaultKind::AccErr);
  CHECK(fs->stats().in_use == 0);
  // A read maps it read-only; the write after it is still refused.
  auto r = pm.fill(ro, Access::Read);
  REQUIRE(r.ok());
  CHECK(r.prot == VM_READ);
  CHECK(pm.fill(ro, Access::Write).fault == FaultKind::AccErr);
}

TEST_CASE("paged mm: a file page is read per page into a frame, and past EOF is SIGBUS") {
  TempFile f(pattern(2 * kPg));
  InodeCache cache;
  Inode* inode = file_inode(cache, f, "k", 2 * kPg);
  {
    auto fs = frames();
    Mm mm(kLayout);
    const GuestAddr a = map(mm, 4 * kPg, kRw, kMapPrivate, inode);
    PagedMm pm(mm, *fs);
    auto r = pm.fill(a + kPg, Access::Write);
    REQUIRE(r.ok());
    const std::string want = pattern(2 * kPg).substr(kPg, kPg);
    CHECK(std::memcmp(fs->data(Pfn{r.phys >> 12}), want.data(), kPg) == 0);
    CHECK(fs->stats().in_use == 1);  // one page, not the 4-page VMA
    CHECK(pm.fill(a + 2 * kPg, Access::Read).fault == FaultKind::Bus);
  }
  cache.iput(inode);
}

TEST_CASE("paged mm: after fork both sides share each frame until one writes (COW per page)") {
  auto fs = frames();
  Mm parent(kLayout);
  const GuestAddr a = map(parent, 2 * kPg, kRw);
  PagedMm pp(parent, *fs);
  REQUIRE(pp.fill(a, Access::Write).ok());
  REQUIRE(pp.fill(a + kPg, Access::Write).ok());
  const Pfn f0 = pp.page_table().lookup(a)->pfn;
  fs->data(f0)[0] = 0x5a;
  auto child_mm = parent.dup();
  REQUIRE(child_mm.ok());
  auto pc = pp.dup_cow(*child_mm.value());
  CHECK(fs->stats().in_use == 2);  // shared, not copied
  CHECK(fs->refcount(f0) == 2);
  CHECK(fs->mapcount(f0) == 2);
  // Reads see the shared frame, read-only.
  auto r = pc->fill(a, Access::Read);
  CHECK(r.phys == FrameSpace::phys(f0));
  CHECK(r.prot == VM_READ);
  // The child's write copies that one page; the parent keeps the original.
  auto w = pc->fill(a, Access::Write);
  REQUIRE(w.ok());
  CHECK(w.phys != FrameSpace::phys(f0));
  CHECK(fs->data(Pfn{w.phys >> 12})[0] == 0x5a);
  CHECK(pc->stats().cow_breaks == 1);
  CHECK(fs->stats().in_use == 3);
  CHECK(fs->refcount(f0) == 1);
  // The parent's write then finds the frame unshared and reuses it: no copy.
  auto pw = pp.fill(a, Access::Write);
  CHECK(pw.phys == FrameSpace::phys(f0));
  CHECK(pp.stats().cow_reuses == 1);
  CHECK(pp.stats().cow_breaks == 0);
  pp.verify();
  pc->verify();
  fs->verify();
}

TEST_CASE(
    "paged mm: zap drops the PTEs and the frames of a range, and the next touch is zero again") {
  auto fs = frames();
  Mm mm(kLayout);
  const GuestAddr a = map(mm, 8 * kPg, kRw);
  PagedMm pm(mm, *fs);
  for (int i = 0; i < 8; ++i) REQUIRE(pm.fill(a + i * kPg, Access::Write).ok());
  fs->data(pm.page_table().lookup(a + 2 * kPg)->pfn)[0] = 7;
  pm.zap(a + 2 * kPg, a + 4 * kPg);
  CHECK(pm.page_table().entries() == 6);
  CHECK(fs->stats().in_use == 6);
  auto r = pm.fill(a + 2 * kPg, Access::Read);
  CHECK(fs->data(Pfn{r.phys >> 12})[0] == 0);
  REQUIRE(mm.munmap(a, 8 * kPg) == 0);
  pm.zap(a, a + 8 * kPg);
  CHECK(fs->stats().in_use == 0);
  pm.verify();
  fs->verify();
}

TEST_CASE("paged mm: a write to a MAP_SHARED page is reported unsupported, not mis-modelled") {
  auto fs = frames();
  Mm mm(kLayout);
  const GuestAddr a = map(mm, kPg, kRw, kMapShared | kMapAnonymous);
  PagedMm pm(mm, *fs);
  auto w = pm.fill(a, Access::Write);
  CHECK(w.unsupported);
  CHECK(w.fault == FaultKind::None);
  CHECK(fs->stats().in_use == 0);
}
