// How a process ended, as Linux's wait status encodes it, plus the guest fault that killed it
// (if any) so the CLI and Python can report the faulting address and PC.
#pragma once

#include <cstdint>
#include <optional>
#include <string>

namespace probesim::emu {

struct GuestFault {
  int signo = 0;          // SIGSEGV, SIGBUS, SIGILL, SIGTRAP, SIGFPE
  int si_code = 0;        // SEGV_MAPERR 1 / SEGV_ACCERR 2, BUS_ADRERR 2, ILL_ILLOPC 1, ...
  uint64_t addr = 0;      // si_addr
  uint64_t pc = 0;
  bool pc_precise = true;
  std::string what;       // "read of unmapped memory", "illegal instruction", ...
};

struct ExitStatus {
  bool signaled = false;
  int code = 0;           // exit code when !signaled
  int signo = 0;          // terminating signal when signaled
  bool core_dumped = false;
  std::optional<GuestFault> fault;

  // The status a shell reports: code, or 128 + signal.
  int shell_status() const { return signaled ? 128 + signo : code; }
  // Linux's wait(2) status word.
  int wait_status() const {
    return signaled ? (signo & 0x7f) | (core_dumped ? 0x80 : 0) : (code & 0xff) << 8;
  }
  std::string describe() const;
};

const char* signal_name(int signo);

}  // namespace probesim::emu
