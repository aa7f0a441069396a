#include "probes/arch/x86_64/x86_insn.h"

#include <algorithm>
#include <cstring>

#include "probesim/assert.h"

namespace probesim::probes::x86 {
namespace {

constexpr uint8_t kLegacyPrefixes[] = {0xf0, 0xf2, 0xf3, 0x2e, 0x36, 0x3e,
                                       0x26, 0x64, 0x65, 0x66, 0x67};

bool is_legacy_prefix(uint8_t b) {
  return std::find(std::begin(kLegacyPrefixes), std::end(kLegacyPrefixes), b) !=
         std::end(kLegacyPrefixes);
}

int64_t read_signed(const uint8_t* p, unsigned size) {
  switch (size) {
    case 1: return static_cast<int8_t>(p[0]);
    case 2: { int16_t v; std::memcpy(&v, p, 2); return v; }
    case 4: { int32_t v; std::memcpy(&v, p, 4); return v; }
    case 8: { int64_t v; std::memcpy(&v, p, 8); return v; }
    default: return 0;
  }
}

// Prefixes, REX, opcode bytes: the layout Linux's insn_get_opcode() reports.
void parse_layout(X86Insn& in) {
  unsigned i = 0;
  while (i < in.length && is_legacy_prefix(in.bytes[i])) {
    if (in.nprefixes < in.prefixes.size()) in.prefixes[in.nprefixes++] = in.bytes[i];
    ++i;
  }
  if (i < in.length && (in.bytes[i] & 0xf0) == 0x40) in.rex = in.bytes[i++];
  const uint8_t b = in.bytes[i];
  if (b == 0xc4 || b == 0xc5 || b == 0x62 || b == 0x8f) {
    // 0x8f is also POP r/m (ModRM.reg == 0); only XOP when reg != 0.
    const bool xop = b == 0x8f && i + 1 < in.length && ((in.bytes[i + 1] >> 3) & 7) != 0;
    if (b != 0x8f || xop) {
      in.vex = true;
      return;
    }
  }
  unsigned n = 1;
  if (b == 0x0f) n = (in.bytes[i + 1] == 0x38 || in.bytes[i + 1] == 0x3a) ? 3 : 2;
  for (unsigned k = 0; k < n; ++k) in.opcode[k] = in.bytes[i + k];
  in.opcode_len = static_cast<uint8_t>(n);
  in.modrm_offset = static_cast<uint8_t>(i + n);
  if (in.has_prefix(0x67)) in.addr_bytes = 4;
}

}  // namespace

bool X86Insn::has_prefix(uint8_t p) const {
  return std::find(prefixes.begin(), prefixes.begin() + nprefixes, p) !=
         prefixes.begin() + nprefixes;
}

int64_t X86Insn::imm() const { return read_signed(&bytes[imm_offset], imm_size); }

int32_t X86Insn::disp() const {
  return static_cast<int32_t>(read_signed(&bytes[disp_offset], 4));
}

X86Decoder::X86Decoder() {
  PROBESIM_ASSERT(cs_open(CS_ARCH_X86, CS_MODE_64, &cs_) == CS_ERR_OK);
  PROBESIM_ASSERT(cs_option(cs_, CS_OPT_DETAIL, CS_OPT_ON) == CS_ERR_OK);
  insn_ = cs_malloc(cs_);
  PROBESIM_ASSERT(insn_ != nullptr);
}

X86Decoder::~X86Decoder() {
  cs_free(insn_, 1);
  cs_close(&cs_);
}

std::optional<X86Insn> X86Decoder::decode(GuestAddr addr, std::span<const uint8_t> code) const {
  const uint8_t* p = code.data();
  size_t size = std::min(code.size(), kMaxInsnSize);
  uint64_t a = addr.value;
  if (!cs_disasm_iter(cs_, &p, &size, &a, insn_)) return std::nullopt;
  X86Insn in;
  in.length = static_cast<uint8_t>(insn_->size);
  std::copy_n(code.begin(), in.length, in.bytes.begin());
  parse_layout(in);
  const cs_x86& d = insn_->detail->x86;
  in.imm_offset = d.encoding.imm_offset;
  in.imm_size = d.encoding.imm_size;
  for (unsigned i = 0; i < d.op_count; ++i) {
    if (d.operands[i].type == X86_OP_MEM && d.operands[i].mem.base == X86_REG_RIP) {
      in.rip_relative = true;
      in.disp_offset = d.encoding.disp_offset;
      in.disp_size = d.encoding.disp_size;
    }
  }
  if (in.rip_relative && in.disp_size != 4) return std::nullopt;
  return in;
}

}  // namespace probesim::probes::x86
