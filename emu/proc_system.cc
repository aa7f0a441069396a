#include "emu/proc_system.h"

#include <sys/stat.h>

#include <algorithm>
#include <cinttypes>
#include <cstdio>

#include "emu/cpu_topology.h"
#include "emu/proc_cpuinfo.h"
#include "emu/proc_pid.h"
#include "emu/uts.h"

namespace probesim::emu {
namespace {

constexpr uint64_t kNsPerSec = 1'000'000'000;
constexpr uint64_t kNsPerTick = kNsPerSec / kUserHz;
// Interrupts are not modelled: /proc/stat's intr line shows NR_IRQS_LEGACY (16) counters and
// its softirq line NR_SOFTIRQS (10), all 0.
constexpr int kNrIrqs = 16;
constexpr int kNrSoftirqs = 10;
// PID_MAX_DEFAULT (include/linux/threads.h); systemd raises it to 4194304 on 64-bit hosts.
constexpr uint64_t kPidMax = 32768;

uint64_t cycles_ns(Cycles c, uint64_t hz) {
  if (hz == 0) return 0;
  return static_cast<uint64_t>(static_cast<unsigned __int128>(c.value) * kNsPerSec / hz);
}

// One CPU's time in ns by /proc/stat column: user, system, idle (the rest of its clock).
struct CpuNs {
  uint64_t user = 0, system = 0, idle = 0;
};

CpuNs cpu_ns(const ProcMachine& m, size_t cpu) {
  CpuNs t;
  t.user = cycles_ns(m.cpu_time[cpu].user, m.hz);
  t.system = cycles_ns(m.cpu_time[cpu].system, m.hz);
  const uint64_t busy = t.user + t.system;
  t.idle = m.cpu_ns[cpu] > busy ? m.cpu_ns[cpu] - busy : 0;
  return t;
}

// "cpuN user nice system idle iowait irq softirq steal guest guest_nice" in clock ticks.
void cpu_line(std::string& out, const std::string& name, const CpuNs& t) {
  char buf[160];
  std::snprintf(buf, sizeof buf, " %" PRIu64 " 0 %" PRIu64 " %" PRIu64 " 0 0 0 0 0 0\n",
                t.user / kNsPerTick, t.system / kNsPerTick, t.idle / kNsPerTick);
  out += name + buf;
}

std::string proc_stat(const ProcMachine& m) {
  std::string out;
  CpuNs all;
  std::string per_cpu;
  for (size_t i = 0; i < m.cpu_time.size() && i < m.cpu_ns.size(); ++i) {
    const CpuNs t = cpu_ns(m, i);
    all.user += t.user;
    all.system += t.system;
    all.idle += t.idle;
    cpu_line(per_cpu, "cpu" + std::to_string(i), t);
  }
  cpu_line(out, "cpu ", all);  // "cpu  ": the sum line has two spaces
  out += per_cpu;
  out += "intr 0";
  for (int i = 0; i < kNrIrqs; ++i) out += " 0";
  out += "\nctxt " + std::to_string(m.context_switches);
  out += "\nbtime " + std::to_string(m.boot_epoch_sec);
  out += "\nprocesses " + std::to_string(m.forks);
  out += "\nprocs_running " + std::to_string(m.running);
  out += "\nprocs_blocked 0\nsoftirq 0";  // nr_iowait: no task waits for block I/O
  for (int i = 0; i < kNrSoftirqs; ++i) out += " 0";
  out += '\n';
  return out;
}

// "uptime.cc idle.cc": seconds with hundredths; idle summed over the CPUs.
std::string proc_uptime(const ProcMachine& m) {
  uint64_t idle = 0;
  for (size_t i = 0; i < m.cpu_time.size() && i < m.cpu_ns.size(); ++i) idle += cpu_ns(m, i).idle;
  char buf[96];
  std::snprintf(buf, sizeof buf, "%" PRIu64 ".%02" PRIu64 " %" PRIu64 ".%02" PRIu64 "\n",
                m.now_ns / kNsPerSec, m.now_ns % kNsPerSec / kNsPerTick, idle / kNsPerSec,
                idle % kNsPerSec / kNsPerTick);
  return buf;
}

// The load averages are not modelled (calc_load's 5-second samples of the active tasks), so
// they read 0.00; then running/total tasks and the last pid.
std::string proc_loadavg(const ProcMachine& m) {
  return "0.00 0.00 0.00 " + std::to_string(m.running) + "/" + std::to_string(m.threads) + " " +
         std::to_string(m.last_pid) + "\n";
}

// meminfo's lines that the model gives values to, in Linux's order and format ("%-16s%8lu kB"
// as show_val_kb). The model charges committed memory, not resident frames: MemFree and
// MemAvailable are the uncommitted part of the limit; CommitLimit is the limit itself (strict
// overcommit). No swap, buffers, hugepages. Left out: page cache and LRU lists (Cached,
// Active...), slab, page tables, vmalloc and direct-map lines, which probesim does not model.
std::string proc_meminfo(const ProcMachine& m) {
  const uint64_t total = m.mem_total / 1024;
  const uint64_t used = m.mem_committed / 1024;
  const uint64_t free = total > used ? total - used : 0;
  const struct {
    const char* name;
    uint64_t kb;
  } rows[] = {
      {"MemTotal:", total}, {"MemFree:", free},      {"MemAvailable:", free},
      {"Buffers:", 0},      {"SwapCached:", 0},      {"SwapTotal:", 0},
      {"SwapFree:", 0},     {"CommitLimit:", total}, {"Committed_AS:", used},
  };
  std::string out;
  for (const auto& r : rows) {
    char buf[64];
    std::snprintf(buf, sizeof buf, "%-16s%8" PRIu64 " kB\n", r.name, r.kb);
    out += buf;
  }
  return out;
}

// cpumap_print_to_pagebuf(true, ...): every logical CPU is possible, present and online.
std::string cpu_list(const ProcMachine& m) {
  const size_t n = std::max<size_t>(m.cpu_ns.size(), 1);
  return cpumask_list(0, n - 1) + "\n";
}

// drivers/base/node.c with CONFIG_NUMA (Debian's kernels) on a machine without NUMA: node 0 is
// the only node, with every CPU and all memory. The node masks print as "%*pbl".
std::string node_list(const ProcMachine&) { return "0\n"; }
std::string node0_cpumap(const ProcMachine& m) {
  const size_t n = std::max<size_t>(m.cpu_ns.size(), 1);
  return cpumask_hex(0, n - 1, n) + "\n";
}
std::string node0_distance(const ProcMachine&) { return "10\n"; }  // LOCAL_DISTANCE

std::string cpuinfo(const ProcMachine& m) {
  return cpuinfo_text({.cpu = m.cpu, .hwcap = m.hwcap, .hwcap2 = m.hwcap2,
                       .ncpus = m.cpu_ns.size(), .hz = m.hz});
}

// fs/proc/version.c: "Linux version %s (%s@%s) (%s) %s\n".
std::string version(const ProcMachine&) {
  std::string out = "Linux version ";
  for (std::string_view part : {uts::kRelease, std::string_view(" ("), uts::kCompileBy,
                                std::string_view("@"), uts::kCompileHost,
                                std::string_view(") ("), uts::kCompiler, std::string_view(") "),
                                uts::kVersion, std::string_view("\n")})
    out += part;
  return out;
}

std::string line(std::string_view s) { return std::string(s) + "\n"; }
std::string osrelease(const ProcMachine&) { return line(uts::kRelease); }
std::string ostype(const ProcMachine&) { return line(uts::kSysname); }
std::string kernel_version(const ProcMachine&) { return line(uts::kVersion); }
std::string hostname(const ProcMachine&) { return line(uts::kNodename); }
std::string domainname(const ProcMachine&) { return line(uts::kDomainname); }
std::string pid_max(const ProcMachine&) {
  return std::to_string(kPidMax) + "\n";
}
// vm.max_map_count: read-only here, since the engine's region ceiling bounds it (uc_regions.h).
std::string max_map_count(const ProcMachine& m) {
  return std::to_string(m.max_map_count) + "\n";
}

// Modes as Linux's: proc_create 0444, sysctl 0644 (writable) or 0444, sysfs 0444.
struct SystemFile {
  std::string_view path;
  uint32_t mode;
  std::string (*text)(const ProcMachine&);
};
constexpr uint32_t kRo = S_IFREG | 0444, kRw = S_IFREG | 0644;
constexpr SystemFile kFiles[] = {
    {"/proc/cpuinfo", kRo, cpuinfo},
    {"/proc/loadavg", kRo, proc_loadavg},
    {"/proc/meminfo", kRo, proc_meminfo},
    {"/proc/stat", kRo, proc_stat},
    {"/proc/sys/kernel/domainname", kRw, domainname},
    {"/proc/sys/kernel/hostname", kRw, hostname},
    {"/proc/sys/kernel/osrelease", kRo, osrelease},
    {"/proc/sys/kernel/ostype", kRo, ostype},
    {"/proc/sys/kernel/pid_max", kRw, pid_max},
    {"/proc/sys/kernel/version", kRo, kernel_version},
    {"/proc/sys/vm/max_map_count", kRo, max_map_count},
    {"/proc/uptime", kRo, proc_uptime},
    {"/proc/version", kRo, version},
    {"/sys/devices/system/cpu/online", kRo, cpu_list},
    {"/sys/devices/system/cpu/possible", kRo, cpu_list},
    {"/sys/devices/system/cpu/present", kRo, cpu_list},
    {"/sys/devices/system/node/has_cpu", kRo, node_list},
    {"/sys/devices/system/node/has_memory", kRo, node_list},
    {"/sys/devices/system/node/has_normal_memory", kRo, node_list},
    {"/sys/devices/system/node/node0/cpulist", kRo, cpu_list},
    {"/sys/devices/system/node/node0/cpumap", kRo, node0_cpumap},
    {"/sys/devices/system/node/node0/distance", kRo, node0_distance},
    {"/sys/devices/system/node/online", kRo, node_list},
    {"/sys/devices/system/node/possible", kRo, node_list},
};

}  // namespace

std::vector<SystemPath> system_paths(Arch arch, size_t ncpus) {
  std::vector<SystemPath> out;
  for (const SystemFile& f : kFiles) out.push_back({std::string(f.path), f.mode});
  for (SystemPath& p : cpu_topology_paths(arch, ncpus)) out.push_back(std::move(p));
  std::sort(out.begin(), out.end(),
            [](const SystemPath& a, const SystemPath& b) { return a.path < b.path; });
  return out;
}

std::optional<std::string> proc_system_text(std::string_view path, const ProcMachine& m) {
  for (const SystemFile& f : kFiles)
    if (f.path == path) return f.text(m);
  return cpu_topology_text(path, m.arch, m.cpu_ns.size());
}

}  // namespace probesim::emu
