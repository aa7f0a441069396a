// mmu support for uprobes: replaced pages (Linux __replace_page) inside file VMAs, their runs,
// dropping identical copies, fork, and the "[uprobes]" special mapping.
#include <doctest/doctest.h>

#include "uprobe_fixture.h"

namespace probesim::probes::test {
namespace {

using mmu::PageState;
const std::vector<uint8_t> kCC = {0xcc};

TEST_CASE("replace page: a write makes a private copy of one page for one mm only") {
  CodeFile f({0x55, 0x48, 0x89, 0xe5}, 4);
  auto a = std::make_unique<mmu::Mm>(mmu::test::kLayout);
  RunObserver obs;
  a->set_observer(&obs);
  REQUIRE(a->mmap(GuestAddr{kText}, 3 * kPg, mmu::kProtRead | mmu::kProtExec,
                  mmu::kMapPrivate | mmu::kMapFixed, f.inode, FileOffset{0},
                  mmu::FileMode::ReadOnly) == static_cast<int64_t>(kText));
  auto b = f.exec_mm();
  REQUIRE(a->write_private_page(GuestAddr{kText + kPg + 1}, kCC).ok());
  CHECK(a->page_state(GuestAddr{kText}) == PageState::PageCache);
  CHECK(a->page_state(GuestAddr{kText + kPg}) == PageState::ReplacedPage);
  CHECK(a->page_state(GuestAddr{kText + 2 * kPg}) == PageState::PageCache);
  CHECK(b->page_state(GuestAddr{kText}) == PageState::PageCache);
  CHECK(peek(*a, kText + kPg + 1, 1) == kCC);
  CHECK(f.cache_bytes(kPg + 1, 1) != kCC);  // the page cache is untouched
  CHECK(a->vma_count() == 1);               // the VMA is not split: only its run is
  CHECK(a->vmas()[0]->runs().size() == 3);
  obs.check(*a);
  a->verify();
  CHECK(a->replaced_pages() == 1);
}

TEST_CASE("replace page: restoring the bytes and dropping shares the page-cache frame again") {
  CodeFile f({0x55});
  auto mm = f.exec_mm();
  RunObserver obs;
  mm->set_observer(&obs);
  REQUIRE(mm->write_private_page(GuestAddr{kText}, kCC).ok());
  CHECK_FALSE(mm->drop_identical_page(GuestAddr{kText}));  // still differs: kept
  const std::vector<uint8_t> orig = {0x55};
  REQUIRE(mm->write_private_page(GuestAddr{kText}, orig).ok());
  CHECK(mm->drop_identical_page(GuestAddr{kText}));
  CHECK(mm->page_state(GuestAddr{kText}) == PageState::PageCache);
  CHECK(mm->vmas()[0]->host_ptr(GuestAddr{kText}) == f.inode->i_mapping().base());
  CHECK(mm->replaced_pages() == 0);
  obs.check(*mm);
  mm->verify();
}

TEST_CASE("replace page: bad targets are refused with Linux errnos") {
  CodeFile f({0x55});
  auto mm = f.exec_mm();
  CHECK(mm->write_private_page(GuestAddr{kText + 2 * kPg}, kCC).error().err == EFAULT);
  const std::vector<uint8_t> two = {1, 2};
  CHECK(mm->write_private_page(GuestAddr{kText + kPg - 1}, two).error().err == EFAULT);
  REQUIRE(mm->mmap(GuestAddr{0x500000}, kPg, mmu::kProtRead | mmu::kProtExec,
                   mmu::kMapShared | mmu::kMapFixed, f.inode, FileOffset{0},
                   mmu::FileMode::ReadOnly) == 0x500000);
  CHECK(mm->write_private_page(GuestAddr{0x500000}, kCC).error().err == EINVAL);
  const uint64_t stack = map_stack(*mm);
  CHECK(mm->write_private_page(GuestAddr{stack - 8}, kCC).error().err == EINVAL);
  CHECK(mm->page_state(GuestAddr{stack - 8}) == PageState::Anonymous);
  CHECK(mm->page_state(GuestAddr{0x600000}) == PageState::Unmapped);
}

TEST_CASE("replace page: fork copies replaced pages (children inherit breakpoints)") {
  CodeFile f({0x55});
  auto parent = f.exec_mm();
  REQUIRE(parent->write_private_page(GuestAddr{kText}, kCC).ok());
  auto child = parent->dup();
  REQUIRE(child.ok());
  mmu::Mm& c = *child.value();
  CHECK(c.page_state(GuestAddr{kText}) == PageState::ReplacedPage);
  CHECK(peek(c, kText, 1) == kCC);
  CHECK(c.vmas()[0]->host_ptr(GuestAddr{kText}) != parent->vmas()[0]->host_ptr(GuestAddr{kText}));
  RunObserver obs;
  c.set_observer(&obs);  // the child's runs are reported split too
  obs.check(c);
  c.verify();
}

TEST_CASE("replace page: split, merge, mprotect and munmap keep replaced pages consistent") {
  CodeFile f({0x55}, 4);
  mmu::Mm mm(mmu::test::kLayout);
  RunObserver obs;
  mm.set_observer(&obs);
  REQUIRE(mm.mmap(GuestAddr{kText}, 4 * kPg, mmu::kProtRead | mmu::kProtExec,
                  mmu::kMapPrivate | mmu::kMapFixed, f.inode, FileOffset{0},
                  mmu::FileMode::ReadOnly) == static_cast<int64_t>(kText));
  REQUIRE(mm.write_private_page(GuestAddr{kText + 2 * kPg}, kCC).ok());
  // Split off the last two pages and merge them back.
  REQUIRE(mm.mprotect(GuestAddr{kText + 2 * kPg}, 2 * kPg, mmu::kProtRead) == 0);
  CHECK(mm.vma_count() == 2);
  CHECK(mm.page_state(GuestAddr{kText + 2 * kPg}) == PageState::ReplacedPage);
  obs.check(mm);
  REQUIRE(mm.mprotect(GuestAddr{kText + 2 * kPg}, 2 * kPg, mmu::kProtRead | mmu::kProtExec) == 0);
  CHECK(mm.vma_count() == 1);
  CHECK(peek(mm, kText + 2 * kPg, 1) == kCC);
  obs.check(mm);
  mm.verify();
  // Writable: the whole VMA becomes a private copy that keeps the breakpoint.
  REQUIRE(mm.mprotect(GuestAddr{kText}, 4 * kPg, mmu::kProtRead | mmu::kProtWrite) == 0);
  CHECK(mm.page_state(GuestAddr{kText + 2 * kPg}) == PageState::PrivateCopy);
  CHECK(peek(mm, kText + 2 * kPg, 1) == kCC);
  CHECK(mm.replaced_pages() == 0);
  obs.check(mm);
  mm.verify();
}

TEST_CASE("replace page: munmap and MADV_DONTNEED give replaced pages back") {
  CodeFile f({0x55}, 4);
  mmu::Mm mm(mmu::test::kLayout);
  REQUIRE(mm.mmap(GuestAddr{kText}, 4 * kPg, mmu::kProtRead | mmu::kProtExec,
                  mmu::kMapPrivate | mmu::kMapFixed, f.inode, FileOffset{0},
                  mmu::FileMode::ReadOnly) == static_cast<int64_t>(kText));
  REQUIRE(mm.write_private_page(GuestAddr{kText}, kCC).ok());
  REQUIRE(mm.write_private_page(GuestAddr{kText + 3 * kPg}, kCC).ok());
  CHECK(mm.replaced_pages() == 2);
  REQUIRE(mm.madvise(GuestAddr{kText}, kPg, mmu::kMadvDontneed) == 0);  // Linux zaps it
  CHECK(mm.page_state(GuestAddr{kText}) == PageState::PageCache);
  REQUIRE(mm.munmap(GuestAddr{kText + 2 * kPg}, 2 * kPg) == 0);
  CHECK(mm.replaced_pages() == 0);
  mm.verify();
}

TEST_CASE("replace page: truncation drops replaced pages beyond the new EOF") {
  CodeFile f({0x55}, 3);
  auto mm = f.exec_mm();
  REQUIRE(mm->mmap(GuestAddr{kText + kPg}, 2 * kPg, mmu::kProtRead | mmu::kProtExec,
                   mmu::kMapPrivate | mmu::kMapFixed, f.inode, FileOffset{kPg},
                   mmu::FileMode::ReadOnly) == static_cast<int64_t>(kText + kPg));
  RunObserver obs;
  mm->set_observer(&obs);
  REQUIRE(mm->write_private_page(GuestAddr{kText + 2 * kPg}, kCC).ok());
  REQUIRE(f.inode->i_mapping().truncate(2 * kPg).ok());
  CHECK(mm->page_state(GuestAddr{kText + 2 * kPg}) == PageState::Unmapped);
  CHECK(mm->replaced_pages() == 0);
  obs.check(*mm);
  mm->verify();
}

TEST_CASE("special mapping: [uprobes] is listed, never merges and is not copied by fork") {
  CodeFile f({0x55});
  auto mm = f.exec_mm();
  using namespace mmu;
  const uint32_t flags = VM_EXEC | VM_MAYEXEC | VM_DONTCOPY | VM_IO;
  auto at = mm->install_special_mapping(mm->layout().task_size - kPg, kPg, flags, "[uprobes]");
  REQUIRE(at.ok());
  CHECK(at.value() == mm->layout().task_size - kPg);  // as high as possible
  const Vma* v = mm->vma_at(at.value());
  REQUIRE(v);
  CHECK(v->name == "[uprobes]");
  CHECK(v->vm_flags == flags);
  auto child = mm->dup();
  REQUIRE(child.ok());
  CHECK(child.value()->vma_at(at.value()) == nullptr);
  CHECK(child.value()->vma_count() == mm->vma_count() - 1);
  mm->verify();
}

TEST_CASE("replace page: the page-cache mapcount excludes mms holding a replaced copy") {
  CodeFile f({0x55});
  auto a = f.exec_mm();
  auto b = f.exec_mm();
  CHECK(f.inode->i_mapping().page_mapcount(PageIndex{0}) == 2);
  REQUIRE(a->write_private_page(GuestAddr{kText}, kCC).ok());
  CHECK(f.inode->i_mapping().page_mapcount(PageIndex{0}) == 1);
}

}  // namespace
}  // namespace probesim::probes::test
