// uprobe_register / uprobe_unregister over the i_mmap tree: errors, filters, private pages
// per mm, registration before and after mmap, two mappings in one mm, fork, consumers.
#include <doctest/doctest.h>

#include "uprobe_fixture.h"
#include "x86_code.h"

namespace probesim::probes::test {
namespace {

using mmu::PageState;
namespace xc = x86code;
const std::vector<uint8_t> kCC = {0xcc};

struct X86Env {
  X86Env() : f(xc::page()), mgr(Arch::X86_64, host) {}
  Result<Uprobe*> reg(uint64_t off, UprobeConsumer& c) {
    return mgr.uprobe_register(*f.inode, FileOffset{off}, c);
  }
  CodeFile f;
  RecordingHost host;
  UprobeManager mgr;
};

TEST_CASE("register: errors are Linux's (EINVAL, ENOTSUPP, ENOEXEC)") {
  X86Env e;
  UprobeConsumer none;
  CHECK(e.reg(xc::kPushRbp, none).error().err == EINVAL);  // no handler, no ret_handler
  CountingConsumer c;
  CHECK(e.reg(2 * kPg + 1, c).error().err == EINVAL);       // beyond i_size
  CHECK(e.reg(xc::kInt3, c).error().err == kEnotsupp);      // a trap is already there
  CHECK(e.reg(xc::kHlt, c).error().err == kEnotsupp);       // not in good_insns_64
  CHECK(e.reg(xc::kSyscall, c).error().err == kEnotsupp);   // 0f 05 not in good_2byte_insns
  CHECK(e.reg(xc::kCsPrefix, c).error().err == kEnotsupp);  // cs prefix
  CHECK(e.reg(xc::kIn, c).error().err == kEnotsupp);
  CHECK(e.reg(xc::kBad, c).error().err == ENOEXEC);  // undecodable
  CHECK(e.mgr.count() == 0);
  REQUIRE(e.reg(xc::kPushRbp, c).ok());
  CHECK(e.reg(xc::kNop, c).error().err == EINVAL);  // consumer already registered
  e.mgr.verify();
}

TEST_CASE("register: with a filter selecting one of three forked mms, only its page is private") {
  X86Env e;
  auto mm1 = e.f.exec_mm();
  auto mm2 = std::move(mm1->dup().value());  // fork
  auto mm3 = std::move(mm1->dup().value());
  CountingConsumer c(mm2.get());
  auto u = e.reg(xc::kPushRbp, c);
  REQUIRE(u.ok());
  CHECK(mm1->page_state(GuestAddr{kText}) == PageState::PageCache);
  CHECK(mm2->page_state(GuestAddr{kText}) == PageState::ReplacedPage);
  CHECK(mm3->page_state(GuestAddr{kText}) == PageState::PageCache);
  CHECK(peek(*mm2, kText, 1) == kCC);
  CHECK(peek(*mm1, kText, 1) == std::vector<uint8_t>{0x55});
  CHECK(e.f.cache_bytes(0, 1) == std::vector<uint8_t>{0x55});  // page cache untouched
  CHECK(e.host.invalidated(*mm2, kText));
  CHECK_FALSE(e.host.invalidated(*mm1, kText));
  CHECK(e.mgr.mm_flags(*mm2).has_uprobes);
  CHECK_FALSE(e.mgr.mm_flags(*mm1).has_uprobes);
  e.mgr.uprobe_unregister(u.value(), c);
  for (auto* mm : {mm1.get(), mm2.get(), mm3.get()}) {
    CHECK(mm->page_state(GuestAddr{kText}) == PageState::PageCache);
    CHECK(mm->replaced_pages() == 0);
    mm->verify();
  }
  CHECK(e.mgr.count() == 0);
  e.mgr.verify();
}

TEST_CASE("register: before and after the mapping exists, both arm the probe") {
  X86Env e;
  auto before = e.f.exec_mm();
  CountingConsumer c;
  REQUIRE(e.reg(xc::kNop, c).ok());
  CHECK(peek(*before, kText + xc::kNop, 1) == kCC);
  auto after = std::make_unique<mmu::Mm>(mmu::test::kLayout);
  e.f.map_text(*after, kText);
  CHECK(peek(*after, kText + xc::kNop, 1) == std::vector<uint8_t>{0x90});  // not yet
  e.mgr.uprobe_mmap(*after, *after->vma_at(GuestAddr{kText}));
  CHECK(peek(*after, kText + xc::kNop, 1) == kCC);
  e.mgr.uprobe_mmap(*after, *after->vma_at(GuestAddr{kText}));  // racing paths: one breakpoint
  CHECK(e.mgr.stats().installs == 2);
}

TEST_CASE("register: a file mapped twice by one mm is patched at both addresses") {
  X86Env e;
  auto mm = e.f.exec_mm();
  e.f.map_text(*mm, 0x500000);
  CountingConsumer c;
  REQUIRE(e.reg(xc::kRet, c).ok());
  CHECK(peek(*mm, kText + xc::kRet, 1) == kCC);
  CHECK(peek(*mm, 0x500000 + xc::kRet, 1) == kCC);
  CHECK(mm->replaced_pages() == 2);
  CHECK(e.mgr.stats().map_info == 2);
  std::vector<uint64_t> seen;
  c.handler = [&](UprobeConsumer&, Regs& r, uint64_t&) {
    seen.push_back(r.ip().value);
    return 0;
  };
  const uint64_t stack = map_stack(*mm);
  for (uint64_t base : {kText, uint64_t{0x500000}}) {
    Regs r(Arch::X86_64);
    r.set_ip(GuestAddr{base + xc::kRet + 1});
    r.set_sp(stack - 0x100);
    write_u64(*mm, stack - 0x100, 0x401234);
    CHECK(e.mgr.on_breakpoint({}, *mm, r).disposition == UprobeDisposition::Handled);
    CHECK(r.ip().value == 0x401234);  // the emulated ret
  }
  CHECK(seen == std::vector<uint64_t>{kText + xc::kRet, 0x500000 + xc::kRet});
}

TEST_CASE("register: the i_mmap stabbing query visits exactly the N mms mapping the page") {
  X86Env e;
  std::vector<std::unique_ptr<mmu::Mm>> mms;
  constexpr int kN = 40;
  for (int i = 0; i < kN; ++i) mms.push_back(e.f.exec_mm(kText + (i % 3) * 0x100000));
  for (int i = 0; i < 25; ++i) {  // mapping only the data page of the same file
    auto mm = std::make_unique<mmu::Mm>(mmu::test::kLayout);
    REQUIRE(mm->mmap(GuestAddr{0x600000}, kPg, mmu::kProtRead, mmu::kMapPrivate, e.f.inode,
                     FileOffset{kPg}, mmu::FileMode::ReadOnly) > 0);
    mms.push_back(std::move(mm));
  }
  CountingConsumer c;
  REQUIRE(e.reg(xc::kMovRsp, c).ok());
  CHECK(e.mgr.stats().map_info == kN);
  int armed = 0;
  for (auto& mm : mms) {
    for (const mmu::Vma* v : mm->vmas()) {
      if (v->vm_pgoff == 0 && peek(*mm, v->vm_start.value + xc::kMovRsp, 1) == kCC) ++armed;
    }
  }
  CHECK(armed == kN);
  // The tree agrees with a brute-force scan for every page of the file.
  for (uint64_t pg = 0; pg < 3; ++pg) {
    size_t brute = 0;
    for (auto& mm : mms)
      for (const mmu::Vma* v : mm->vmas())
        if (v->vm_file == e.f.inode && v->vm_pgoff <= pg && pg <= v->pgoff_last()) ++brute;
    CHECK(e.f.inode->i_mapping().i_mmap().stab(PageIndex{pg}).size() == brute);
  }
}

TEST_CASE("register: the breakpoint stays until no remaining consumer wants the mm") {
  X86Env e;
  auto mm = e.f.exec_mm();
  CountingConsumer a, b;
  auto u = e.reg(xc::kAdd, a);
  REQUIRE(u.ok());
  REQUIRE(e.reg(xc::kAdd, b).value() == u.value());  // one uprobe per (inode, offset)
  auto info = e.mgr.uprobes_of(*e.f.inode);
  REQUIRE(info.size() == 1);
  CHECK(info[0].ref == 2);
  REQUIRE(info[0].consumers.size() == 2);
  CHECK(info[0].consumers[0].id == b.id);  // newest first
  e.mgr.uprobe_unregister(u.value(), a);
  CHECK(peek(*mm, kText + xc::kAdd, 1) == kCC);
  e.mgr.verify();
  e.mgr.uprobe_unregister(u.value(), b);
  CHECK(mm->page_state(GuestAddr{kText}) == PageState::PageCache);
  CHECK(e.f.inode->i_count() == 2);  // the file's own reference and the VMA's: uprobe's gone
}

TEST_CASE("register: uprobe_apply re-runs install and removal after a filter change") {
  X86Env e;
  auto mm = e.f.exec_mm();
  bool want = false;
  CountingConsumer c;
  c.filter = [&](UprobeConsumer&, const mmu::Mm&) { return want; };
  auto u = e.reg(xc::kAdd, c);
  REQUIRE(u.ok());
  CHECK(mm->page_state(GuestAddr{kText}) == PageState::PageCache);
  want = true;
  REQUIRE(e.mgr.uprobe_apply(u.value(), c, true).ok());
  CHECK(peek(*mm, kText + xc::kAdd, 1) == kCC);
  want = false;
  REQUIRE(e.mgr.uprobe_apply(u.value(), c, false).ok());
  CHECK(mm->page_state(GuestAddr{kText}) == PageState::PageCache);
}

TEST_CASE("register: fork children inherit the breakpoint and the mm flags") {
  X86Env e;
  auto parent = e.f.exec_mm();
  CountingConsumer c;
  REQUIRE(e.reg(xc::kPushRbp, c).ok());
  auto child = std::move(parent->dup().value());
  e.mgr.uprobe_dup_mmap(*parent, *child);
  CHECK(peek(*child, kText, 1) == kCC);
  CHECK(child->page_state(GuestAddr{kText}) == PageState::ReplacedPage);
  CHECK(e.mgr.mm_flags(*child).has_uprobes);
  CHECK(e.mgr.mm_flags(*child).recalc);
}

TEST_CASE("register: read_original shows the instruction under the breakpoint") {
  X86Env e;
  auto mm = e.f.exec_mm();
  CountingConsumer c;
  REQUIRE(e.reg(xc::kCall, c).ok());
  std::vector<uint8_t> out(8);
  REQUIRE(e.mgr.read_original(*mm, GuestAddr{kText + xc::kCall - 2}, out));
  CHECK(out == std::vector<uint8_t>{0x00, 0x00, 0xe8, 0x10, 0x00, 0x00, 0x00, 0x74});
  CHECK(peek(*mm, kText + xc::kCall, 1) == kCC);
}

TEST_CASE("register: munmap of a probed range marks the mm for recalculation") {
  X86Env e;
  auto mm = e.f.exec_mm();
  const uint64_t stack = map_stack(*mm);
  CountingConsumer c;
  REQUIRE(e.reg(xc::kNop, c).ok());
  const mmu::Vma* v = mm->vma_at(GuestAddr{kText});
  e.mgr.uprobe_munmap(*mm, *v, v->vm_start, v->vm_end);
  REQUIRE(mm->munmap(GuestAddr{kText}, kPg) == 0);
  CHECK(e.mgr.mm_flags(*mm).recalc);
  // A trap with no uprobe behind it: recalculated, MMF_HAS_UPROBES drops.
  Regs regs(Arch::X86_64);
  regs.set_ip(GuestAddr{stack - 0x100});
  regs.set_sp(stack - 0x40);
  const auto r = e.mgr.on_breakpoint({}, *mm, regs);
  CHECK(r.disposition == UprobeDisposition::Handled);  // no trap byte there: restarted
  CHECK(r.kind == UprobeHitKind::Restarted);
  CHECK_FALSE(e.mgr.mm_flags(*mm).has_uprobes);
}

}  // namespace
}  // namespace probesim::probes::test
