// The Unicorn behaviours probesim relies on (docs/unicorn.md), checked against the library it
// links, so an upgrade that changes one fails here first. One TEST_CASE per fact.
#include <doctest/doctest.h>
#include <unicorn/unicorn.h>

#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include <csignal>
#include <cstring>
#include <vector>

#include "emu/uc_phys.h"
#include "emu/uc_regions.h"

namespace {

constexpr uint64_t kCode = 0x10000;
constexpr uint64_t kKernelText = 0xffffffff81000000ull;

struct Engine {
  explicit Engine(uc_arch arch, uc_mode mode) { REQUIRE(uc_open(arch, mode, &uc) == UC_ERR_OK); }
  ~Engine() { uc_close(uc); }
  Engine(const Engine&) = delete;
  Engine& operator=(const Engine&) = delete;
  uint64_t reg(int r) const {
    uint64_t v = 0;
    REQUIRE(uc_reg_read(uc, r, &v) == UC_ERR_OK);
    return v;
  }
  void set(int r, uint64_t v) { REQUIRE(uc_reg_write(uc, r, &v) == UC_ERR_OK); }
  uc_engine* uc = nullptr;
};

struct X86 : Engine {
  X86() : Engine(UC_ARCH_X86, UC_MODE_64) {}
};
struct Arm64 : Engine {
  Arm64() : Engine(UC_ARCH_ARM64, UC_MODE_ARM) {}
};

void load(Engine& e, uint64_t pa, const std::vector<uint8_t>& code, uint32_t prot = UC_PROT_ALL) {
  REQUIRE(uc_mem_map(e.uc, pa, 0x1000, prot) == UC_ERR_OK);
  REQUIRE(uc_mem_write(e.uc, pa, code.data(), code.size()) == UC_ERR_OK);
}

std::vector<uint8_t> words(std::initializer_list<uint32_t> ws) {
  std::vector<uint8_t> out;
  for (uint32_t w : ws)
    for (int i = 0; i < 4; ++i) out.push_back(static_cast<uint8_t>(w >> (8 * i)));
  return out;
}

bool fault_pc_hook(uc_engine* uc, uc_mem_type, uint64_t, int, int64_t, void* out) {
  uc_reg_read(uc, UC_X86_REG_RIP, out);
  return false;
}

}  // namespace

TEST_CASE("unicorn 2.1: the linked library is at least 2.1.1") {
  // major << 24 | minor << 16 | patch << 8 | extra
  CHECK(uc_version(nullptr, nullptr) >= 0x02010100u);
}

TEST_CASE("unicorn 2.1 x86-64: the kernel half cannot be identity mapped (52-bit physical)") {
  X86 e;
  load(e, kKernelText, {0x90, 0x90, 0xf4});
  uc_err err = uc_emu_start(e.uc, kKernelText, kKernelText + 2, 0, 0);
  CHECK(err != UC_ERR_OK);  // the fetch goes to 0x000fffff81000000
}

TEST_CASE("unicorn 2.1 x86-64: virtual TLB mode with the alias map runs kernel-half code") {
  X86 e;
  REQUIRE(probesim::emu::x86_phys::install(e.uc) == UC_ERR_OK);
  load(e, probesim::emu::x86_phys::phys(kKernelText), {0x48, 0xff, 0xc0, 0x90});  // inc rax; nop
  e.set(UC_X86_REG_RAX, 41);
  REQUIRE(uc_emu_start(e.uc, kKernelText, kKernelText + 3, 0, 0) == UC_ERR_OK);
  CHECK(e.reg(UC_X86_REG_RAX) == 42);
  CHECK(e.reg(UC_X86_REG_RIP) == kKernelText + 3);
}

TEST_CASE("unicorn 2.1 x86-64: a denied TLB fill is UC_ERR_EXCEPTION with the exact PC") {
  X86 e;
  REQUIRE(probesim::emu::x86_phys::install(e.uc) == UC_ERR_OK);
  // nop; nop; mov rax, [rbx] with rbx non-canonical; nop
  load(e, kCode, {0x90, 0x90, 0x48, 0x8b, 0x03, 0x90});
  e.set(UC_X86_REG_RBX, 0x0001000000000000ull);
  CHECK(uc_emu_start(e.uc, kCode, kCode + 6, 0, 0) == UC_ERR_EXCEPTION);
  CHECK(e.reg(UC_X86_REG_RIP) == kCode + 2);
}

TEST_CASE("unicorn 2.1 x86-64: region protections still hold in virtual TLB mode") {
  X86 e;
  REQUIRE(probesim::emu::x86_phys::install(e.uc) == UC_ERR_OK);
  load(e, kCode, {0x48, 0x89, 0x03});  // mov [rbx], rax
  REQUIRE(uc_mem_map(e.uc, 0x20000, 0x1000, UC_PROT_READ) == UC_ERR_OK);
  e.set(UC_X86_REG_RBX, 0x20000);
  CHECK(uc_emu_start(e.uc, kCode, kCode + 3, 0, 0) == UC_ERR_WRITE_PROT);
}

TEST_CASE("unicorn 2.1: without a memory hook, a data fault's PC is the block start") {
  X86 e;
  load(e, kCode, {0x90, 0x90, 0x48, 0x8b, 0x03, 0x90});  // nop; nop; mov rax, [rbx]
  e.set(UC_X86_REG_RBX, 0x900000);
  uint64_t seen = 0;
  uc_hook h;
  REQUIRE(uc_hook_add(e.uc, &h, UC_HOOK_MEM_INVALID, reinterpret_cast<void*>(fault_pc_hook), &seen,
                      1, 0) == UC_ERR_OK);
  CHECK(uc_emu_start(e.uc, kCode, kCode + 6, 0, 0) == UC_ERR_READ_UNMAPPED);
  CHECK(seen == kCode);
}

TEST_CASE("unicorn 2.1: an armed memory hook makes a data fault's PC exact") {
  X86 e;
  load(e, kCode, {0x90, 0x90, 0x48, 0x8b, 0x03, 0x90});
  e.set(UC_X86_REG_RBX, 0x900000);
  uint64_t seen = 0;
  uc_hook h, sync;
  REQUIRE(uc_hook_add(e.uc, &h, UC_HOOK_MEM_INVALID, reinterpret_cast<void*>(fault_pc_hook), &seen,
                      1, 0) == UC_ERR_OK);
  uc_cb_hookmem_t nothing = [](uc_engine*, uc_mem_type, uint64_t, int, int64_t, void*) {};
  REQUIRE(uc_hook_add(e.uc, &sync, UC_HOOK_MEM_READ | UC_HOOK_MEM_WRITE,
                      reinterpret_cast<void*>(nothing), nullptr, 1, 1) == UC_ERR_OK);
  CHECK(uc_emu_start(e.uc, kCode, kCode + 6, 0, 0) == UC_ERR_READ_UNMAPPED);
  CHECK(seen == kCode + 2);
}

TEST_CASE("unicorn 2.1: host writes to mapped code need uc_ctl_remove_cache") {
  X86 e;
  alignas(4096) static uint8_t page[4096];
  std::memset(page, 0x90, sizeof page);
  // inc rax; jmp +0x40 (the stop address: Unicorn drops the translation around `until` on
  // every uc_emu_start, so it must lie outside the block under test)
  const uint8_t inc_rax[] = {0x48, 0xff, 0xc0, 0xeb, 0x40};
  std::memcpy(page, inc_rax, sizeof inc_rax);
  constexpr uint64_t kStop = kCode + 5 + 0x40;
  REQUIRE(uc_mem_map_ptr(e.uc, kCode, sizeof page, UC_PROT_ALL, page) == UC_ERR_OK);
  e.set(UC_X86_REG_RAX, 0);
  REQUIRE(uc_emu_start(e.uc, kCode, kStop, 0, 0) == UC_ERR_OK);
  page[2] = 0xc8;  // dec rax: the host writes behind Unicorn's back
  REQUIRE(uc_emu_start(e.uc, kCode, kStop, 0, 0) == UC_ERR_OK);
  CHECK(e.reg(UC_X86_REG_RAX) == 2);  // the stale translation ran
  REQUIRE(uc_ctl_remove_cache(e.uc, kCode, kCode + 5) == UC_ERR_OK);
  REQUIRE(uc_emu_start(e.uc, kCode, kStop, 0, 0) == UC_ERR_OK);
  CHECK(e.reg(UC_X86_REG_RAX) == 1);
}

TEST_CASE("unicorn 2.1 x86-64: int3 reaches the interrupt hook as vector 3 with RIP after it") {
  X86 e;
  load(e, kCode, {0x90, 0xcc, 0x90});
  uint64_t at[2] = {};
  uc_hook h;
  uc_cb_hookintr_t cb = [](uc_engine* uc, uint32_t intno, void* out) {
    auto* o = static_cast<uint64_t*>(out);
    o[0] = intno;
    uc_reg_read(uc, UC_X86_REG_RIP, &o[1]);
    uc_emu_stop(uc);
  };
  REQUIRE(uc_hook_add(e.uc, &h, UC_HOOK_INTR, reinterpret_cast<void*>(cb), at, 1, 0) == UC_ERR_OK);
  REQUIRE(uc_emu_start(e.uc, kCode, kCode + 3, 0, 0) == UC_ERR_OK);
  CHECK(at[0] == 3);
  CHECK(at[1] == kCode + 2);
}

TEST_CASE("unicorn 2.1 x86-64: the syscall hook sees RIP at the syscall instruction") {
  X86 e;
  load(e, kCode, {0x90, 0x0f, 0x05, 0x90});
  uint64_t rip = 0;
  uc_hook h;
  uc_cb_insn_syscall_t cb = [](uc_engine* uc, void* out) {
    uc_reg_read(uc, UC_X86_REG_RIP, out);
  };
  REQUIRE(uc_hook_add(e.uc, &h, UC_HOOK_INSN, reinterpret_cast<void*>(cb), &rip, 1, 0,
                      UC_X86_INS_SYSCALL) == UC_ERR_OK);
  REQUIRE(uc_emu_start(e.uc, kCode, kCode + 4, 0, 0) == UC_ERR_OK);
  CHECK(rip == kCode + 1);
}

TEST_CASE("unicorn 2.1 arm64: BRK is EXCP_BKPT (7) with PC at it, SVC is EXCP_SWI (2) after it") {
  Arm64 e;
  // nop; brk #4; svc #0; nop
  load(e, kCode, words({0xd503201f, 0xd4200080, 0xd4000001, 0xd503201f}));
  std::vector<std::pair<uint32_t, uint64_t>> seen;
  uc_hook h;
  uc_cb_hookintr_t cb = [](uc_engine* uc, uint32_t intno, void* out) {
    uint64_t pc = 0;
    uc_reg_read(uc, UC_ARM64_REG_PC, &pc);
    static_cast<std::vector<std::pair<uint32_t, uint64_t>>*>(out)->push_back({intno, pc});
    if (intno == 7) {  // BRK: PC stays at it; move on or it fires forever
      pc += 4;
      uc_reg_write(uc, UC_ARM64_REG_PC, &pc);
    }
  };
  REQUIRE(uc_hook_add(e.uc, &h, UC_HOOK_INTR, reinterpret_cast<void*>(cb), &seen, 1, 0) ==
          UC_ERR_OK);
  REQUIRE(uc_emu_start(e.uc, kCode, kCode + 16, 0, 0) == UC_ERR_OK);
  REQUIRE(seen.size() == 2);
  CHECK(seen[0] == std::pair<uint32_t, uint64_t>{7, kCode + 4});
  CHECK(seen[1] == std::pair<uint32_t, uint64_t>{2, kCode + 12});
}

TEST_CASE("unicorn 2.1: a saved context restores every register, also into another engine") {
  X86 a, b;
  a.set(UC_X86_REG_RAX, 0x1122334455667788ull);
  a.set(UC_X86_REG_R15, 7);
  uc_context* ctx = nullptr;
  REQUIRE(uc_context_alloc(a.uc, &ctx) == UC_ERR_OK);
  REQUIRE(uc_context_save(a.uc, ctx) == UC_ERR_OK);
  REQUIRE(uc_context_restore(b.uc, ctx) == UC_ERR_OK);
  CHECK(b.reg(UC_X86_REG_RAX) == 0x1122334455667788ull);
  CHECK(b.reg(UC_X86_REG_R15) == 7);
  uc_context_free(ctx);
}

namespace {

// Maps n separate 4 KiB regions (a gap after each) onto NORESERVE host memory; false if a map
// failed. Unicorn aborts the process instead at its region ceiling.
bool map_regions(Engine& e, uint64_t n, std::vector<uint8_t>& host) {
  host.resize(n * 0x2000);
  for (uint64_t i = 0; i < n; ++i) {
    if (uc_mem_map_ptr(e.uc, 0x100000 + i * 0x2000, 0x1000, UC_PROT_READ | UC_PROT_WRITE,
                       host.data() + i * 0x2000) != UC_ERR_OK)
      return false;
  }
  return true;
}

}  // namespace

TEST_CASE("unicorn 2.1.1 arm64: 1 KiB target pages, which uc_ctl cannot raise, bound regions") {
  Arm64 a;
  // 2.1.1 accepts a page size only for UC_ARCH_ARM; later versions also for ARM64 (then the
  // ceiling could be raised to x86_64's, emu/uc_regions.h).
  CHECK(uc_ctl_set_page_size(a.uc, 4096) == UC_ERR_ARG);
  uint32_t page = 0;
  REQUIRE(uc_ctl_get_page_size(a.uc, &page) == UC_ERR_OK);
  CHECK(page == 1024);
  // As many regions as uc_regions::limit says map; one more aborts the host (in a child).
  const uint64_t limit = probesim::emu::uc_regions::limit(probesim::Arch::AArch64);
  std::vector<uint8_t> host;
  REQUIRE(map_regions(a, limit, host));
  uc_mem_region* regions = nullptr;
  uint32_t count = 0;
  REQUIRE(uc_mem_regions(a.uc, &regions, &count) == UC_ERR_OK);
  uc_free(regions);
  CHECK(count == limit);
  const pid_t child = fork();
  REQUIRE(child >= 0);
  if (child == 0) {
    const rlimit no_core{0, 0};
    setrlimit(RLIMIT_CORE, &no_core);
    Arm64 b;
    std::vector<uint8_t> h;
    map_regions(b, limit + 1, h);  // phys_section_add: sections_nb < TARGET_PAGE_SIZE
    _exit(0);
  }
  int status = 0;
  REQUIRE(waitpid(child, &status, 0) == child);
  CHECK(WIFSIGNALED(status));
  CHECK(WTERMSIG(status) == SIGABRT);
}

namespace {

// arm64 in virtual-TLB mode: the code page maps 1:1, data page 0x7f0000000000 into a window
// region at physical 2^50 (RW), read-only page 0x7f0000010000 too (R; a write is denied).
constexpr uint64_t kWindowPhys = uint64_t{1} << 50;
constexpr uint64_t kRwPage = 0x7f0000000000ull, kRoPage = 0x7f0000010000ull;
int g_denied = 0;

bool window_fill(uc_engine*, uint64_t va, uc_mem_type type, uc_tlb_entry* e, void*) {
  const uint64_t page = va & ~uint64_t{0xfff};
  if (page == kCode) {
    e->paddr = va;
    e->perms = UC_PROT_ALL;
    return true;
  }
  if (page == kRwPage || (page == kRoPage && type == UC_MEM_READ)) {
    e->paddr = kWindowPhys + (page == kRwPage ? 0 : 0x1000) + (va & 0xfff);
    e->perms = page == kRwPage ? static_cast<uc_prot>(UC_PROT_READ | UC_PROT_WRITE) : UC_PROT_READ;
    return true;
  }
  ++g_denied;
  return false;
}

}  // namespace

TEST_CASE("unicorn 2.1.1 arm64: virtual-TLB fills into one window region, denials at exact PCs") {
  std::vector<uint8_t> window(0x2000);
  window[0x1000] = 0x42;
  // ldr x1, [x2] ; str x1, [x0] ; str x1, [x2] ; nop
  for (bool deny_write : {false, true}) {
    Arm64 a;
    REQUIRE(uc_ctl_tlb_mode(a.uc, UC_TLB_VIRTUAL) == UC_ERR_OK);
    uc_hook h;
    REQUIRE(uc_hook_add(a.uc, &h, UC_HOOK_TLB_FILL, reinterpret_cast<void*>(&window_fill),
                        nullptr, 1, 0) == UC_ERR_OK);
    REQUIRE(uc_mem_map_ptr(a.uc, kWindowPhys, window.size(), UC_PROT_READ | UC_PROT_WRITE,
                           window.data()) == UC_ERR_OK);
    load(a, kCode, words({0xf9400041, 0xf9000001, 0xf9000041, 0xd503201f}));
    a.set(UC_ARM64_REG_X0, kRwPage);
    a.set(UC_ARM64_REG_X2, kRoPage);
    g_denied = 0;
    const uint64_t end = kCode + (deny_write ? 16 : 8);
    const uc_err e = uc_emu_start(a.uc, kCode, end, 0, 0);
    CHECK(a.reg(UC_ARM64_REG_X1) == 0x42);
    CHECK(window[0] == 0x42);  // the store through the RW page landed in the window
    if (deny_write) {
      CHECK(e == UC_ERR_EXCEPTION);  // no memory hook, no interrupt: the fill said no
      CHECK(a.reg(UC_ARM64_REG_PC) == kCode + 8);
      CHECK(g_denied == 1);
    } else {
      CHECK(e == UC_ERR_OK);
    }
  }
}
