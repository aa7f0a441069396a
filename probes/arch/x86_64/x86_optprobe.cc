// X86Kprobes: optprobes (Linux arch/x86/kernel/kprobes/opt.c): can_optimize (decode the whole
// function: no indirect jump, no relative jump into the bytes the rel32 overwrites),
// copy_optimized_instructions (whole, boostable, relocatable instructions covering >= 5 bytes),
// the detour buffer (optprobe_template_func + copied instructions + jmp back) and the
// optimized jump `E9 rel32`.
#include <cerrno>
#include <cstring>

#include "probes/arch/x86_64/x86_classify.h"
#include "probes/arch/x86_64/x86_kprobes.h"
#include "probes/regs.h"
#include "probesim/assert.h"

namespace probesim::probes::x86 {
namespace {

constexpr uint8_t kJmp32Size = 5;   // JMP32_INSN_SIZE
constexpr uint8_t kDisp32Size = 4;  // DISP32_SIZE
constexpr uint8_t kInt3Size = 1;    // INT3_INSN_SIZE

// optprobe_template_func (x86_64), our encoding of Linux's sequence:
//   pushq %rsp; pushfq                       sp and flags slots of pt_regs
//   nop3                                     TMPL_CLAC_IDX (no SMAP in our machine)
//   subq $24,%rsp                            skip cs, ip, orig_ax
//   push rdi rsi rdx rcx rax r8..r11 rbx rbp r12..r15   (SAVE_REGS_STRING)
//   movq %rsp,%rsi                           arg2 = regs
//   movabs $op,%rdi                          TMPL_MOVE_IDX: arg1 = op
//   call optimized_callback                  TMPL_CALL_IDX
//   movq 144(%rsp),%rdx; movq %rdx,152(%rsp) flags into the sp slot
//   pop r15..r12 rbp rbx r11..r8 rax rcx rdx rsi rdi; addq $24,%rsp   (RESTORE_REGS_STRING)
//   addq $8,%rsp; popfq                      skip flags, pop the moved flags: rsp is back
// The kernel is built with -mno-red-zone, so the pushes below rsp clobber nothing live.
constexpr uint8_t kTemplate[] = {
    0x54, 0x9c,                                            // push %rsp; pushfq
    0x0f, 0x1f, 0x00,                                      // nop3 (clac slot)
    0x48, 0x83, 0xec, 0x18,                                // sub $24,%rsp
    0x57, 0x56, 0x52, 0x51, 0x50,                          // push rdi rsi rdx rcx rax
    0x41, 0x50, 0x41, 0x51, 0x41, 0x52, 0x41, 0x53,        // push r8 r9 r10 r11
    0x53, 0x55,                                            // push rbx rbp
    0x41, 0x54, 0x41, 0x55, 0x41, 0x56, 0x41, 0x57,        // push r12 r13 r14 r15
    0x48, 0x89, 0xe6,                                      // mov %rsp,%rsi
    0x48, 0xbf, 0, 0, 0, 0, 0, 0, 0, 0,                    // movabs $op,%rdi
    0xe8, 0, 0, 0, 0,                                      // call optimized_callback
    0x48, 0x8b, 0x94, 0x24, 0x90, 0x00, 0x00, 0x00,        // mov 144(%rsp),%rdx
    0x48, 0x89, 0x94, 0x24, 0x98, 0x00, 0x00, 0x00,        // mov %rdx,152(%rsp)
    0x41, 0x5f, 0x41, 0x5e, 0x41, 0x5d, 0x41, 0x5c,        // pop r15 r14 r13 r12
    0x5d, 0x5b,                                            // pop rbp rbx
    0x41, 0x5b, 0x41, 0x5a, 0x41, 0x59, 0x41, 0x58,        // pop r11 r10 r9 r8
    0x58, 0x59, 0x5a, 0x5e, 0x5f,                          // pop rax rcx rdx rsi rdi
    0x48, 0x83, 0xc4, 0x18,                                // add $24,%rsp
    0x48, 0x83, 0xc4, 0x08,                                // add $8,%rsp
    0x9d,                                                  // popfq
};
constexpr size_t kTmplMoveIdx = 35;  // the movabs opcode (imm64 at +2)
constexpr size_t kTmplCallIdx = 45;  // the call opcode (rel32 at +1)
constexpr size_t kTmplEndIdx = sizeof kTemplate;
static_assert(kTemplate[kTmplMoveIdx] == 0x48 && kTemplate[kTmplMoveIdx + 1] == 0xbf);
static_assert(kTemplate[kTmplCallIdx] == 0xe8);
static_assert(kTmplEndIdx == 98);

// rel32 from the end of a 5-byte instruction at `from` to `to`, if it fits.
std::optional<int32_t> rel32(uint64_t from, uint64_t to) {
  const int64_t rel = static_cast<int64_t>(to - (from + kJmp32Size));
  if (rel != static_cast<int64_t>(static_cast<int32_t>(rel))) return std::nullopt;
  return static_cast<int32_t>(rel);
}

void put32(std::vector<uint8_t>& out, size_t at, int32_t v) { std::memcpy(&out[at], &v, 4); }

// __insn_is_indirect_jump: jmp *r/m (ff /4), ljmp *m (ff /5), ljmp ptr (ea).
bool is_indirect_jump(const X86Insn& in) {
  if (in.vex || in.opcode_len != 1) return false;
  const uint8_t op = in.opcode[0];
  if (op == 0xea) return true;
  if (op != 0xff) return false;
  const unsigned reg = (in.modrm() >> 3) & 7;
  return reg == 4 || reg == 5;
}

// insn_jump_into_range: a relative jump (loop/jcxz e0-e3, jmp e9/eb, jcc 70-7f / 0f 80-8f)
// whose target lies in [start, start + len] (Linux's inclusive end).
bool jumps_into_range(const X86Insn& in, GuestAddr at, uint64_t start, uint64_t len) {
  if (in.vex || in.imm_size == 0) return false;
  const uint8_t op = in.opcode[0];
  const bool rel = (in.opcode_len == 1 && ((op >= 0xe0 && op <= 0xe3) || op == 0xe9 ||
                                           op == 0xeb || (op & 0xf0) == 0x70)) ||
                   (in.opcode_len == 2 && (in.opcode[1] & 0xf0) == 0x80);
  if (!rel) return false;
  const uint64_t target = at.value + in.length + static_cast<uint64_t>(in.imm());
  return start <= target && target <= start + len;
}

}  // namespace

// MAX_OPTINSN_SIZE = template + MAX_OPTIMIZED_LENGTH + jmp = 123, rounded up to 128 because
// our slot cache needs slots that divide the page.
size_t X86Kprobes::optinsn_slot_size() const {
  static_assert(kTmplEndIdx + kMaxOptimizedLength + kJmp32Size <= 128);
  return 128;
}

size_t X86Kprobes::detour_copy_offset() const { return kTmplEndIdx; }

// can_optimize: the whole function decodes (original bytes under other probes), has no
// indirect jump and no relative jump into [addr + 1, addr + 5].
OptRefusal X86Kprobes::can_optimize(GuestAddr addr, const TextReader& text,
                                    const SymbolSource& syms, GuestAddr& at) const {
  const auto fn = syms.function_containing(addr);
  if (!fn) return OptRefusal::NotInFunction;
  if (fn->size - (addr - fn->addr) < kJmp32Size) return OptRefusal::CrossesFunctionEnd;
  std::array<uint8_t, kMaxInsnSize> buf{};
  for (GuestAddr cur = fn->addr; cur < fn->addr + fn->size;) {
    at = cur;
    const size_t n = read_insn_bytes(text, cur, buf);
    const auto in = decoder_.decode(cur, std::span<const uint8_t>(buf.data(), n));
    if (!in) return OptRefusal::Undecodable;
    if (is_indirect_jump(*in)) return OptRefusal::IndirectJump;
    if (jumps_into_range(*in, cur, addr.value + kInt3Size, kDisp32Size))
      return OptRefusal::JumpIntoRange;
    cur += in->length;
  }
  at = GuestAddr{};
  return OptRefusal::None;
}

// arch_prepare_optimized_kprobe minus the slot: can_optimize, then copy whole instructions
// until >= JMP32_INSN_SIZE bytes; each must be boostable (it runs from the detour and falls
// through to the next) and copyable (__copy_instruction: no int3, no mov/pop ss).
OptPrep X86Kprobes::prepare_optimized(GuestAddr addr, const TextReader& text,
                                      const SymbolSource& syms) const {
  OptPrep p;
  p.refusal = can_optimize(addr, text, syms, p.at);
  if (p.refusal != OptRefusal::None) return p;
  std::array<uint8_t, kMaxInsnSize> buf{};
  for (GuestAddr cur = addr; p.size < kJmp32Size;) {
    p.at = cur;
    const size_t n = read_insn_bytes(text, cur, buf);
    const auto in = decoder_.decode(cur, std::span<const uint8_t>(buf.data(), n));
    if (!in) return OptPrep{OptRefusal::Undecodable, cur};
    if (!classify(*in) || !can_boost(*in)) return OptPrep{OptRefusal::NotRelocatable, cur};
    OptCopiedInsn c{cur, in->length, in->rip_relative ? in->disp_offset : uint8_t{0}, in->bytes};
    p.insns.push_back(c);
    p.size = static_cast<uint8_t>(p.size + in->length);
    cur += in->length;
  }
  p.at = GuestAddr{};
  return p;
}

// The detour buffer: template, copied instructions (RIP-relative disp32 rebased to where they
// now run: -ERANGE-like refusal if that does not fit), `jmp addr + size`.
Result<std::vector<uint8_t>> X86Kprobes::detour_contents(const OptPrep& prep, GuestAddr addr,
                                                         GuestAddr slot, uint64_t op,
                                                         GuestAddr callback) const {
  PROBESIM_ASSERT(prep.refusal == OptRefusal::None && prep.size >= kJmp32Size);
  auto out_of_range = [] {
    return Error::make(std::string(opt_refusal_text(OptRefusal::DetourOutOfRange)), ERANGE);
  };
  if (!rel32(addr.value, slot.value)) return out_of_range();
  std::vector<uint8_t> out(std::begin(kTemplate), std::end(kTemplate));
  std::memcpy(&out[kTmplMoveIdx + 2], &op, 8);
  const auto call = rel32(slot.value + kTmplCallIdx, callback.value);
  if (!call) return out_of_range();
  put32(out, kTmplCallIdx + 1, *call);
  for (const OptCopiedInsn& c : prep.insns) {
    const size_t at = out.size();
    out.insert(out.end(), c.bytes.begin(), c.bytes.begin() + c.len);
    if (c.disp_offset == 0) continue;
    int32_t disp;
    std::memcpy(&disp, &out[at + c.disp_offset], 4);
    const int64_t target = static_cast<int64_t>(c.addr.value + c.len) + disp;
    const int64_t nd = target - static_cast<int64_t>(slot.value + at + c.len);
    if (nd != static_cast<int64_t>(static_cast<int32_t>(nd))) return out_of_range();
    put32(out, at + c.disp_offset, static_cast<int32_t>(nd));
  }
  const auto back = rel32(slot.value + out.size(), addr.value + prep.size);
  if (!back) return out_of_range();
  out.push_back(kJmp32);
  out.resize(out.size() + 4);
  put32(out, out.size() - 4, *back);
  PROBESIM_ASSERT(out.size() <= optinsn_slot_size());
  return out;
}

std::vector<uint8_t> X86Kprobes::optimized_jump(GuestAddr addr, GuestAddr slot) const {
  const auto rel = rel32(addr.value, slot.value);
  PROBESIM_ASSERT_MSG(rel.has_value(), "optprobe detour out of rel32 range (checked at prepare)");
  std::vector<uint8_t> out{kJmp32, 0, 0, 0, 0};
  put32(out, 1, *rel);
  return out;
}

// optimized_callback: regs->ip = addr + INT3_INSN_SIZE (handlers see an int3 hit), cs =
// __KERNEL_CS, orig_ax = ~0.
// RESTORE_REGS_STRING pops the GPRs; popfq loads the (moved) flags slot.
bool X86Kprobes::optimized_restores(unsigned index) const {
  return index <= static_cast<unsigned>(X86Reg::di) || index == static_cast<unsigned>(X86Reg::flags);
}

void X86Kprobes::optimized_regs(GuestAddr addr, Regs& regs) const {
  regs.set_ip(addr + kInt3Size);
  regs.set(X86Reg::cs, kKernelCs);
  regs.set(X86Reg::orig_ax, ~uint64_t{0});
}

}  // namespace probesim::probes::x86
