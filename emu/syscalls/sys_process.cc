// Process, session, limits and signal-disposition syscalls. Signals are recorded only
// (delivery comes with the scheduler issue). User and group ids: sys_cred.cc.
#include <algorithm>
#include <cerrno>
#include <cstring>

#include "emu/arch_info.h"
#include "emu/cpu.h"
#include "emu/machine_state.h"
#include "emu/process.h"
#include "emu/syscalls/syscall_handlers.h"
#include "emu/uts.h"
#include "emu/virtual_clock.h"

namespace probesim::emu {
namespace {

constexpr uint64_t kSigsetSize = 8;
constexpr uint64_t kRobustListHeadSize = 24;
constexpr int kArchSetGs = 0x1001, kArchSetFs = 0x1002, kArchGetFs = 0x1003, kArchGetGs = 0x1004;
constexpr int kPrSetName = 15, kPrGetName = 16;
constexpr int kTaskCommLen = 16;

int64_t write_u64(SyscallContext& ctx, uint64_t addr, uint64_t v) {
  return ctx.write_user(GuestAddr{addr}, &v, sizeof v) ? 0 : -EFAULT;
}


bool self_or_zero(SyscallContext& ctx, uint64_t pid) {
  return pid == 0 || static_cast<int>(pid) == ctx.pid();
}

}  // namespace

// exit: the calling thread ends (the process ends with its last thread).
int64_t sys_exit(SyscallContext& ctx, const SyscallArgs& a) {
  ctx.machine().exit_task(ctx.task(), static_cast<int>(a.a[0]));
  ctx.disposition = SyscallDisposition::Exited;
  return 0;
}

// exit_group: every thread of the process ends.
int64_t sys_exit_group(SyscallContext& ctx, const SyscallArgs& a) {
  ExitStatus s;
  s.code = static_cast<int>(a.a[0]) & 0xff;
  ctx.machine().exit_process(ctx.proc(), s);
  ctx.disposition = SyscallDisposition::Exited;
  return 0;
}

int64_t sys_getpid(SyscallContext& ctx, const SyscallArgs&) { return ctx.pid(); }
int64_t sys_gettid(SyscallContext& ctx, const SyscallArgs&) { return ctx.task().tid(); }
int64_t sys_getppid(SyscallContext& ctx, const SyscallArgs&) { return ctx.proc().ppid(); }
int64_t sys_getpgrp(SyscallContext& ctx, const SyscallArgs&) { return ctx.proc().pgid; }

int64_t sys_getpgid(SyscallContext& ctx, const SyscallArgs& a) {
  return self_or_zero(ctx, a.a[0]) ? ctx.proc().pgid : -ESRCH;
}

int64_t sys_setpgid(SyscallContext& ctx, const SyscallArgs& a) {
  if (!self_or_zero(ctx, a.a[0])) return -ESRCH;
  int64_t pgid = static_cast<int32_t>(a.a[1]);
  if (pgid < 0) return -EINVAL;
  ctx.proc().pgid = pgid == 0 ? ctx.pid() : static_cast<int>(pgid);
  return 0;
}

int64_t sys_getsid(SyscallContext& ctx, const SyscallArgs& a) {
  return self_or_zero(ctx, a.a[0]) ? ctx.proc().sid : -ESRCH;
}

// setsid: a new session and process group led by the caller, unless it already leads a group.
int64_t sys_setsid(SyscallContext& ctx, const SyscallArgs&) {
  for (Process* p : ctx.machine().processes())
    if (!p->exited() && p->pgid == ctx.pid()) return -EPERM;
  ctx.proc().sid = ctx.pid();
  ctx.proc().pgid = ctx.pid();
  return ctx.pid();
}

int64_t sys_set_tid_address(SyscallContext& ctx, const SyscallArgs& a) {
  ctx.task().clear_child_tid = GuestAddr{a.a[0]};
  return ctx.task().tid();
}

int64_t sys_set_robust_list(SyscallContext& ctx, const SyscallArgs& a) {
  if (a.a[1] != kRobustListHeadSize) return -EINVAL;
  ctx.task().robust_list = GuestAddr{a.a[0]};
  ctx.task().robust_list_len = a.a[1];
  return 0;
}

// get_robust_list(pid, head_ptr, len_ptr) (kernel/futex/syscalls.c): pid 0 is the caller;
// another task of the machine by TID (one user: ptrace_may_access allows it), else ESRCH.
int64_t sys_get_robust_list(SyscallContext& ctx, const SyscallArgs& a) {
  const int pid = static_cast<int>(a.a[0]);
  Task* t = pid ? ctx.machine().live_task(pid) : &ctx.task();
  if (!t) return -ESRCH;
  const uint64_t head = t->robust_list.value, len = kRobustListHeadSize;
  if (!ctx.write_user(GuestAddr{a.a[2]}, &len, sizeof len)) return -EFAULT;
  if (!ctx.write_user(GuestAddr{a.a[1]}, &head, sizeof head)) return -EFAULT;
  return 0;
}

// rseq registration: recorded, and cpu_id_start/cpu_id (offsets 0 and 4 of struct rseq) set to
// the CPU the task runs on, as the kernel does on return to user mode.
int64_t sys_rseq(SyscallContext& ctx, const SyscallArgs& a) {
  constexpr uint64_t kRseqUnregister = 1;
  if (a.a[2] & kRseqUnregister) {
    if (ctx.task().rseq_area.value != a.a[0]) return -EINVAL;
    ctx.task().rseq_area = GuestAddr{0};
    return 0;
  }
  if (ctx.task().rseq_area.value != 0) return ctx.task().rseq_area.value == a.a[0] ? -EBUSY : -EINVAL;
  if (a.a[1] < 32 || (a.a[0] & 31)) return -EINVAL;
  uint32_t cpu[2] = {0, 0};
  if (!ctx.write_user(GuestAddr{a.a[0]}, cpu, sizeof cpu)) return -EFAULT;
  ctx.task().rseq_area = GuestAddr{a.a[0]};
  return 0;
}

// kernel/sys.c do_prlimit: EINVAL for cur > max; EPERM for an RLIMIT_NOFILE max above
// nr_open, which is the machine's file limit here (Limits::files). The guest is root
// (CAP_SYS_RESOURCE), so raising a hard limit is otherwise allowed.
int64_t sys_prlimit64(SyscallContext& ctx, const SyscallArgs& a) {
  if (!self_or_zero(ctx, a.a[0])) return -ESRCH;
  if (a.a[1] >= Process::kRlimits) return -EINVAL;
  const int resource = static_cast<int>(a.a[1]);
  const Rlimit old = ctx.proc().rlimits[a.a[1]];
  if (a.a[2]) {
    Rlimit n;
    if (!ctx.read_user(GuestAddr{a.a[2]}, &n, sizeof n)) return -EFAULT;
    if (n.cur > n.max) return -EINVAL;
    if (resource == Process::kRlimitNofile && n.max > ctx.machine().limits().limits().files) {
      return -EPERM;
    }
    ctx.proc().set_rlimit(resource, n);
    if (resource == Process::kRlimitStack) ctx.machine().stack_rlimit_changed(ctx.proc());
  }
  if (a.a[3] && !ctx.write_user(GuestAddr{a.a[3]}, &old, sizeof old)) return -EFAULT;
  return 0;
}

int64_t sys_getrlimit(SyscallContext& ctx, const SyscallArgs& a) {
  SyscallArgs p;
  p.a[0] = 0; p.a[1] = a.a[0]; p.a[2] = 0; p.a[3] = a.a[1];
  return sys_prlimit64(ctx, p);
}

int64_t sys_setrlimit(SyscallContext& ctx, const SyscallArgs& a) {
  SyscallArgs p;
  p.a[0] = 0; p.a[1] = a.a[0]; p.a[2] = a.a[1]; p.a[3] = 0;
  return sys_prlimit64(ctx, p);
}

// getrusage(who, ru): ru_utime/ru_stime from the modelled CPU time (read as guest time:
// recorded) and the context switches; the memory, fault and I/O counters are not modelled (0).
int64_t sys_getrusage(SyscallContext& ctx, const SyscallArgs& a) {
  constexpr int kSelf = 0, kChildren = -1, kThread = 1;
  const int64_t who = static_cast<int32_t>(a.a[0]);
  if (who != kSelf && who != kChildren && who != kThread) return -EINVAL;
  MachineState& m = ctx.machine();
  Process& p = ctx.proc();
  CpuTime cpu{p.cutime, p.cstime};
  uint64_t nvcsw = 0, nivcsw = 0;
  if (who != kChildren) {
    cpu = who == kSelf ? m.process_cputime(p) : m.task_cputime(ctx.task());
    for (const auto& t : p.tasks())
      if (who == kSelf || t.get() == &ctx.task()) nvcsw += t->nvcsw, nivcsw += t->nivcsw;
  }
  struct {
    int64_t utime[2], stime[2];
    int64_t longs[14];  // maxrss ... nsignals, nvcsw (12), nivcsw (13)
  } ru{};
  const uint64_t u = m.guest_time_read(m.cputime_ns(cpu.user)) / 1000;
  const uint64_t s = m.guest_time_read(m.cputime_ns(cpu.system)) / 1000;
  ru.utime[0] = static_cast<int64_t>(u / 1'000'000), ru.utime[1] = static_cast<int64_t>(u % 1'000'000);
  ru.stime[0] = static_cast<int64_t>(s / 1'000'000), ru.stime[1] = static_cast<int64_t>(s % 1'000'000);
  ru.longs[12] = static_cast<int64_t>(nvcsw), ru.longs[13] = static_cast<int64_t>(nivcsw);
  return ctx.write_user(GuestAddr{a.a[1]}, &ru, sizeof ru) ? 0 : -EFAULT;
}

int64_t sys_uname(SyscallContext& ctx, const SyscallArgs& a) {
  constexpr size_t kField = 65;
  char u[6][kField] = {};
  const std::string_view fields[6] = {uts::kSysname, uts::kNodename, uts::kRelease, uts::kVersion,
                                      arch_info(ctx.arch()).uname_machine, uts::kDomainname};
  for (int i = 0; i < 6; ++i)
    std::memcpy(u[i], fields[i].data(), std::min(fields[i].size(), kField - 1));
  return ctx.write_user(GuestAddr{a.a[0]}, u, sizeof u) ? 0 : -EFAULT;
}

int64_t sys_arch_prctl(SyscallContext& ctx, const SyscallArgs& a) {
  UserRegs regs = ctx.regs();
  UserRegs* cpu = &regs;
  switch (static_cast<int>(a.a[0])) {
    case kArchSetFs: cpu->set_reg(UC_X86_REG_FS_BASE, a.a[1]); return 0;
    case kArchSetGs: cpu->set_reg(UC_X86_REG_GS_BASE, a.a[1]); return 0;
    case kArchGetFs: return write_u64(ctx, a.a[1], cpu->reg(UC_X86_REG_FS_BASE));
    case kArchGetGs: return write_u64(ctx, a.a[1], cpu->reg(UC_X86_REG_GS_BASE));
    default: return -EINVAL;  // CET, XCOMP and friends: not modelled
  }
}

int64_t sys_prctl(SyscallContext& ctx, const SyscallArgs& a) {
  char name[kTaskCommLen] = {};
  switch (static_cast<int>(a.a[0])) {
    case kPrSetName:
      if (!ctx.read_user(GuestAddr{a.a[1]}, name, kTaskCommLen - 1)) return -EFAULT;
      ctx.proc().comm = std::string(name, strnlen(name, kTaskCommLen - 1));
      return 0;
    case kPrGetName:
      std::memcpy(name, ctx.proc().comm.data(), std::min<size_t>(ctx.proc().comm.size(), 15));
      return ctx.write_user(GuestAddr{a.a[1]}, name, kTaskCommLen) ? 0 : -EFAULT;
    default:
      return -EINVAL;
  }
}

int64_t sys_rt_sigaction(SyscallContext& ctx, const SyscallArgs& a) {
  int sig = static_cast<int>(a.a[0]);
  if (a.a[3] != kSigsetSize || sig < 1 || sig > Process::kNsig) return -EINVAL;
  if (a.a[1] && (sig == kSigKill || sig == kSigStop)) return -EINVAL;
  KSigaction& cur = ctx.proc().sigactions[sig];
  KSigaction old = cur;
  if (a.a[1]) {
    KSigaction n;
    if (!ctx.read_user(GuestAddr{a.a[1]}, &n, sizeof n)) return -EFAULT;
    cur = n;
    Cpu* cpu = ctx.proc().cpu();
    if (cpu && (sig == kSigSegv || sig == kSigBus)) {
      // Exact fault PCs from the next quantum on (Cpu::set_precise_faults): end this one now.
      cpu->set_precise_faults(ctx.proc().handles_fault_signals());
      cpu->end_quantum();
    }
  }
  if (a.a[2] && !ctx.write_user(GuestAddr{a.a[2]}, &old, sizeof old)) return -EFAULT;
  return 0;
}

int64_t sys_rt_sigprocmask(SyscallContext& ctx, const SyscallArgs& a) {
  // A signal this unblocks is delivered before the next user instruction (on_syscall stops).

  if (a.a[3] != kSigsetSize) return -EINVAL;
  uint64_t& mask = ctx.task().sigmask;
  uint64_t old = mask;
  if (a.a[1]) {
    uint64_t set;
    if (!ctx.read_user(GuestAddr{a.a[1]}, &set, sizeof set)) return -EFAULT;
    switch (a.a[0]) {
      case 0: mask |= set; break;   // SIG_BLOCK
      case 1: mask &= ~set; break;  // SIG_UNBLOCK
      case 2: mask = set; break;    // SIG_SETMASK
      default: return -EINVAL;
    }
    mask &= ~kUnblockable;
  }
  return a.a[2] ? write_u64(ctx, a.a[2], old) : 0;
}

// sigaltstack(ss, old_ss): the new stack is read first (EFAULT changes nothing), the old one
// is written last with the flags seen from the current sp (kernel/signal.c do_sigaltstack).
int64_t sys_sigaltstack(SyscallContext& ctx, const SyscallArgs& a) {
  struct StackT {
    uint64_t sp;
    int32_t flags;
    int32_t pad;
    uint64_t size;
  };
  AltStack& cur = ctx.task().altstack;
  const uint64_t sp = ctx.regs().reg(arch_info(ctx.arch()).reg_sp);
  const StackT old{cur.sp, static_cast<int32_t>(cur.ss_flags(sp) | (cur.flags & kSsAutodisarm)), 0,
                   cur.size};
  if (a.a[0]) {
    StackT ss;
    if (!ctx.read_user(GuestAddr{a.a[0]}, &ss, sizeof ss)) return -EFAULT;
    const AltStack want{ss.sp, ss.size, static_cast<uint32_t>(ss.flags)};
    if (int err = change_altstack(cur, want, sp, arch_info(ctx.arch()).minsigstksz)) return err;
  }
  if (a.a[1] && !ctx.write_user(GuestAddr{a.a[1]}, &old, sizeof old)) return -EFAULT;
  return 0;
}

int64_t sys_sched_getaffinity(SyscallContext& ctx, const SyscallArgs& a) {
  if (!self_or_zero(ctx, a.a[0])) return -ESRCH;
  if (a.a[1] < 8 || (a.a[1] & 7)) return -EINVAL;
  int n = ctx.machine().sched().ncpus();
  uint64_t mask = n >= 64 ? ~0ull : (1ull << n) - 1;
  return ctx.write_user(GuestAddr{a.a[2]}, &mask, sizeof mask) ? 8 : -EFAULT;
}

// sched_yield: the caller's quantum ends at its next user-mode block boundary, so another
// runnable task of its CPU gets a turn (do_sched_yield's schedule()); alone, it runs on.
int64_t sys_sched_yield(SyscallContext& ctx, const SyscallArgs&) {
  if (Cpu* cpu = ctx.proc().cpu()) cpu->end_quantum();
  return 0;
}

int64_t sys_getcpu(SyscallContext& ctx, const SyscallArgs& a) {
  uint32_t cpu = static_cast<uint32_t>(ctx.machine().sched().running_cpu()), node = 0;
  if (a.a[0] && !ctx.write_user(GuestAddr{a.a[0]}, &cpu, sizeof cpu)) return -EFAULT;
  if (a.a[1] && !ctx.write_user(GuestAddr{a.a[1]}, &node, sizeof node)) return -EFAULT;
  return 0;
}

int64_t sys_sysinfo(SyscallContext& ctx, const SyscallArgs& a) {
  // struct sysinfo (112 bytes on 64-bit): a fixed 4 GiB machine, uptime from the clock.
  uint8_t si[112] = {};
  int64_t uptime = ctx.clock().monotonic().sec;
  uint64_t totalram = 4ull << 30, freeram = 3ull << 30;
  uint32_t mem_unit = 1;
  uint16_t procs = 1;
  std::memcpy(si + 0, &uptime, 8);
  std::memcpy(si + 32, &totalram, 8);
  std::memcpy(si + 40, &freeram, 8);
  std::memcpy(si + 80, &procs, 2);
  std::memcpy(si + 104, &mem_unit, 4);
  return ctx.write_user(GuestAddr{a.a[0]}, si, sizeof si) ? 0 : -EFAULT;
}

}  // namespace probesim::emu
