// The per-arch syscall table: number -> (name, handler, strace format), every Linux syscall of
// the arch by name (syscall_names.h), the ones probesim implements with their handler
// (syscall_table.h). Immutable after construction; one instance per arch, shared by all machines.
#pragma once

#include <string_view>
#include <vector>

#include "emu/syscalls/syscall.h"

namespace probesim::emu {

struct SyscallEntry {
  std::string_view name;
  SyscallFn fn = nullptr;      // null: known but not implemented (-ENOSYS)
  std::string_view args;       // strace format (see syscall_table.h)
  char ret = 'd';
};

class SyscallTable {
 public:
  static const SyscallTable& get(Arch arch);
  // The entry for `nr`, or null if Linux has no such syscall on this arch.
  const SyscallEntry* find(uint64_t nr) const {
    return nr < by_nr_.size() && !by_nr_[nr].name.empty() ? &by_nr_[nr] : nullptr;
  }
  size_t size() const { return by_nr_.size(); }

 private:
  explicit SyscallTable(Arch arch);
  std::vector<SyscallEntry> by_nr_;
};

}  // namespace probesim::emu
