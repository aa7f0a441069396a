// RawSyscalls: the smallest Linux syscall layer that static glibc/musl programs need
// (docs/stack-facts.md §9): write/writev, exit/exit_group, brk, anonymous mmap (bump allocator)
// and munmap, mprotect (a no-op returning 0), arch_prctl(ARCH_SET_FS/GET_FS), openat/open of
// /dev/null and close. Every other number returns -ENOSYS and is counted, never aborts.
// It is the benchmark floor, not a model: no permissions, no file system, one thread.
//
// Ownership: borrows the engine (the RawMachine owns it and outlives this object). Called
// only from the machine's syscall hook, on the emulation thread.
#pragma once

#include <unicorn/unicorn.h>

#include <array>
#include <cstdint>
#include <map>
#include <set>
#include <string>
#include <vector>

#include "bench/raw/arch_abi.h"
#include "probesim/types.h"

namespace probesim::bench {

struct SyscallArgs {
  uint64_t nr = 0;
  std::array<uint64_t, 6> a{};
};

class RawSyscalls {
 public:
  // `brk_start` is the page-aligned end of the loaded image (Linux's mm->start_brk).
  RawSyscalls(uc_engine* uc, const ArchAbi& abi, GuestAddr brk_start);
  RawSyscalls(const RawSyscalls&) = delete;
  RawSyscalls& operator=(const RawSyscalls&) = delete;

  // Executes one syscall and returns the value for the return register (-errno on failure).
  // exit/exit_group also call uc_emu_stop.
  int64_t dispatch(const SyscallArgs& args);

  bool exited() const { return exited_; }
  int exit_code() const { return exit_code_; }
  uint64_t count() const { return count_; }
  // Syscall number -> how many times it returned -ENOSYS because it is not implemented.
  const std::map<uint64_t, uint64_t>& unknown() const { return unknown_; }

 private:
  using Handler = int64_t (RawSyscalls::*)(const SyscallArgs&);
  struct Row {
    const char* name;
    int nr_x86_64;  // -1: not on this arch
    int nr_aarch64;
    Handler handler;
  };
  static const Row kTable[];

  int64_t sys_write(const SyscallArgs& a);
  int64_t sys_writev(const SyscallArgs& a);
  int64_t sys_exit_group(const SyscallArgs& a);
  int64_t sys_brk(const SyscallArgs& a);
  int64_t sys_mmap(const SyscallArgs& a);
  int64_t sys_munmap(const SyscallArgs& a);
  int64_t sys_mprotect(const SyscallArgs& a);
  int64_t sys_arch_prctl(const SyscallArgs& a);
  int64_t sys_openat(const SyscallArgs& a);
  int64_t sys_open(const SyscallArgs& a);
  int64_t sys_close(const SyscallArgs& a);

  int64_t write_out(uint64_t fd, uint64_t buf, uint64_t len);
  bool read_path(uint64_t addr, std::string& out);

  uc_engine* uc_;  // non-owning
  const ArchAbi& abi_;
  std::vector<const Row*> by_nr_;  // indexed by syscall number for this arch
  uint64_t brk_start_;
  uint64_t brk_;                 // current program break
  uint64_t brk_mapped_end_;      // page-aligned end of the mapped heap, >= brk_
  uint64_t mmap_next_;           // bump pointer; addresses are never reused
  std::set<uint64_t> null_fds_;  // fds opened on /dev/null
  uint64_t next_fd_ = 3;
  bool exited_ = false;
  int exit_code_ = 0;
  uint64_t count_ = 0;
  std::map<uint64_t, uint64_t> unknown_;
};

}  // namespace probesim::bench
