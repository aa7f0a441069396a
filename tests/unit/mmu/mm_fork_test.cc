// Mm::dup (fork's dup_mmap): private memory is copied, file pages and MAP_SHARED memory shared.
#include <doctest/doctest.h>

#include <sys/mman.h>

#include <cstring>
#include <vector>

#include "mmu/mm.h"
#include "mmu/vm_flags.h"
#include "mmu_test_util.h"

using namespace probesim;
using namespace probesim::mmu;
using namespace probesim::mmu::test;

namespace {
constexpr int kRw = kProtRead | kProtWrite;
constexpr int kAnonPrivate = kMapPrivate | kMapAnonymous;
}  // namespace

TEST_CASE("fork: the child's writes to private memory are invisible to the parent") {
  Mm parent(kLayout);
  int64_t a = parent.mmap(GuestAddr{0}, 4 * kPg, kRw, kAnonPrivate, nullptr, FileOffset{0});
  REQUIRE(a > 0);
  uint32_t v = 0x11111111;
  REQUIRE(parent.copy_to_user(GuestAddr{static_cast<uint64_t>(a) + 8}, &v, 4));
  auto child = parent.dup();
  REQUIRE(child.ok());
  Mm& c = *child.value();
  c.verify();
  uint32_t seen = 0;
  REQUIRE(c.copy_from_user(&seen, GuestAddr{static_cast<uint64_t>(a) + 8}, 4));
  CHECK(seen == 0x11111111);  // the child starts with the parent's contents
  uint32_t w = 0x22222222;
  REQUIRE(c.copy_to_user(GuestAddr{static_cast<uint64_t>(a) + 8}, &w, 4));
  REQUIRE(parent.copy_from_user(&seen, GuestAddr{static_cast<uint64_t>(a) + 8}, 4));
  CHECK(seen == 0x11111111);  // ... and its writes stay its own
  CHECK(c.vma_at(GuestAddr{static_cast<uint64_t>(a)})->host_ptr(GuestAddr{static_cast<uint64_t>(a)}) !=
        parent.vma_at(GuestAddr{static_cast<uint64_t>(a)})->host_ptr(GuestAddr{static_cast<uint64_t>(a)}));
}

TEST_CASE("fork: read-only file mappings keep sharing the page-cache frames") {
  TempFile f(pattern(3 * kPg));
  InodeCache cache;
  Inode* inode = file_inode(cache, f, "k", 3 * kPg);
  {
    Mm parent(kLayout);
    int64_t a = parent.mmap(GuestAddr{0}, 3 * kPg, kProtRead | kProtExec, kMapPrivate, inode,
                            FileOffset{0});
    REQUIRE(a > 0);
    auto child = parent.dup();
    REQUIRE(child.ok());
    const GuestAddr at{static_cast<uint64_t>(a)};
    CHECK(child.value()->vma_at(at)->host_ptr(at) == parent.vma_at(at)->host_ptr(at));
    CHECK(inode->i_mapping().i_mmap().size() == 2);  // both VMAs are in the file's i_mmap
    CHECK(inode->i_mapping().page_mapcount(PageIndex{0}) == 2);
  }
  CHECK(inode->i_mapping().i_mmap().empty());
  cache.iput(inode);
}

TEST_CASE("fork: MAP_SHARED anonymous memory stays shared with the child") {
  Mm parent(kLayout);
  int64_t a = parent.mmap(GuestAddr{0}, kPg, kRw, kMapShared | kMapAnonymous, nullptr,
                          FileOffset{0});
  REQUIRE(a > 0);
  auto child = parent.dup();
  REQUIRE(child.ok());
  uint32_t w = 0x33333333, seen = 0;
  REQUIRE(child.value()->copy_to_user(GuestAddr{static_cast<uint64_t>(a)}, &w, 4));
  REQUIRE(parent.copy_from_user(&seen, GuestAddr{static_cast<uint64_t>(a)}, 4));
  CHECK(seen == 0x33333333);
}

TEST_CASE("fork: untouched pages are not copied (the child's RSS is what the parent used)") {
  Mm parent(kLayout);
  int64_t a = parent.mmap(GuestAddr{0}, 256 * kPg, kRw, kAnonPrivate, nullptr, FileOffset{0});
  REQUIRE(a > 0);
  uint8_t one = 1;
  REQUIRE(parent.copy_to_user(GuestAddr{static_cast<uint64_t>(a) + 100 * kPg}, &one, 1));
  auto child = parent.dup();
  REQUIRE(child.ok());
  const Vma* cv = child.value()->vma_at(GuestAddr{static_cast<uint64_t>(a)});
  std::vector<unsigned char> resident(256);
  REQUIRE(mincore(cv->host_ptr(cv->vm_start), 256 * kPg, resident.data()) == 0);
  int n = 0;
  for (unsigned char r : resident) n += r & 1;
  CHECK(n == 1);
  uint8_t seen = 0;
  REQUIRE(child.value()->copy_from_user(&seen, GuestAddr{static_cast<uint64_t>(a) + 100 * kPg}, 1));
  CHECK(seen == 1);
}
