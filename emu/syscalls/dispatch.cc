#include "emu/syscalls/dispatch.h"

#include "emu/syscalls/syscall_handlers.h"
#include "emu/syscalls/syscall_names.h"

namespace probesim::emu {

// Every syscall of the arch by Linux's name, its arguments printed in hex, not implemented;
// then the rows of syscall_table.h: their handler and strace format.
SyscallTable::SyscallTable(Arch arch) {
  by_nr_.resize(512);
  static constexpr std::string_view kHexArgs = "xxxxxx";
  for (const SyscallName& s : linux_syscall_names(arch))
    by_nr_[s.nr] = SyscallEntry{s.name, nullptr, kHexArgs.substr(0, s.nargs), 'd'};
  auto add = [&](int x86, int arm64, SyscallEntry e) {
    int nr = arch == Arch::X86_64 ? x86 : arm64;
    if (nr < 0) return;
    if (static_cast<size_t>(nr) >= by_nr_.size()) by_nr_.resize(nr + 1);
    by_nr_[nr] = e;
  };
#define PROBESIM_ADD_SYSCALL(name, x86, arm64, args, ret) \
  add(x86, arm64, SyscallEntry{#name, &sys_##name, args, ret});
#define PROBESIM_ADD_NOSYS(name, x86, arm64, args) \
  add(x86, arm64, SyscallEntry{#name, nullptr, args, 'd'});
  PROBESIM_SYSCALLS(PROBESIM_ADD_SYSCALL, PROBESIM_ADD_NOSYS)
#undef PROBESIM_ADD_SYSCALL
#undef PROBESIM_ADD_NOSYS
}

const SyscallTable& SyscallTable::get(Arch arch) {
  static const SyscallTable x86(Arch::X86_64);
  static const SyscallTable arm64(Arch::AArch64);
  return arch == Arch::X86_64 ? x86 : arm64;
}

}  // namespace probesim::emu
