#include "emu/probe_regs.h"

#include <iterator>

#include "guest/kernel/include/entry_abi.h"

namespace probesim::emu {
namespace {

// probes::Regs index -> Unicorn register; -1: not a CPU register (orig_ax, cs, ss).
constexpr int kX86Regs[] = {
    UC_X86_REG_R15, UC_X86_REG_R14, UC_X86_REG_R13, UC_X86_REG_R12, UC_X86_REG_RBP,
    UC_X86_REG_RBX, UC_X86_REG_R11, UC_X86_REG_R10, UC_X86_REG_R9,  UC_X86_REG_R8,
    UC_X86_REG_RAX, UC_X86_REG_RCX, UC_X86_REG_RDX, UC_X86_REG_RSI, UC_X86_REG_RDI,
    -1,             UC_X86_REG_RIP, -1,             UC_X86_REG_RFLAGS, UC_X86_REG_RSP,
    -1};
constexpr uint64_t kX86KernelCs = 0x10, kX86KernelSs = 0x18;  // __KERNEL_CS / __KERNEL_DS
constexpr unsigned kX86IpIndex = 16, kArm64PcIndex = 32;

struct RegMap {
  int ids[probes::Regs::kMaxRegs];
  unsigned index[probes::Regs::kMaxRegs];
  size_t n = 0;
};

RegMap make_map(Arch arch) {
  RegMap m;
  if (arch == Arch::X86_64) {
    for (unsigned i = 0; i < std::size(kX86Regs); ++i)
      if (kX86Regs[i] >= 0) m.ids[m.n] = kX86Regs[i], m.index[m.n++] = i;
    return m;
  }
  for (unsigned i = 0; i <= 28; ++i)
    m.ids[m.n] = UC_ARM64_REG_X0 + static_cast<int>(i), m.index[m.n++] = i;
  const int rest[] = {UC_ARM64_REG_X29, UC_ARM64_REG_X30, UC_ARM64_REG_SP, UC_ARM64_REG_PC,
                      UC_ARM64_REG_PSTATE};
  for (unsigned i = 0; i < std::size(rest); ++i) m.ids[m.n] = rest[i], m.index[m.n++] = 29 + i;
  return m;
}

const RegMap& reg_map(Arch arch) {
  static const RegMap x86 = make_map(Arch::X86_64), arm64 = make_map(Arch::AArch64);
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
