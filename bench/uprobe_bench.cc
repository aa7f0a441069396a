// bench_uprobes: uprobe costs on the machine.
//
//   usage: bench_uprobes hits <uprobed-x86_64> <uprobed-aarch64> [n=200000]
//          bench_uprobes scale <uprobed-x86_64> [max_n=10000]
//
// hits: per arch, runs `uprobed loop n` (probe_me called n times) unprobed, with a uprobe on
// probe_me (C++ handler), and with a uretprobe on it; one JSON line per kind:
//   {"arch":A,"kind":"uprobe"|"uretprobe","hits":H,"ns_per_hit":T,"modelled_cycles":C,"modelled_ns":N}
// T = (probed - unprobed host time) / n, best of kRounds; C = extra guest cycles per hit.
//
// scale: N = 1, 10, ... max_n address spaces (model mms, no CPUs) each map the program's text
// once among kOtherVmas other mappings (a process has dozens); per N one JSON line with host
// ns for uprobe_register (i_mmap stabbing query + per-mm install) and uprobe_unregister, and
// for finding the (mm, vaddr) pairs alone: the i_mmap stabbing query versus a linear scan over
// every mm's VMAs (the baseline without i_mmap), asserting both find N.
#include <algorithm>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <iterator>
#include <string>
#include <vector>

#include "emu/machine_state.h"
#include "loader/elf_file.h"
#include "mmu/vm_flags.h"
#include "probes/uprobes/uprobe_manager.h"
#include "probes/uprobes/uprobe_target.h"
#include "probesim/assert.h"
#include "probesim/machine.h"

namespace probesim::bench {
namespace {

using Clock = std::chrono::steady_clock;
constexpr int kRounds = 3;
constexpr uint64_t kHz = 2'000'000'000;
constexpr uint64_t kOtherVmas = 40;

double ns_since(Clock::time_point t0) {
  return std::chrono::duration<double, std::nano>(Clock::now() - t0).count();
}

FileOffset offset_of(const std::string& prog, const std::string& sym) {
  std::ifstream in(prog, std::ios::binary);
  std::vector<uint8_t> bytes{std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
  auto elf = loader::ElfFile::parse(prog, std::move(bytes));
  PROBESIM_ASSERT_MSG(elf.ok(), "cannot parse " + prog);
  auto spec = probes::parse_uprobe_spec(prog + ":" + sym);
  auto off = probes::uprobe_file_offset(elf.value(), spec.value());
  PROBESIM_ASSERT(off.ok());
  return off.value();
}

struct Run {
  double ns;
  uint64_t cycles;
};

// One machine, `uprobed loop n`, optionally with a consumer on probe_me.
Run run_loop(Arch arch, const std::string& prog, uint64_t n, int kind /*0 none 1 uprobe 2 ret*/) {
  Run best{1e300, 0};
  for (int r = 0; r < kRounds; ++r) {
    auto m = Machine::create(Options{.arch = arch, .seed = 1});
    PROBESIM_ASSERT(m.ok());
    Machine& mm = *m.value();
    probes::UprobeConsumer c;
    uint64_t calls = 0;
    if (kind == 1) c.handler = [&](probes::UprobeConsumer&, probes::Regs&, uint64_t&) { return ++calls, 0; };
    if (kind == 2)
      c.ret_handler = [&](probes::UprobeConsumer&, GuestAddr, probes::Regs&, uint64_t&) { ++calls; };
    mmu::Inode* inode = nullptr;
    probes::Uprobe* u = nullptr;
    if (kind) {
      inode = mm.state().lookup_inode(prog).value();
      u = mm.state().uprobes().uprobe_register(*inode, offset_of(prog, "probe_me"), c).value();
    }
    auto pid = mm.spawn({prog, "loop", std::to_string(n)}, {});
    PROBESIM_ASSERT(pid.ok());
    auto t0 = Clock::now();
    mm.run();
    double ns = ns_since(t0);
    PROBESIM_ASSERT(mm.exit_of(pid.value())->shell_status == 0);
    PROBESIM_ASSERT_MSG(!kind || calls == n, "a handler missed hits");
    if (u) mm.state().uprobes().uprobe_unregister(u, c);
    if (inode) mm.state().inodes().iput(inode);
    if (ns < best.ns) best = {ns, mm.stats().cycles};
  }
  return best;
}

int hits(const std::string& x86, const std::string& arm64, uint64_t n) {
  for (auto [arch, prog] : {std::pair{Arch::X86_64, x86}, std::pair{Arch::AArch64, arm64}}) {
    Run base = run_loop(arch, prog, n, 0);
    for (int kind : {1, 2}) {
      Run probed = run_loop(arch, prog, n, kind);
      double ns = (probed.ns - base.ns) / static_cast<double>(n);
      double cyc = static_cast<double>(probed.cycles - base.cycles) / static_cast<double>(n);
      std::printf("{\"arch\":\"%s\",\"kind\":\"%s\",\"hits\":%llu,\"ns_per_hit\":%.1f,"
                  "\"modelled_cycles\":%.1f,\"modelled_ns\":%.1f}\n",
                  std::string(arch_name(arch)).c_str(), kind == 1 ? "uprobe" : "uretprobe",
                  static_cast<unsigned long long>(n), ns, cyc, cyc * 1e9 / kHz);
      std::fflush(stdout);
    }
  }
  return 0;
}

// N model address spaces each mapping the program's first 64 pages (its text) read-execute.
int scale(const std::string& prog, uint64_t max_n) {
  auto m = Machine::create(Options{.arch = Arch::X86_64, .seed = 1, .kernel = false});
  PROBESIM_ASSERT(m.ok());
  emu::MachineState& st = m.value()->state();
  mmu::Inode* inode = st.lookup_inode(prog).value();
  FileOffset off = offset_of(prog, "probe_me");
  uint64_t map_len = std::min<uint64_t>(page_align_up(inode->i_size()), 64 * kPageSize);
  PROBESIM_ASSERT(off.value < map_len);
  std::vector<std::unique_ptr<mmu::Mm>> mms;
  for (uint64_t n = 1; n <= max_n; n *= 10) {
    while (mms.size() < n) {
      mmu::MmLayout layout{GuestAddr{0x7f0000000000}, GuestAddr{0x800000000000}};
      layout.anon_window_bytes = 1 << 20;
      auto mm = std::make_unique<mmu::Mm>(layout);
      int64_t r = mm->mmap(GuestAddr{0x400000}, map_len, mmu::kProtRead | mmu::kProtExec,
                           mmu::kMapPrivate | mmu::kMapFixed, inode, FileOffset{0},
                           mmu::FileMode::ReadOnly);
      PROBESIM_ASSERT(r == 0x400000);
      for (uint64_t k = 0; k < kOtherVmas; ++k)  // gaps keep them from merging
        PROBESIM_ASSERT(mm->mmap(GuestAddr{0x10000000 + k * 2 * kPageSize}, kPageSize,
                                 mmu::kProtRead, mmu::kMapPrivate | mmu::kMapFixed |
                                 mmu::kMapAnonymous, nullptr, FileOffset{0}) > 0);
      mms.push_back(std::move(mm));
    }
    double reg = 1e300, unreg = 1e300, scan = 1e300, stab = 1e300;
    for (int round = 0; round < kRounds; ++round) {
      probes::UprobeConsumer c;
      c.handler = [](probes::UprobeConsumer&, probes::Regs&, uint64_t&) { return 0; };
      uint64_t before = st.uprobes().stats().map_info;
      auto t0 = Clock::now();
      probes::Uprobe* u = st.uprobes().uprobe_register(*inode, off, c).value();
      reg = std::min(reg, ns_since(t0));
      PROBESIM_ASSERT(st.uprobes().stats().map_info - before == n);
      t0 = Clock::now();
      st.uprobes().uprobe_unregister(u, c);
      unreg = std::min(unreg, ns_since(t0));
      t0 = Clock::now();
      uint64_t found = 0;
      for (const auto& mm : mms)
        for (const mmu::Vma* v : mm->vmas())
          if (v->vm_file == inode && off.value >= v->vm_pgoff * kPageSize &&
              off.value < v->vm_pgoff * kPageSize + (v->vm_end - v->vm_start))
            ++found;
      scan = std::min(scan, ns_since(t0));
      PROBESIM_ASSERT(found == n);
      t0 = Clock::now();
      size_t stabbed = inode->i_mapping().i_mmap().stab(PageIndex{off.value / kPageSize}).size();
      stab = std::min(stab, ns_since(t0));
      PROBESIM_ASSERT(stabbed == n);
    }
    std::printf("{\"n\":%llu,\"vmas\":%llu,\"register_ns\":%.0f,\"unregister_ns\":%.0f,"
                "\"stab_ns\":%.0f,\"linear_scan_ns\":%.0f}\n",
                static_cast<unsigned long long>(n),
                static_cast<unsigned long long>(n * (kOtherVmas + 1)), reg, unreg, stab, scan);
    std::fflush(stdout);
  }
  mms.clear();
  st.inodes().iput(inode);
  return 0;
}

}  // namespace
}  // namespace probesim::bench

int main(int argc, char** argv) {
  using namespace probesim::bench;
  std::string mode = argc > 1 ? argv[1] : "";
  if (mode == "hits" && argc >= 4)
    return hits(argv[2], argv[3], argc > 4 ? std::strtoull(argv[4], nullptr, 0) : 200000);
  if (mode == "scale" && argc >= 3)
    return scale(argv[2], argc > 3 ? std::strtoull(argv[3], nullptr, 0) : 10000);
  std::fprintf(stderr, "usage: bench_uprobes hits <uprobed-x86_64> <uprobed-aarch64> [n]\n"
                       "       bench_uprobes scale <uprobed-x86_64> [max_n]\n");
  return 2;
}
