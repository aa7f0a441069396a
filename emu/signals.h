// Signals: dispositions, pending sets and Linux's default actions, as data. Delivery and
// frames live in MachineState (machine_signals.cc) and signal_frame.cc.
//
// Pending signals: a per-task set (tgkill, faults) and a per-process set (kill). A standard
// signal is pending once (a second one is dropped, keeping the first's siginfo: legacy_queue);
// real-time signals (>= SIGRTMIN, 32) queue every instance in order. A task takes the
// lowest-numbered unblocked signal from its own set first, then the process's, on every
// return to user mode.
#pragma once

#include <array>
#include <cstdint>
#include <algorithm>
#include <vector>

namespace probesim::emu {

inline constexpr int kSigHup = 1, kSigInt = 2, kSigQuit = 3, kSigIll = 4, kSigTrap = 5;
inline constexpr int kSigAbrt = 6, kSigBus = 7, kSigFpe = 8, kSigKill = 9, kSigUsr1 = 10;
inline constexpr int kSigSegv = 11, kSigUsr2 = 12, kSigPipe = 13, kSigAlrm = 14, kSigTerm = 15;
inline constexpr int kSigChld = 17, kSigCont = 18, kSigStop = 19, kSigVtalrm = 26, kSigProf = 27;
inline constexpr int kNsig = 64;
inline constexpr int kSigRtmin = 32;  // the kernel's SIGRTMIN (libcs reserve 32..34)

inline constexpr uint64_t kSigDfl = 0, kSigIgn = 1;
inline constexpr uint64_t kSaSiginfo = 0x4, kSaRestorer = 0x04000000, kSaOnstack = 0x08000000;
inline constexpr uint64_t kSaRestart = 0x10000000, kSaNodefer = 0x40000000;
inline constexpr uint64_t kSaResethand = 0x80000000;

// si_code values
inline constexpr int kSiUser = 0, kSiKernel = 0x80, kSiQueue = -1, kSiTimer = -2, kSiTkill = -6;
inline constexpr int kCldExited = 1, kCldKilled = 2, kCldDumped = 3, kCldStopped = 5;
inline constexpr int kCldContinued = 6;
inline constexpr uint64_t kSaNocldstop = 0x1;  // sa_flags: no SIGCHLD when a child stops/continues

enum class SigDefault { Term, Core, Ignore, Stop };
SigDefault default_action(int sig);

inline constexpr uint64_t sig_bit(int sig) { return uint64_t{1} << (sig - 1); }
inline constexpr uint64_t kUnblockable = sig_bit(kSigKill) | sig_bit(kSigStop);
// SIGSTOP, SIGTSTP, SIGTTIN, SIGTTOU (include/linux/signal.h SIG_KERNEL_STOP_MASK).
inline constexpr uint64_t kStopSignals = sig_bit(kSigStop) | sig_bit(20) | sig_bit(21) | sig_bit(22);

// A task's sigaltstack (kernel/signal.c: sas_ss_sp, sas_ss_size, sas_ss_flags; stack_t's
// ss_flags values).
inline constexpr uint32_t kSsOnstack = 1, kSsDisable = 2, kSsAutodisarm = 1u << 31;
struct AltStack {
  uint64_t sp = 0;
  uint64_t size = 0;            // 0: none (disabled)
  uint32_t flags = kSsDisable;  // as given to sigaltstack; a frame's uc_stack.ss_flags
  // on_sig_stack(at): `at` within (sp, sp + size], the stack growing down; never while
  // SS_AUTODISARM is set (the stack was disarmed on entry).
  bool on_stack(uint64_t at) const {
    return !(flags & kSsAutodisarm) && at > sp && at - sp <= size;
  }
  // sas_ss_flags(at): SS_DISABLE, SS_ONSTACK or 0.
  uint32_t ss_flags(uint64_t at) const {
    if (size == 0) return kSsDisable;
    return on_stack(at) ? kSsOnstack : 0;
  }
};

// kernel/signal.c do_sigaltstack, the change: -EPERM while running on `cur` (at sp), -EINVAL
// for a mode other than 0, SS_ONSTACK or SS_DISABLE (SS_AUTODISARM may be added), -ENOMEM for
// a size below min_size (MINSIGSTKSZ); SS_DISABLE clears the stack. 0 when `cur` = `want`.
int change_altstack(AltStack& cur, AltStack want, uint64_t sp, uint64_t min_size);

struct SigInfo {
  int signo = 0;
  int code = kSiUser;
  int pid = 0;         // sender (kill, SIGCHLD child)
  int uid = 0;
  int status = 0;      // SIGCHLD: exit code or signal
  uint64_t addr = 0;   // SIGSEGV/SIGBUS/SIGILL/SIGFPE/SIGTRAP: si_addr
  uint64_t value = 0;  // si_value (sigqueue: si_code < 0 other than SI_TKILL)
  int timer_id = 0;    // SI_TIMER: si_timerid (the _timer layout, where _rt has pid, uid)
  int overrun = 0;     // SI_TIMER: si_overrun, expiries while this signal was pending
};

struct PendingSignals {
  uint64_t mask = 0;
  std::vector<SigInfo> queue;  // in arrival order; holds a signal exactly when its bit is set

  void add(const SigInfo& si) {
    if (si.signo < kSigRtmin && (mask & sig_bit(si.signo))) return;  // legacy_queue
    mask |= sig_bit(si.signo);
    queue.push_back(si);
  }
  // flush_sigqueue_mask: every instance of the signals in `m` goes.
  void flush(uint64_t m) {
    std::erase_if(queue, [m](const SigInfo& si) { return m & sig_bit(si.signo); });
    mask &= ~m;
  }
  // The lowest pending signal not in `blocked`, or 0.
  int next(uint64_t blocked) const {
    uint64_t m = mask & ~blocked;
    return m ? __builtin_ctzll(m) + 1 : 0;
  }
  // The first instance of a pending signal; its bit clears with the last instance.
  // Precondition: `sig` is pending.
  SigInfo take(int sig) {
    auto it = std::find_if(queue.begin(), queue.end(),
                           [sig](const SigInfo& si) { return si.signo == sig; });
    SigInfo si = *it;
    queue.erase(it);
    if (std::none_of(queue.begin(), queue.end(),
                     [sig](const SigInfo& s) { return s.signo == sig; }))
      mask &= ~sig_bit(sig);
    return si;
  }
};

}  // namespace probesim::emu
