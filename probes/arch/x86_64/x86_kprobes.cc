#include "probes/arch/x86_64/x86_kprobes.h"

#include <cerrno>
#include <cstring>

#include "probes/arch/x86_64/x86_classify.h"
#include "probes/arch/x86_64/x86_emulate.h"
#include "probesim/assert.h"

namespace probesim::probes::x86 {
namespace {
constexpr uint8_t kBreakpoint[] = {kInt3};
}

size_t read_insn_bytes(const TextReader& text, GuestAddr addr,
                       std::span<uint8_t, kMaxInsnSize> out) {
  for (size_t n = out.size(); n > 0; --n) {
    if (text(addr, out.first(n))) return n;
  }
  return 0;
}

std::span<const uint8_t> X86Kprobes::breakpoint() const { return kBreakpoint; }

// can_probe: decode from the start of the containing function up to addr, reading original
// bytes under other probes' breakpoints; addr must be reached exactly.
bool X86Kprobes::can_probe(GuestAddr addr, const TextReader& text,
                           const SymbolSource& syms) const {
  const auto fn = syms.function_containing(addr);
  if (!fn) return false;
  GuestAddr cur = fn->addr;
  std::array<uint8_t, kMaxInsnSize> buf{};
  while (cur < addr) {
    const size_t n = read_insn_bytes(text, cur, buf);
    const auto in = decoder_.decode(cur, std::span<const uint8_t>(buf.data(), n));
    if (!in) return false;
    cur += in->length;
  }
  return cur == addr;
}

Result<ArchInsn> X86Kprobes::prepare(GuestAddr addr, const TextReader& text,
                                     const SymbolSource& syms) const {
  if (!can_probe(addr, text, syms)) {
    return Error::make("address is not on an instruction boundary (decoded from the start of "
                       "its function)", EILSEQ);
  }
  std::array<uint8_t, kMaxInsnSize> buf{};
  const size_t n = read_insn_bytes(text, addr, buf);
  return analyze(addr, std::span<const uint8_t>(buf.data(), n));
}

Result<ArchInsn> X86Kprobes::analyze(GuestAddr addr, std::span<const uint8_t> code) const {
  const auto in = decoder_.decode(addr, code);
  if (!in) return Error::make("undecodable x86 instruction", EINVAL);
  return classify(*in);
}

Result<std::vector<uint8_t>> X86Kprobes::slot_contents(const ArchInsn& insn, GuestAddr addr,
                                                       GuestAddr slot, bool boosted) const {
  PROBESIM_ASSERT(!boosted || insn.boostable);
  std::vector<uint8_t> out(insn.bytes.begin(), insn.bytes.begin() + insn.len);
  if (insn.disp_offset != 0) {
    int32_t disp;
    std::memcpy(&disp, &out[insn.disp_offset], 4);
    const int64_t newdisp = static_cast<int64_t>(addr.value + static_cast<int64_t>(disp) - slot.value);
    if (static_cast<int64_t>(static_cast<int32_t>(newdisp)) != newdisp) {
      return Error::make("RIP-relative displacement does not fit the insn slot (slot more than "
                         "2 GiB from the probe)", EINVAL);
    }
    const int32_t nd = static_cast<int32_t>(newdisp);
    std::memcpy(&out[insn.disp_offset], &nd, 4);
  }
  if (boosted) {
    // synthesize_reljump: jmp from slot+len back to addr+len.
    const GuestAddr from = slot + insn.len;
    const int32_t rel = static_cast<int32_t>((addr.value + insn.len) - (from.value + 5));
    out.push_back(kJmp32);
    uint8_t b[4];
    std::memcpy(b, &rel, 4);
    out.insert(out.end(), b, b + 4);
  } else {
    out.push_back(kInt3);
  }
  return out;
}

EmulateResult X86Kprobes::emulate(const ArchInsn& insn, GuestAddr addr, Regs& regs,
                                  KernelMemory& mem) const {
  return x86::emulate(insn, addr, regs, mem);
}

uint64_t X86Kprobes::enter_slot(GuestAddr slot, Regs& regs) const {
  const uint64_t saved = regs.flags() & kX86FlagsIF;
  regs.set_flags(regs.flags() & ~kX86FlagsIF);
  regs.set_ip(slot);
  return saved;
}

bool X86Kprobes::is_step_trap(GuestAddr slot, const Regs& regs) const {
  return slot < regs.ip() && regs.ip() < slot + kMaxInsnSize;
}

void X86Kprobes::leave_slot(const ArchInsn& insn, GuestAddr addr, Regs& regs,
                            uint64_t saved) const {
  regs.set_flags(regs.flags() | saved);
  // resume_singlestep: ip += (orig - copy) - INT3_INSN_SIZE. The only trap in a non-boosted
  // slot is the CC at slot+len, so this is always addr + len.
  regs.set_ip(addr + insn.len);
}

std::optional<KprobeArch::Hijack> X86Kprobes::hijack_return(Regs& regs, KernelMemory& mem,
                                                            GuestAddr tramp) const {
  const GuestAddr slot{regs.sp()};
  uint8_t buf[8];
  if (!mem.read(slot, buf)) return std::nullopt;
  uint64_t ret;
  std::memcpy(&ret, buf, 8);
  std::memcpy(buf, &tramp.value, 8);
  if (!mem.write(slot, buf)) return std::nullopt;
  return Hijack{GuestAddr{ret}, slot};
}

}  // namespace probesim::probes::x86
