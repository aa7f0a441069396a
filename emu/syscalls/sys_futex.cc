// futex(2) (kernel/futex/syscalls.c, waitwake.c, requeue.c, pi.c) on the machine's FutexTable:
// wait/wake/requeue with bitsets, WAKE_OP, and PI futexes (LOCK_PI, LOCK_PI2, TRYLOCK_PI,
// UNLOCK_PI, WAIT_REQUEUE_PI, CMP_REQUEUE_PI). Keys follow get_futex_key (futex_key.h), so
// futexes without FUTEX_PRIVATE_FLAG work across processes on MAP_SHARED memory.
//
// Timeouts run on the virtual clock. Blocking handlers set SyscallDisposition::Blocked; the waker
// supplies the return value (Scheduler::wake). All tasks have one priority, so a PI futex's
// waiters are served in FIFO order and priority inheritance changes nothing observable.
#include <cerrno>

#include "emu/futex_key.h"
#include "emu/futex_pi.h"
#include "emu/machine_state.h"
#include "emu/syscalls/syscall_handlers.h"
#include "emu/syscalls/user_time.h"

namespace probesim::emu {
namespace {

enum FutexOp {
  kWait = 0, kWake = 1, kRequeue = 3, kCmpRequeue = 4, kWakeOp = 5, kLockPi = 6, kUnlockPi = 7,
  kTrylockPi = 8, kWaitBitset = 9, kWakeBitset = 10, kWaitRequeuePi = 11, kCmpRequeuePi = 12,
  kLockPi2 = 13,
};
constexpr int kFutexPrivate = 128, kFutexClockRealtime = 256;
constexpr uint32_t kBitsetMatchAny = 0xffffffff;

// One futex call: the decoded op and its arguments (uaddr, val, timeout/val2, uaddr2, val3).
struct Call {
  SyscallContext& ctx;
  int op;
  bool shared, realtime;
  uint64_t uaddr, val, timeout, uaddr2, val3;

  FutexTable::Key key(uint64_t at) const { return futex_key(ctx.mm(), at, shared); }
  FutexTable& table() const { return ctx.machine().futexes(); }
  int32_t val2() const { return static_cast<int32_t>(timeout); }  // the timeout slot as a count
};

bool get_word(Call& c, uint64_t at, uint32_t& v) { return c.ctx.read_user(GuestAddr{at}, &v, 4); }
bool put_word(Call& c, uint64_t at, uint32_t v) { return c.ctx.write_user(GuestAddr{at}, &v, 4); }

// futex_init_timeout: the deadline on the monotonic clock (0: none). FUTEX_WAIT's timeout is
// relative; the others are absolute, on CLOCK_REALTIME for LOCK_PI or with the flag, else
// CLOCK_MONOTONIC.
Result<uint64_t> deadline_of(Call& c) {
  if (!c.timeout) return uint64_t{0};
  const uint64_t t = PROBESIM_TRY(read_timespec_ns(c.ctx, c.timeout));
  const VirtualClock& clock = c.ctx.clock();
  if (c.op == kWait) return ktime_add_safe(clock.monotonic_ns(), t);
  if (c.op != kLockPi && !c.realtime) return t;
  const uint64_t epoch_ns = static_cast<uint64_t>(clock.epoch_sec()) * 1'000'000'000u;
  return t > epoch_ns ? t - epoch_ns : 0;
}

// Queue the caller on `key` and block it until a waker, the deadline or (as the flag says) a
// signal. PI waits restart after a signal handler (-ERESTARTNOINTR).
int64_t block_on(Call& c, FutexTable::Key key, FutexTable::Waiter w, uint64_t deadline) {
  if (deadline && deadline <= c.ctx.clock().monotonic_ns()) return -ETIMEDOUT;
  w.task = &c.ctx.task();
  c.table().enqueue(key, w);
  WaitInfo wait{WaitInfo::Kind::Futex, deadline, -ETIMEDOUT};
  wait.restart_noint = w.kind != FutexWaitKind::Plain;
  c.ctx.machine().sched().block(c.ctx.task(), wait);
  c.ctx.disposition = SyscallDisposition::Blocked;
  return 0;
}

// FUTEX_WAIT / FUTEX_WAIT_BITSET / FUTEX_WAIT_REQUEUE_PI: block if *uaddr == val.
int64_t futex_wait(Call& c, uint32_t bitset, FutexWaitKind kind) {
  if (bitset == 0) return -EINVAL;
  if (kind == FutexWaitKind::RequeuePi && c.key(c.uaddr) == c.key(c.uaddr2)) return -EINVAL;
  uint32_t cur;
  if (!get_word(c, c.uaddr, cur)) return -EFAULT;
  if (cur != static_cast<uint32_t>(c.val)) return -EAGAIN;
  auto deadline = deadline_of(c);
  if (!deadline) return -deadline.error().err;
  return block_on(c, c.key(c.uaddr),
                  FutexTable::Waiter{nullptr, bitset, kind, c.uaddr, c.key(c.uaddr2), c.uaddr2},
                  deadline.value());
}

int64_t wake_key(Call& c, FutexTable::Key key, int64_t n, uint32_t bitset) {
  if (bitset == 0) return -EINVAL;
  bool pi_seen = false;
  auto woken = c.table().dequeue(key, n, bitset, &pi_seen);
  for (Task* t : woken) c.ctx.machine().sched().wake(*t, 0);
  return pi_seen ? -EINVAL : static_cast<int64_t>(woken.size());  // futex_wake on a PI waiter
}

int64_t futex_requeue(Call& c, bool cmp) {
  if (static_cast<int32_t>(c.val) < 0 || c.val2() < 0) return -EINVAL;
  if (cmp) {
    uint32_t cur;
    if (!get_word(c, c.uaddr, cur)) return -EFAULT;
    if (cur != static_cast<uint32_t>(c.val3)) return -EAGAIN;
  }
  int64_t woken = wake_key(c, c.key(c.uaddr), static_cast<int32_t>(c.val), kBitsetMatchAny);
  if (woken < 0) return woken;
  return woken + c.table().requeue(c.key(c.uaddr), c.key(c.uaddr2), c.val2());
}

// FUTEX_WAKE_OP: *uaddr2 = op(*uaddr2, oparg); wake val on uaddr, and val2 on uaddr2 if the old
// value compares true with cmparg (futex_atomic_op_inuser).
int64_t futex_wake_op(Call& c) {
  const uint32_t enc = static_cast<uint32_t>(c.val3);
  uint32_t op = (enc >> 28) & 15, cmp = (enc >> 24) & 15;
  int32_t oparg = static_cast<int32_t>(enc << 8) >> 20;
  const int32_t cmparg = static_cast<int32_t>(enc << 20) >> 20;
  if (op & 8) oparg = static_cast<int32_t>(1u << (oparg & 31));  // FUTEX_OP_OPARG_SHIFT
  op &= 7;
  uint32_t old;
  if (!get_word(c, c.uaddr2, old)) return -EFAULT;
  const uint32_t arg = static_cast<uint32_t>(oparg);
  static constexpr uint32_t (*kOps[])(uint32_t, uint32_t) = {
      [](uint32_t, uint32_t a) { return a; },     [](uint32_t o, uint32_t a) { return o + a; },
      [](uint32_t o, uint32_t a) { return o | a; }, [](uint32_t o, uint32_t a) { return o & ~a; },
      [](uint32_t o, uint32_t a) { return o ^ a; }};
  if (op >= std::size(kOps)) return -ENOSYS;
  if (!put_word(c, c.uaddr2, kOps[op](old, arg))) return -EFAULT;
  const int32_t o = static_cast<int32_t>(old);
  const bool results[] = {o == cmparg, o != cmparg, o < cmparg, o <= cmparg, o > cmparg, o >= cmparg};
  if (cmp >= std::size(results)) return -ENOSYS;
  int64_t n = wake_key(c, c.key(c.uaddr), static_cast<int32_t>(c.val), kBitsetMatchAny);
  if (n < 0) return n;
  if (results[cmp]) {
    int64_t n2 = wake_key(c, c.key(c.uaddr2), c.val2(), kBitsetMatchAny);
    if (n2 < 0) return n2;
    n += n2;
  }
  return n;
}

// futex_lock_pi_atomic for task `tid`: 1 acquired, 0 owned by another live task (FUTEX_WAITERS
// now set), <0 an error: EDEADLK (own it), ESRCH (the owner TID is no live task).
int64_t lock_pi_atomic(Call& c, uint64_t at, int tid, bool set_waiters) {
  uint32_t uval;
  if (!get_word(c, at, uval)) return -EFAULT;
  const uint32_t owner = uval & kFutexTidMask;
  if (owner == static_cast<uint32_t>(tid)) return -EDEADLK;
  if (owner == 0) {
    uint32_t nval = (uval & kFutexOwnerDied) | static_cast<uint32_t>(tid);
    if (set_waiters) nval |= kFutexWaiters;
    return put_word(c, at, nval) ? 1 : -EFAULT;
  }
  if (!c.ctx.machine().live_task(static_cast<int>(owner))) return -ESRCH;  // attach_to_pi_owner
  return put_word(c, at, uval | kFutexWaiters) ? 0 : -EFAULT;
}

// FUTEX_LOCK_PI / LOCK_PI2 / TRYLOCK_PI.
int64_t futex_lock_pi(Call& c, bool trylock) {
  auto deadline = deadline_of(c);
  if (!deadline) return -deadline.error().err;
  int64_t r = lock_pi_atomic(c, c.uaddr, c.ctx.task().tid(), false);
  if (r != 0) return r < 0 ? r : 0;
  if (trylock) return -EWOULDBLOCK;
  return block_on(c, c.key(c.uaddr), FutexTable::Waiter{nullptr, kBitsetMatchAny,
                                                         FutexWaitKind::Pi, c.uaddr, {}},
                  deadline.value());
}

// FUTEX_UNLOCK_PI: only the owner; the first waiter gets the futex, else the word becomes 0.
int64_t futex_unlock_pi(Call& c) {
  uint32_t uval;
  if (!get_word(c, c.uaddr, uval)) return -EFAULT;
  if ((uval & kFutexTidMask) != static_cast<uint32_t>(c.ctx.task().tid())) return -EPERM;
  if (futex_pi_handoff(c.ctx.machine(), c.key(c.uaddr), 0)) return 0;
  return put_word(c, c.uaddr, 0) ? 0 : -EFAULT;
}

// FUTEX_CMP_REQUEUE_PI: wake exactly one WAIT_REQUEUE_PI waiter of uaddr by taking the PI futex
// uaddr2 for it if it is free, and requeue up to val2 more onto uaddr2 as its PI waiters.
int64_t futex_cmp_requeue_pi(Call& c) {
  const FutexTable::Key from = c.key(c.uaddr), to = c.key(c.uaddr2);
  if (c.val != 1 || c.val2() < 0 || from == to) return -EINVAL;
  uint32_t cur;
  if (!get_word(c, c.uaddr, cur)) return -EFAULT;
  if (cur != static_cast<uint32_t>(c.val3)) return -EAGAIN;
  int64_t done = 0;
  if (const FutexTable::Waiter* top = c.table().front(from)) {
    if (top->kind != FutexWaitKind::RequeuePi || top->pi_key != to) return -EINVAL;
    int64_t r = lock_pi_atomic(c, c.uaddr2, top->task->tid(), true);
    if (r < 0) return r;
    if (r == 1) {
      c.ctx.machine().sched().wake(*c.table().pop_front(from)->task, 0);
      done = 1;
    }
  }
  for (int64_t n = 0; n < c.val2(); ++n) {
    const FutexTable::Waiter* w = c.table().front(from);
    if (!w) break;
    if (w->kind != FutexWaitKind::RequeuePi || w->pi_key != to) return done ? done : -EINVAL;
    FutexTable::Waiter moved = *c.table().pop_front(from);
    moved.kind = FutexWaitKind::Pi;
    moved.uaddr = moved.pi_uaddr;  // uaddr2 as the waiter gave it, in its own mm
    c.table().enqueue(to, moved);
    uint32_t uval;
    if (get_word(c, c.uaddr2, uval)) put_word(c, c.uaddr2, uval | kFutexWaiters);
    ++done;
  }
  return done;
}

int64_t dispatch(Call& c) {
  switch (c.op) {
    case kWait: return futex_wait(c, kBitsetMatchAny, FutexWaitKind::Plain);
    case kWaitBitset:
      return futex_wait(c, static_cast<uint32_t>(c.val3), FutexWaitKind::Plain);
    case kWaitRequeuePi: return futex_wait(c, kBitsetMatchAny, FutexWaitKind::RequeuePi);
    case kWake: return wake_key(c, c.key(c.uaddr), static_cast<int32_t>(c.val), kBitsetMatchAny);
    case kWakeBitset:
      return wake_key(c, c.key(c.uaddr), static_cast<int32_t>(c.val), static_cast<uint32_t>(c.val3));
    case kRequeue: return futex_requeue(c, false);
    case kCmpRequeue: return futex_requeue(c, true);
    case kWakeOp: return futex_wake_op(c);
    case kLockPi:
    case kLockPi2: return futex_lock_pi(c, false);
    case kTrylockPi: return futex_lock_pi(c, true);
    case kUnlockPi: return futex_unlock_pi(c);
    case kCmpRequeuePi: return futex_cmp_requeue_pi(c);
    default: return -ENOSYS;
  }
}

}  // namespace

int64_t sys_futex(SyscallContext& ctx, const SyscallArgs& a) {
  const int raw = static_cast<int>(a.a[1]);
  const int op = raw & ~(kFutexPrivate | kFutexClockRealtime);
  const bool realtime = raw & kFutexClockRealtime;
  // futex_cmd_has_timeout's companions: CLOCK_REALTIME only where a clock is chosen.
  if (realtime && op != kWaitBitset && op != kWaitRequeuePi && op != kLockPi2) return -ENOSYS;
  Call c{ctx, op, !(raw & kFutexPrivate), realtime, a.a[0], a.a[2], a.a[3], a.a[4], a.a[5]};
  return dispatch(c);
}

}  // namespace probesim::emu
