// Guest kernel, machine side: kprobe traps (x86 int3, arm64 BRK #4 / #6 in kernel memory)
// handed to the kprobes engine with pt_regs-shaped registers, and kernel-mode faults (oops).
#include <cstdio>
#include <cstring>

#include "emu/machine_state.h"
#include "probesim/assert.h"

namespace probesim::emu {
namespace {

constexpr uint32_t kArm64BrkKprobe = 4, kArm64BrkSingleStep = 6;

// probes::Regs index -> Unicorn register; -1: not a CPU register (orig_ax, cs, ss).
constexpr int kX86Regs[] = {
    UC_X86_REG_R15, UC_X86_REG_R14, UC_X86_REG_R13, UC_X86_REG_R12, UC_X86_REG_RBP,
    UC_X86_REG_RBX, UC_X86_REG_R11, UC_X86_REG_R10, UC_X86_REG_R9,  UC_X86_REG_R8,
    UC_X86_REG_RAX, UC_X86_REG_RCX, UC_X86_REG_RDX, UC_X86_REG_RSI, UC_X86_REG_RDI,
    -1,             UC_X86_REG_RIP, -1,             UC_X86_REG_RFLAGS, UC_X86_REG_RSP,
    -1};
constexpr uint64_t kX86KernelCs = 0x10, kX86KernelSs = 0x18;

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
  for (unsigned i = 0; i <= 28; ++i) m.ids[m.n] = UC_ARM64_REG_X0 + static_cast<int>(i), m.index[m.n++] = i;
  const int rest[] = {UC_ARM64_REG_X29, UC_ARM64_REG_X30, UC_ARM64_REG_SP, UC_ARM64_REG_PC,
                      UC_ARM64_REG_PSTATE};
  for (unsigned i = 0; i < std::size(rest); ++i) m.ids[m.n] = rest[i], m.index[m.n++] = 29 + i;
  return m;
}

const RegMap& reg_map(Arch arch) {
  static const RegMap x86 = make_map(Arch::X86_64), arm64 = make_map(Arch::AArch64);
  return arch == Arch::X86_64 ? x86 : arm64;
}

std::string to_hex(uint64_t v) {
  char b[24];
  std::snprintf(b, sizeof b, "0x%llx", static_cast<unsigned long long>(v));
  return b;
}

// The CPU's registers as probes::Regs (one batch read); vals keeps the raw values.
probes::Regs read_probe_regs(Cpu& cpu, const RegMap& map, uint64_t* vals) {
  cpu.read_regs(std::span<const int>(map.ids, map.n), vals);
  probes::Regs regs(cpu.arch());
  for (size_t i = 0; i < map.n; ++i) regs.set(map.index[i], vals[i]);
  if (cpu.arch() == Arch::X86_64) {
    regs.set(probes::X86Reg::orig_ax, ~0ull);
    regs.set(probes::X86Reg::cs, kX86KernelCs);
    regs.set(probes::X86Reg::ss, kX86KernelSs);
  }
  regs.clear_dirty();
  return regs;
}

}  // namespace

// One trap in kernel memory: fill Regs from the CPU (one batch read), let the engine decide,
// write back what it changed (PC always: it resumes at regs.ip) and charge the modelled cost.
bool MachineState::kprobe_trap(Cpu& cpu) {
  GuestKernel& k = *kernel_;
  bool x86 = config_.arch == Arch::X86_64;
  uint64_t pc = cpu.pc();
  GuestAddr insn_addr{x86 ? pc - 1 : pc};
  const uint8_t* code = k.space->host(insn_addr, x86 ? 1 : 4);
  if (!code) return false;  // user-mode int3/BRK: SIGTRAP
  const RegMap& map = reg_map(config_.arch);
  uint64_t vals[probes::Regs::kMaxRegs];
  probes::Regs regs = read_probe_regs(cpu, map, vals);
  probes::HitContext ctx{probes::CpuId{static_cast<uint32_t>(hit_cpu())},
                         probes::TaskId{current_ ? static_cast<uint64_t>(current_->tid()) : 0}};
  probes::HitResult r;
  if (x86) {
    r = k.kprobes->on_breakpoint(ctx, regs);
  } else {
    uint32_t insn;
    std::memcpy(&insn, code, 4);
    uint32_t imm = (insn >> 5) & 0xffff;
    if (imm == kArm64BrkKprobe)
      r = k.kprobes->on_breakpoint(ctx, regs);
    else if (imm == kArm64BrkSingleStep)
      r = k.kprobes->on_ss_trap(ctx, regs);
    else
      return false;
  }
  if (r.disposition == probes::HitDisposition::NotOurs) return false;
  if (r.disposition != probes::HitDisposition::Handled) {
    // An emulated instruction faulted, or the engine found an unrecoverable state: an oops of
    // the running task (or of kernel_call), reported like a kernel fault at the probe.
    cpu.set_preemptible(true);
    k.oopses.push_back(std::string(r.disposition == probes::HitDisposition::Bug
                                       ? "kernel BUG: unrecoverable kprobe"
                                       : "kernel fault emulating a probed instruction") +
                       " at " + k.space->kallsyms().format(insn_addr));
    cpu.request_stop();
    if (current_) kill_by_signal(current_->proc(), kSigSegv);
    return true;
  }
  uint64_t dirty = regs.dirty() | (uint64_t{1} << (x86 ? 16u : 32u));  // ip / pc
  int ids[probes::Regs::kMaxRegs];
  size_t n = 0;
  for (size_t i = 0; i < map.n; ++i)
    if (dirty & (uint64_t{1} << map.index[i])) ids[n] = map.ids[i], vals[n++] = regs.get(map.index[i]);
  cpu.write_regs(std::span<const int>(ids, n), vals);
  sched_.clock(hit_cpu()).advance(r.cost);
  cpu.set_preemptible(r.kind != probes::HitKind::Stepped);
  return true;
}

// A fault, trap or invalid instruction in kernel mode: Linux oopses and kills the task. The
// oops text is kept (GuestKernel::oopses) and the process dies of SIGSEGV with it.
void MachineState::kernel_oops(Process& p, Task& t, const CpuStop& stop) {
  GuestKernel& k = *kernel_;
  Cpu& cpu = *p.cpu();
  cpu.set_preemptible(true);
  uint64_t vals[probes::Regs::kMaxRegs];
  probes::Regs regs = read_probe_regs(cpu, reg_map(config_.arch), vals);
  k.kprobes->on_fault(probes::HitContext{probes::CpuId{static_cast<uint32_t>(hit_cpu())},
                                         probes::TaskId{static_cast<uint64_t>(t.tid())}},
                      regs);  // ends a single-step that faulted in its slot
  std::string what = stop.kind == StopKind::Fault    ? "unable to handle page fault for address " +
                                                           to_hex(stop.addr)
                     : stop.kind == StopKind::Interrupt ? "unexpected trap " + std::to_string(stop.intno)
                                                        : "invalid opcode";
  std::string text = "kernel oops: " + what + " at " + k.space->kallsyms().format(GuestAddr{stop.pc}) +
                     " (pid " + std::to_string(p.pid()) + ", tid " + std::to_string(t.tid()) + ")";
  k.oopses.push_back(text);
  GuestFault f{kSigSegv, kSiKernel, stop.addr, stop.pc, stop.pc_precise, text};
  kill_by_signal(p, kSigSegv, f);
}

}  // namespace probesim::emu
