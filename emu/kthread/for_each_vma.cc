#include "emu/kthread/for_each_vma.h"

#include <cstdio>

#include "emu/machine_state.h"
#include "mmu/inode_cache.h"

namespace probesim::emu {

KernelWork::Step ForEachVma::build(MachineState& m, Task& kw, probes::Uprobe* u,
                                   mmu::Inode& inode, bool is_register) {
  RwSemaphore& i_mmap = m.locks().i_mmap_rwsem(&inode.i_mapping(), inode.name());
  if (!m.locks().down_read(i_mmap, kw)) return Step::Blocked;
  info_ = m.uprobes().build_map_info(u, is_register);
  m.locks().up_read(i_mmap, kw);
  entry_ = 0;
  return Step::More;
}

KernelWork::Step ForEachVma::lock(MachineState& m, Task& kw, bool skip) {
  const probes::UprobeManager::MapInfo& mi = info_[entry_];
  Process* p = skip ? nullptr : m.process_of_mm(mi.mm);
  if (!p) {
    ++entry_;
    return Step::More;
  }
  RwSemaphore& lock = m.locks().mmap_lock(mi.mm, "pid " + std::to_string(p->pid()));
  if (!m.locks().down_write(lock, kw)) return Step::Blocked;
  held_ = &lock;
  return Step::More;
}

bool ForEachVma::live(MachineState& m) const {
  return m.process_of_mm(info_[entry_].mm) != nullptr;
}

void ForEachVma::unlock(MachineState& m, Task& kw) {
  m.locks().up_write(*held_, kw);
  held_ = nullptr;
  ++entry_;
}

std::string ForEachVma::at() const {
  char buf[32];
  std::snprintf(buf, sizeof buf, " at 0x%llx",
                static_cast<unsigned long long>(info_[entry_].vaddr.value));
  return buf;
}

}  // namespace probesim::emu
