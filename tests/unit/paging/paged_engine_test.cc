// The paged MMU in a real Unicorn engine (issue 14, stage 2): UC_TLB_VIRTUAL mode, the frame
// space mapped once as big physical regions, and a UC_HOOK_TLB_FILL callback that asks
// PagedMm::fill for each miss. Guest code stores into pages no one mapped (demand-zero), runs
// from a file page and faults on a read-only and an unmapped page, on x86-64 and arm64.
#include <doctest/doctest.h>
#include <unicorn/unicorn.h>

#include <cstring>
#include <optional>
#include <stdexcept>
#include <string>
#include <vector>

#include "mmu/frame_space.h"
#include "mmu/mm.h"
#include "mmu/mmu_test_util.h"
#include "mmu/paged_mm.h"
#include "mmu/vm_flags.h"

using namespace probesim;
using namespace probesim::mmu;
using namespace probesim::mmu::test;

namespace {

constexpr uint64_t kPhysBase = uint64_t{1} << 32;  // where the frame space sits in the engine
constexpr uint64_t kDataPages = 64;

void check(uc_err e, const char* what) {
  if (e != UC_ERR_OK) throw std::runtime_error(std::string(what) + ": " + uc_strerror(e));
}

// One engine whose TLB is the PagedMm: the harness under test.
struct PagedEngine {
  PagedMm* pm;  // the running task's mm; switch_to() changes it
  uc_engine* uc = nullptr;
  struct Fault {
    uint64_t va;
    Access access;
    FaultKind kind;
  };
  std::optional<Fault> fault;  // the first refused fill

  PagedEngine(Arch arch, PagedMm& p) : pm(&p) {
    const bool x86 = arch == Arch::X86_64;
    check(uc_open(x86 ? UC_ARCH_X86 : UC_ARCH_ARM64, x86 ? UC_MODE_64 : UC_MODE_ARM, &uc), "open");
    check(uc_ctl_tlb_mode(uc, UC_TLB_VIRTUAL), "tlb mode");
    for (const FrameSpace::Region& r : pm->frames().regions()) {
      check(uc_mem_map_ptr(uc, kPhysBase + r.phys, r.len, UC_PROT_ALL, r.host), "map frames");
    }
    uc_hook h;
    check(uc_hook_add(uc, &h, UC_HOOK_TLB_FILL, reinterpret_cast<void*>(&PagedEngine::on_fill),
                      this, 1, 0),
          "hook tlb fill");
  }
  ~PagedEngine() { uc_close(uc); }
  // A task switch to another mm on this CPU: its TLB entries are the old mm's, so flush them.
  void switch_to(PagedMm& next) {
    pm = &next;
    check(uc_ctl_flush_tlb(uc), "flush tlb");
  }

  static bool on_fill(uc_engine*, uint64_t va, uc_mem_type type, uc_tlb_entry* e, void* self) {
    auto* eng = static_cast<PagedEngine*>(self);
    const Access access = type == UC_MEM_WRITE   ? Access::Write
                          : type == UC_MEM_FETCH ? Access::Exec
                                                 : Access::Read;
    const PagedMm::Fill f = eng->pm->fill(GuestAddr{va}, access);
    if (!f.ok()) {
      if (!eng->fault) eng->fault = Fault{va, access, f.fault};
      return false;
    }
    // Unicorn's pages may be smaller than 4 KiB (arm64: 1 KiB): keep the offset in the frame.
    e->paddr = kPhysBase + f.phys + (va & (kPageSize - 1));
    e->perms = static_cast<uc_prot>(f.prot);  // VM_READ/WRITE/EXEC == UC_PROT_READ/WRITE/EXEC
    return true;
  }
};

void put32(std::string& s, uint32_t w) {
  s.append(reinterpret_cast<const char*>(&w), 4);
}

// x86-64: store the countdown into the first byte of each of kDataPages pages from rdi, then
// read and write the quadword at rsi.
std::string x86_code(uint64_t data, uint64_t target) {
  std::string c;
  auto bytes = [&](std::initializer_list<int> b) {
    for (int x : b) c.push_back(char(x));
  };
  auto imm64 = [&](uint64_t v) { c.append(reinterpret_cast<const char*>(&v), 8); };
  bytes({0x48, 0xc7, 0xc1});  // mov rcx, kDataPages
  put32(c, kDataPages);
  bytes({0x48, 0xbf});  // mov rdi, data
  imm64(data);
  const size_t loop = c.size();
  bytes({0x88, 0x0f});                                            // mov [rdi], cl
  bytes({0x48, 0x81, 0xc7, 0x00, 0x10, 0x00, 0x00});              // add rdi, 4096
  bytes({0x48, 0xff, 0xc9});                                      // dec rcx
  bytes({0x75, static_cast<int>(loop - (c.size() + 2)) & 0xff});  // jnz loop
  bytes({0x48, 0xbe});                                            // mov rsi, target
  imm64(target);
  bytes({0x48, 0x8b, 0x06});  // mov rax, [rsi]
  bytes({0x48, 0x89, 0x06});  // mov [rsi], rax
  return c;
}

// arm64: the same with x0 = data, x1 = count, x3 = target.
std::string arm64_code(uint64_t data, uint64_t target) {
  std::string c;
  auto mov64 = [&](int rd, uint64_t v) {
    put32(c, 0xd2800000u | uint32_t(v & 0xffff) << 5 | rd);  // movz
    for (int s = 1; s < 4; ++s)
      put32(c, 0xf2800000u | uint32_t(s) << 21 | uint32_t((v >> (16 * s)) & 0xffff) << 5 | rd);
  };
  mov64(0, data);
  put32(c, 0xd2800001u | uint32_t(kDataPages) << 5);  // movz x1, #kDataPages
  const size_t loop = c.size();
  put32(c, 0x39000001u);  // strb w1, [x0]
  put32(c, 0x91400400u);  // add x0, x0, #1, lsl #12
  put32(c, 0xf1000421u);  // subs x1, x1, #1
  const int32_t rel = static_cast<int32_t>(loop - c.size()) / 4;
  put32(c, 0x54000001u | (uint32_t(rel) & 0x7ffff) << 5);  // b.ne loop
  mov64(3, target);
  put32(c, 0xf9400062u);  // ldr x2, [x3]
  put32(c, 0xf9000062u);  // str x2, [x3]
  return c;
}

// Stores byte `value` at `addr` (x86-64: mov rdi, addr; mov byte [rdi], value. arm64: x0, w1).
std::string store_code(Arch arch, uint64_t addr, uint8_t value) {
  std::string c;
  if (arch == Arch::X86_64) {
    c += "\x48\xbf";
    c.append(reinterpret_cast<const char*>(&addr), 8);
    c += "\xc6\x07";
    c.push_back(static_cast<char>(value));
    return c;
  }
  put32(c, 0xd2800000u | uint32_t(addr & 0xffff) << 5);  // movz x0
  for (int s = 1; s < 4; ++s)
    put32(c, 0xf2800000u | uint32_t(s) << 21 | uint32_t((addr >> (16 * s)) & 0xffff) << 5);
  put32(c, 0x52800001u | uint32_t(value) << 5);  // movz w1, #value
  put32(c, 0x39000001u);                         // strb w1, [x0]
  return c;
}

// Parent and child after fork on one engine (one logical CPU), switching with a TLB flush.
void run_fork_cow(Arch arch) {
  auto fs = FrameSpace::create(uint64_t{1} << 32);
  REQUIRE(fs.ok());
  FrameSpace& frames = *fs.value();
  InodeCache cache;
  Mm parent(kLayout);
  const int64_t data = parent.mmap(GuestAddr{0}, 8 * kPg, kProtRead | kProtWrite,
                                   kMapPrivate | kMapAnonymous, nullptr, FileOffset{0});
  REQUIRE(data > 0);
  const uint64_t page3 = static_cast<uint64_t>(data) + 3 * kPg;
  const uint64_t page5 = static_cast<uint64_t>(data) + 5 * kPg;
  // The text page: the child's program at 0, the parent's at 0x100.
  const std::string child_prog = store_code(arch, page3, 0x22);
  const std::string parent_prog = store_code(arch, page5, 0x33);
  std::string text = child_prog;
  text.resize(0x100, '\0');
  text += parent_prog;
  text.resize(kPg, '\0');
  TempFile file(text);
  Inode* inode = file_inode(cache, file, "text", kPg);
  const int64_t pc =
      parent.mmap(GuestAddr{0}, kPg, kProtRead | kProtExec, kMapPrivate, inode, FileOffset{0});
  REQUIRE(pc > 0);
  {
    PagedMm pp(parent, frames);
    for (int i = 0; i < 8; ++i) {
      auto f = pp.fill(GuestAddr{static_cast<uint64_t>(data) + i * kPg}, Access::Write);
      REQUIRE(f.ok());
      frames.data(Pfn{f.phys >> kPageShift})[0] = static_cast<uint8_t>(0x10 + i);
    }
    REQUIRE(pp.fill(GuestAddr{static_cast<uint64_t>(pc)}, Access::Exec).ok());
    auto child_mm = parent.dup();
    REQUIRE(child_mm.ok());
    auto pc_child = pp.dup_cow(*child_mm.value());
    CHECK(frames.stats().in_use == 9);  // 8 data pages + the text page, all shared
    PagedEngine eng(arch, *pc_child);
    // The child runs and writes page 3: only that page is copied.
    REQUIRE(uc_emu_start(eng.uc, pc, pc + child_prog.size(), 0, 0) == UC_ERR_OK);
    CHECK(pc_child->stats().cow_breaks == 1);
    CHECK(frames.stats().in_use == 10);
    const Pfn child3 = pc_child->page_table().lookup(GuestAddr{page3})->pfn;
    const Pfn parent3 = pp.page_table().lookup(GuestAddr{page3})->pfn;
    CHECK(child3 != parent3);
    CHECK(frames.data(child3)[0] == 0x22);
    CHECK(frames.data(parent3)[0] == 0x13);  // the parent's page is untouched
    CHECK(frames.refcount(parent3) == 1);
    // Switch to the parent: it writes page 5, still shared with the child, so it copies.
    eng.switch_to(pp);
    const uint64_t ppc = static_cast<uint64_t>(pc) + 0x100;
    REQUIRE(uc_emu_start(eng.uc, ppc, ppc + parent_prog.size(), 0, 0) == UC_ERR_OK);
    CHECK(pp.stats().cow_breaks == 1);
    CHECK(frames.data(pp.page_table().lookup(GuestAddr{page5})->pfn)[0] == 0x33);
    CHECK(frames.data(pc_child->page_table().lookup(GuestAddr{page5})->pfn)[0] == 0x15);
    CHECK(frames.stats().in_use == 11);  // 2 copies of 9 shared frames, nothing else
    pp.verify();
    pc_child->verify();
    frames.verify();
    pc_child.reset();
    CHECK(frames.stats().in_use == 9);  // the child's exit gives back its copies only
    REQUIRE(child_mm.value()->munmap(GuestAddr{static_cast<uint64_t>(pc)}, kPg) == 0);
  }
  REQUIRE(parent.munmap(GuestAddr{static_cast<uint64_t>(pc)}, kPg) == 0);
  cache.iput(inode);
}

void run_demand_paging(Arch arch, int target_prot, FaultKind want) {
  auto fs = FrameSpace::create(uint64_t{1} << 32);
  REQUIRE(fs.ok());
  InodeCache cache;  // outlives the Mm, whose text VMA holds an inode reference
  Mm mm(kLayout);
  const int64_t data = mm.mmap(GuestAddr{0}, kDataPages * kPg, kProtRead | kProtWrite,
                               kMapPrivate | kMapAnonymous, nullptr, FileOffset{0});
  REQUIRE(data > 0);
  int64_t target = 0x10000;  // below mmap_min_addr: never mapped
  if (target_prot) {
    target = mm.mmap(GuestAddr{0}, kPg, target_prot, kMapPrivate | kMapAnonymous, nullptr,
                     FileOffset{0});
    REQUIRE(target > 0);
  }
  const std::string code = arch == Arch::X86_64 ? x86_code(data, target) : arm64_code(data, target);
  TempFile text(code + std::string(kPg - code.size(), '\0'));
  Inode* inode = file_inode(cache, text, "text", kPg);
  {
    const int64_t pc =
        mm.mmap(GuestAddr{0}, kPg, kProtRead | kProtExec, kMapPrivate, inode, FileOffset{0});
    REQUIRE(pc > 0);
    PagedMm pm(mm, *fs.value());
    PagedEngine eng(arch, pm);
    const uc_err err = uc_emu_start(eng.uc, pc, pc + code.size(), 0, 0);
    CHECK(err == UC_ERR_EXCEPTION);  // the last store (or load) was refused
    REQUIRE(eng.fault.has_value());
    CHECK(eng.fault->va == static_cast<uint64_t>(target));
    CHECK(eng.fault->kind == want);
    // Every data page was demand-zeroed into its own frame and holds its countdown byte.
    for (uint64_t i = 0; i < kDataPages; ++i) {
      auto pte = pm.page_table().lookup(GuestAddr{static_cast<uint64_t>(data) + i * kPg});
      REQUIRE(pte.has_value());
      CHECK(fs.value()->data(pte->pfn)[0] == kDataPages - i);
      CHECK(fs.value()->data(pte->pfn)[1] == 0);
    }
    // data pages + the text page (+ the read-only page, read before the refused write)
    CHECK(pm.stats().minor_faults == kDataPages + 1 + (target_prot ? 1 : 0));
    CHECK(fs.value()->stats().in_use == pm.stats().minor_faults);
    pm.verify();
    REQUIRE(mm.munmap(GuestAddr{static_cast<uint64_t>(pc)}, kPg) == 0);
  }
  cache.iput(inode);
}

}  // namespace

TEST_CASE(
    "paged engine x86_64: stores demand-zero pages and a write to a read-only page is "
    "SEGV_ACCERR") {
  run_demand_paging(Arch::X86_64, kProtRead, FaultKind::AccErr);
}

TEST_CASE("paged engine x86_64: a load from an address no VMA covers is SEGV_MAPERR") {
  run_demand_paging(Arch::X86_64, 0, FaultKind::MapErr);
}

TEST_CASE(
    "paged engine arm64: stores demand-zero pages and a write to a read-only page is SEGV_ACCERR") {
  run_demand_paging(Arch::AArch64, kProtRead, FaultKind::AccErr);
}

TEST_CASE("paged engine arm64: a load from an address no VMA covers is SEGV_MAPERR") {
  run_demand_paging(Arch::AArch64, 0, FaultKind::MapErr);
}

TEST_CASE(
    "paged engine x86_64: after fork each side copies only the page it writes (COW per page)") {
  run_fork_cow(Arch::X86_64);
}

TEST_CASE(
    "paged engine arm64: after fork each side copies only the page it writes (COW per page)") {
  run_fork_cow(Arch::AArch64);
}
