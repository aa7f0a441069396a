// The Mm's VMA index (mm_holes.cc): free holes, VM_GROWSDOWN starts and total_vm kept beside the
// VMAs, so placement skips packed VMAs; Mm::verify checks it against a recount and the hole
// search against the VMA walk (for 1 page, 16 pages and 1 GiB) after every operation here.
#include <doctest/doctest.h>

#include <random>
#include <vector>

#include "mmu/mm.h"
#include "mmu/vm_flags.h"
#include "mmu_test_util.h"

using namespace probesim;
using namespace probesim::mmu;
using namespace probesim::mmu::test;

namespace {
constexpr int kAnon = kMapPrivate | kMapAnonymous;
}  // namespace

TEST_CASE("mm index: packed one-page mmaps each land right below the last, none merged") {
  Mm mm(kLayout);
  int64_t prev = static_cast<int64_t>(kLayout.mmap_base.value);
  for (int i = 0; i < 20000; ++i) {
    const int prot = (i & 1) ? kProtRead : kProtRead | kProtWrite;
    const int64_t a = mm.mmap(GuestAddr{0}, kPg, prot, kAnon, nullptr, FileOffset{0});
    REQUIRE(a == prev - static_cast<int64_t>(kPg));
    prev = a;
  }
  CHECK(mm.vma_count() == 20000);
  CHECK(mm.total_vm() == 20000);
  mm.verify();
  // A hole in the middle is found again by the next mmap of its size, not the bottom.
  const GuestAddr mid{kLayout.mmap_base.value - 10000 * kPg};
  REQUIRE(mm.munmap(mid, kPg) == 0);
  CHECK(mm.total_vm() == 19999);
  CHECK(mm.mmap(GuestAddr{0}, kPg, kProtRead, kAnon, nullptr, FileOffset{0}) ==
        static_cast<int64_t>(mid.value));
  mm.verify();
}

TEST_CASE("mm index: random map, unmap, fixed and mprotect keep holes, total_vm and placement exact") {
  Mm mm(kLayout);
  std::mt19937_64 rng(14);  // fixed seed: the same operations every run
  const uint64_t base = kLayout.mmap_base.value - 4096 * kPg;
  for (int step = 0; step < 3000; ++step) {
    const uint64_t pages = 1 + rng() % 8;
    const GuestAddr at{base + (rng() % 4096) * kPg};
    switch (rng() % 5) {
      case 0:
      case 1:
        mm.mmap(GuestAddr{0}, pages * kPg, kProtRead | kProtWrite, kAnon, nullptr, FileOffset{0});
        break;
      case 2:
        mm.mmap(at, pages * kPg, kProtRead, kAnon | kMapFixed, nullptr, FileOffset{0});
        break;
      case 3:
        mm.munmap(at, pages * kPg);
        break;
      default:
        mm.mprotect(at, pages * kPg, (rng() & 1) ? kProtRead : kProtRead | kProtWrite);
    }
    mm.verify();
  }
  CHECK(mm.vma_count() > 100);
}

TEST_CASE("mm index: a VM_GROWSDOWN VMA below mmap_base keeps its guard gap in placement") {
  Mm mm(kLayout);
  const uint64_t stack_top = kLayout.mmap_base.value - 64 * kPg;
  const int64_t s = mm.mmap(GuestAddr{stack_top - 4 * kPg}, 4 * kPg, kProtRead | kProtWrite,
                            kAnon | kMapFixed | kMapGrowsdown, nullptr, FileOffset{0});
  REQUIRE(s > 0);
  mm.verify();
  // 60 of the 64 pages above it fit there; 8 more do not, and below it the guard gap (256
  // pages) stays empty.
  const int64_t a = mm.mmap(GuestAddr{0}, 60 * kPg, kProtRead, kAnon, nullptr, FileOffset{0});
  CHECK(a == static_cast<int64_t>(kLayout.mmap_base.value - 60 * kPg));
  const int64_t b = mm.mmap(GuestAddr{0}, 8 * kPg, kProtRead, kAnon, nullptr, FileOffset{0});
  CHECK(b == static_cast<int64_t>(stack_top - 4 * kPg - kLayout.stack_guard_gap - 8 * kPg));
  mm.verify();
  REQUIRE(mm.munmap(GuestAddr{static_cast<uint64_t>(s)}, 4 * kPg) == 0);
  mm.verify();
}

TEST_CASE("mm index: the commit charge follows each operation without a recount") {
  Budget budget(uint64_t{1} << 30);
  Mm mm(kLayout);
  mm.set_commit_budget(&budget);
  const int64_t a = mm.mmap(GuestAddr{0}, 8 * kPg, kProtRead | kProtWrite, kAnon, nullptr,
                            FileOffset{0});
  REQUIRE(a > 0);
  CHECK(mm.committed() == 8 * kPg);
  REQUIRE(mm.munmap(GuestAddr{static_cast<uint64_t>(a) + 2 * kPg}, 2 * kPg) == 0);
  CHECK(mm.committed() == 6 * kPg);
  mm.verify();
  const int64_t r = mm.mmap(GuestAddr{0}, 4 * kPg, kProtRead, kAnon, nullptr, FileOffset{0});
  REQUIRE(mm.mprotect(GuestAddr{static_cast<uint64_t>(r)}, 4 * kPg, kProtRead | kProtWrite) == 0);
  CHECK(mm.committed() == 10 * kPg);
  mm.verify();
}
