// Every Linux syscall's name and argument count, per arch, whether probesim implements it or
// not: --stats and --strace name even the ones that return -ENOSYS (issue 19). The handlers and
// strace formats of the implemented ones are in syscall_table.h; this is only the numbering.
#pragma once

#include <cstdint>
#include <span>

#include "probesim/types.h"

namespace probesim::emu {

struct SyscallName {
  uint16_t nr;
  const char* name;  // Linux's name (the syscall table's, without the sys_ prefix)
  uint8_t nargs;     // how many argument registers the syscall reads
};

// The native syscalls of `arch`, sorted by number (x86_64: syscall_64.tbl without the x32
// rows 512-547; arm64: the asm-generic table).
std::span<const SyscallName> linux_syscall_names(Arch arch);

}  // namespace probesim::emu
