// System V semaphores: semget, semop, semtimedop, semctl (ipc/sem.c). A semop applies all of
// its operations or none (perform_atomic_semop); one that cannot proceed blocks the caller on
// the array and re-executes when any value changes. SEM_UNDO adjustments are undone at exit.
#include <cerrno>

#include "emu/ipc/ipc_namespace.h"
#include "emu/machine_state.h"
#include "emu/syscalls/sys_fs_common.h"
#include "emu/syscalls/sys_ipc.h"
#include "emu/syscalls/user_time.h"
#include "emu/virtual_clock.h"
#include "emu/syscalls/syscall_handlers.h"

namespace probesim::emu {
namespace {

constexpr int kSemUndo = 0x1000;
constexpr int kGetPid = 11, kGetVal = 12, kGetAll = 13, kGetNcnt = 14, kGetZcnt = 15;
constexpr int kSetVal = 16, kSetAll = 17;

struct GuestSembuf {
  uint16_t sem_num;
  int16_t sem_op;
  int16_t sem_flg;
};
static_assert(sizeof(GuestSembuf) == 6);

SemArray* find_array(SyscallContext& ctx, int id) {
  return static_cast<SemArray*>(ctx.machine().ipc().sem.find(id));
}

// struct semid64_ds differs: x86_64 pads each time with an unused long
// (arch/x86/include/uapi/asm/sembuf.h), arm64 does not (asm-generic/sembuf.h).
int64_t sem_stat(SyscallContext& ctx, const SemArray& a, uint64_t buf) {
  const bool x86 = ctx.arch() == Arch::X86_64;
  uint64_t words[7] = {};
  size_t i = 0;
  words[i++] = static_cast<uint64_t>(a.otime);
  if (x86) ++i;
  words[i++] = static_cast<uint64_t>(a.ctime);
  if (x86) ++i;
  words[i++] = a.sems.size();
  i += 2;
  const GuestIpc64Perm perm = to_guest(a.perm);
  if (!ctx.write_user(GuestAddr{buf}, &perm, sizeof perm)) return -EFAULT;
  return ctx.write_user(GuestAddr{buf + sizeof perm}, words, i * 8) ? 0 : -EFAULT;
}

// perform_atomic_semop on a copy: 0 (applied), 1 (must wait, *blocking = that op), -ERANGE.
int try_semop(SemArray& a, const std::vector<GuestSembuf>& sops, std::vector<int>* adj,
              const GuestSembuf** blocking) {
  std::vector<int> vals(a.sems.size());
  for (size_t i = 0; i < vals.size(); ++i) vals[i] = a.sems[i].val;
  std::vector<int> undo = adj ? *adj : std::vector<int>{};
  for (const GuestSembuf& op : sops) {
    int& v = vals[op.sem_num];
    if ((op.sem_op == 0 && v != 0) || v + op.sem_op < 0) {
      *blocking = &op;
      return 1;
    }
    v += op.sem_op;
    if (v > kSemVmx) return -ERANGE;
    if (op.sem_flg & kSemUndo) {
      int& u = undo[op.sem_num];
      if (u - op.sem_op < -kSemVmx - 1 || u - op.sem_op > kSemVmx) return -ERANGE;
      u -= op.sem_op;
    }
  }
  for (size_t i = 0; i < vals.size(); ++i) a.sems[i].val = vals[i];
  if (adj) *adj = std::move(undo);
  return 0;
}

// do_semtimedop
int64_t do_semop(SyscallContext& ctx, int id, uint64_t sops_ptr, int64_t nsops, uint64_t tsp) {
  if (nsops < 1 || id < 0) return -EINVAL;
  if (nsops > kSemOpm) return -E2BIG;
  std::vector<GuestSembuf> sops(static_cast<size_t>(nsops));
  if (!ctx.read_user(GuestAddr{sops_ptr}, sops.data(), sops.size() * sizeof(GuestSembuf)))
    return -EFAULT;
  uint64_t deadline = 0;
  if (tsp) {
    auto ns = read_timespec_ns(ctx, tsp);
    if (!ns) return -ns.error().err;
    deadline = ktime_add_safe(ctx.clock().monotonic_ns(), ns.value());
  }
  int max = 0;
  bool undos = false;
  for (const GuestSembuf& op : sops) {
    max = std::max<int>(max, op.sem_num);
    undos |= (op.sem_flg & kSemUndo) != 0;
  }
  SemArray* a = find_array(ctx, id);
  if (a == nullptr) return -EINVAL;
  if (static_cast<size_t>(max) >= a->sems.size()) return -EFBIG;
  std::erase_if(a->waiters, [&](const SemArray::Waiter& w) { return w.task == &ctx.task(); });
  IpcNamespace& ns = ctx.machine().ipc();
  std::vector<int>* adj = undos ? &ns.semadj(ctx.pid(), *a) : nullptr;
  const GuestSembuf* blocking = nullptr;
  const int r = try_semop(*a, sops, adj, &blocking);
  if (r < 0) return r;
  if (r == 0) {
    for (const GuestSembuf& op : sops) a->sems[op.sem_num].pid = ctx.pid();
    a->otime = ipc_now(ctx);
    ipc_wake(ctx, *a);
    return 0;
  }
  if (blocking->sem_flg & kIpcNowait) return -EAGAIN;
  if (deadline && deadline <= ctx.clock().monotonic_ns()) return -EAGAIN;
  a->waiters.push_back(
      SemArray::Waiter{&ctx.task(), ctx.task().tid(), blocking->sem_num, blocking->sem_op == 0});
  return ipc_block(ctx, *a, deadline, -EAGAIN);
}

int64_t sem_getall(SyscallContext& ctx, const SemArray& a, uint64_t buf) {
  std::vector<uint16_t> vals;
  for (const SemArray::Sem& s : a.sems) vals.push_back(static_cast<uint16_t>(s.val));
  return put_user_bytes(ctx, buf, vals.data(), vals.size() * 2);
}

int64_t sem_setall(SyscallContext& ctx, SemArray& a, uint64_t buf) {
  std::vector<uint16_t> vals(a.sems.size());
  if (!ctx.read_user(GuestAddr{buf}, vals.data(), vals.size() * 2)) return -EFAULT;
  for (uint16_t v : vals)
    if (v > kSemVmx) return -ERANGE;
  for (size_t i = 0; i < vals.size(); ++i) a.sems[i] = SemArray::Sem{vals[i], ctx.pid()};
  ctx.machine().ipc().forget_undo(a);
  a.ctime = ipc_now(ctx);
  ipc_wake(ctx, a);
  return 0;
}

int64_t sem_setval(SyscallContext& ctx, SemArray& a, int num, int val) {
  a.sems[static_cast<size_t>(num)] = SemArray::Sem{val, ctx.pid()};
  ctx.machine().ipc().forget_undo(a, num);
  a.ctime = ipc_now(ctx);
  ipc_wake(ctx, a);
  return 0;
}

// The commands on one semaphore or on all (semctl_main / semctl_setval).
int64_t sem_values(SyscallContext& ctx, SemArray& a, int num, int cmd, uint64_t arg) {
  if (cmd == kGetAll) return sem_getall(ctx, a, arg);
  if (cmd == kSetAll) return sem_setall(ctx, a, arg);
  if (num < 0 || static_cast<size_t>(num) >= a.sems.size()) return -EINVAL;
  IpcNamespace& ns = ctx.machine().ipc();
  switch (cmd) {
    case kGetVal: return a.sems[static_cast<size_t>(num)].val;
    case kGetPid: return a.sems[static_cast<size_t>(num)].pid;
    case kGetNcnt: return ns.count_waiters(a, num, false);
    case kGetZcnt: return ns.count_waiters(a, num, true);
    default: return sem_setval(ctx, a, num, static_cast<int>(arg));
  }
}

}  // namespace

// newary: nsems 1..SEMMSL; an existing array must have at least nsems (else EINVAL).
int64_t sys_semget(SyscallContext& ctx, const SyscallArgs& a) {
  const int nsems = arg_int(a.a[1]);
  if (nsems < 0 || nsems > kSemMsl) return -EINVAL;
  auto make = [&](std::unique_ptr<IpcObject>& out) -> int64_t {
    if (nsems == 0) return -EINVAL;
    auto arr = std::make_unique<SemArray>();
    arr->sems.resize(static_cast<size_t>(nsems));
    arr->ctime = ipc_now(ctx);
    out = std::move(arr);
    return 0;
  };
  auto check = [&](IpcObject& obj) -> int64_t {
    return static_cast<size_t>(nsems) > static_cast<SemArray&>(obj).sems.size() ? -EINVAL : 0;
  };
  return ctx.machine().ipc().sem.get(arg_int(a.a[0]), arg_int(a.a[2]), make, check);
}

int64_t sys_semop(SyscallContext& ctx, const SyscallArgs& a) {
  return do_semop(ctx, arg_int(a.a[0]), a.a[1], static_cast<int64_t>(a.a[2] & 0xffffffffu), 0);
}

int64_t sys_semtimedop(SyscallContext& ctx, const SyscallArgs& a) {
  return do_semop(ctx, arg_int(a.a[0]), a.a[1], static_cast<int64_t>(a.a[2] & 0xffffffffu),
                  a.a[3]);
}

// semctl(id, num, cmd, arg): arg is union semun, passed by value (a value or a pointer).
int64_t sys_semctl(SyscallContext& ctx, const SyscallArgs& a) {
  const int id = arg_int(a.a[0]), num = arg_int(a.a[1]), cmd = arg_int(a.a[2]);
  const uint64_t arg = a.a[3];
  if (id < 0) return -EINVAL;
  const bool known = cmd == kIpcStat || cmd == kIpcSet || cmd == kIpcRmid ||
                     (cmd >= kGetPid && cmd <= kSetAll);
  if (!known) return -EINVAL;
  if (cmd == kSetVal && (static_cast<int>(arg) < 0 || static_cast<int>(arg) > kSemVmx))
    return -ERANGE;
  SemArray* arr = find_array(ctx, id);
  if (arr == nullptr) return -EINVAL;
  IpcNamespace& ns = ctx.machine().ipc();
  switch (cmd) {
    case kIpcStat: return sem_stat(ctx, *arr, arg);
    case kIpcSet: {
      GuestIpc64Perm p;
      if (!ctx.read_user(GuestAddr{arg}, &p, sizeof p)) return -EFAULT;
      update_perm(arr->perm, p);
      arr->ctime = ipc_now(ctx);
      return 0;
    }
    case kIpcRmid: {
      ns.forget_undo(*arr);
      std::unique_ptr<IpcObject> gone = ns.sem.remove(id);
      ipc_wake_removed(ctx, *gone);
      return 0;
    }
    default: return sem_values(ctx, *arr, num, cmd, arg);
  }
}

}  // namespace probesim::emu
