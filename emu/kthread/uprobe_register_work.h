// UprobeRegisterWork: uprobe_register as the kworker runs it (kernel/events/uprobes.c,
// register_for_each_vma as in seed 000 and v6.14), one step per lock operation:
//   alloc_uprobe (under uprobes_treelock) and consumer_add
//   down_write(register_rwsem)
//   percpu_down_write(dup_mmap_sem)            excludes fork's dup_mmap
//   build_map_info (under i_mmap_rwsem, read)  the (mm, vaddr) list
//   per entry: mmap_write_lock(mm), re-validate the vma (find_vma, same file and offset)
//              install_breakpoint, mmap_write_unlock(mm)
//   percpu_up_write(dup_mmap_sem), up_write(register_rwsem)
// Between steps other tasks run (munmap, mmap, fork of the guest). The uprobe_no_revalidate
// toggle skips the re-validation; uprobe_no_dup_mmap_sem skips dup_mmap_sem (forks run). A
// failed install stops the installs and unregisters at the end (Linux: uprobe_unregister on
// error). `done` hears the result.
#pragma once

#include <functional>
#include <string>
#include <vector>

#include "emu/kthread/for_each_vma.h"
#include "emu/kthread/kernel_thread.h"
#include "probes/uprobes/uprobe_manager.h"

namespace probesim::emu {

class RwSemaphore;

class UprobeRegisterWork final : public KernelWork {
 public:
  using Done = std::function<void(Result<probes::Uprobe*>)>;
  // inode: a reference the work owns until it is done (given back then); uc outlives it.
  UprobeRegisterWork(std::string what, mmu::Inode& inode, FileOffset offset,
                     probes::UprobeConsumer& uc, Done done);
  ~UprobeRegisterWork() override;
  Step step(MachineState& m, Task& kworker) override;
  std::string describe() const override { return "uprobe_register(" + what_ + ")"; }
  std::string next_step() const override;

  uint64_t ref_ctr_offset = 0;  // the SDT semaphore (uprobe_register's ref_ctr_offset), 0 = none

 private:
  enum class Phase { Alloc, RegisterRwsem, DupMmapSem, BuildMapInfo, MmapLock, Install, Finish };
  Step alloc(MachineState& m, Task& kw);
  Step build_map_info(MachineState& m, Task& kw);
  Step mmap_lock(MachineState& m, Task& kw);
  Step install(MachineState& m, Task& kw);
  Step finish(MachineState& m, Task& kw);
  RwSemaphore& register_rwsem(MachineState& m);

  std::string what_;
  mmu::Inode* inode_;
  FileOffset offset_;
  probes::UprobeConsumer& uc_;
  Done done_;
  Phase phase_ = Phase::Alloc;
  probes::Uprobe* uprobe_ = nullptr;
  ForEachVma walk_;
  bool holds_dup_mmap_sem_ = false;  // not taken with the uprobe_no_dup_mmap_sem toggle
  Result<void> err_;
};

}  // namespace probesim::emu
