#include "emu/probe_regs.h"

#include <iterator>
#include <span>

#include "guest/kernel/include/entry_abi.h"
#include "probes/arch/pt_regs_table.h"

namespace probesim::emu {
namespace {

// probes::Regs index -> Unicorn register; -1: not a CPU register (orig_ax, cs, ss).
#define PROBESIM_UC_REG(name, offset, uc_reg) (uc_reg),
constexpr int kX86Regs[] = {PROBESIM_PT_REGS_X86_64(PROBESIM_UC_REG)};
constexpr int kArm64Regs[] = {PROBESIM_PT_REGS_ARM64(PROBESIM_UC_REG)};
#undef PROBESIM_UC_REG
constexpr uint64_t kX86KernelCs = 0x10, kX86KernelSs = 0x18;  // __KERNEL_CS / __KERNEL_DS
constexpr unsigned kX86IpIndex = 16, kArm64PcIndex = 32;

struct RegMap {
  int ids[probes::Regs::kMaxRegs];
  unsigned index[probes::Regs::kMaxRegs];
  size_t n = 0;
};

RegMap make_map(std::span<const int> table) {
  RegMap m;
  for (unsigned i = 0; i < table.size(); ++i)
    if (table[i] >= 0) m.ids[m.n] = table[i], m.index[m.n++] = i;
  return m;
}

const RegMap& reg_map(Arch arch) {
  static const RegMap x86 = make_map(kX86Regs), arm64 = make_map(kArm64Regs);
  return arch == Arch::X86_64 ? x86 : arm64;
}

}  // namespace

probes::Regs read_probe_regs(Cpu& cpu, RegsMode mode) {
  const RegMap& map = reg_map(cpu.arch());
  uint64_t vals[probes::Regs::kMaxRegs];
  cpu.read_regs(std::span<const int>(map.ids, map.n), vals);
  probes::Regs regs(cpu.arch());
  for (size_t i = 0; i < map.n; ++i) regs.set(map.index[i], vals[i]);
  if (cpu.arch() == Arch::X86_64) {
    bool k = mode == RegsMode::Kernel;
    regs.set(probes::X86Reg::orig_ax, ~0ull);
    regs.set(probes::X86Reg::cs, k ? kX86KernelCs : X86_64_USER_CS);
    regs.set(probes::X86Reg::ss, k ? kX86KernelSs : X86_64_USER_DS);
  }
  regs.clear_dirty();
  return regs;
}

void write_probe_regs(Cpu& cpu, const probes::Regs& regs) {
  const RegMap& map = reg_map(cpu.arch());
  uint64_t dirty = regs.dirty() |
                   (uint64_t{1} << (cpu.arch() == Arch::X86_64 ? kX86IpIndex : kArm64PcIndex));
  int ids[probes::Regs::kMaxRegs];
  uint64_t vals[probes::Regs::kMaxRegs];
  size_t n = 0;
  for (size_t i = 0; i < map.n; ++i)
    if (dirty & (uint64_t{1} << map.index[i])) ids[n] = map.ids[i], vals[n++] = regs.get(map.index[i]);
  cpu.write_regs(std::span<const int>(ids, n), vals);
}

}  // namespace probesim::emu
