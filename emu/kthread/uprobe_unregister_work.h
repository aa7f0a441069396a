// UprobeUnregisterWork: uprobe_unregister as the kworker runs it (kernel/events/uprobes.c v6.14,
// uprobe_unregister_nosync + register_for_each_vma(uprobe, NULL)), one step per lock operation:
//   down_write(register_rwsem), consumer_del
//   percpu_down_write(dup_mmap_sem)
//   build_map_info(uprobe, is_register=false) (under i_mmap_rwsem, read)
//   per entry: mmap_write_lock(mm), re-validate the vma, remove_breakpoint if no consumer
//              wants mm, mmap_write_unlock(mm)
//   percpu_up_write(dup_mmap_sem), up_write(register_rwsem), put_uprobe
// Between steps other tasks run (mmap, munmap, fork). The uprobe is uc's when the first step
// runs (a registration queued before it has run by then); none (it failed): the work ends with
// error(). The uprobe_no_dup_mmap_sem toggle skips dup_mmap_sem as for registering. `done`
// hears the end.
#pragma once

#include <functional>
#include <string>
#include <vector>

#include "emu/kthread/for_each_vma.h"
#include "emu/kthread/kernel_thread.h"
#include "probes/uprobes/uprobe_manager.h"

namespace probesim::emu {

class RwSemaphore;

class UprobeUnregisterWork final : public KernelWork {
 public:
  using Done = std::function<void()>;
  // uc outlives the work.
  UprobeUnregisterWork(std::string what, probes::UprobeConsumer& uc, Done done);
  Step step(MachineState& m, Task& kworker) override;
  std::string describe() const override { return "uprobe_unregister(" + what_ + ")"; }
  std::string next_step() const override;

 private:
  enum class Phase { RegisterRwsem, DupMmapSem, BuildMapInfo, MmapLock, Remove, Finish };
  Step build_map_info(MachineState& m, Task& kw);
  Step mmap_lock(MachineState& m, Task& kw);
  Step remove(MachineState& m, Task& kw);
  Step finish(MachineState& m, Task& kw);
  RwSemaphore& register_rwsem(MachineState& m);

  std::string what_;
  probes::Uprobe* uprobe_ = nullptr;
  probes::UprobeConsumer& uc_;
  Done done_;
  Phase phase_ = Phase::RegisterRwsem;
  ForEachVma walk_;
  bool holds_dup_mmap_sem_ = false;
};

}  // namespace probesim::emu
