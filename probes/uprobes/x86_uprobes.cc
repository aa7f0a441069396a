#include "probes/uprobes/x86_uprobes.h"

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <string>

#include "probes/arch/x86_64/x86_emulate.h"

namespace probesim::probes::x86 {
namespace {

constexpr uint8_t kSwbp[] = {0xcc};  // UPROBE_SWBP_INSN

// good_insns_64: row = high nibble of the opcode byte, column = low nibble. One deviation:
// current kernels set bit 0x0f here, which makes every two-byte opcode pass before
// good_2byte_insns is consulted (so `syscall` would be accepted); we keep it clear, as v3.x
// did, so two-byte opcodes go through good_2byte_insns as its comment intends.
constexpr const char* kGoodInsns64[16] = {
    "1111110011111100",  // 00
    "1111110011111100",  // 10
    "1111111011111110",  // 20
    "1111111011111110",  // 30
    "1111111111111111",  // 40
    "1111111111111111",  // 50
    "0001111111110000",  // 60
    "1111111111111111",  // 70
    "1101111111111111",  // 80
    "1111111111011111",  // 90
    "1111111111111111",  // a0
    "1111111111111111",  // b0
    "1111111111110000",  // c0
    "1111000111111111",  // d0
    "1111000011010000",  // e0
    "1011011111001111",  // f0
};
// good_2byte_insns (0f xx).
constexpr const char* kGood2Byte[16] = {
    "0011100000101111", "1111111111111111", "1111111111111111", "0111001011111111",
    "1111111111111111", "1111111111111111", "1111111111111111", "1111111100111111",
    "1111111111111111", "1111111111111111", "1111111111111101", "1111111111111111",
    "1111111111111111", "1111111111111111", "1111111111111111", "1111111111111111",
};

constexpr uint8_t kBadPrefixes[] = {0x26, 0x2e, 0x36, 0x3e, 0xf0};  // es cs ss ds lock

// pt_regs index of a ModRM/SIB register number 0..15 (ax cx dx bx sp bp si di r8..r15).
unsigned reg_index(unsigned n) {
  return addrmode_reg(static_cast<uint8_t>(n));
}

Error refuse(int err, const X86Insn& in, const char* why) {
  std::string bytes;
  char buf[4];
  for (unsigned i = 0; i < in.length; ++i) {
    std::snprintf(buf, sizeof buf, "%02x ", in.bytes[i]);
    bytes += buf;
  }
  return Error::make("uprobe: cannot probe x86 instruction [" + bytes + "]: " + why, err);
}

// Offset of the byte after the legacy prefixes (where REX / VEX / the opcode start).
unsigned after_prefixes(const X86Insn& in) {
  return in.nprefixes;
}

// OPCODE1 as Linux's decoder reports it: for VEX/EVEX the opcode byte after the prefix.
uint8_t opcode1(const X86Insn& in) {
  if (!in.vex) return in.opcode[0];
  const unsigned p = after_prefixes(in);
  const uint8_t v = in.bytes[p];
  const unsigned vex_len = v == 0xc5 ? 2 : v == 0x62 ? 4 : 3;
  return in.bytes[p + vex_len];
}

// uprobe_init_insn's table test. Three-byte opcodes (0f 38 xx, 0f 3a xx: SSSE3/SSE4 user
// instructions) are accepted, as current kernels do through bit 0x0f.
bool good_opcode(const X86Insn& in) {
  if (in.vex) return good_insn_64(opcode1(in));
  if (in.opcode_len == 3) return true;
  if (in.opcode_len == 2) return good_2byte_insn(in.opcode[1]);
  return good_insn_64(in.opcode[0]);
}

void set_kprobe_op(ArchUprobe& au, X86Op op, int64_t rel) {
  au.emulate = true;
  au.branch = true;
  au.op.step = StepKind::Emulate;
  au.op.op = static_cast<uint8_t>(op);
  au.op.len = au.len;
  au.op.rel = rel;
}

// branch_setup_xol_ops + push_setup_xol_ops, and the control transfers our [copy][int3]
// step cannot follow. Returns true if the instruction is emulated (or refused via r).
bool setup_emulation(const X86Insn& in, ArchUprobe& au, Result<void>& r) {
  if (in.vex) return false;
  const uint8_t op = in.opcode[0];
  const bool is_nop =
      (op == 0x90 && !(in.rex & 1)) || (op == 0x0f && in.opcode_len == 2 && in.opcode[1] == 0x1f);
  const bool rel_branch = op == 0xeb || op == 0xe9 || op == 0xe8 || (op >= 0x70 && op <= 0x7f) ||
                          (op == 0x0f && in.opcode_len == 2 && (in.opcode[1] & 0xf0) == 0x80) ||
                          op == 0xc3 || op == 0xc2 || (op >= 0xe0 && op <= 0xe3);
  if (is_nop) {
    set_kprobe_op(au, X86Op::Jmp, 0);
    au.branch = false;
    return true;
  }
  if (rel_branch && in.has_prefix(0x66)) {
    r = refuse(kEnotsupp, in, "16-bit operand-size branch");
    return true;
  }
  if (op == 0xeb || op == 0xe9) return set_kprobe_op(au, X86Op::Jmp, in.imm()), true;
  if (op == 0xe8) return set_kprobe_op(au, X86Op::Call, in.imm()), true;
  if (op == 0xc3) return set_kprobe_op(au, X86Op::Ret, 0), true;
  if (op == 0xc2) return set_kprobe_op(au, X86Op::Ret, static_cast<uint16_t>(in.imm())), true;
  if ((op >= 0x70 && op <= 0x7f) || op == 0x0f) {
    if (op == 0x0f && !(in.opcode_len == 2 && (in.opcode[1] & 0xf0) == 0x80)) return false;
    set_kprobe_op(au, X86Op::Jcc, in.imm());
    au.op.cond = (op == 0x0f ? in.opcode[1] : op) & 0xf;
    return true;
  }
  if (op >= 0xe0 && op <= 0xe3) {
    set_kprobe_op(au, X86Op::Loop, in.imm());
    au.op.cond = op & 3;
    au.op.asize = static_cast<uint8_t>(in.addr_bytes * 8);
    return true;
  }
  if (op >= 0x50 && op <= 0x57 && (in.length == 1 || (in.length == 2 && in.rex == 0x41))) {
    au.emulate = true;
    au.uop = static_cast<uint8_t>(X86UprobeOp::Push);
    au.op.reg = static_cast<uint8_t>(reg_index((op & 7) + (in.rex ? 8 : 0)));
    return true;
  }
  return false;
}

// Decodes the ModRM memory operand of ff /2 and ff /4 (mod != 3).
Result<void> setup_mem_indirect(const X86Insn& in, ArchUprobe& au) {
  if (in.addr_bytes != 8) return refuse(kEnotsupp, in, "indirect branch with 32-bit addressing");
  if (in.has_prefix(0x64) || in.has_prefix(0x65))
    return refuse(kEnotsupp, in, "indirect branch through fs/gs (segment bases not modelled)");
  const uint8_t modrm = in.modrm(), mod = modrm >> 6, rm = modrm & 7;
  unsigned at = in.modrm_offset + 1u;
  au.uop = static_cast<uint8_t>(X86UprobeOp::MemIndirect);
  au.emulate = true;
  au.branch = true;
  bool disp32 = mod == 2;
  if (rm == 4) {  // SIB
    const uint8_t sib = in.bytes[at++];
    const unsigned index = ((sib >> 3) & 7) + ((in.rex & 2) ? 8 : 0);
    const unsigned base = (sib & 7) + ((in.rex & 1) ? 8 : 0);
    au.mem_scale = static_cast<uint8_t>(1u << (sib >> 6));
    au.mem_index = index == 4 ? -1 : static_cast<int8_t>(reg_index(index));
    const bool no_base = mod == 0 && (sib & 7) == 5;
    au.mem_base = no_base ? -1 : static_cast<int8_t>(reg_index(base));
    disp32 = disp32 || no_base;
  } else if (mod == 0 && rm == 5) {
    au.mem_base = kRipBase;
    disp32 = true;
  } else {
    au.mem_base = static_cast<int8_t>(reg_index(rm + ((in.rex & 1) ? 8 : 0)));
  }
  if (mod == 1) au.mem_disp = static_cast<int8_t>(in.bytes[at]);
  if (disp32) {
    int32_t d;
    std::memcpy(&d, &in.bytes[at], 4);
    au.mem_disp = d;
  }
  return {};
}

// riprel_analyze: "00 reg 101" becomes "10 reg scratch"; REX.B cleared, VEX3/EVEX b/x set.
void riprel_rewrite(const X86Insn& in, ArchUprobe& au, std::vector<uint8_t>& copy) {
  if (!in.rip_relative) return;
  const unsigned p = after_prefixes(in);
  unsigned vvvv = 0;  // VEX.vvvv register (a second register operand), 0 = none
  if (in.rex) copy[p] &= 0xfe;
  if (in.vex) {
    const uint8_t v = in.bytes[p];
    if (v != 0xc5) copy[p + 1] |= 0x60;
    vvvv = ((v == 0xc5 ? in.bytes[p + 1] : in.bytes[p + 2]) >> 3 & 0xf) ^ 0xf;
  }
  const unsigned modrm_at = in.disp_offset - 1u;
  const uint8_t reg = (in.bytes[modrm_at] >> 3) & 7;
  const unsigned reg2 = vvvv & 7;
  uint8_t scratch;
  if (reg != 6 && reg2 != 6) {
    scratch = 6, au.fixups |= UPROBE_FIX_RIP_SI;
  } else if (reg != 7 && reg2 != 7) {
    scratch = 7, au.fixups |= UPROBE_FIX_RIP_DI;
  } else {
    scratch = 3, au.fixups |= UPROBE_FIX_RIP_BX;
  }
  au.scratch = static_cast<int8_t>(reg_index(scratch));
  copy[modrm_at] = static_cast<uint8_t>(0x80 | (reg << 3) | scratch);
}

}  // namespace

bool good_insn_64(uint8_t op) {
  return kGoodInsns64[op >> 4][op & 15] == '1';
}
bool good_2byte_insn(uint8_t op) {
  return kGood2Byte[op >> 4][op & 15] == '1';
}

std::span<const uint8_t> X86Uprobes::swbp() const {
  return kSwbp;
}

bool X86Uprobes::is_trap_insn(std::span<const uint8_t> code) const {
  return !code.empty() && code[0] == kSwbp[0];
}

std::vector<uint8_t> X86Uprobes::trampoline() const {
  return {kSwbp[0]};
}

Result<ArchUprobe> X86Uprobes::analyze(std::span<const uint8_t> code, GuestAddr vaddr) const {
  const auto in = decoder_.decode(vaddr, code);
  if (!in) return Error::make("uprobe: undecodable x86 instruction", ENOEXEC);
  for (uint8_t p : kBadPrefixes) {
    if (in->has_prefix(p)) return refuse(kEnotsupp, *in, "es/cs/ss/ds or lock prefix");
  }
  if (!in->vex &&
      (in->opcode[0] == 0x17 || (in->opcode[0] == 0x8e && ((in->modrm() >> 3) & 7) == 2)))
    return refuse(kEnotsupp, *in, "exception-masking mov/pop ss");
  if (!good_opcode(*in)) return refuse(kEnotsupp, *in, "not in good_insns_64");
  ArchUprobe au;
  au.len = in->length;
  std::memcpy(au.insn.data(), in->bytes.data(), in->length);
  Result<void> refused;
  if (setup_emulation(*in, au, refused)) {
    if (!refused) return refused.take_error();
    return au;
  }
  const uint8_t op = in->vex ? 0 : in->opcode[0];
  const uint8_t reg = in->vex ? 0 : (in->modrm() >> 3) & 7;
  if (op == 0xca || op == 0xcb) return refuse(kEnotsupp, *in, "far return");
  if (op == 0xff && (reg == 3 || reg == 5)) return refuse(kEnotsupp, *in, "far indirect branch");
  if (op == 0xff && (reg == 2 || reg == 4)) {
    if ((in->modrm() >> 6) != 3) {
      au.op.reg = reg;  // 2 = call, 4 = jmp
      PROBESIM_TRY_VOID(setup_mem_indirect(*in, au));
      return au;
    }
    set_kprobe_op(au, reg == 2 ? X86Op::CallIndirect : X86Op::JmpIndirect, 0);
    au.op.reg = static_cast<uint8_t>((in->modrm() & 7) + ((in->rex & 1) ? 8 : 0));
    return au;
  }
  au.fixups = UPROBE_FIX_IP | (op == 0x9d ? UPROBE_FIX_SETF : 0);
  std::vector<uint8_t> copy(in->bytes.begin(), in->bytes.begin() + in->length);
  riprel_rewrite(*in, au, copy);
  copy.push_back(kSwbp[0]);
  au.ixol = std::move(copy);
  return au;
}

}  // namespace probesim::probes::x86
