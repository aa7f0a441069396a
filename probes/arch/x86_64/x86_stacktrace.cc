// X86Kprobes::unframed_return_address: where the caller's return address is while a function
// has no frame record (GCC's frame-pointer prologue `push %rbp; mov %rsp,%rbp`, possibly with
// other instructions scheduled in between; its epilogue `pop %rbp`/`leave` before `ret`).
#include <cstring>

#include "probes/arch/x86_64/x86_kprobes.h"

namespace probesim::probes::x86 {
namespace {

constexpr size_t kMaxPrologueInsns = 16;  // instructions decoded from the function start
constexpr uint8_t kRexW = 0x48;

bool is_ret(const X86Insn& in) {
  return !in.vex && in.opcode_len == 1 && (in.opcode[0] == 0xc3 || in.opcode[0] == 0xc2);
}
bool is_push_rbp(const X86Insn& in) {  // 55 (no REX.B: that would be push %r13)
  return !in.vex && in.rex == 0 && in.opcode_len == 1 && in.opcode[0] == 0x55;
}
bool is_mov_rsp_rbp(const X86Insn& in) {  // 48 89 e5 / 48 8b ec
  if (in.vex || in.rex != kRexW || in.opcode_len != 1) return false;
  return (in.opcode[0] == 0x89 && in.modrm() == 0xe5) ||
         (in.opcode[0] == 0x8b && in.modrm() == 0xec);
}
// Anything else that moves %rsp or writes the stack before the frame exists: push/pop,
// call, enter/leave, and arithmetic with %rsp as the ModRM r/m register operand.
bool moves_sp(const X86Insn& in) {
  if (in.vex || in.opcode_len != 1) return false;
  uint8_t op = in.opcode[0];
  if ((op >= 0x50 && op <= 0x5f) || op == 0xe8 || op == 0xc8 || op == 0xc9 || op == 0x9c ||
      op == 0x9d || op == 0x68 || op == 0x6a)
    return true;
  bool rm_is_rsp = (in.modrm() & 0xc7) == 0xc4 && !(in.rex & 1);  // mod 3, rm 4
  return (op == 0x81 || op == 0x83 || op == 0x8d || op == 0x89 || op == 0x01 || op == 0x29) &&
         rm_is_rsp;
}

std::optional<GuestAddr> read_word(const KernelMemory& mem, uint64_t addr) {
  uint8_t buf[8];
  if (!mem.read(GuestAddr{addr}, buf)) return std::nullopt;
  uint64_t v;
  std::memcpy(&v, buf, 8);
  return GuestAddr{v};
}

}  // namespace

// Decodes from fn to `at`: before `push %rbp` the address is at [sp], after it (before the
// mov) at [sp + 8]; at a `ret` at [sp]. Once `mov %rsp,%rbp` ran, or anything else moved
// %rsp, the frame-pointer walk takes over.
std::optional<GuestAddr> X86Kprobes::unframed_return_address(GuestAddr fn, GuestAddr at,
                                                             const Regs& regs,
                                                             const TextReader& text,
                                                             const KernelMemory& mem) const {
  std::array<uint8_t, kMaxInsnSize> buf{};
  size_t n = read_insn_bytes(text, at, buf);
  if (auto in = decoder_.decode(at, std::span<const uint8_t>(buf.data(), n)); in && is_ret(*in))
    return read_word(mem, regs.sp());
  bool pushed = false;
  GuestAddr cur = fn;
  for (size_t i = 0; i < kMaxPrologueInsns && cur < at; ++i) {
    n = read_insn_bytes(text, cur, buf);
    const auto in = decoder_.decode(cur, std::span<const uint8_t>(buf.data(), n));
    if (!in || is_mov_rsp_rbp(*in)) return std::nullopt;
    if (is_push_rbp(*in) && !pushed)
      pushed = true;
    else if (moves_sp(*in))
      return std::nullopt;
    cur += in->length;
  }
  if (cur != at) return std::nullopt;
  return read_word(mem, regs.sp() + (pushed ? 8 : 0));
}

}  // namespace probesim::probes::x86
