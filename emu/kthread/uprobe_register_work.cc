#include "emu/kthread/uprobe_register_work.h"

#include "emu/machine_state.h"
#include "mmu/inode_cache.h"

namespace probesim::emu {

UprobeRegisterWork::UprobeRegisterWork(std::string what, mmu::Inode& inode, FileOffset offset,
                                       probes::UprobeConsumer& uc, Done done)
    : what_(std::move(what)), inode_(&inode), offset_(offset), uc_(uc), done_(std::move(done)) {}

UprobeRegisterWork::~UprobeRegisterWork() {
  if (inode_) inode_->cache().iput(inode_);
}

// The per-entry steps name the vaddr build_map_info recorded ("mmap_write_lock at 0x7f..bb0").
std::string UprobeRegisterWork::next_step() const {
  switch (phase_) {
    case Phase::Alloc: return "alloc_uprobe";
    case Phase::RegisterRwsem: return "down_write(register_rwsem)";
    case Phase::DupMmapSem: return "percpu_down_write(dup_mmap_sem)";
    case Phase::BuildMapInfo: return "build_map_info";
    case Phase::MmapLock: return "mmap_write_lock" + walk_.at();
    case Phase::Install: return "install_breakpoint" + walk_.at();
    case Phase::Finish: return "up_write(register_rwsem)";
  }
  return "?";
}

KernelWork::Step UprobeRegisterWork::step(MachineState& m, Task& kw) {
  KernelLocks& locks = m.locks();
  switch (phase_) {
    case Phase::Alloc: return alloc(m, kw);
    case Phase::RegisterRwsem:
      if (!locks.down_write(register_rwsem(m), kw)) return Step::Blocked;
      // uprobe_no_dup_mmap_sem: the kernel before v3.8 did not exclude fork here.
      phase_ = m.bug("uprobe_no_dup_mmap_sem") ? Phase::BuildMapInfo : Phase::DupMmapSem;
      return Step::More;
    case Phase::DupMmapSem:
      if (!locks.down_write(locks.dup_mmap_sem(), kw)) return Step::Blocked;
      holds_dup_mmap_sem_ = true;
      phase_ = Phase::BuildMapInfo;
      return Step::More;
    case Phase::BuildMapInfo: return build_map_info(m, kw);
    case Phase::MmapLock: return mmap_lock(m, kw);
    case Phase::Install: return install(m, kw);
    case Phase::Finish: return finish(m, kw);
  }
  return Step::Done;
}

RwSemaphore& UprobeRegisterWork::register_rwsem(MachineState& m) {
  return m.locks().register_rwsem(uprobe_, what_);
}

// alloc_uprobe inserts into uprobes_tree under uprobes_treelock (taken and dropped here).
KernelWork::Step UprobeRegisterWork::alloc(MachineState& m, Task& kw) {
  RwSemaphore& tree = m.locks().uprobes_treelock();
  if (!m.locks().down_write(tree, kw)) return Step::Blocked;
  Result<probes::Uprobe*> u = m.uprobes().uprobe_register_prepare(*inode_, offset_, uc_, ref_ctr_offset);
  m.locks().up_write(tree, kw);
  if (!u) {
    error_ = u.error().message;
    done_(u.take_error());
    return Step::Done;
  }
  uprobe_ = u.value();
  phase_ = Phase::RegisterRwsem;
  return Step::More;
}

KernelWork::Step UprobeRegisterWork::build_map_info(MachineState& m, Task& kw) {
  if (walk_.build(m, kw, uprobe_, *inode_, true) == Step::Blocked) return Step::Blocked;
  phase_ = walk_.done() ? Phase::Finish : Phase::MmapLock;
  return Step::More;
}

// The re-validation runs with the install (register_one), under the lock. After a failed
// install the remaining entries are passed over, as Linux's loop stops installing.
KernelWork::Step UprobeRegisterWork::mmap_lock(MachineState& m, Task& kw) {
  if (walk_.lock(m, kw, !err_) == Step::Blocked) return Step::Blocked;
  phase_ = walk_.held() ? Phase::Install : walk_.done() ? Phase::Finish : Phase::MmapLock;
  return Step::More;
}

KernelWork::Step UprobeRegisterWork::install(MachineState& m, Task& kw) {
  const bool revalidate = !m.bug("uprobe_no_revalidate");
  if (walk_.live(m)) err_ = m.uprobes().register_one(uprobe_, uc_, walk_.current(), revalidate);
  walk_.unlock(m, kw);
  phase_ = walk_.done() ? Phase::Finish : Phase::MmapLock;
  return Step::More;
}

KernelWork::Step UprobeRegisterWork::finish(MachineState& m, Task& kw) {
  if (holds_dup_mmap_sem_) m.locks().up_write(m.locks().dup_mmap_sem(), kw);
  holds_dup_mmap_sem_ = false;
  m.locks().up_write(register_rwsem(m), kw);
  if (!err_) {
    error_ = err_.error().message;
    m.uprobes().uprobe_unregister(uprobe_, uc_);
    done_(err_.take_error());
  } else {
    done_(uprobe_);
  }
  return Step::Done;
}

}  // namespace probesim::emu
