// The text of /proc/<pid>/ files (fs/proc/), pure functions of a process's state: maps
// (task_mmu.c show_map_vma), status (array.c proc_pid_status, the lines probesim models),
// cmdline (base.c get_mm_cmdline: the argv strings in the process's memory) and comm.
#pragma once

#include <optional>
#include <string>
#include <string_view>

#include "mmu/mm.h"
#include "probesim/types.h"

namespace probesim::emu {

class Process;

// What /proc/<pid>/status shows beyond the process itself (the machine's facts).
struct ProcSystem {
  uint64_t queued_signals = 0;  // SigQ's count: user->sigpending, every guest being root
  uint64_t cpus = 1;            // nr_cpu_ids; no affinity: every task may run on each
  Arch arch = Arch::X86_64;     // MAX_NUMNODES (Mems_allowed's width) per arch
};

// One /proc/<pid>/maps line per VMA: "start-end perms offset major:minor inode", padded to
// column 73 before the name when there is one (seq_setwidth(25 + 6 * sizeof(void *) - 1)).
std::string proc_pid_maps(const mmu::Mm& mm);
std::string proc_pid_status(Process& p, const ProcSystem& sys);
std::string proc_pid_cmdline(Process& p);  // the argv strings in the mm, each NUL-terminated
// The file `name` of /proc/<pid>/ for p; nullopt: not one of the files above or "comm".
std::optional<std::string> proc_pid_text(Process& p, std::string_view name, const ProcSystem& sys);

}  // namespace probesim::emu
