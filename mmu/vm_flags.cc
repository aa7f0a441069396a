#include "mmu/vm_flags.h"

namespace probesim::mmu {

std::string vm_flags_string(uint32_t vm_flags) {
  std::string s = "----";
  if (vm_flags & VM_READ) s[0] = 'r';
  if (vm_flags & VM_WRITE) s[1] = 'w';
  if (vm_flags & VM_EXEC) s[2] = 'x';
  s[3] = (vm_flags & VM_MAYSHARE) ? 's' : 'p';
  return s;
}

}  // namespace probesim::mmu
