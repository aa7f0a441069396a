#include "emu/exit_status.h"

#include <cstdio>

namespace probesim::emu {

const char* signal_name(int signo) {
  static const char* const kNames[] = {
      "0",       "SIGHUP",  "SIGINT",    "SIGQUIT", "SIGILL",    "SIGTRAP", "SIGABRT",
      "SIGBUS",  "SIGFPE",  "SIGKILL",   "SIGUSR1", "SIGSEGV",   "SIGUSR2", "SIGPIPE",
      "SIGALRM", "SIGTERM", "SIGSTKFLT", "SIGCHLD", "SIGCONT",   "SIGSTOP", "SIGTSTP",
      "SIGTTIN", "SIGTTOU", "SIGURG",    "SIGXCPU", "SIGXFSZ",   "SIGVTALRM", "SIGPROF",
      "SIGWINCH", "SIGIO",  "SIGPWR",    "SIGSYS"};
  if (signo >= 0 && signo < static_cast<int>(std::size(kNames))) return kNames[signo];
  return "SIGRT";
}

std::string ExitStatus::describe() const {
  char buf[256];
  if (!signaled) {
    std::snprintf(buf, sizeof buf, "exited with status %d", code);
    return buf;
  }
  std::snprintf(buf, sizeof buf, "killed by %s%s", signal_name(signo),
                core_dumped ? " (core dumped)" : "");
  std::string s = buf;
  if (fault) {
    std::snprintf(buf, sizeof buf, ": %s at address 0x%llx, pc 0x%llx%s", fault->what.c_str(),
                  static_cast<unsigned long long>(fault->addr),
                  static_cast<unsigned long long>(fault->pc),
                  fault->pc_precise ? "" : " (start of the faulting block)");
    s += buf;
  }
  return s;
}

}  // namespace probesim::emu
