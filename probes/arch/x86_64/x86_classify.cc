#include "probes/arch/x86_64/x86_classify.h"

#include <cerrno>
#include <cstdio>
#include <string>

#include "probes/arch/x86_64/x86_emulate.h"

namespace probesim::probes::x86 {
namespace {

// twobyte_is_boostable (arch/x86/kernel/kprobes/core.c): row = high nibble of the second
// opcode byte, column = low nibble. Undefined/reserved opcodes, jcc, groups are not boostable.
constexpr const char* kTwoByteBoostable[16] = {
    "0011001011000000",  // 0f 00
    "0000000000000001",  // 0f 10
    "1111000000000000",  // 0f 20
    "0100000000000000",  // 0f 30
    "1111111111111111",  // 0f 40
    "0000000000000000",  // 0f 50
    "1111111111110011",  // 0f 60
    "0000111100000011",  // 0f 70
    "0000000000000000",  // 0f 80
    "1111111111111111",  // 0f 90
    "1101110011011101",  // 0f a0
    "1111111100011111",  // 0f b0
    "1100000011111111",  // 0f c0
    "0111010011011101",  // 0f d0
    "0110010011011101",  // 0f e0
    "0111010011101110",  // 0f f0
};

bool twobyte_is_boostable(uint8_t op) { return kTwoByteBoostable[op >> 4][op & 15] == '1'; }

// One-byte opcodes can_boost rejects (v6 switch).
bool onebyte_not_boostable(uint8_t op) {
  return op == 0x62 || (op >= 0x70 && op <= 0x7f) || op == 0x9a || op == 0xc0 || op == 0xc1 ||
         (op >= 0xcc && op <= 0xce) || (op >= 0xd0 && op <= 0xd3) || op == 0xd6 ||
         (op >= 0xd8 && op <= 0xdf) || (op >= 0xe0 && op <= 0xe3) || op == 0xe8 ||
         op == 0xe9 || op == 0xeb || (op >= 0xf0 && op <= 0xf4) || op == 0xf6 ||
         op == 0xf7 || op == 0xfe;
}

Error reject(int err, const X86Insn& in, const char* why) {
  char buf[8];
  std::string bytes;
  for (unsigned i = 0; i < in.length; ++i) {
    std::snprintf(buf, sizeof buf, "%02x ", in.bytes[i]);
    bytes += buf;
  }
  return Error::make(std::string("cannot probe x86 instruction [") + bytes + "]: " + why, err);
}

void set_op(ArchInsn& a, X86Op op) {
  a.step = StepKind::Emulate;
  a.op = static_cast<uint8_t>(op);
}

// ff /2 call and ff /4 jmp, register form only (prepare_emulation).
Result<void> classify_group5(const X86Insn& in, ArchInsn& a) {
  const uint8_t modrm = in.modrm();
  const uint8_t reg = (modrm >> 3) & 7;
  if (reg != 2 && reg != 3 && reg != 4 && reg != 5) return {};
  if (reg == 3 || reg == 5) return reject(EOPNOTSUPP, in, "far indirect call/jmp");
  if (in.addr_bytes != 8) return reject(EOPNOTSUPP, in, "indirect branch with 32-bit addressing");
  if ((modrm >> 6) != 3) return reject(EOPNOTSUPP, in, "indirect branch through memory");
  if (in.has_prefix(0x66)) return reject(EOPNOTSUPP, in, "16-bit indirect branch");
  set_op(a, reg == 2 ? X86Op::CallIndirect : X86Op::JmpIndirect);
  a.reg = static_cast<uint8_t>((modrm & 7) + ((in.rex & 1) ? 8 : 0));
  return {};
}

// The relative branches/calls and ret: a 0x66 prefix would make them 16-bit (ip truncated),
// which Linux mis-emulates; we refuse them instead.
Result<void> classify_relative(const X86Insn& in, ArchInsn& a, X86Op op) {
  if (in.has_prefix(0x66)) return reject(EOPNOTSUPP, in, "16-bit operand-size branch");
  set_op(a, op);
  a.rel = in.imm();
  return {};
}

Result<void> prepare_emulation(const X86Insn& in, ArchInsn& a) {
  const uint8_t op = in.opcode[0];
  if (op == 0xfa || op == 0xfb || op == 0x9c || op == 0x9d) {
    set_op(a, X86Op::IfModifier);
    a.cond = op;
    return {};
  }
  if (op == 0xc3) return classify_relative(in, a, X86Op::Ret);
  if (op == 0xc2) {
    auto r = classify_relative(in, a, X86Op::Ret);
    a.rel = static_cast<uint16_t>(in.imm());  // bytes released after the pop (unsigned)
    return r;
  }
  if (op == 0xca || op == 0xcb) return reject(EOPNOTSUPP, in, "far return (segments not modelled)");
  if (op == 0x9a || op == 0xea) return reject(EOPNOTSUPP, in, "far call/jmp absolute");
  if (op == 0xcf) return reject(EOPNOTSUPP, in, "iret");
  if (op == 0xe8) return classify_relative(in, a, X86Op::Call);
  if (op == 0xe9 || op == 0xeb) return classify_relative(in, a, X86Op::Jmp);
  if (op >= 0x70 && op <= 0x7f) {
    a.cond = op & 0xf;
    return classify_relative(in, a, X86Op::Jcc);
  }
  if (op == 0x0f && in.opcode_len == 2 && (in.opcode[1] & 0xf0) == 0x80) {
    a.cond = in.opcode[1] & 0xf;
    return classify_relative(in, a, X86Op::Jcc);
  }
  if (op == 0x0f && in.opcode_len == 2 && in.opcode[1] == 0x01 && ((in.modrm() >> 3) & 7) == 0 &&
      (in.modrm() >> 6) == 3) {
    return reject(EOPNOTSUPP, in, "VM extensions (0f 01 /0)");
  }
  if (op >= 0xe0 && op <= 0xe3) {
    set_op(a, X86Op::Loop);
    a.cond = op & 3;
    a.asize = static_cast<uint8_t>(in.addr_bytes * 8);
    a.rel = in.imm();
    return {};
  }
  if (op == 0xff) return classify_group5(in, a);
  return {};
}

}  // namespace

bool can_boost(const X86Insn& in) {
  if (in.vex) return false;  // Linux would test the VEX opcode byte; we stay conservative
  if (in.opcode_len == 2) return twobyte_is_boostable(in.opcode[1]);
  if (in.opcode_len != 1) return false;
  if (in.has_prefix(0x2e) || in.has_prefix(0x67)) return false;
  const uint8_t op = in.opcode[0];
  if (op == 0xff) return ((in.modrm() >> 3) & 7) == 4;  // only indirect jmp
  return !onebyte_not_boostable(op);
}

Result<ArchInsn> classify(const X86Insn& in) {
  ArchInsn a;
  a.len = in.length;
  a.bytes = in.bytes;
  // __copy_instruction's refusals.
  if (!in.vex && in.opcode[0] == 0xcc) return reject(EINVAL, in, "int3 (another breakpoint)");
  if (!in.vex && (in.opcode[0] == 0x17 || (in.opcode[0] == 0x8e && ((in.modrm() >> 3) & 7) == 2)))
    return reject(EINVAL, in, "exception-masking mov/pop ss");
  if (in.rip_relative) a.disp_offset = in.disp_offset;
  if (!in.vex) {
    auto r = prepare_emulation(in, a);
    if (!r) return r.take_error();
  }
  a.boostable = can_boost(in) && kMaxInsnSize - in.length >= 5;
  a.needs_slot = true;
  return a;
}

}  // namespace probesim::probes::x86
