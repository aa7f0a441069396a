#include "emu/signal_frame.h"

#include <cstring>
#include <vector>

#include "emu/x86_fpu.h"

namespace probesim::emu {
namespace {

void put64(std::vector<uint8_t>& b, size_t off, uint64_t v) { std::memcpy(&b[off], &v, 8); }
void put32(std::vector<uint8_t>& b, size_t off, uint32_t v) { std::memcpy(&b[off], &v, 4); }
uint64_t get64(const std::vector<uint8_t>& b, size_t off) {
  uint64_t v;
  std::memcpy(&v, &b[off], 8);
  return v;
}
uint32_t get32(const std::vector<uint8_t>& b, size_t off) {
  uint32_t v;
  std::memcpy(&v, &b[off], 4);
  return v;
}

// siginfo_t (128 bytes): signo, errno, code, then the union at 16.
void put_siginfo(std::vector<uint8_t>& b, size_t off, const SigInfo& si) {
  put32(b, off + 0, static_cast<uint32_t>(si.signo));
  put32(b, off + 8, static_cast<uint32_t>(si.code));
  if (si.signo == kSigSegv || si.signo == kSigBus || si.signo == kSigIll ||
      si.signo == kSigFpe || si.signo == kSigTrap) {
    put64(b, off + 16, si.addr);
  } else {
    const bool timer = si.code == kSiTimer;
    put32(b, off + 16, static_cast<uint32_t>(timer ? si.timer_id : si.pid));
    put32(b, off + 20, static_cast<uint32_t>(timer ? si.overrun : si.uid));
    if (si.signo == kSigChld) put32(b, off + 24, static_cast<uint32_t>(si.status));
    if (si.code < 0 && si.code != kSiTkill) put64(b, off + 24, si.value);  // _rt.si_sigval
  }
}

}  // namespace

std::vector<uint8_t> siginfo_bytes(const SigInfo& si) {
  std::vector<uint8_t> b(kSiginfoSize, 0);
  put_siginfo(b, 0, si);
  return b;
}

namespace {

// sigsp(): the top of the alternate stack for an SA_ONSTACK handler when one is set and the
// task is not already on it, else sp.
uint64_t sigsp(uint64_t sp, const FrameRequest& r) {
  if ((r.flags & kSaOnstack) && r.altstack.ss_flags(sp) == 0) return r.altstack.sp + r.altstack.size;
  return sp;
}

// uc_stack (stack_t: ss_sp, ss_flags, ss_size) at off, as __save_altstack writes it: the
// task's sigaltstack with the flags it was set with.
void put_uc_stack(std::vector<uint8_t>& b, size_t off, const AltStack& a) {
  put64(b, off, a.sp);
  put32(b, off + 8, a.flags);
  put64(b, off + 16, a.size);
}

AltStack get_uc_stack(const std::vector<uint8_t>& b, size_t off) {
  return AltStack{get64(b, off), get64(b, off + 16), get32(b, off + 8)};
}

// ---- x86_64 ---------------------------------------------------------------------------
constexpr size_t kX86Uc = 8, kX86Mcontext = kX86Uc + 40, kX86Sigmask = kX86Uc + 296;
constexpr size_t kX86Info = kX86Uc + 304, kX86FrameSize = kX86Info + 128;
constexpr size_t kFxsaveSize = X86Fpu::kFxsaveSize;
constexpr uint64_t kX86RedZone = 128;
// sigcontext register order (struct sigcontext, x86_64), each 8 bytes from uc_mcontext.
constexpr int kX86Regs[] = {UC_X86_REG_R8,  UC_X86_REG_R9,  UC_X86_REG_R10, UC_X86_REG_R11,
                            UC_X86_REG_R12, UC_X86_REG_R13, UC_X86_REG_R14, UC_X86_REG_R15,
                            UC_X86_REG_RDI, UC_X86_REG_RSI, UC_X86_REG_RBP, UC_X86_REG_RBX,
                            UC_X86_REG_RDX, UC_X86_REG_RAX, UC_X86_REG_RCX, UC_X86_REG_RSP,
                            UC_X86_REG_RIP, UC_X86_REG_EFLAGS};
constexpr uint64_t kX86FixEflags = 0x1 | 0x4 | 0x10 | 0x40 | 0x80 | 0x100 | 0x400 | 0x800 |
                                   0x10000 | 0x40000;  // CF PF AF ZF SF TF DF OF RF AC

bool setup_x86_64(UserRegs& cpu, mmu::Mm& mm, const FrameRequest& r) {
  if (!(r.flags & kSaRestorer) || !r.restorer) return false;  // Linux: force_sigsegv
  const uint64_t sp = sigsp(cpu.reg(UC_X86_REG_RSP) - kX86RedZone, r);  // below the red zone
  const uint64_t fpstate = (sp - kFxsaveSize) & ~uint64_t{63};
  const uint64_t frame = ((fpstate - kX86FrameSize) & ~uint64_t{15}) - 8;  // as after a call
  std::vector<uint8_t> fx(kFxsaveSize, 0);
  X86Fpu& fpu = *cpu.cpu().x86_fpu();
  fpu.fxsave(fx.data());  // the whole x87/SSE state, exception flags folded in
  std::vector<uint8_t> b(kX86FrameSize, 0);
  put64(b, 0, r.restorer);
  put_uc_stack(b, kX86Uc + 16, r.altstack);
  for (size_t i = 0; i < std::size(kX86Regs); ++i)
    put64(b, kX86Mcontext + 8 * i, cpu.reg(kX86Regs[i]));
  put64(b, kX86Mcontext + 144, 0x2b000000000033ull);  // cs 0x33 ... ss 0x2b
  put64(b, kX86Mcontext + 168, r.info.signo == kSigSegv ? 14 : 0);  // trapno
  put64(b, kX86Mcontext + 176, r.saved_mask);                      // oldmask
  put64(b, kX86Mcontext + 184, r.info.addr);                       // cr2
  put64(b, kX86Mcontext + 192, fpstate);
  put64(b, kX86Sigmask, r.saved_mask);
  put_siginfo(b, kX86Info, r.info);
  if (!mm.copy_to_user(GuestAddr{fpstate}, fx.data(), fx.size())) return false;
  if (!mm.copy_to_user(GuestAddr{frame}, b.data(), b.size())) return false;
  cpu.set_reg(UC_X86_REG_RDI, static_cast<uint64_t>(r.sig));
  cpu.set_reg(UC_X86_REG_RSI, frame + kX86Info);
  cpu.set_reg(UC_X86_REG_RDX, frame + kX86Uc);
  cpu.set_reg(UC_X86_REG_RAX, 0);
  cpu.set_reg(UC_X86_REG_RSP, frame);
  cpu.set_reg(UC_X86_REG_EFLAGS, cpu.reg(UC_X86_REG_EFLAGS) & ~uint64_t{0x100 | 0x400});
  cpu.set_pc(r.handler);
  fpu.init_state();  // handle_signal: fpu__clear_user_states, the handler starts clean
  return true;
}

bool restore_x86_64(UserRegs& cpu, const mmu::Mm& mm, RestoredFrame* out) {
  const uint64_t frame = cpu.reg(UC_X86_REG_RSP) - 8;  // the handler's ret popped pretcode
  std::vector<uint8_t> b(kX86FrameSize);
  if (!mm.copy_from_user(b.data(), GuestAddr{frame}, b.size())) return false;
  uint64_t flags_before = cpu.reg(UC_X86_REG_EFLAGS);
  for (size_t i = 0; i < std::size(kX86Regs); ++i) {
    uint64_t v = get64(b, kX86Mcontext + 8 * i);
    if (kX86Regs[i] == UC_X86_REG_RIP) {
      cpu.set_pc(v);
    } else if (kX86Regs[i] == UC_X86_REG_EFLAGS) {
      cpu.set_reg(UC_X86_REG_EFLAGS, (flags_before & ~kX86FixEflags) | (v & kX86FixEflags));
    } else {
      cpu.set_reg(kX86Regs[i], v);
    }
  }
  if (uint64_t fpstate = get64(b, kX86Mcontext + 192)) {
    std::vector<uint8_t> fx(kFxsaveSize);
    if (!mm.copy_from_user(fx.data(), GuestAddr{fpstate}, fx.size())) return false;
    cpu.cpu().x86_fpu()->fxrstor(fx.data());
  }
  out->mask = get64(b, kX86Sigmask);
  out->uc_stack = get_uc_stack(b, kX86Uc + 16);
  return true;
}

// ---- arm64 ----------------------------------------------------------------------------
constexpr size_t kA64Uc = 128, kA64Sigmask = kA64Uc + 40, kA64Mcontext = kA64Uc + 176;
constexpr size_t kA64Reserved = kA64Mcontext + 288, kA64ReservedSize = 4096;
constexpr size_t kA64FrameSize = kA64Reserved + kA64ReservedSize;  // siginfo + ucontext
constexpr size_t kA64FrameRecord = 16;
constexpr uint32_t kFpsimdMagic = 0x46508001, kFpsimdSize = 528;

bool setup_arm64(UserRegs& cpu, mmu::Mm& mm, const FrameRequest& r) {
  const uint64_t sp = cpu.reg(UC_ARM64_REG_SP);  // saved in the frame; the frame goes at sigsp
  const uint64_t frame = (sigsp(sp, r) - kA64FrameSize - kA64FrameRecord) & ~uint64_t{15};
  std::vector<uint8_t> b(kA64FrameSize + kA64FrameRecord, 0);
  put_siginfo(b, 0, r.info);
  put_uc_stack(b, kA64Uc + 16, r.altstack);
  put64(b, kA64Sigmask, r.saved_mask);
  put64(b, kA64Mcontext, r.info.addr);  // fault_address
  for (int i = 0; i <= 28; ++i) put64(b, kA64Mcontext + 8 + 8 * i, cpu.reg(UC_ARM64_REG_X0 + i));
  put64(b, kA64Mcontext + 8 + 8 * 29, cpu.reg(UC_ARM64_REG_X29));
  put64(b, kA64Mcontext + 8 + 8 * 30, cpu.reg(UC_ARM64_REG_X30));
  put64(b, kA64Mcontext + 256, sp);
  put64(b, kA64Mcontext + 264, cpu.pc());
  put64(b, kA64Mcontext + 272, cpu.reg(UC_ARM64_REG_NZCV));
  put32(b, kA64Reserved, kFpsimdMagic);
  put32(b, kA64Reserved + 4, kFpsimdSize);
  put32(b, kA64Reserved + 8, static_cast<uint32_t>(cpu.reg(UC_ARM64_REG_FPSR)));
  put32(b, kA64Reserved + 12, static_cast<uint32_t>(cpu.reg(UC_ARM64_REG_FPCR)));
  for (int i = 0; i < 32; ++i) cpu.reg128(UC_ARM64_REG_V0 + i, &b[kA64Reserved + 16 + 16 * i]);
  // The terminator record (magic 0, size 0) follows; the buffer is already zero there.
  put64(b, kA64FrameSize, cpu.reg(UC_ARM64_REG_X29));
  put64(b, kA64FrameSize + 8, cpu.reg(UC_ARM64_REG_X30));
  if (!mm.copy_to_user(GuestAddr{frame}, b.data(), b.size())) return false;
  // setup_return: sa_restorer if given, else the vDSO's sigtramp (the engine's stub page
  // stands in for a process without a vDSO).
  const uint64_t sigtramp = r.sigtramp ? r.sigtramp : Cpu::kArm64SigreturnTrampoline;
  uint64_t restorer = (r.flags & kSaRestorer) && r.restorer ? r.restorer : sigtramp;
  cpu.set_reg(UC_ARM64_REG_X0, static_cast<uint64_t>(r.sig));
  cpu.set_reg(UC_ARM64_REG_X1, frame);
  cpu.set_reg(UC_ARM64_REG_X2, frame + kA64Uc);
  cpu.set_reg(UC_ARM64_REG_X29, frame + kA64FrameSize);
  cpu.set_reg(UC_ARM64_REG_X30, restorer);
  cpu.set_reg(UC_ARM64_REG_SP, frame);
  cpu.set_pc(r.handler);
  return true;
}

bool restore_arm64(UserRegs& cpu, const mmu::Mm& mm, RestoredFrame* out) {
  const uint64_t frame = cpu.reg(UC_ARM64_REG_SP);
  std::vector<uint8_t> b(kA64FrameSize);
  if (!mm.copy_from_user(b.data(), GuestAddr{frame}, b.size())) return false;
  for (int i = 0; i <= 28; ++i) cpu.set_reg(UC_ARM64_REG_X0 + i, get64(b, kA64Mcontext + 8 + 8 * i));
  cpu.set_reg(UC_ARM64_REG_X29, get64(b, kA64Mcontext + 8 + 8 * 29));
  cpu.set_reg(UC_ARM64_REG_X30, get64(b, kA64Mcontext + 8 + 8 * 30));
  cpu.set_reg(UC_ARM64_REG_SP, get64(b, kA64Mcontext + 256));
  cpu.set_pc(get64(b, kA64Mcontext + 264));
  cpu.set_reg(UC_ARM64_REG_NZCV, get64(b, kA64Mcontext + 272) & 0xf0000000u);
  if (get32(b, kA64Reserved) == kFpsimdMagic) {
    cpu.set_reg(UC_ARM64_REG_FPSR, get32(b, kA64Reserved + 8));
    cpu.set_reg(UC_ARM64_REG_FPCR, get32(b, kA64Reserved + 12));
    for (int i = 0; i < 32; ++i)
      cpu.set_reg128(UC_ARM64_REG_V0 + i, &b[kA64Reserved + 16 + 16 * i]);
  }
  out->mask = get64(b, kA64Sigmask);
  out->uc_stack = get_uc_stack(b, kA64Uc + 16);
  return true;
}

}  // namespace

bool setup_rt_frame(UserRegs& cpu, mmu::Mm& mm, const FrameRequest& req) {
  return cpu.arch() == Arch::X86_64 ? setup_x86_64(cpu, mm, req) : setup_arm64(cpu, mm, req);
}

bool restore_rt_frame(UserRegs& cpu, const mmu::Mm& mm, RestoredFrame* out) {
  return cpu.arch() == Arch::X86_64 ? restore_x86_64(cpu, mm, out)
                                    : restore_arm64(cpu, mm, out);
}

}  // namespace probesim::emu
