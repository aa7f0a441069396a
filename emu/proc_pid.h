// The text of /proc/<pid>/ and /proc/<pid>/task/<tid>/ files (fs/proc/), pure functions of a
// process's state: maps (task_mmu.c show_map_vma), status (array.c proc_pid_status, the lines
// probesim models), stat (array.c do_task_stat), statm (array.c proc_pid_statm), cmdline
// (base.c get_mm_cmdline: the argv strings in the process's memory) and comm.
#pragma once

#include <optional>
#include <string>
#include <string_view>

#include "mmu/mm.h"
#include "probesim/types.h"

namespace probesim::emu {

class Process;
class Task;

// What /proc/<pid>/status shows beyond the process itself (the machine's facts).
struct ProcSystem {
  uint64_t queued_signals = 0;  // SigQ's count: user->sigpending, every guest being root
  uint64_t cpus = 1;            // nr_cpu_ids; no affinity: every task may run on each
  Arch arch = Arch::X86_64;     // MAX_NUMNODES (Mems_allowed's width) per arch
  uint64_t hz = 2'000'000'000;  // the modelled CPU's cycles per second (utime/stime ticks)
};

// USER_HZ: the clock ticks of times in /proc files (include/asm-generic/param.h).
inline constexpr uint64_t kUserHz = 100;
// cycles of a `hz` clock as clock ticks, rounded down (nsec_to_clock_t).
uint64_t cycles_to_clock_t(Cycles c, uint64_t hz);

// One /proc/<pid>/maps line per VMA: "start-end perms offset major:minor inode", padded to
// column 73 before the name when there is one (seq_setwidth(25 + 6 * sizeof(void *) - 1)).
std::string proc_pid_maps(const mmu::Mm& mm);
// `t`: the thread of /proc/<pid>/task/<tid>/ (its Pid, State, signals, switches); null: the
// process (/proc/<pid>/, its leader's).
std::string proc_pid_status(Process& p, const Task* t, const ProcSystem& sys);
// The 52 fields of do_task_stat; `t` null: the whole thread group (proc_tgid_stat), else that
// thread (proc_tid_stat).
std::string proc_pid_stat(Process& p, const Task* t, const ProcSystem& sys);
std::string proc_pid_statm(Process& p);
std::string proc_pid_cmdline(Process& p);  // the argv strings in the mm, each NUL-terminated
// The file `name` of /proc/<pid>/ (t null) or /proc/<pid>/task/<tid>/ for p; nullopt: not one
// of the files above or "comm".
std::optional<std::string> proc_pid_text(Process& p, const Task* t, std::string_view name,
                                         const ProcSystem& sys);

}  // namespace probesim::emu
