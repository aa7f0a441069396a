// The MmObserver contract and whole-model invariants under random operation sequences.
#include <doctest/doctest.h>

#include <map>
#include <random>

#include "mmu_test_util.h"

namespace probesim::mmu {
namespace {

using test::anon_map;
using test::kLayout;
using test::kPg;

constexpr int kRW = kProtRead | kProtWrite;
const uint64_t kA = kLayout.mmap_base.value - 0x1000000;

TEST_CASE("observer: each operation unmaps whole old runs before mapping new ones") {
  Mm mm(kLayout);
  test::RecordingObserver obs;
  mm.set_observer(&obs);
  REQUIRE(anon_map(mm, kA, 8 * kPg, kRW, kMapFixed) > 0);
  CHECK(obs.events.size() == 1);
  obs.clear_events();
  REQUIRE(mm.mprotect(GuestAddr{kA + 2 * kPg}, kPg, kProtRead) == 0);
  REQUIRE(obs.events.size() == 4);  // unmap [0,8), map [0,2) [2,3) [3,8)
  CHECK(!obs.events[0].map);
  CHECK(obs.events[0].start == kA);
  CHECK(obs.events[0].len == 8 * kPg);
  CHECK(test::RecordingObserver::unmaps_before_maps(obs.events));
  CHECK(obs.live.at(kA + 2 * kPg).prot == VM_READ);
  obs.check(mm);
  obs.clear_events();
  REQUIRE(mm.mprotect(GuestAddr{kA + 2 * kPg}, kPg, kRW) == 0);  // merge back
  REQUIRE(obs.events.size() == 4);                               // unmap three, map one
  CHECK(test::RecordingObserver::unmaps_before_maps(obs.events));
  obs.check(mm);
}

TEST_CASE("observer: nothing is emitted for VMAs an operation leaves unchanged") {
  Mm mm(kLayout);
  test::RecordingObserver obs;
  mm.set_observer(&obs);
  REQUIRE(anon_map(mm, kA, 2 * kPg, kRW, kMapFixed) > 0);
  REQUIRE(anon_map(mm, kA + 2 * kPg, 2 * kPg, kProtRead, kMapFixed) > 0);
  REQUIRE(anon_map(mm, kA + 4 * kPg, 2 * kPg, kRW, kMapFixed) > 0);
  obs.clear_events();
  REQUIRE(mm.mprotect(GuestAddr{kA + 2 * kPg}, 2 * kPg, kProtRead) == 0);  // same prot
  REQUIRE(mm.madvise(GuestAddr{kA}, 6 * kPg, kMadvWillneed) == 0);
  REQUIRE(mm.munmap(GuestAddr{kA + 10 * kPg}, kPg) == 0);  // nothing there
  REQUIRE(mm.set_vma_name(GuestAddr{kA}, "").ok());
  CHECK(obs.events.empty());
  REQUIRE(mm.munmap(GuestAddr{kA + 4 * kPg}, 2 * kPg) == 0);  // only the third VMA
  REQUIRE(obs.events.size() == 1);
  CHECK(obs.events[0].start == kA + 4 * kPg);
  obs.check(mm);
}

TEST_CASE(
    "observer: set_observer replays every existing run, MAP_FIXED replacement is unmap then map") {
  InodeCache c;
  test::TempFile f(test::pattern(3 * kPg));
  Inode* ino = test::file_inode(c, f, "f", 3 * kPg);
  Mm mm(kLayout);
  REQUIRE(anon_map(mm, kA, 4 * kPg, kRW, kMapFixed) > 0);
  REQUIRE(mm.mmap(GuestAddr{0x400000}, 3 * kPg, kProtRead | kProtExec, kMapPrivate | kMapFixed, ino,
                  FileOffset{0}) > 0);
  test::RecordingObserver obs;
  mm.set_observer(&obs);
  CHECK(obs.events.size() == 2);
  obs.check(mm);
  obs.clear_events();
  REQUIRE(mm.mmap(GuestAddr{kA + kPg}, kPg, kProtRead | kProtExec, kMapPrivate | kMapFixed, ino,
                  FileOffset{kPg}) == static_cast<int64_t>(kA + kPg));
  CHECK(test::RecordingObserver::unmaps_before_maps(obs.events));
  CHECK(obs.events.size() == 4);  // unmap the anon run; map anon head, file page, anon tail
  obs.check(mm);
  mm.set_observer(nullptr);
  REQUIRE(mm.munmap(GuestAddr{kA}, 4 * kPg) == 0);  // detached: nothing recorded
  CHECK(obs.events.size() == 4);
  mm.verify();
  c.iput(ino);
}

// Random operations against a shadow of anonymous page contents; after every step the model
// verifies, the observer's runs match the VMAs, and every anon page holds what was written.
struct RandomWorld {
  std::mt19937_64 rng{0xC0FFEE};
  InodeCache cache;
  test::TempFile file{test::pattern(6 * kPg + 123)};
  Inode* ino = nullptr;
  Mm mm{kLayout};
  test::RecordingObserver obs;
  std::map<uint64_t, uint64_t> shadow;  // anon page -> tag at its offset 0
  bool resized = false;                 // the last step changed the file's size

  RandomWorld() {
    ino = test::file_inode(cache, file, "f", 6 * kPg + 123, 16 * kPg);
    mm.set_observer(&obs);
    mm.set_brk_base(GuestAddr{0x600000});
  }
  uint64_t pick(uint64_t n) { return rng() % n; }
  // Addresses in two areas: inside the anon window, and outside it (own arenas).
  uint64_t addr() { return (pick(2) ? kA : 0x40000000) + pick(48) * kPg; }
  void forget(uint64_t a, uint64_t len) {
    shadow.erase(shadow.lower_bound(a), shadow.lower_bound(a + len));
  }
  void zero(uint64_t a, uint64_t len) {
    for (uint64_t p = a; p < a + len; p += kPg) shadow[p] = 0;
  }
  void step();
  void check();
};

void RandomWorld::step() {
  const uint64_t a = addr(), len = (1 + pick(6)) * kPg;
  const int prots[] = {kProtRead, kRW, kProtNone, kProtRead | kProtExec};
  const int prot = prots[pick(4)];
  resized = false;
  switch (pick(9)) {
    case 0:
    case 1:  // anonymous MAP_FIXED
      REQUIRE(anon_map(mm, a, len, prot, kMapFixed) == static_cast<int64_t>(a));
      forget(a, len);
      zero(a, len);
      break;
    case 2: {  // file MAP_FIXED, private or shared
      const int type = pick(3) == 0 ? kMapShared : kMapPrivate;
      REQUIRE(mm.mmap(GuestAddr{a}, len, prot, type | kMapFixed, ino, FileOffset{pick(4) * kPg}) ==
              static_cast<int64_t>(a));
      forget(a, len);
      break;
    }
    case 3:
      REQUIRE(mm.munmap(GuestAddr{a}, len) == 0);
      forget(a, len);
      break;
    case 4: {
      const int64_t r = mm.mprotect(GuestAddr{a}, len, prot);
      CHECK((r == 0 || r == -ENOMEM || r == -EACCES));
      break;
    }
    case 5: {  // write a tag into a mapped anonymous page
      const Vma* v = mm.vma_at(GuestAddr{a});
      const uint64_t tag = rng() | 1;
      if (v && !v->vm_file && mm.poke(GuestAddr{a}, &tag, 8)) shadow[a] = tag;
      break;
    }
    case 6: {
      const int64_t r = mm.madvise(GuestAddr{a}, len, kMadvDontneed);
      for (uint64_t p = a; p < a + len; p += kPg) {
        const Vma* v = mm.vma_at(GuestAddr{p});
        if (v && !v->vm_file && !(v->vm_flags & VM_MAYSHARE)) shadow[p] = 0;
      }
      CHECK((r == 0 || r == -ENOMEM));
      break;
    }
    case 7: {  // brk up or down
      const uint64_t old_end = page_align_up(mm.cur_brk().value);
      const uint64_t nb = 0x600000 + pick(40) * kPg;
      mm.brk(GuestAddr{nb});
      const uint64_t new_end = page_align_up(mm.cur_brk().value);
      if (new_end > old_end)
        zero(old_end, new_end - old_end);
      else
        forget(new_end, old_end - new_end);
      break;
    }
    default: {  // the file changes size under its mappings
      const uint64_t size = 1 + pick(10 * kPg);
      REQUIRE(ino->i_mapping().truncate(size).ok());
      resized = true;
      break;
    }
  }
}

void RandomWorld::check() {
  mm.verify();
  cache.verify();
  obs.check(mm);
  // Within one mm operation all unmaps come first; a file size change is reported VMA by
  // VMA (each VMA's unmap before its map), which never overlaps either.
  if (!resized) REQUIRE(test::RecordingObserver::unmaps_before_maps(obs.events));
  obs.clear_events();
  for (const auto& [page, tag] : shadow) {
    uint64_t got = ~tag;
    REQUIRE(mm.peek(GuestAddr{page}, &got, 8));
    REQUIRE(got == tag);
  }
}

TEST_CASE("observer contract, VMA invariants and anonymous contents hold over random operations") {
  RandomWorld w;
  for (int i = 0; i < 3000; ++i) {
    w.step();
    w.check();
  }
  CHECK(w.mm.stats().splits > 0);
  CHECK(w.mm.stats().merges > 0);
  CHECK(w.mm.stats().private_copies > 0);
  w.cache.iput(w.ino);
}

}  // namespace
}  // namespace probesim::mmu
