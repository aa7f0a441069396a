// X86Uprobes: the hit-time half (skip_sstep emulation, pre/post/abort_xol, return hijack).
#include <cstring>

#include "probes/arch/x86_64/x86_emulate.h"
#include "probes/uprobes/x86_uprobes.h"
#include "probesim/assert.h"

namespace probesim::probes::x86 {
namespace {

EmulateResult push_stack(Regs& regs, KernelMemory& mem, uint64_t v) {
  const GuestAddr sp{regs.sp() - 8};
  uint8_t buf[8];
  std::memcpy(buf, &v, 8);
  if (!mem.write(sp, buf)) return {false, sp};
  regs.set_sp(sp.value);
  return {};
}

// call/jmp *mem: target = [base + index * scale + disp]; call pushes the next address.
EmulateResult mem_indirect(const ArchUprobe& au, GuestAddr vaddr, Regs& regs, KernelMemory& mem) {
  const GuestAddr next = vaddr + au.len;
  uint64_t ea = static_cast<uint64_t>(au.mem_disp);
  if (au.mem_base == kRipBase) ea += next.value;
  if (au.mem_base >= 0 && au.mem_base != kRipBase)
    ea += regs.get(static_cast<unsigned>(au.mem_base));
  if (au.mem_index >= 0) ea += regs.get(static_cast<unsigned>(au.mem_index)) * au.mem_scale;
  uint8_t buf[8];
  if (!mem.read(GuestAddr{ea}, buf)) return {false, GuestAddr{ea}};
  uint64_t target;
  std::memcpy(&target, buf, 8);
  if (au.op.reg == 2) {
    if (auto r = push_stack(regs, mem, next.value); !r.ok) return r;
  }
  regs.set_ip(GuestAddr{target});
  return {};
}

unsigned scratch_index(const ArchUprobe& au) {
  PROBESIM_ASSERT(au.scratch >= 0);
  return static_cast<unsigned>(au.scratch);
}

}  // namespace

EmulateResult X86Uprobes::emulate(const ArchUprobe& au, GuestAddr vaddr, Regs& regs,
                                  KernelMemory& mem) const {
  PROBESIM_ASSERT(au.emulate);
  switch (static_cast<X86UprobeOp>(au.uop)) {
    case X86UprobeOp::Push: {
      if (auto r = push_stack(regs, mem, regs.get(au.op.reg)); !r.ok) return r;
      regs.set_ip(vaddr + au.len);
      return {};
    }
    case X86UprobeOp::MemIndirect:
      return mem_indirect(au, vaddr, regs, mem);
    case X86UprobeOp::None:
      break;
  }
  return x86::emulate(au.op, vaddr, regs, mem);
}

// default_pre_xol_op + arch_uprobe_pre_xol: the scratch register gets the address of the next
// original instruction (the RIP base of the rewritten operand).
uint64_t X86Uprobes::pre_xol(const ArchUprobe& au, GuestAddr vaddr, GuestAddr xol,
                             Regs& regs) const {
  uint64_t saved = 0;
  if (au.fixups & (UPROBE_FIX_RIP_SI | UPROBE_FIX_RIP_DI | UPROBE_FIX_RIP_BX)) {
    saved = regs.get(scratch_index(au));
    regs.set(scratch_index(au), (vaddr + au.len).value);
  }
  regs.set_ip(xol);
  return saved;
}

void X86Uprobes::post_xol(const ArchUprobe& au, GuestAddr vaddr, Regs& regs, uint64_t saved) const {
  if (au.scratch >= 0) regs.set(scratch_index(au), saved);
  // UPROBE_FIX_IP: ip was xol + len + 1 (after the int3): back to the original stream.
  if (au.fixups & UPROBE_FIX_IP) regs.set_ip(vaddr + au.len);
}

void X86Uprobes::abort_xol(const ArchUprobe& au, GuestAddr vaddr, Regs& regs,
                           uint64_t saved) const {
  if (au.scratch >= 0) regs.set(scratch_index(au), saved);
  regs.set_ip(vaddr);
}

std::optional<GuestAddr> X86Uprobes::hijack_return_addr(GuestAddr tramp, Regs& regs,
                                                        KernelMemory& mem) const {
  const GuestAddr slot{regs.sp()};
  uint8_t buf[8];
  if (!mem.read(slot, buf)) return std::nullopt;
  uint64_t orig;
  std::memcpy(&orig, buf, 8);
  if (orig == tramp.value) return tramp;  // already hijacked: chained
  std::memcpy(buf, &tramp.value, 8);
  if (!mem.write(slot, buf)) return std::nullopt;
  return GuestAddr{orig};
}

}  // namespace probesim::probes::x86
