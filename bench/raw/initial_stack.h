// InitialStack: the bytes Linux's create_elf_tables() leaves at the top of a new process's
// stack, for a stack ending at `top`:
//   sp -> argc, argv[0..argc-1], NULL, envp[..], NULL, auxv pairs ..., AT_NULL 0,
//         padding, then 16 AT_RANDOM bytes and the NUL-terminated strings up to `top`.
// sp is 16-byte aligned (both ABIs require it at process entry). The caller supplies the
// auxv entries that are plain values; the builder appends AT_RANDOM, AT_PLATFORM, AT_EXECFN
// (which point into the string area) and AT_NULL.
#pragma once

#include <array>
#include <cstdint>
#include <string>
#include <utility>
#include <vector>

#include "probesim/types.h"

namespace probesim::bench {

struct StackSpec {
  GuestAddr top;  // exclusive end of the stack mapping
  std::vector<std::string> argv;
  std::vector<std::string> envp;
  std::vector<std::pair<uint64_t, uint64_t>> auxv;  // (AT_* type, value), without AT_NULL
  std::array<uint8_t, 16> random{};                 // AT_RANDOM bytes (fixed by the caller)
  std::string platform;                             // AT_PLATFORM
};

class InitialStack {
 public:
  static InitialStack build(const StackSpec& spec);

  GuestAddr sp() const { return sp_; }
  // Bytes to write at [sp, top).
  const std::vector<uint8_t>& bytes() const { return bytes_; }

 private:
  GuestAddr sp_;
  std::vector<uint8_t> bytes_;
};

}  // namespace probesim::bench
