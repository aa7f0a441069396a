// X86Insn: one decoded x86-64 instruction with the fields Linux's insn decoder gives kprobes
// (prefixes, REX, opcode bytes, ModRM, immediate, RIP-relative displacement). Capstone decides
// validity, length, operands and encoding offsets; prefixes/opcode/ModRM are read from the bytes.
// X86Decoder owns a Capstone handle; decode() costs ~1 us, so callers decode once per probe.
#pragma once

#include <capstone/capstone.h>

#include <array>
#include <cstdint>
#include <optional>
#include <span>

#include "probesim/types.h"

namespace probesim::probes::x86 {

constexpr size_t kMaxInsnSize = 16;  // MAX_INSN_SIZE

struct X86Insn {
  uint8_t length = 0;
  std::array<uint8_t, kMaxInsnSize> bytes{};
  std::array<uint8_t, 4> prefixes{};  // legacy prefixes in order
  uint8_t nprefixes = 0;
  uint8_t rex = 0;          // 0 if none
  bool vex = false;         // VEX/EVEX/XOP encoded (opcode fields not filled)
  std::array<uint8_t, 3> opcode{};
  uint8_t opcode_len = 0;   // 1..3 (0 for VEX)
  uint8_t modrm_offset = 0; // offset of the byte after the opcode (ModRM if the insn has one)
  uint8_t addr_bytes = 8;   // 4 with a 0x67 prefix
  uint8_t imm_offset = 0, imm_size = 0;
  uint8_t disp_offset = 0, disp_size = 0;
  bool rip_relative = false;

  bool has_prefix(uint8_t p) const;
  uint8_t modrm() const { return bytes[modrm_offset]; }
  int64_t imm() const;   // sign-extended immediate (imm_size bytes)
  int32_t disp() const;  // the disp32 of a RIP-relative operand
};

class X86Decoder {
 public:
  X86Decoder();
  ~X86Decoder();
  X86Decoder(const X86Decoder&) = delete;
  X86Decoder& operator=(const X86Decoder&) = delete;

  // Decodes the instruction at the start of `code` (address `addr`); nullopt if invalid.
  std::optional<X86Insn> decode(GuestAddr addr, std::span<const uint8_t> code) const;

 private:
  csh cs_ = 0;
  cs_insn* insn_ = nullptr;
};

}  // namespace probesim::probes::x86
