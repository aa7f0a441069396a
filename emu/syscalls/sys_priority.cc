// getpriority/setpriority (kernel/sys.c): the nice value of tasks chosen by PRIO_PROCESS (one
// task; 0: the caller), PRIO_PGRP (every task of a process group; 0: the caller's) or
// PRIO_USER (every task whose process's real uid is `who`; 0: the caller's real uid). The
// nice value is kept per task (Task::nice) and shown in /proc; the model's scheduling
// strategies do not weight tasks by it.
#include <algorithm>
#include <cerrno>
#include <vector>

#include "emu/machine_state.h"
#include "emu/syscalls/syscall_handlers.h"

namespace probesim::emu {
namespace {

constexpr int kPrioProcess = 0, kPrioPgrp = 1, kPrioUser = 2;
constexpr int kMinNice = -20, kMaxNice = 19;
constexpr int kRlimitNice = 13;

// The live tasks `which`/`who` names (find_task_by_vpid, do_each_pid_thread, for_each_thread).
std::vector<Task*> targets(SyscallContext& ctx, int which, int who) {
  std::vector<Task*> out;
  if (which == kPrioProcess) {
    if (who == 0) return {&ctx.task()};
    for (Process* p : ctx.machine().processes())
      if (Task* t = p->exited() ? nullptr : p->task(who); t && t->state != TaskState::Dead)
        out.push_back(t);
    return out;
  }
  const int pgid = who == 0 ? ctx.proc().pgid : who;
  const uint32_t uid = who == 0 ? ctx.proc().cred.uid.real : static_cast<uint32_t>(who);
  for (Process* p : ctx.machine().processes()) {
    if (p->exited()) continue;
    if (which == kPrioPgrp ? p->pgid != pgid : p->cred.uid.real != uid) continue;
    for (auto& t : p->tasks())
      if (t->state != TaskState::Dead) out.push_back(t.get());
  }
  return out;
}

// set_one_prio: 0, or -EPERM (another user's task without CAP_SYS_NICE), -EACCES (a lower
// nice than the task has, beyond RLIMIT_NICE without CAP_SYS_NICE).
int64_t set_one(SyscallContext& ctx, Task& t, int nice) {
  const Cred& me = ctx.proc().cred;
  const Cred& them = t.proc().cred;
  const bool cap = me.capable();
  if (!cap && them.uid.real != me.uid.eff && them.uid.eff != me.uid.eff) return -EPERM;
  const uint64_t rlim = t.proc().rlimits[kRlimitNice].cur;  // nice_rlim: 20 - nice
  if (nice < t.nice && !cap && static_cast<uint64_t>(20 - nice) > rlim) return -EACCES;
  t.nice = nice;
  return 0;
}

}  // namespace

int64_t sys_setpriority(SyscallContext& ctx, const SyscallArgs& a) {
  const int which = static_cast<int32_t>(a.a[0]), who = static_cast<int32_t>(a.a[1]);
  if (which < kPrioProcess || which > kPrioUser) return -EINVAL;
  const int nice = std::clamp(static_cast<int32_t>(a.a[2]), kMinNice, kMaxNice);
  int64_t error = -ESRCH;
  for (Task* t : targets(ctx, which, who)) {
    const int64_t r = set_one(ctx, *t, nice);
    if (r != 0 || error == -ESRCH) error = r;
  }
  return error;
}

// The highest priority among the tasks as 20 - nice (1..40); glibc returns 20 - that.
int64_t sys_getpriority(SyscallContext& ctx, const SyscallArgs& a) {
  const int which = static_cast<int32_t>(a.a[0]), who = static_cast<int32_t>(a.a[1]);
  if (which < kPrioProcess || which > kPrioUser) return -EINVAL;
  int64_t best = -ESRCH;
  for (Task* t : targets(ctx, which, who)) best = std::max<int64_t>(best, 20 - t->nice);
  return best;
}

}  // namespace probesim::emu
