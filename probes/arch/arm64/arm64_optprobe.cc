// Arm64Kprobes: optprobes beyond mainline (issue 17; Linux has no arm64 optprobes, the model
// is arch/arm/probes/kprobes/opt-arm.c's direct-execution variant). The probed instruction is
// replaced by `B detour` (imm26: +-128 MiB, so the insn-slot area next to the image is in
// range). The detour saves a struct pt_regs on the stack, calls optimized_callback (BL), restores,
// runs the displaced instruction, and branches back to addr + 4.
// Differences from the x86 rules (documented in docs/probes.md):
// - the range is one instruction, so "no jump into the range" and "no probe in the range" hold
//   trivially and there is no function-wide scan; the instruction must be one the kprobe path
//   copies to a slot (steppable): simulated ones (branches, PC-relative loads, adr/adrp) are
//   refused as not-relocatable; exclusive sequences are already refused at registration;
// - one aligned 4-byte write is single-copy atomic: no text_poke_bp-like sequence.
#include <cerrno>
#include <cstring>

#include "probes/arch/arm64/arm64_insn.h"
#include "probes/arch/arm64/arm64_kprobes.h"
#include "probesim/assert.h"

namespace probesim::probes::arm64 {
namespace {

constexpr uint32_t kPtRegsSize = 336;  // sizeof(struct pt_regs), 16-byte aligned
constexpr uint32_t kOffSp = 248, kOffPstate = 264;
constexpr unsigned kSp = 31;

constexpr uint32_t add_imm(unsigned rd, unsigned rn, uint32_t imm) {
  return 0x91000000u | (imm << 10) | (rn << 5) | rd;
}
constexpr uint32_t sub_imm(unsigned rd, unsigned rn, uint32_t imm) {
  return 0xd1000000u | (imm << 10) | (rn << 5) | rd;
}
constexpr uint32_t stp(unsigned t1, unsigned t2, uint32_t off) {
  return 0xa9000000u | ((off / 8) << 15) | (t2 << 10) | (kSp << 5) | t1;
}
constexpr uint32_t ldp(unsigned t1, unsigned t2, uint32_t off) {
  return 0xa9400000u | ((off / 8) << 15) | (t2 << 10) | (kSp << 5) | t1;
}
constexpr uint32_t str(unsigned t, uint32_t off) {
  return 0xf9000000u | ((off / 8) << 10) | (kSp << 5) | t;
}
constexpr uint32_t ldr(unsigned t, uint32_t off) {
  return 0xf9400000u | ((off / 8) << 10) | (kSp << 5) | t;
}
constexpr uint32_t kMrsX0Nzcv = 0xd53b4200u;
constexpr uint32_t kMsrNzcvX0 = 0xd51b4200u;
constexpr uint32_t movz(unsigned rd, uint16_t imm, unsigned hw) {
  return 0xd2800000u | (hw << 21) | (uint32_t{imm} << 5) | rd;
}
constexpr uint32_t movk(unsigned rd, uint16_t imm, unsigned hw) {
  return 0xf2800000u | (hw << 21) | (uint32_t{imm} << 5) | rd;
}

// B / BL imm26 from `from` to `to`, if in range.
std::optional<uint32_t> branch(uint32_t opcode, uint64_t from, uint64_t to) {
  const int64_t off = static_cast<int64_t>(to - from);
  if ((off & 3) != 0 || off < -(int64_t{1} << 27) || off >= (int64_t{1} << 27)) return std::nullopt;
  return opcode | (static_cast<uint32_t>(off >> 2) & 0x3ffffffu);
}
constexpr uint32_t kOpB = 0x14000000u, kOpBl = 0x94000000u;  // B / BL imm26

void put(std::vector<uint8_t>& out, uint32_t insn) {
  const size_t at = out.size();
  out.resize(at + 4);  // (not insert(end, b, b + 4): GCC 12 -O3 flags that as an overflow)
  std::memcpy(out.data() + at, &insn, 4);
}

// The template up to (not including) the BL: pt_regs frame, x0..x30, sp, nzcv; x1 = regs,
// x0 = op.
std::vector<uint32_t> save_sequence(uint64_t op) {
  std::vector<uint32_t> s{sub_imm(kSp, kSp, kPtRegsSize)};
  for (unsigned r = 0; r < 30; r += 2) s.push_back(stp(r, r + 1, r * 8));
  s.push_back(str(30, 240));
  s.push_back(add_imm(0, kSp, kPtRegsSize));
  s.push_back(str(0, kOffSp));
  s.push_back(kMrsX0Nzcv);
  s.push_back(str(0, kOffPstate));
  s.push_back(add_imm(1, kSp, 0));  // mov x1, sp
  for (unsigned hw = 0; hw < 4; ++hw) {
    const auto imm = static_cast<uint16_t>(op >> (16 * hw));
    s.push_back(hw == 0 ? movz(0, imm, 0) : movk(0, imm, hw));
  }
  return s;
}

// After the BL: nzcv back, x0..x30 back, the frame popped.
std::vector<uint32_t> restore_sequence() {
  std::vector<uint32_t> s{ldr(0, kOffPstate), kMsrNzcvX0};
  for (unsigned r = 0; r < 30; r += 2) s.push_back(ldp(r, r + 1, r * 8));
  s.push_back(ldr(30, 240));
  s.push_back(add_imm(kSp, kSp, kPtRegsSize));
  return s;
}

size_t template_insns() { return save_sequence(0).size() + 1 + restore_sequence().size(); }

}  // namespace

size_t Arm64Kprobes::optinsn_slot_size() const {
  static_assert(kOffPstate + 8 <= kPtRegsSize);
  PROBESIM_ASSERT((template_insns() + 2) * 4 <= 256);
  return 256;  // template + displaced instruction + b back, rounded to divide the page
}

size_t Arm64Kprobes::detour_copy_offset() const { return template_insns() * 4; }

OptPrep Arm64Kprobes::prepare_optimized(GuestAddr addr, const TextReader& text,
                                        const SymbolSource& syms) const {
  if (!syms.function_containing(addr)) return OptPrep{OptRefusal::NotInFunction, addr};
  uint8_t b[4];
  if (!text(addr, b)) return OptPrep{OptRefusal::Undecodable, addr};
  auto insn = analyze(addr, b);
  if (!insn) return OptPrep{OptRefusal::Undecodable, addr};
  if (insn->step != StepKind::Slot) return OptPrep{OptRefusal::NotRelocatable, addr};
  OptPrep p;
  p.size = 4;
  OptCopiedInsn c{addr, 4, 0, {}};
  std::memcpy(c.bytes.data(), b, 4);
  p.insns.push_back(c);
  return p;
}

Result<std::vector<uint8_t>> Arm64Kprobes::detour_contents(const OptPrep& prep, GuestAddr addr,
                                                           GuestAddr slot, uint64_t op,
                                                           GuestAddr callback) const {
  PROBESIM_ASSERT(prep.refusal == OptRefusal::None && prep.insns.size() == 1);
  auto out_of_range = [] {
    return Error::make(std::string(opt_refusal_text(OptRefusal::DetourOutOfRange)), ERANGE);
  };
  if (!branch(kOpB, addr.value, slot.value)) return out_of_range();
  std::vector<uint8_t> out;
  for (uint32_t i : save_sequence(op)) put(out, i);
  const auto bl = branch(kOpBl, slot.value + out.size(), callback.value);
  if (!bl) return out_of_range();
  put(out, *bl);
  for (uint32_t i : restore_sequence()) put(out, i);
  out.insert(out.end(), prep.insns[0].bytes.begin(), prep.insns[0].bytes.begin() + 4);
  const auto back = branch(kOpB, slot.value + out.size(), addr.value + 4);
  if (!back) return out_of_range();
  put(out, *back);
  return out;
}

std::vector<uint8_t> Arm64Kprobes::optimized_jump(GuestAddr addr, GuestAddr slot) const {
  const auto b = branch(kOpB, addr.value, slot.value);
  PROBESIM_ASSERT_MSG(b.has_value(), "optprobe detour out of B range (checked at prepare)");
  std::vector<uint8_t> out(4);
  std::memcpy(out.data(), &*b, 4);
  return out;
}

// Handlers see pc = the probe (as at the BRK) and the kernel's EL1h pstate with DAIF masked
// plus the saved NZCV.
void Arm64Kprobes::optimized_regs(GuestAddr addr, Regs& regs) const {
  regs.set_ip(addr);
  regs.set_flags((regs.flags() & 0xf0000000u) | 0x3c5);
}

// The template restores x0..x30 and NZCV from the frame (sp and pc are not restored).
bool Arm64Kprobes::optimized_restores(unsigned index) const {
  return index <= 30 || index == static_cast<unsigned>(Arm64Reg::pstate);
}

}  // namespace probesim::probes::arm64
