// The syscall layer's contract. A syscall handler is a plain function
//   int64_t sys_xxx(SyscallContext& ctx, const SyscallArgs& a)
// returning the value the guest sees in its return register: >= 0 for success, -errno for
// failure (Linux's convention). Handlers never throw for guest mistakes (a bad pointer is
// -EFAULT, an unknown flag -EINVAL); they may return a Result error only through PROBESIM_ASSERT
// for probesim's own bugs. Handlers are registered in syscall_table.h (one X-macro row per
// syscall: name, x86_64 number, arm64 number, handler, strace argument format).
//
// Who may touch what: a handler runs on the emulation thread inside the Unicorn hook that took
// the syscall (SyscallSink::on_syscall, emu/cpu.h: the quantum is still in progress), with the
// calling task stopped; it may mutate the calling process's mm, fd table and cwd, and
// machine-wide state (inode cache, vfs, clock) through the context. Never call into Unicorn from
// a handler except through ctx.task() register accessors.
#pragma once

#include <cstdint>
#include <span>
#include <string>

#include "probesim/result.h"
#include "probesim/types.h"

namespace probesim::mmu {
class Mm;
class InodeCache;
}  // namespace probesim::mmu

namespace probesim::emu {

class Vfs;
class FdTable;
struct FsStruct;
class DeterministicRng;
class VirtualClock;
class Process;
class Task;
class MachineState;
class UserRegs;

struct SyscallArgs {
  uint64_t nr = 0;
  uint64_t a[6] = {};
};

// What happens to the calling task after the handler returns.
enum class SyscallDisposition {
  Return,    // write the return value and continue
  Exited,    // the task/process has exited (exit, exit_group); nothing to write back
  NoReturn,  // the handler already set up the registers (e.g. rt_sigreturn, execve)
  Blocked,   // the task blocked; its return value is set by whoever wakes it
};

class SyscallContext {
 public:
  SyscallContext(MachineState& machine, Process& proc, Task& task)
      : machine_(machine), proc_(proc), task_(task) {}

  MachineState& machine() { return machine_; }
  Process& proc() { return proc_; }
  Task& task() { return task_; }

  // Shortcuts to the calling process's and machine's state (defined in syscall_context.cc).
  Arch arch() const;
  mmu::Mm& mm();
  FdTable& fds();
  Vfs& vfs();
  mmu::InodeCache& inodes();
  const VirtualClock& clock();  // as the guest reads it: MachineState::guest_clock()
  FsStruct& fs();                    // cwd and umask of the calling process
  DeterministicRng& rng();           // the machine's seeded stream (getrandom, /dev/urandom)
  const std::string& exe_path();     // guest path of the running executable (/proc/self/exe)
  int pid();
  // The calling task's user registers (the CPU's, or its pt_regs inside the guest kernel).
  UserRegs regs();

  // copy_{from,to}_user helpers: false/-EFAULT semantics as the kernel's. Every copy between
  // a syscall and user memory goes through these two (or read_path), and each checks
  // access_ok first: a range reaching past TASK_SIZE (the kernel's half) is never touched.
  bool read_user(GuestAddr src, void* dst, size_t n);
  bool write_user(GuestAddr dst, const void* src, size_t n);
  // Linux's access_ok(addr, size) on the calling process's address space.
  bool access_ok(GuestAddr addr, uint64_t size);
  // A NUL-terminated path from guest memory (PATH_MAX 4096): err EFAULT or ENAMETOOLONG.
  Result<std::string> read_path(GuestAddr src);

  // Set by handlers whose effect is not a plain return value.
  SyscallDisposition disposition = SyscallDisposition::Return;

 private:
  MachineState& machine_;
  Process& proc_;
  Task& task_;
};

using SyscallFn = int64_t (*)(SyscallContext&, const SyscallArgs&);

}  // namespace probesim::emu
