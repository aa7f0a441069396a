// bench_paging: costs of the paged MMU (issue 14) in real Unicorn engines: UC_TLB_VIRTUAL mode,
// the FrameSpace mapped once, and a UC_HOOK_TLB_FILL callback that asks mmu::PagedMm::fill.
//
//   usage: bench_paging [pages=4096] [max_vmas=100000]
//
// Per arch (x86_64, arm64) it prints JSON lines:
//   {"arch":A,"kind":"fill","pages":P,"hit_ns":H,"refill_ns":R,"miss_ns":M,"model_ns":D,
//    "flush_ns":F}
//     H: ns per iteration of a store loop that stays on one page (TLB hits). A loop storing one
//     byte into each of P pages of an anonymous VMA: its first pass takes a TLB miss and a
//     demand-zero fault per page (M ns per page beyond H: Unicorn's fill path, PagedMm::fill,
//     the host's first touch of the frame); after uc_ctl_flush_tlb, a pass fills present PTEs
//     (R ns per page beyond H). D: PagedMm::fill alone per demand-zero fault, no engine. F: one
//     uc_ctl_flush_tlb (the TLB and the jump cache; translated blocks stay, docs/unicorn.md).
//     arm64 pages are 1 KiB in Unicorn, so a 4 KiB page takes up to 4 fills there.
//   {"arch":A,"kind":"vmas","n":N,"mmap_ns":T,"touch_ns":U,"frames":F}
//     N one-page mmaps that stay separate VMAs (alternating PROT_READ, PROT_READ|PROT_WRITE), T
//     ns per mmap in the model, then a loop loads one byte of each (U ns per VMA: a miss and a
//     demand-zero fault each). No Unicorn region per VMA, so N is not bounded by ~4,094 regions;
//     N = 1e3, 1e4, ... up to max_vmas.
// Host thread CPU times, best of kRounds where repeated; everything else is deterministic.
#include <unicorn/unicorn.h>

#include <algorithm>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <ctime>
#include <memory>
#include <string>

#include "mmu/frame_space.h"
#include "mmu/mm.h"
#include "mmu/paged_mm.h"
#include "mmu/vm_flags.h"
#include "probesim/assert.h"
#include "probesim/types.h"

namespace probesim::bench {
namespace {

using namespace probesim::mmu;
// Thread CPU time, not wall time: the machine is shared, and the host's own page-fault work
// (zeroing a frame on first touch) is system time of this thread, so it counts.
struct Clock {
  using time_point = double;
  static double now() {
    timespec ts;
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
    return ts.tv_sec * 1e9 + ts.tv_nsec;
  }
};

constexpr uint64_t kPhysBase = uint64_t{1} << 32;
constexpr int kRounds = 3;
const MmLayout kLayout{GuestAddr{0x7f0000000000}, GuestAddr{0x7ffffffff000}};

void check(uc_err e, const char* what) {
  PROBESIM_ASSERT_MSG(e == UC_ERR_OK, std::string(what) + ": " + uc_strerror(e));
}

double ns_since(Clock::time_point t0) {
  return Clock::now() - t0;
}

// An engine whose TLB is a PagedMm (as tests/unit/paging's harness).
struct Engine {
  PagedMm& pm;
  uc_engine* uc = nullptr;
  Engine(Arch arch, PagedMm& p) : pm(p) {
    const bool x86 = arch == Arch::X86_64;
    check(uc_open(x86 ? UC_ARCH_X86 : UC_ARCH_ARM64, x86 ? UC_MODE_64 : UC_MODE_ARM, &uc), "open");
    check(uc_ctl_tlb_mode(uc, UC_TLB_VIRTUAL), "tlb mode");
    for (const FrameSpace::Region& r : pm.frames().regions())
      check(uc_mem_map_ptr(uc, kPhysBase + r.phys, r.len, UC_PROT_ALL, r.host), "map frames");
    uc_hook h;
    check(uc_hook_add(uc, &h, UC_HOOK_TLB_FILL, reinterpret_cast<void*>(&Engine::on_fill), this, 1,
                      0),
          "hook");
  }
  ~Engine() { uc_close(uc); }
  static bool on_fill(uc_engine*, uint64_t va, uc_mem_type type, uc_tlb_entry* e, void* self) {
    const Access a = type == UC_MEM_WRITE   ? Access::Write
                     : type == UC_MEM_FETCH ? Access::Exec
                                            : Access::Read;
    const PagedMm::Fill f = static_cast<Engine*>(self)->pm.fill(GuestAddr{va}, a);
    if (!f.ok()) return false;
    e->paddr = kPhysBase + f.phys + (va & (kPageSize - 1));
    e->perms = static_cast<uc_prot>(f.prot);
    return true;
  }
  double run(uint64_t begin, uint64_t end) {
    const auto t0 = Clock::now();
    check(uc_emu_start(uc, begin, end, 0, 0), "emu_start");
    return ns_since(t0);
  }
};

void put32(std::string& s, uint32_t w) {
  s.append(reinterpret_cast<const char*>(&w), 4);
}

// A loop of `count` iterations from `data`, one byte each: a store of the counter, or a load;
// the address advances by a page per iteration (stride true) or stays (false).
std::string loop_code(Arch arch, uint64_t data, uint64_t count, bool store, bool stride = true) {
  std::string c;
  if (arch == Arch::X86_64) {
    auto imm64 = [&](uint64_t v) { c.append(reinterpret_cast<const char*>(&v), 8); };
    c += "\x48\xb9";  // mov rcx, count
    imm64(count);
    c += "\x48\xbf";  // mov rdi, data
    imm64(data);
    const size_t loop = c.size();
    c += store ? std::string("\x88\x0f", 2)
               : std::string("\x8a\x07", 2);  // mov [rdi],cl / mov al,[rdi]
    c += std::string(stride ? "\x48\x81\xc7\x00\x10\x00\x00" : "\x48\x81\xc7\x00\x00\x00\x00",
                     7);  // add rdi, 4096 (or 0)
    c += "\x48\xff\xc9";  // dec rcx
    c += "\x75";
    c.push_back(static_cast<char>(loop - (c.size() + 1)));  // jnz loop
    return c;
  }
  auto mov64 = [&](int rd, uint64_t v) {
    put32(c, 0xd2800000u | uint32_t(v & 0xffff) << 5 | rd);
    for (int s = 1; s < 4; ++s)
      put32(c, 0xf2800000u | uint32_t(s) << 21 | uint32_t((v >> (16 * s)) & 0xffff) << 5 | rd);
  };
  mov64(0, data);
  mov64(1, count);
  const size_t loop = c.size();
  put32(c, store ? 0x39000001u : 0x39400002u);   // strb w1, [x0] / ldrb w2, [x0]
  put32(c, stride ? 0x91400400u : 0x91000000u);  // add x0, x0, #4096 (or #0)
  put32(c, 0xf1000421u);                         // subs x1, x1, #1
  put32(c, 0x54000001u | (uint32_t(static_cast<int32_t>(loop - c.size()) / 4) & 0x7ffff) << 5);
  return c;
}

// Places `code` in a fresh RWX page of mm and returns its address.
uint64_t load_code(Mm& mm, PagedMm& pm, const std::string& code) {
  const int64_t at = mm.mmap(GuestAddr{0}, kPageSize, kProtRead | kProtWrite | kProtExec,
                             kMapPrivate | kMapAnonymous, nullptr, FileOffset{0});
  PROBESIM_ASSERT(at > 0);
  const PagedMm::Fill f = pm.fill(GuestAddr{static_cast<uint64_t>(at)}, Access::Write);
  PROBESIM_ASSERT(f.ok());
  std::memcpy(pm.frames().data(Pfn{f.phys >> kPageShift}), code.data(), code.size());
  return static_cast<uint64_t>(at);
}

// ns per call of PagedMm::fill alone for `pages` demand-zero faults (no engine, no host touch).
double model_fill_ns(uint64_t pages) {
  auto fs = FrameSpace::create(uint64_t{1} << 32);
  PROBESIM_ASSERT(fs.ok());
  Mm mm(kLayout);
  const int64_t data = mm.mmap(GuestAddr{0}, pages * kPageSize, kProtRead | kProtWrite,
                               kMapPrivate | kMapAnonymous, nullptr, FileOffset{0});
  PagedMm pm(mm, *fs.value());
  const auto t0 = Clock::now();
  for (uint64_t i = 0; i < pages; ++i)
    PROBESIM_ASSERT(
        pm.fill(GuestAddr{static_cast<uint64_t>(data) + i * kPageSize}, Access::Write).ok());
  return ns_since(t0) / pages;
}

void bench_fill(Arch arch, const char* name, uint64_t pages) {
  constexpr uint64_t kHitIters = 1'000'000;
  auto fs = FrameSpace::create(uint64_t{1} << 32);
  PROBESIM_ASSERT(fs.ok());
  Mm mm(kLayout);
  const int64_t data = mm.mmap(GuestAddr{0}, pages * kPageSize, kProtRead | kProtWrite,
                               kMapPrivate | kMapAnonymous, nullptr, FileOffset{0});
  PROBESIM_ASSERT(data > 0);
  PagedMm pm(mm, *fs.value());
  const std::string walk = loop_code(arch, static_cast<uint64_t>(data), pages, true);
  const std::string spin = loop_code(arch, static_cast<uint64_t>(data), kHitIters, true, false);
  const uint64_t pc = load_code(mm, pm, walk), spin_pc = load_code(mm, pm, spin);
  Engine eng(arch, pm);
  const double first = eng.run(pc, pc + walk.size());  // misses + demand-zero faults
  PROBESIM_ASSERT(pm.stats().minor_faults == pages + 2);
  double hit = 1e300, refill = 1e300, flush = 1e300;
  for (int r = 0; r < kRounds; ++r) {
    eng.run(spin_pc, spin_pc + spin.size());  // translated, its page in the TLB
    hit = std::min(hit, eng.run(spin_pc, spin_pc + spin.size()) / kHitIters);
    eng.run(pc, pc + walk.size());  // the walk's block translated again
    auto t0 = Clock::now();
    check(uc_ctl_flush_tlb(eng.uc), "flush");
    flush = std::min(flush, ns_since(t0));
    refill = std::min(refill, eng.run(pc, pc + walk.size()) / pages - hit);
  }
  std::printf(
      "{\"arch\":\"%s\",\"kind\":\"fill\",\"pages\":%llu,\"hit_ns\":%.2f,"
      "\"refill_ns\":%.1f,\"miss_ns\":%.1f,\"model_ns\":%.1f,\"flush_ns\":%.1f}\n",
      name, static_cast<unsigned long long>(pages), hit, refill, first / pages - hit,
      model_fill_ns(pages), flush);
}

void bench_vmas(Arch arch, const char* name, uint64_t n) {
  auto fs = FrameSpace::create(n * kPageSize + (uint64_t{1} << 20));
  PROBESIM_ASSERT(fs.ok());
  Mm mm(kLayout);
  PagedMm pm(mm, *fs.value());
  auto t0 = Clock::now();
  int64_t lowest = 0;
  for (uint64_t i = 0; i < n; ++i) {
    const int prot = (i & 1) ? kProtRead : kProtRead | kProtWrite;
    lowest =
        mm.mmap(GuestAddr{0}, kPageSize, prot, kMapPrivate | kMapAnonymous, nullptr, FileOffset{0});
    PROBESIM_ASSERT(lowest > 0);
  }
  const double mmap_ns = ns_since(t0) / n;
  PROBESIM_ASSERT(mm.vma_count() == n);  // none merged
  const std::string code = loop_code(arch, static_cast<uint64_t>(lowest), n, false);
  const uint64_t pc = load_code(mm, pm, code);
  Engine eng(arch, pm);
  const double touch = eng.run(pc, pc + code.size()) / n;
  std::printf(
      "{\"arch\":\"%s\",\"kind\":\"vmas\",\"n\":%llu,\"mmap_ns\":%.1f,\"touch_ns\":%.1f,"
      "\"frames\":%llu}\n",
      name, static_cast<unsigned long long>(n), mmap_ns, touch,
      static_cast<unsigned long long>(fs.value()->stats().in_use));
}

}  // namespace
}  // namespace probesim::bench

int main(int argc, char** argv) {
  using namespace probesim;
  const uint64_t pages = argc > 1 ? std::strtoull(argv[1], nullptr, 10) : 4096;
  const uint64_t max_vmas = argc > 2 ? std::strtoull(argv[2], nullptr, 10) : 100000;
  if (pages == 0 || max_vmas == 0) {
    std::fprintf(stderr, "usage: bench_paging [pages=4096] [max_vmas=100000]\n");
    return 2;
  }
  const std::pair<Arch, const char*> arches[] = {{Arch::X86_64, "x86_64"},
                                                 {Arch::AArch64, "aarch64"}};
  for (auto [arch, name] : arches) {
    bench::bench_fill(arch, name, pages);
    for (uint64_t n = 1000; n <= max_vmas; n *= 10) bench::bench_vmas(arch, name, n);
  }
  return 0;
}
