#include "probes/arch/x86_64/x86_emulate.h"

#include <cstring>

#include "probesim/assert.h"

namespace probesim::probes::x86 {
namespace {

constexpr X86Reg kAddrmodeRegs[16] = {
    X86Reg::ax, X86Reg::cx, X86Reg::dx,  X86Reg::bx,  X86Reg::sp,  X86Reg::bp,
    X86Reg::si, X86Reg::di, X86Reg::r8,  X86Reg::r9,  X86Reg::r10, X86Reg::r11,
    X86Reg::r12, X86Reg::r13, X86Reg::r14, X86Reg::r15};

// popf in 64-bit ring 0: these bits load from the stack; VM/VIF/VIP keep their value, RF is
// cleared, bit 1 reads as 1 (Intel SDM Vol. 2B, POPF).
constexpr uint64_t kPopfLoadable = 0x247fd5;  // CF PF AF ZF SF TF IF DF OF IOPL NT AC ID
constexpr uint64_t kPopfKept = 0x1a0000;      // VM VIF VIP
constexpr uint64_t kPushfCleared = 0x30000;   // RF VM read as 0 in the pushed image

struct Ctx {
  const ArchInsn& insn;
  GuestAddr next;  // addr + len
  Regs& regs;
  KernelMemory& mem;
};

EmulateResult push(Ctx& c, uint64_t v) {
  const uint64_t sp = c.regs.sp() - 8;
  uint8_t buf[8];
  std::memcpy(buf, &v, 8);
  if (!c.mem.write(GuestAddr{sp}, buf)) return {false, GuestAddr{sp}};
  c.regs.set_sp(sp);
  return {};
}

EmulateResult pop(Ctx& c, uint64_t& v) {
  const uint64_t sp = c.regs.sp();
  uint8_t buf[8];
  if (!c.mem.read(GuestAddr{sp}, buf)) return {false, GuestAddr{sp}};
  std::memcpy(&v, buf, 8);
  c.regs.set_sp(sp + 8);
  return {};
}

EmulateResult op_none(Ctx&) {
  PROBESIM_ASSERT_MSG(false, "x86 emulate called for an instruction without an emulation op");
  return {};
}

EmulateResult op_if_modifier(Ctx& c) {
  uint64_t flags = c.regs.flags();
  switch (c.insn.cond) {
    case 0xfa: flags &= ~kFlagIF; break;
    case 0xfb: flags |= kFlagIF; break;
    case 0x9c: {
      if (auto r = push(c, flags & ~kPushfCleared); !r.ok) return r;
      break;
    }
    case 0x9d: {
      uint64_t v = 0;
      if (auto r = pop(c, v); !r.ok) return r;
      flags = (v & kPopfLoadable) | (flags & kPopfKept) | 2;
      break;
    }
    default: PROBESIM_ASSERT(false);
  }
  c.regs.set_flags(flags);
  c.regs.set_ip(c.next);
  return {};
}

EmulateResult op_ret(Ctx& c) {
  uint64_t target = 0;
  if (auto r = pop(c, target); !r.ok) return r;
  c.regs.set_sp(c.regs.sp() + static_cast<uint64_t>(c.insn.rel));  // ret imm16
  c.regs.set_ip(GuestAddr{target});
  return {};
}

EmulateResult op_call(Ctx& c) {
  if (auto r = push(c, c.next.value); !r.ok) return r;
  c.regs.set_ip(c.next + static_cast<uint64_t>(c.insn.rel));
  return {};
}

EmulateResult op_jmp(Ctx& c) {
  c.regs.set_ip(c.next + static_cast<uint64_t>(c.insn.rel));
  return {};
}

EmulateResult op_jcc(Ctx& c) {
  const bool taken = condition_holds(c.insn.cond, c.regs.flags());
  c.regs.set_ip(taken ? c.next + static_cast<uint64_t>(c.insn.rel) : c.next);
  return {};
}

// loop/loope/loopne decrement the count register (width = address size; a 32-bit write
// zero-extends) and then test it; jrcxz/jecxz only test it.
EmulateResult op_loop(Ctx& c) {
  const uint64_t mask = c.insn.asize == 64 ? ~uint64_t{0} : 0xffffffffull;
  uint64_t cx = c.regs.get(X86Reg::cx);
  bool match = false;
  if (c.insn.cond != 3) {
    cx = (cx - 1) & mask;
    c.regs.set(X86Reg::cx, cx);
    match = cx != 0;
    const bool zf = (c.regs.flags() & kFlagZF) != 0;
    if (c.insn.cond == 0) match = match && !zf;  // loopne
    if (c.insn.cond == 1) match = match && zf;   // loope
  } else {
    match = (cx & mask) == 0;
  }
  c.regs.set_ip(match ? c.next + static_cast<uint64_t>(c.insn.rel) : c.next);
  return {};
}

EmulateResult op_call_indirect(Ctx& c) {
  const uint64_t target = c.regs.get(addrmode_reg(c.insn.reg));
  if (auto r = push(c, c.next.value); !r.ok) return r;
  c.regs.set_ip(GuestAddr{target});
  return {};
}

EmulateResult op_jmp_indirect(Ctx& c) {
  c.regs.set_ip(GuestAddr{c.regs.get(addrmode_reg(c.insn.reg))});
  return {};
}

using OpFn = EmulateResult (*)(Ctx&);
constexpr OpFn kOps[] = {op_none, op_if_modifier, op_ret, op_call, op_jmp,
                         op_jcc,  op_loop,        op_call_indirect, op_jmp_indirect};
static_assert(std::size(kOps) == static_cast<size_t>(X86Op::kCount));

}  // namespace

bool condition_holds(uint8_t cc, uint64_t f) {
  const bool cf = f & kFlagCF, pf = f & kFlagPF, zf = f & kFlagZF, sf = f & kFlagSF,
             of = f & kFlagOF;
  bool r = false;
  switch (cc >> 1) {
    case 0: r = of; break;             // o / no
    case 1: r = cf; break;             // b / ae
    case 2: r = zf; break;             // e / ne
    case 3: r = cf || zf; break;       // be / a
    case 4: r = sf; break;             // s / ns
    case 5: r = pf; break;             // p / np
    case 6: r = sf != of; break;       // l / ge
    case 7: r = zf || sf != of; break; // le / g
  }
  return (cc & 1) ? !r : r;
}

unsigned addrmode_reg(uint8_t n) {
  PROBESIM_ASSERT(n < 16);
  return static_cast<unsigned>(kAddrmodeRegs[n]);
}

EmulateResult emulate(const ArchInsn& insn, GuestAddr addr, Regs& regs, KernelMemory& mem) {
  PROBESIM_ASSERT(insn.op < std::size(kOps));
  Ctx c{insn, addr + insn.len, regs, mem};
  return kOps[insn.op](c);
}

}  // namespace probesim::probes::x86
