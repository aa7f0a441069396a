// PageTable (4-level radix) and FrameSpace (frames, refcount/mapcount), the paged MMU's pieces.
#include "mmu/page_table.h"

#include <doctest/doctest.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <vector>

#include "mmu/frame_space.h"

using namespace probesim;
using namespace probesim::mmu;

TEST_CASE("page table: an entry set is found at its page and nowhere else") {
  PageTable pt;
  const GuestAddr a{0x7f1234567000};
  pt.set(a, Pte{Pfn{42}, kPteRead | kPteWrite});
  REQUIRE(pt.lookup(a + 0xfff).has_value());
  CHECK(pt.lookup(a)->pfn == Pfn{42});
  CHECK_FALSE(pt.lookup(a + kPageSize).has_value());
  CHECK_FALSE(pt.lookup(a - kPageSize).has_value());
  CHECK(pt.entries() == 1);
  CHECK(pt.tables() == 4);  // pgd + one pud, pmd and pte table
  pt.verify();
}

TEST_CASE("page table: the walk names each level's index, 9 bits of the address each") {
  PageTable pt;
  const uint64_t va = (uint64_t{3} << 39) | (uint64_t{5} << 30) | (uint64_t{7} << 21) | (9 << 12);
  auto before = pt.walk(GuestAddr{va});
  CHECK(before[0].index == 3);
  CHECK(before[1].index == 5);
  CHECK(before[2].index == 7);
  CHECK(before[3].index == 9);
  CHECK_FALSE(before[0].present);
  pt.set(GuestAddr{va}, Pte{Pfn{1}, kPteRead});
  for (const auto& step : pt.walk(GuestAddr{va})) CHECK(step.present);
  auto neighbour = pt.walk(GuestAddr{va + kPageSize});
  CHECK(neighbour[2].present);
  CHECK_FALSE(neighbour[3].present);
}

TEST_CASE("page table: clearing the last entry below a table frees the tables it emptied") {
  PageTable pt;
  const GuestAddr a{0x400000}, b{0x7fff00000000};
  pt.set(a, Pte{Pfn{1}, kPteRead});
  pt.set(b, Pte{Pfn{2}, kPteRead});
  CHECK(pt.tables() == 7);  // pgd + 3 per address (different pgd entries)
  CHECK(pt.clear(a)->pfn == Pfn{1});
  CHECK_FALSE(pt.clear(a).has_value());
  CHECK(pt.tables() == 4);
  pt.verify();
  pt.clear(b);
  CHECK(pt.tables() == 1);
  CHECK(pt.entries() == 0);
  pt.verify();
}

TEST_CASE("page table: for_each visits present entries in a range, ascending, skipping holes") {
  PageTable pt;
  std::vector<uint64_t> set = {0x1000, 0x3000, 0x40000000, 0x40001000, 0x8000000000};
  for (uint64_t a : set) pt.set(GuestAddr{a}, Pte{Pfn{a >> 12}, kPteRead});
  std::vector<uint64_t> seen;
  pt.for_each(GuestAddr{0x2000}, GuestAddr{0x8000000000}, [&](GuestAddr a, Pte& p) {
    CHECK(p.pfn.value == a.value >> 12);
    seen.push_back(a.value);
  });
  CHECK(seen == std::vector<uint64_t>{0x3000, 0x40000000, 0x40001000});
}

TEST_CASE("page table: 100000 scattered entries cost tables in proportion, and all go") {
  PageTable pt;
  for (uint64_t i = 0; i < 100000; ++i) pt.set(GuestAddr{i * 0x10000}, Pte{Pfn{i}, kPteRead});
  CHECK(pt.entries() == 100000);
  pt.verify();
  for (uint64_t i = 0; i < 100000; ++i) REQUIRE(pt.clear(GuestAddr{i * 0x10000}).has_value());
  CHECK(pt.tables() == 1);
  pt.verify();
}

TEST_CASE("frames: a new frame reads zero, has refcount 1 and a physical address by pfn") {
  auto fs = FrameSpace::create(uint64_t{1} << 32);
  REQUIRE(fs.ok());
  FrameSpace& f = *fs.value();
  CHECK(f.frames() == (uint64_t{1} << 32) / kPageSize);
  CHECK(f.regions().size() == 1);
  auto p = f.alloc_zeroed();
  REQUIRE(p.ok());
  CHECK(f.refcount(*p) == 1);
  CHECK(f.mapcount(*p) == 0);
  CHECK(FrameSpace::phys(*p) == p->value << 12);
  const uint8_t* d = f.data(*p);
  CHECK(std::count(d, d + kPageSize, 0) == static_cast<long>(kPageSize));
  f.verify();
}

TEST_CASE("frames: the last put frees a frame, which comes back zeroed for the next user") {
  auto fs = FrameSpace::create(uint64_t{1} << 32);
  REQUIRE(fs.ok());
  FrameSpace& f = *fs.value();
  const Pfn p = *f.alloc_zeroed();
  std::memset(f.data(p), 0xab, kPageSize);
  f.get(p);
  f.put(p);
  CHECK(f.stats().in_use == 1);  // one reference left
  f.put(p);
  CHECK(f.stats().in_use == 0);
  CHECK(f.stats().freed == 1);
  const Pfn q = *f.alloc_zeroed();
  CHECK(q == p);  // reused
  CHECK(f.data(q)[100] == 0);
  CHECK(f.stats().peak == 1);
  f.verify();
}

TEST_CASE("frames: mapcount counts mappings and never exceeds the references") {
  auto fs = FrameSpace::create(uint64_t{1} << 32);
  REQUIRE(fs.ok());
  FrameSpace& f = *fs.value();
  const Pfn p = *f.alloc_zeroed();
  f.add_map(p);
  f.get(p);
  f.add_map(p);
  CHECK(f.mapcount(p) == 2);
  CHECK(f.refcount(p) == 2);
  f.remove_map(p);
  f.put(p);
  CHECK(f.mapcount(p) == 1);
  f.verify();
}

TEST_CASE("frames: the space is one region, and an allocation past its last frame is ENOMEM") {
  auto fs = FrameSpace::create(2 * kPageSize);
  REQUIRE(fs.ok());
  FrameSpace& f = *fs.value();
  REQUIRE(f.regions().size() == 1);
  CHECK(f.regions()[0].len == 2 * kPageSize);
  const Pfn a = *f.alloc_zeroed(), b = *f.alloc_zeroed();
  CHECK(a != b);
  auto c = f.alloc_zeroed();
  REQUIRE_FALSE(c.ok());
  CHECK(c.error().err == ENOMEM);
  f.put(a);
  CHECK(f.alloc_zeroed().ok());  // the freed frame serves the next request
  CHECK_FALSE(FrameSpace::create(0).ok());
}
