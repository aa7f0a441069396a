// How `probesim run` ends when the program did not simply exit: a guest kernel panic, a
// runaway limit (--max-insns, --max-time), or every task blocked or asleep forever. Each has a
// message and an exit status, documented in the README ("Running a program") and --help.
#pragma once

#include <optional>
#include <string>

#include "cli/run_options.h"
#include "probesim/machine.h"

namespace probesim::cli {

inline constexpr int kExitPanic = 123;     // the guest kernel panicked
inline constexpr int kExitLimit = 124;     // --max-insns / --max-time reached (as timeout(1))
inline constexpr int kExitDeadlock = 125;  // every remaining task blocked or asleep forever

struct RunEnd {
  int status;
  std::string message;  // one line, without the "probesim: " prefix
};

// After Machine::run returned `run_done` for the program `pid`: nullopt when the program
// exited (its own status applies), else how the run ended.
std::optional<RunEnd> abnormal_end(const Machine& m, const RunOptions& o, int pid, bool run_done);

}  // namespace probesim::cli
