// The inspection snapshots of include/probesim/inspect.h: processes, VMAs, where a page's bytes
// live (page cache vs a uprobe's private copy), inodes and their i_mmap tree.
#include <cerrno>

#include "api.h"

using namespace probesim;
using namespace probesim::api_test;

namespace {

// The executable VMA of prog in pid.
VmaInfo text_vma(Machine& m, int pid, uint64_t ino) {
  for (const VmaInfo& v : must(m.vmas(pid)))
    if (v.ino == ino && v.flags[2] == 'x') return v;
  FAIL("no executable mapping of the program");
  return {};
}

}  // namespace

TEST_CASE("inspect: a spawned process, its VMAs, its text pages in the page cache") {
  for (Arch a : kArches) {
    auto m = boot(a);
    std::string prog = guest(a, "uprobed");
    int pid = must(m->spawn({prog, "work"}, {}));
    auto procs = m->processes();
    auto p = std::find_if(procs.begin(), procs.end(), [&](auto& x) { return x.pid == pid; });
    REQUIRE(p != procs.end());
    CHECK(p->comm == "uprobed");
    CHECK(!p->exited);
    REQUIRE(p->tasks.size() == 1);
    CHECK(p->tasks[0].tid == pid);
    InodeInfo ino = must(m->inode(prog));
    CHECK(ino.size > 0);
    VmaInfo text = text_vma(*m, pid, ino.ino);
    CHECK(text.pid == pid);
    CHECK(text.file.has_value());
    PageInfo page = must(m->page(pid, GuestAddr{text.start + 5}));
    CHECK(page.addr == text.start);
    CHECK(page.kind == kPageCache);
    CHECK(page.ino == ino.ino);
    CHECK(page.mapcount.value_or(0) >= 1);
    bool mapped_by_pid = false;
    for (const ImmapNode& n : ino.i_mmap) mapped_by_pid |= n.vma.pid == pid && n.start <= n.last;
    CHECK(mapped_by_pid);
    CHECK(m->run());
    CHECK(m->exit_of(pid)->shell_status == 0);
  }
}

TEST_CASE("inspect: a uprobe's breakpoint page is a private copy (not while disabled), its offset is on the inode") {
  for (Arch a : kArches) {
    auto m = boot(a);
    std::string prog = guest(a, "uprobed");
    int pid = must(m->spawn({prog, "work"}, {}));
    auto up = must(m->register_uprobe({.target = prog + ":probe_me"}));
    InodeInfo ino = must(m->inode(prog));
    CHECK(ino.uprobe_offsets == std::vector<uint64_t>{up->offset().value});
    VmaInfo text = text_vma(*m, pid, ino.ino);
    uint64_t at = text.start + (up->offset().value - text.pgoff * kPageSize);
    PageInfo page = must(m->page(pid, GuestAddr{at}));
    CHECK(page.kind == kPrivateCopy);
    CHECK(!page.mapcount.has_value());
    REQUIRE(up->disable().ok());  // the breakpoint leaves every mm
    CHECK(must(m->page(pid, GuestAddr{at})).kind == kPageCache);
    REQUIRE(up->enable().ok());
    CHECK(must(m->page(pid, GuestAddr{at})).kind == kPrivateCopy);
    up->unregister();
    CHECK(must(m->page(pid, GuestAddr{at})).kind == kPageCache);
    CHECK(must(m->inode(prog)).uprobe_offsets.empty());
  }
}

TEST_CASE("inspect errors: an unknown pid is ESRCH, an unmapped address EFAULT, a missing file ENOENT") {
  auto m = boot(Arch::X86_64);
  CHECK(m->vmas(4242).error().err == ESRCH);
  int pid = must(m->spawn({guest(Arch::X86_64, "uprobed"), "work"}, {}));
  CHECK(m->page(pid, GuestAddr{0}).error().err == EFAULT);
  CHECK(m->inode("/no/such/file").error().err == ENOENT);
}
