#include "emu/signals.h"

namespace probesim::emu {

// Linux's default actions (signal(7)); SIGSTOP/SIGTSTP/SIGTTIN/SIGTTOU stop, which probesim
// does not model (they are treated as ignored, and the stop is counted nowhere).
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

}  // namespace probesim::emu
