#include "emu/kthread/uprobe_unregister_work.h"

#include "emu/machine_state.h"
#include "mmu/inode_cache.h"

namespace probesim::emu {

UprobeUnregisterWork::UprobeUnregisterWork(std::string what, probes::UprobeConsumer& uc,
                                           Done done)
    : what_(std::move(what)), uc_(uc), done_(std::move(done)) {}

std::string UprobeUnregisterWork::next_step() const {
  switch (phase_) {
    case Phase::RegisterRwsem: return "down_write(register_rwsem)";
    case Phase::DupMmapSem: return "percpu_down_write(dup_mmap_sem)";
    case Phase::BuildMapInfo: return "build_map_info";
    case Phase::MmapLock: return "mmap_write_lock" + walk_.at();
    case Phase::Remove: return "remove_breakpoint" + walk_.at();
    case Phase::Finish: return "up_write(register_rwsem)";
  }
  return "?";
}

RwSemaphore& UprobeUnregisterWork::register_rwsem(MachineState& m) {
  return m.locks().register_rwsem(uprobe_, what_);
}

KernelWork::Step UprobeUnregisterWork::step(MachineState& m, Task& kw) {
  KernelLocks& locks = m.locks();
  switch (phase_) {
    case Phase::RegisterRwsem:
      uprobe_ = uc_.uprobe;  // again after blocking: the host may have unregistered it since
      if (!uprobe_) {  // its registration failed, or it was unregistered first
        error_ = "not registered";
        done_();
        return Step::Done;
      }
      if (!locks.down_write(register_rwsem(m), kw)) return Step::Blocked;
      m.uprobes().uprobe_unregister_prepare(uprobe_, uc_);  // consumer_del
      phase_ = m.bug("uprobe_no_dup_mmap_sem") ? Phase::BuildMapInfo : Phase::DupMmapSem;
      return Step::More;
    case Phase::DupMmapSem:
      if (!locks.down_write(locks.dup_mmap_sem(), kw)) return Step::Blocked;
      holds_dup_mmap_sem_ = true;
      phase_ = Phase::BuildMapInfo;
      return Step::More;
    case Phase::BuildMapInfo: return build_map_info(m, kw);
    case Phase::MmapLock: return mmap_lock(m, kw);
    case Phase::Remove: return remove(m, kw);
    case Phase::Finish: return finish(m, kw);
  }
  return Step::Done;
}

KernelWork::Step UprobeUnregisterWork::build_map_info(MachineState& m, Task& kw) {
  if (walk_.build(m, kw, uprobe_, *uprobe_->inode, false) == Step::Blocked) return Step::Blocked;
  phase_ = walk_.done() ? Phase::Finish : Phase::MmapLock;
  return Step::More;
}

KernelWork::Step UprobeUnregisterWork::mmap_lock(MachineState& m, Task& kw) {
  if (walk_.lock(m, kw, false) == Step::Blocked) return Step::Blocked;
  phase_ = walk_.held() ? Phase::Remove : walk_.done() ? Phase::Finish : Phase::MmapLock;
  return Step::More;
}

KernelWork::Step UprobeUnregisterWork::remove(MachineState& m, Task& kw) {
  if (walk_.live(m)) m.uprobes().unregister_one(uprobe_, walk_.current());
  walk_.unlock(m, kw);
  phase_ = walk_.done() ? Phase::Finish : Phase::MmapLock;
  return Step::More;
}

KernelWork::Step UprobeUnregisterWork::finish(MachineState& m, Task& kw) {
  if (holds_dup_mmap_sem_) m.locks().up_write(m.locks().dup_mmap_sem(), kw);
  holds_dup_mmap_sem_ = false;
  m.locks().up_write(register_rwsem(m), kw);
  m.uprobes().uprobe_unregister_finish(uprobe_);  // put_uprobe: u may be freed
  uprobe_ = nullptr;
  done_();
  return Step::Done;
}

}  // namespace probesim::emu
