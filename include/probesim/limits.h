// Limits: machine-wide bounds on what a guest can make the host spend. Each is reported to the
// guest the way Linux reports running out of that resource, never as a host failure:
//
//   mem    committed guest memory, all processes together (Linux's strict overcommit,
//          vm.overcommit_memory=2 with CommitLimit = mem): mmap/mprotect/brk fail with ENOMEM,
//          fork with ENOMEM, exec of an image that does not fit with ENOMEM.
//   disk   bytes the guest writes into the in-memory overlay (tmpfs-like): write returns a
//          short count at the limit, then ENOSPC.
//   tasks  threads alive at once, machine-wide (like pid_max / RLIMIT_NPROC): fork, vfork and
//          clone fail with EAGAIN.
//   files  every process's RLIMIT_NOFILE hard limit (the soft limit starts at min(1024,
//          files)); a process raises its soft limit up to it with setrlimit. Opening past the
//          soft limit fails with EMFILE.
//
// The defaults keep a 24 GiB host safe with room to spare (README.md, "Limits").
#pragma once

#include <cstdint>

namespace probesim {

struct Limits {
  uint64_t mem = uint64_t{4} << 30;   // bytes
  uint64_t disk = uint64_t{2} << 30;  // bytes
  uint64_t tasks = 4096;
  uint64_t files = 4096;  // 1..1048576 (Linux's nr_open)

  static constexpr uint64_t kNrOpen = 1048576;  // fs/file.c sysctl_nr_open
  static constexpr uint64_t kSoftNofile = 1024;  // INR_OPEN_CUR
};

}  // namespace probesim
