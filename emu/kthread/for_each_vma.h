// ForEachVma: register_for_each_vma's walk (kernel/events/uprobes.c), shared by the uprobe
// register and unregister works: build_map_info under i_mmap_rwsem (read), then per entry
// mmap_write_lock(mm), the work's own step on that vma (install or remove the breakpoint),
// mmap_write_unlock(mm). Each lock operation is one kworker step; an mm gone since
// build_map_info (exec, exit) is skipped (Linux: mmget_not_zero at build time keeps it).
#pragma once

#include <cstddef>
#include <string>
#include <vector>

#include "emu/kthread/kernel_thread.h"
#include "probes/uprobes/uprobe_manager.h"

namespace probesim::emu {

class RwSemaphore;

class ForEachVma {
 public:
  using Step = KernelWork::Step;
  // build_map_info(u, is_register) of the uprobe on `inode`: Blocked, or More with the entries.
  Step build(MachineState& m, Task& kw, probes::Uprobe* u, mmu::Inode& inode, bool is_register);
  // mmap_write_lock of the current entry's mm: Blocked, or More with held() true; an entry whose
  // mm is gone, or every entry when `skip`, is passed over (More, held() false).
  Step lock(MachineState& m, Task& kw, bool skip);
  // mmap_write_unlock of the held mm, then the next entry.
  void unlock(MachineState& m, Task& kw);
  bool done() const { return entry_ >= info_.size(); }
  bool held() const { return held_ != nullptr; }
  const probes::UprobeManager::MapInfo& current() const { return info_[entry_]; }
  // The held entry's process is still alive: it may have exited since mmap_write_lock (its mm
  // is then gone for the kernel: the step passes it over); an exec waits for the lock.
  bool live(MachineState& m) const;
  std::string at() const;  // " at 0x..." of the current entry (next_step texts)

 private:
  std::vector<probes::UprobeManager::MapInfo> info_;
  size_t entry_ = 0;
  RwSemaphore* held_ = nullptr;
};

}  // namespace probesim::emu
