// The machine-wide text files of /proc and /sys, pure functions of a ProcMachine snapshot the
// machine fills in when one is opened: /proc/stat (fs/proc/stat.c show_stat), /proc/cpuinfo
// (emu/proc_cpuinfo.h), /proc/version, /proc/uptime (fs/proc/uptime.c), /proc/loadavg
// (fs/proc/loadavg.c), /proc/meminfo (fs/proc/meminfo.c, the lines probesim models),
// /proc/sys/kernel/{hostname,domainname,ostype,osrelease,version,pid_max} (emu/uts.h) and
// /sys/devices/system/cpu/{possible,present,online} (drivers/base/cpu.c, "%*pbl") and
// /sys/devices/system/cpu/cpuN/topology/ (emu/cpu_topology.h), /sys/devices/system/node/ (one
// node: node.c's has_cpu, has_memory, online..., node0/{cpulist,cpumap,distance}).
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "emu/cpu_identity.h"
#include "emu/cpu_time.h"
#include "emu/vfs/proc_host.h"
#include "probesim/types.h"

namespace probesim::emu {

struct ProcMachine {
  Arch arch = Arch::X86_64;
  uint64_t hz = 2'000'000'000;    // cycles per second of the modelled CPU
  int64_t boot_epoch_sec = 0;     // btime: the realtime second the clocks count from
  uint64_t now_ns = 0;            // the reader's CPU clock: ns since boot (/proc/uptime)
  std::vector<uint64_t> cpu_ns;   // per logical CPU: its clock's ns since boot (their number)
  std::vector<CpuTime> cpu_time;  // per logical CPU: the cycles its quanta ran, by mode
  uint64_t context_switches = 0;  // nr_context_switches
  uint64_t forks = 0;             // total_forks: tasks made so far (spawn, fork, clone)
  uint64_t running = 0;           // nr_running: runnable tasks (on a CPU or queued)
  uint64_t threads = 0;           // nr_threads: live tasks
  int last_pid = 0;               // the last pid handed out (loadavg)
  uint64_t mem_total = 0;         // the machine's memory limit, bytes
  uint64_t mem_committed = 0;     // committed guest memory, bytes (Limits::mem's charge)
  uint64_t max_map_count = 65530;  // vm.max_map_count as mms get it (emu/uc_regions.h)
  const CpuIdentity* cpu = nullptr;  // the modelled CPU (/proc/cpuinfo); none: an empty file
  uint64_t hwcap = 0, hwcap2 = 0;    // AT_HWCAP/AT_HWCAP2 the loader gives
};

// Every file above of a machine of `ncpus` logical CPUs, sorted by path.
std::vector<SystemPath> system_paths(Arch arch, size_t ncpus);
// The text of the file at the absolute `path`; nullopt: not one of the files above.
std::optional<std::string> proc_system_text(std::string_view path, const ProcMachine& m);

}  // namespace probesim::emu
