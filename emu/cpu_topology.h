// /sys/devices/system/cpu/cpuN/topology/ (drivers/base/topology.c, Linux 6.1) of the modelled
// machine, as Linux shows a QEMU guest started with -smp N: one package (and, on x86, one die),
// one core per logical CPU (core_id N), one thread per core; /proc/cpuinfo says the same
// ("physical id 0", "cpu cores N"). The files and their values per arch:
// - x86_64: cluster_id 65535 (cpu_l2c_id stays BAD_APICID on an AuthenticAMD CPU), die_id 0,
//   die_cpus, and ppin (0400, "0x0": QEMU has no PPIN);
// - arm64 (arch_topology.c without a cpu-map): cluster_id -1, no die or ppin files.
// Masks print as "%*pb" over nr_cpu_ids bits (hex, 32-bit chunks joined by ','), lists as
// "%*pbl" ("0-3"). Used by proc_system.h; lscpu reads it for its sockets/cores/threads lines.
#pragma once

#include <cstddef>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "emu/vfs/proc_host.h"
#include "probesim/types.h"

namespace probesim::emu {

// Every topology file of every CPU, in path order per CPU.
std::vector<SystemPath> cpu_topology_paths(Arch arch, size_t ncpus);
// The text of the topology file at the absolute `path`; nullopt: not one of them.
std::optional<std::string> cpu_topology_text(std::string_view path, Arch arch, size_t ncpus);

// "%*pb" and "%*pbl" of the CPUs [first, last] over `nbits` bits (lib/vsprintf.c).
std::string cpumask_hex(size_t first, size_t last, size_t nbits);
std::string cpumask_list(size_t first, size_t last);

}  // namespace probesim::emu
