#include "emu/ipc/ipc_namespace.h"

#include <algorithm>

#include "emu/scheduler.h"
#include "emu/wait_queues.h"

namespace probesim::emu {

std::vector<int>& IpcNamespace::semadj(int pid, const SemArray& a) {
  std::vector<int>& adj = undo_[pid][a.perm.id];
  adj.resize(a.sems.size());
  return adj;
}

void IpcNamespace::forget_undo(const SemArray& a, int num) {
  for (auto& [pid, arrays] : undo_) {
    auto it = arrays.find(a.perm.id);
    if (it == arrays.end()) continue;
    if (num < 0) {
      arrays.erase(it);
    } else if (static_cast<size_t>(num) < it->second.size()) {
      it->second[static_cast<size_t>(num)] = 0;
    }
  }
}

void IpcNamespace::exit_sem(int pid) {
  auto it = undo_.find(pid);
  if (it == undo_.end()) return;
  for (auto& [id, adj] : it->second) {
    auto* a = static_cast<SemArray*>(sem.find(id));
    if (a == nullptr) continue;  // removed meanwhile
    for (size_t i = 0; i < adj.size() && i < a->sems.size(); ++i) {
      if (adj[i] == 0) continue;
      a->sems[i].val = std::clamp(a->sems[i].val + adj[i], 0, kSemVmx);
      a->sems[i].pid = pid;
    }
    wq_.wake_all(a, sched_);
  }
  undo_.erase(it);
}

ShmSegment* IpcNamespace::segment_of(const mmu::Inode* inode) const {
  ShmSegment* found = nullptr;
  shm.for_each([&](IpcObject& o) {
    auto& s = static_cast<ShmSegment&>(o);
    if (s.file.get() == inode) found = &s;
  });
  return found;
}

void IpcNamespace::reap_segments() {
  std::vector<int> gone;
  shm.for_each([&](IpcObject& o) {
    auto& s = static_cast<ShmSegment&>(o);
    if ((s.perm.mode & ShmSegment::kShmDest) && s.nattch() == 0) gone.push_back(s.perm.id);
  });
  for (int id : gone) shm.remove(id);
}

int IpcNamespace::count_waiters(SemArray& a, int num, bool for_zero) const {
  std::erase_if(a.waiters, [&](const SemArray::Waiter& w) {
    return !wq_.contains(&a, static_cast<const Task*>(w.task));
  });
  return static_cast<int>(std::count_if(a.waiters.begin(), a.waiters.end(), [&](const auto& w) {
    return w.num == num && w.for_zero == for_zero;
  }));
}

}  // namespace probesim::emu
