// mmap(2) argument checks and placement, as the kernel does them.
#include <doctest/doctest.h>

#include "mmu_test_util.h"

namespace probesim::mmu {
namespace {

using test::anon_map;
using test::kLayout;
using test::kPg;

constexpr int kRW = kProtRead | kProtWrite;
const uint64_t kBase = kLayout.mmap_base.value;

TEST_CASE("mmap rejects len 0, unaligned offsets and unaligned MAP_FIXED addresses with EINVAL") {
  Mm mm(kLayout);
  CHECK(anon_map(mm, 0, 0, kRW) == -EINVAL);
  CHECK(mm.mmap(GuestAddr{0}, kPg, kRW, kMapPrivate | kMapAnonymous, nullptr, FileOffset{100}) ==
        -EINVAL);
  CHECK(anon_map(mm, 0x400010, kPg, kRW, kMapFixed) == -EINVAL);
  CHECK(anon_map(mm, 0x400010, kPg, kRW, kMapFixedNoreplace) == -EINVAL);
  CHECK(mm.vma_count() == 0);
  mm.verify();
}

TEST_CASE("mmap needs exactly one of MAP_SHARED / MAP_PRIVATE (MAP_SHARED_VALIDATE is shared)") {
  Mm mm(kLayout);
  CHECK(mm.mmap(GuestAddr{0}, kPg, kRW, kMapAnonymous, nullptr, FileOffset{0}) == -EINVAL);
  CHECK(mm.mmap(GuestAddr{0}, kPg, kRW, kMapAnonymous | 0x4, nullptr, FileOffset{0}) == -EINVAL);
  // MAP_SHARED|MAP_PRIVATE is Linux's MAP_SHARED_VALIDATE: shared, unknown flags refused.
  CHECK(mm.mmap(GuestAddr{0}, kPg, kRW, kMapSharedValidate | kMapAnonymous | 0x200, nullptr,
                FileOffset{0}) == -EOPNOTSUPP);
  const int64_t a =
      mm.mmap(GuestAddr{0}, kPg, kRW, kMapSharedValidate | kMapAnonymous, nullptr, FileOffset{0});
  REQUIRE(a > 0);
  CHECK((mm.vma_at(GuestAddr{static_cast<uint64_t>(a)})->vm_flags & VM_MAYSHARE) != 0);
  mm.verify();
}

TEST_CASE("mmap with MAP_ANONYMOUS ignores the file, without it a file is required (EBADF)") {
  InodeCache c;
  test::TempFile f(test::pattern(kPg));
  Inode* ino = test::file_inode(c, f, "f", kPg);
  Mm mm(kLayout);
  const int64_t a =
      mm.mmap(GuestAddr{0}, kPg, kRW, kMapPrivate | kMapAnonymous, ino, FileOffset{0});
  REQUIRE(a > 0);
  const Vma* v = mm.vma_at(GuestAddr{static_cast<uint64_t>(a)});
  CHECK(v->vm_file == nullptr);
  CHECK(v->vm_pgoff == static_cast<uint64_t>(a) >> kPageShift);  // anon: vm_start >> 12
  CHECK(ino->i_count() == 1);
  CHECK(mm.mmap(GuestAddr{0}, kPg, kRW, kMapPrivate, nullptr, FileOffset{0}) == -EBADF);
  c.iput(ino);
}

TEST_CASE("mmap places top-down below mmap_base and honours a free hint") {
  Mm mm(kLayout);
  const int64_t a = anon_map(mm, 0, 2 * kPg, kRW);
  CHECK(a == static_cast<int64_t>(kBase - 2 * kPg));
  const int64_t b = anon_map(mm, 0, kPg, kProtRead);
  CHECK(b == static_cast<int64_t>(kBase - 3 * kPg));
  const int64_t h = anon_map(mm, 0x10000000, kPg, kRW);
  CHECK(h == 0x10000000);
  const int64_t h2 = anon_map(mm, 0x20000123, kPg, kProtRead);  // hint rounded down
  CHECK(h2 == 0x20000000);
  mm.verify();
}

TEST_CASE("mmap with an occupied hint falls back to the top-down search") {
  Mm mm(kLayout);
  REQUIRE(anon_map(mm, 0x20000000, 4 * kPg, kRW) == 0x20000000);
  const int64_t r = anon_map(mm, 0x20001000, kPg, kProtRead);
  CHECK(r == static_cast<int64_t>(kBase - kPg));
  // A hint below mmap_min_addr is raised to it.
  const int64_t low = anon_map(mm, 0x1000, kPg, kProtRead);
  CHECK(low == static_cast<int64_t>(kLayout.mmap_min_addr.value));
  mm.verify();
}

TEST_CASE("mmap MAP_FIXED replaces what was there (an implicit munmap)") {
  Mm mm(kLayout);
  REQUIRE(anon_map(mm, 0x30000000, 8 * kPg, kRW, kMapFixed) == 0x30000000);
  const uint64_t marker = 0x1122334455667788;
  REQUIRE(mm.copy_to_user(GuestAddr{0x30003000}, &marker, 8));
  REQUIRE(anon_map(mm, 0x30002000, 2 * kPg, kProtRead, kMapFixed) == 0x30002000);
  CHECK(mm.vma_count() == 3);
  uint64_t got = 1;
  REQUIRE(mm.copy_from_user(&got, GuestAddr{0x30003000}, 8));
  CHECK(got == 0);  // fresh zero page, not the old contents
  CHECK(mm.stats().splits == 2);
  mm.verify();
}

TEST_CASE("mmap MAP_FIXED_NOREPLACE fails with EEXIST on an occupied range") {
  Mm mm(kLayout);
  const uint64_t a = kBase - 0x100000;  // inside the anonymous window
  REQUIRE(anon_map(mm, a, 2 * kPg, kRW, kMapFixed) == static_cast<int64_t>(a));
  CHECK(anon_map(mm, a + kPg, 2 * kPg, kRW, kMapFixedNoreplace) == -EEXIST);
  CHECK(anon_map(mm, a - kPg, 2 * kPg, kRW, kMapFixedNoreplace) == -EEXIST);
  CHECK(anon_map(mm, a + 2 * kPg, kPg, kRW, kMapFixedNoreplace) ==
        static_cast<int64_t>(a + 2 * kPg));
  CHECK(mm.vma_count() == 1);  // merged with its neighbour (same window arena)
  mm.verify();
}

TEST_CASE("anonymous mappings outside the mmap window get arenas of their own and do not merge") {
  Mm mm(kLayout);
  REQUIRE(anon_map(mm, 0x30000000, 2 * kPg, kRW, kMapFixed) == 0x30000000);
  REQUIRE(anon_map(mm, 0x30002000, kPg, kRW, kMapFixed) == 0x30002000);
  CHECK(mm.vma_count() == 2);  // same flags, but not host-contiguous: two runs
  CHECK(mm.vmas()[0]->anon != mm.vmas()[1]->anon);
  mm.verify();
}

TEST_CASE("mmap without space fails with ENOMEM, MAP_FIXED outside user space too") {
  MmLayout tiny{GuestAddr{0x20000}, GuestAddr{0x30000}};
  Mm mm(tiny);
  CHECK(anon_map(mm, 0, 0x10000, kRW) == 0x10000);  // [mmap_min_addr, mmap_base)
  CHECK(anon_map(mm, 0, 0x8000, kRW) == 0x20000);   // bottom-up fallback above TASK_SIZE/3
  CHECK(anon_map(mm, 0, 0x9000, kRW) == -ENOMEM);
  CHECK(anon_map(mm, 0x2f000, 2 * kPg, kRW, kMapFixed) == -ENOMEM);
  CHECK(anon_map(mm, 0x1000, kPg, kRW, kMapFixed) == -EPERM);  // below mmap_min_addr
  CHECK(anon_map(mm, 0, uint64_t{1} << 62, kRW) == -ENOMEM);
  mm.verify();
}

TEST_CASE("mmap refuses a shared writable mapping of a read-only file (EACCES)") {
  InodeCache c;
  test::TempFile f(test::pattern(kPg));
  Inode* ino = test::file_inode(c, f, "f", kPg);
  Mm mm(kLayout);
  CHECK(mm.mmap(GuestAddr{0}, kPg, kRW, kMapShared, ino, FileOffset{0}, FileMode::ReadOnly) ==
        -EACCES);
  const int64_t a =
      mm.mmap(GuestAddr{0}, kPg, kProtRead, kMapShared, ino, FileOffset{0}, FileMode::ReadOnly);
  REQUIRE(a > 0);
  const Vma* v = mm.vma_at(GuestAddr{static_cast<uint64_t>(a)});
  CHECK((v->vm_flags & (VM_SHARED | VM_MAYWRITE)) == 0);  // as Linux
  CHECK(vm_flags_string(v->vm_flags) == "r--s");
  CHECK(mm.mprotect(GuestAddr{static_cast<uint64_t>(a)}, kPg, kRW) == -EACCES);
  mm.verify();
  c.iput(ino);
}

TEST_CASE("mmap sets Linux's vm_flags: VM_MAY*, VM_ACCOUNT for private writable, VM_NORESERVE") {
  Mm mm(kLayout);
  const auto a = static_cast<uint64_t>(anon_map(mm, 0, kPg, kRW));
  CHECK(mm.vma_at(GuestAddr{a})->vm_flags ==
        (VM_READ | VM_WRITE | VM_MAYREAD | VM_MAYWRITE | VM_MAYEXEC | VM_ACCOUNT));
  const auto b = static_cast<uint64_t>(anon_map(mm, 0, kPg, kRW, kMapNoreserve));
  CHECK(mm.vma_at(GuestAddr{b})->vm_flags ==
        (VM_READ | VM_WRITE | VM_MAYREAD | VM_MAYWRITE | VM_MAYEXEC | VM_NORESERVE));
  const auto s = static_cast<uint64_t>(
      mm.mmap(GuestAddr{0}, kPg, kRW, kMapShared | kMapAnonymous, nullptr, FileOffset{0}));
  CHECK(mm.vma_at(GuestAddr{s})->vm_flags ==
        (VM_READ | VM_WRITE | VM_SHARED | VM_MAYREAD | VM_MAYWRITE | VM_MAYEXEC | VM_MAYSHARE));
  CHECK(vm_flags_string(mm.vma_at(GuestAddr{s})->vm_flags) == "rw-s");
  mm.verify();
}

TEST_CASE("adjacent anonymous mmaps in the mmap window are host-contiguous and merge") {
  Mm mm(kLayout);
  for (int i = 0; i < 10; ++i) REQUIRE(anon_map(mm, 0, kPg, kRW) > 0);
  CHECK(mm.vma_count() == 1);
  const Vma* v = mm.vmas()[0];
  CHECK(v->pages() == 10);
  CHECK(mm.stats().merges == 9);
  mm.verify();
}

}  // namespace
}  // namespace probesim::mmu

namespace probesim::mmu {
namespace {

TEST_CASE("mmap keeps the stack guard gap free below a MAP_GROWSDOWN VMA") {
  Mm mm(test::kLayout);
  const uint64_t stack = 0x7ffff0000000;
  REQUIRE(test::anon_map(mm, stack, 8 * kPg, kProtRead | kProtWrite, kMapFixed | kMapGrowsdown) >
          0);
  const uint64_t hint = stack - 4 * kPg;  // inside the 1 MiB guard gap: not honoured
  const int64_t r = test::anon_map(mm, hint, kPg, kProtRead);
  CHECK(r != static_cast<int64_t>(hint));
  const uint64_t below = stack - test::kLayout.stack_guard_gap - kPg;
  CHECK(test::anon_map(mm, below, kPg, kProtRead) == static_cast<int64_t>(below));
  mm.verify();
}

TEST_CASE("hiwater_vm (VmPeak) keeps the most pages mapped at once, a fork starts at its total") {
  Mm mm(test::kLayout);
  const int prot = kProtRead | kProtWrite;
  REQUIRE(test::anon_map(mm, 0, 16 * test::kPg, prot) > 0);
  const int64_t b = test::anon_map(mm, 0, 8 * test::kPg, prot);
  REQUIRE(b > 0);
  CHECK(mm.total_vm() == 24);
  CHECK(mm.munmap(GuestAddr{static_cast<uint64_t>(b)}, 8 * test::kPg) == 0);
  CHECK(mm.total_vm() == 16);
  CHECK(mm.hiwater_vm() == 24);  // update_hiwater_vm before the unmap lowered total_vm
  REQUIRE(test::anon_map(mm, 0, 4 * test::kPg, prot) > 0);
  CHECK(mm.hiwater_vm() == 24);
  auto child = mm.dup();
  REQUIRE(child.ok());
  CHECK(child.value()->hiwater_vm() == 20);  // dup_mm: hiwater_vm = total_vm
}

}  // namespace
}  // namespace probesim::mmu
