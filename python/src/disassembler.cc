#include "disassembler.h"

#include "probesim/assert.h"

namespace probesim::python {

Disassembler::Disassembler(Arch arch) : max_len_(arch == Arch::X86_64 ? 15 : 4) {
  cs_err e = arch == Arch::X86_64 ? cs_open(CS_ARCH_X86, CS_MODE_64, &cs_)
                                  : cs_open(CS_ARCH_ARM64, CS_MODE_ARM, &cs_);
  PROBESIM_ASSERT(e == CS_ERR_OK);  // both archs are compiled into Debian's libcapstone4
}

Disassembler::~Disassembler() {
  cs_close(&cs_);
}

std::vector<Insn> Disassembler::disassemble(uint64_t addr, std::span<const uint8_t> code,
                                            size_t count) const {
  std::vector<Insn> out;
  if (count == 0 || code.empty()) return out;
  cs_insn* insns = nullptr;
  size_t n = cs_disasm(cs_, code.data(), code.size(), addr, count, &insns);
  out.reserve(n);
  for (size_t i = 0; i < n; ++i) {
    const cs_insn& in = insns[i];
    out.push_back(Insn{in.address, std::string(reinterpret_cast<const char*>(in.bytes), in.size),
                       in.mnemonic, in.op_str});
  }
  cs_free(insns, n);
  return out;
}

}  // namespace probesim::python
