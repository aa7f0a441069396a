#include "emu/signals.h"

#include <cerrno>

namespace probesim::emu {

// Linux's default actions (signal(7)); SIGSTOP/SIGTSTP/SIGTTIN/SIGTTOU stop the whole process
// (MachineState::do_signal_stop).
SigDefault default_action(int sig) {
  switch (sig) {
    case kSigQuit: case kSigIll: case kSigTrap: case kSigAbrt: case kSigBus: case kSigFpe:
    case kSigSegv: case 24 /* XCPU */: case 25 /* XFSZ */: case 31 /* SYS */:
      return SigDefault::Core;
    case kSigChld: case kSigCont: case 23 /* URG */: case 28 /* WINCH */:
      return SigDefault::Ignore;
    case kSigStop: case 20 /* TSTP */: case 21 /* TTIN */: case 22 /* TTOU */:
      return SigDefault::Stop;
    default:
      return SigDefault::Term;
  }
}

int change_altstack(AltStack& cur, AltStack want, uint64_t sp, uint64_t min_size) {
  if (cur.on_stack(sp)) return -EPERM;
  const uint32_t mode = want.flags & ~kSsAutodisarm;
  if (mode != 0 && mode != kSsOnstack && mode != kSsDisable) return -EINVAL;
  if (mode == kSsDisable) {
    want.sp = 0;
    want.size = 0;
  } else if (want.size < min_size) {
    return -ENOMEM;
  }
  cur = want;
  return 0;
}

}  // namespace probesim::emu
