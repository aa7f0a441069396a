// Disassembler: Capstone on the C++ side for Machine.disassemble (one handle per machine,
// opened for the machine's arch, detail off). Decoding costs ~1 us per instruction, so this
// is for listings in notebooks, never for anything per executed instruction.
#pragma once

#include <capstone/capstone.h>

#include <cstdint>
#include <span>
#include <string>
#include <vector>

#include "probesim/types.h"

namespace probesim::python {

struct Insn {
  uint64_t addr = 0;
  std::string bytes;  // the instruction's encoding
  std::string mnemonic;
  std::string op_str;
};

class Disassembler {
 public:
  explicit Disassembler(Arch arch);
  ~Disassembler();
  Disassembler(const Disassembler&) = delete;
  Disassembler& operator=(const Disassembler&) = delete;

  // Longest instruction encoding of the arch (x86 15, arm64 4).
  size_t max_insn_len() const { return max_len_; }
  // Decodes up to `count` instructions of `code` (placed at `addr`); stops early at the first
  // byte sequence that is not an instruction.
  std::vector<Insn> disassemble(uint64_t addr, std::span<const uint8_t> code, size_t count) const;

 private:
  csh cs_ = 0;
  size_t max_len_;
};

}  // namespace probesim::python
