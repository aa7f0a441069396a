// The machine-wide /proc and /sys files (emu/proc_system.h): Linux 6.1's formats over a
// snapshot of the machine's counters.
#include "emu/proc_system.h"

#include <doctest/doctest.h>

#include <algorithm>
#include <string>
#include <utility>

#include "emu/arch_info.h"
#include "emu/cpu_topology.h"

namespace probesim::emu {
namespace {

// Two CPUs at 1 GHz: cpu0 ran 3 s of user and 1 s of kernel time in 10.5 s, cpu1 only 0.25 s
// of user time in 10 s.
ProcMachine two_cpus() {
  ProcMachine m;
  m.hz = 1'000'000'000;
  m.boot_epoch_sec = 1704067200;
  m.now_ns = 10'500'000'000;
  m.cpu_ns = {10'500'000'000, 10'000'000'000};
  m.cpu_time = {CpuTime{Cycles{3'000'000'000}, Cycles{1'000'000'000}},
                CpuTime{Cycles{250'000'000}, Cycles{0}}};
  m.context_switches = 42;
  m.forks = 7;
  m.running = 1;
  m.threads = 5;
  m.last_pid = 106;
  m.mem_total = uint64_t{4} << 30;
  m.mem_committed = uint64_t{100} << 20;
  return m;
}

std::string text(std::string_view path, const ProcMachine& m) {
  const std::optional<std::string> t = proc_system_text(path, m);
  REQUIRE(t.has_value());
  return *t;
}

TEST_CASE("/proc/stat shows per-CPU user, system and idle ticks and the machine's counters") {
  const std::string expected =
      "cpu  325 0 100 1625 0 0 0 0 0 0\n"
      "cpu0 300 0 100 650 0 0 0 0 0 0\n"
      "cpu1 25 0 0 975 0 0 0 0 0 0\n"
      "intr 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0\n"
      "ctxt 42\n"
      "btime 1704067200\n"
      "processes 7\n"
      "procs_running 1\n"
      "procs_blocked 0\n"
      "softirq 0 0 0 0 0 0 0 0 0 0 0\n";
  CHECK(text("/proc/stat", two_cpus()) == expected);
}

TEST_CASE("/proc/uptime is the reader's clock and the CPUs' idle time, in hundredths") {
  CHECK(text("/proc/uptime", two_cpus()) == "10.50 16.25\n");
}

TEST_CASE("/proc/loadavg shows running/total tasks and the last pid") {
  CHECK(text("/proc/loadavg", two_cpus()) == "0.00 0.00 0.00 1/5 106\n");
}

TEST_CASE("/proc/meminfo derives MemTotal from the memory limit and MemFree from commitments") {
  const std::string m = text("/proc/meminfo", two_cpus());
  CHECK(m.starts_with("MemTotal:        4194304 kB\nMemFree:         4091904 kB\n"));
  CHECK(m.find("\nCommitLimit:     4194304 kB\nCommitted_AS:     102400 kB\n") !=
        std::string::npos);
  CHECK(m.find("SwapTotal:             0 kB\n") != std::string::npos);
}

TEST_CASE("cpu possible, present and online list every logical CPU") {
  ProcMachine m = two_cpus();
  for (const char* f : {"possible", "present", "online"})
    CHECK(text(std::string("/sys/devices/system/cpu/") + f, m) == "0-1\n");
  m.cpu_ns.resize(1);
  CHECK(text("/sys/devices/system/cpu/online", m) == "0\n");
}

TEST_CASE("cpuN/topology: one package, one core per CPU, one thread per core (x86_64)") {
  ProcMachine m = two_cpus();
  const std::string t = "/sys/devices/system/cpu/cpu1/topology/";
  const std::pair<const char*, const char*> want[] = {
      {"physical_package_id", "0\n"}, {"die_id", "0\n"},         {"cluster_id", "65535\n"},
      {"core_id", "1\n"},             {"ppin", "0x0\n"},         {"thread_siblings", "2\n"},
      {"thread_siblings_list", "1\n"}, {"core_cpus", "2\n"},     {"core_cpus_list", "1\n"},
      {"cluster_cpus", "2\n"},        {"core_siblings", "3\n"},  {"core_siblings_list", "0-1\n"},
      {"die_cpus", "3\n"},            {"package_cpus", "3\n"},   {"package_cpus_list", "0-1\n"}};
  for (const auto& [name, value] : want) CHECK_MESSAGE(text(t + name, m) == value, name);
  for (const char* missing : {"/sys/devices/system/cpu/cpu2/topology/core_id",
                              "/sys/devices/system/cpu/cpu01/topology/core_id",
                              "/sys/devices/system/cpu/cpu1/topology/book_id",
                              "/sys/devices/system/cpu/cpu1/core_id"})
    CHECK_MESSAGE(!proc_system_text(missing, m), missing);
}

TEST_CASE("cpuN/topology on arm64: cluster_id -1 and no die or ppin files") {
  ProcMachine m = two_cpus();
  m.arch = Arch::AArch64;
  CHECK(text("/sys/devices/system/cpu/cpu0/topology/cluster_id", m) == "-1\n");
  CHECK(text("/sys/devices/system/cpu/cpu0/topology/core_siblings_list", m) == "0-1\n");
  CHECK(!proc_system_text("/sys/devices/system/cpu/cpu0/topology/die_id", m));
  CHECK(!proc_system_text("/sys/devices/system/cpu/cpu0/topology/ppin", m));
  size_t per_cpu = 0;
  for (const SystemPath& p : system_paths(Arch::AArch64, 2))
    per_cpu += p.path.starts_with("/sys/devices/system/cpu/cpu1/topology/");
  CHECK(per_cpu == 13);
}

TEST_CASE("/sys/devices/system/node: node 0 is the only node, with every CPU") {
  ProcMachine m = two_cpus();
  for (const char* f : {"online", "possible", "has_cpu", "has_memory", "has_normal_memory"})
    CHECK(text(std::string("/sys/devices/system/node/") + f, m) == "0\n");
  CHECK(text("/sys/devices/system/node/node0/cpulist", m) == "0-1\n");
  CHECK(text("/sys/devices/system/node/node0/cpumap", m) == "3\n");
  CHECK(text("/sys/devices/system/node/node0/distance", m) == "10\n");
  CHECK(!proc_system_text("/sys/devices/system/node/node1/cpulist", m));
}

TEST_CASE("topology masks print as %*pb over nr_cpu_ids bits, lists as %*pbl") {
  CHECK(cpumask_hex(0, 0, 1) == "1");
  CHECK(cpumask_hex(0, 3, 4) == "f");
  CHECK(cpumask_hex(1, 1, 8) == "02");
  CHECK(cpumask_hex(33, 33, 40) == "02,00000000");
  CHECK(cpumask_hex(0, 63, 64) == "ffffffff,ffffffff");
  CHECK(cpumask_hex(0, 0, 64) == "00000000,00000001");
  CHECK(cpumask_list(2, 2) == "2");
  CHECK(cpumask_list(0, 39) == "0-39");
}

TEST_CASE("system_paths lists every file once, sorted, the topology files per CPU") {
  const std::vector<SystemPath> x86 = system_paths(Arch::X86_64, 4);
  CHECK(std::is_sorted(x86.begin(), x86.end(),
                       [](const SystemPath& a, const SystemPath& b) { return a.path < b.path; }));
  size_t topology = 0;
  for (const SystemPath& p : x86) {
    if (p.path.find("/topology/") == std::string::npos) continue;
    ++topology;
    CHECK((p.mode & 0777) == (p.path.ends_with("/ppin") ? 0400u : 0444u));
  }
  CHECK(topology == 4 * 17);
}

TEST_CASE("/proc/sys/kernel holds uname's fields and Linux's default pid_max") {
  CHECK(text("/proc/sys/kernel/osrelease", two_cpus()) == "6.1.0-probesim\n");
  CHECK(text("/proc/sys/kernel/ostype", two_cpus()) == "Linux\n");
  CHECK(text("/proc/sys/kernel/version", two_cpus()) == "#1 SMP PREEMPT_DYNAMIC probesim\n");
  CHECK(text("/proc/sys/kernel/hostname", two_cpus()) == "probesim\n");
  CHECK(text("/proc/sys/kernel/domainname", two_cpus()) == "(none)\n");
  CHECK(text("/proc/sys/kernel/pid_max", two_cpus()) == "32768\n");
  CHECK_FALSE(proc_system_text("/proc/vmstat", two_cpus()).has_value());
}

TEST_CASE("/proc/sys/vm/max_map_count is the limit the machine's mms get") {
  ProcMachine m = two_cpus();
  CHECK(text("/proc/sys/vm/max_map_count", m) == "65530\n");  // Linux's default
  m.max_map_count = 991;
  CHECK(text("/proc/sys/vm/max_map_count", m) == "991\n");
}

TEST_CASE("/proc/version is fs/proc/version.c's line over uname's release and version") {
  CHECK(text("/proc/version", two_cpus()) ==
        "Linux version 6.1.0-probesim (probesim@probesim) (gcc-12 (Debian 12.2.0-14) 12.2.0, "
        "GNU ld (GNU Binutils for Debian) 2.40) #1 SMP PREEMPT_DYNAMIC probesim\n");
}

// The blocks of Unicorn's CPU models as Linux 6.1 prints them, at 1 GHz: x86_64's qemu64
// (CPUID as the engine answers it) and arm64's Cortex-A72 r0p3 with the loader's AT_HWCAP.
TEST_CASE("/proc/cpuinfo on x86_64 describes the CPUID of the modelled CPU per logical CPU") {
  ProcMachine m = two_cpus();
  m.cpu = &cpu_identity(Arch::X86_64);
  const std::string expected_cpu1 =
      "processor\t: 1\nvendor_id\t: AuthenticAMD\ncpu family\t: 6\nmodel\t\t: 6\n"
      "model name\t: QEMU Virtual CPU version 2.5+\nstepping\t: 3\ncpu MHz\t\t: 1000.000\n"
      "cache size\t: 512 KB\nphysical id\t: 0\nsiblings\t: 2\ncore id\t\t: 1\n"
      "cpu cores\t: 2\napicid\t\t: 1\ninitial apicid\t: 1\nfpu\t\t: yes\n"
      "fpu_exception\t: yes\ncpuid level\t: 13\nwp\t\t: yes\n"
      "flags\t\t: fpu de pse tsc msr pae mce cx8 apic sep mtrr pge mca cmov pat pse36 clflush "
      "mmx fxsr sse sse2 syscall nx lm pni cx16 hypervisor lahf_lm svm\nbugs\t\t:\n"
      "bogomips\t: 2000.00\nclflush size\t: 64\ncache_alignment\t: 64\n"
      "address sizes\t: 40 bits physical, 48 bits virtual\npower management:\n\n";
  const std::string t = text("/proc/cpuinfo", m);
  REQUIRE(t.find("processor\t: 1\n") != std::string::npos);
  CHECK(t.substr(t.find("processor\t: 1\n")) == expected_cpu1);
  CHECK(t.starts_with("processor\t: 0\nvendor_id\t: AuthenticAMD\n"));
}

TEST_CASE("/proc/cpuinfo on arm64 names AT_HWCAP's features and the MIDR fields") {
  ProcMachine m = two_cpus();
  m.cpu = &cpu_identity(Arch::AArch64);
  m.hwcap = arch_info(Arch::AArch64).hwcap;
  const std::string block =
      "BogoMIPS\t: 2000.00\nFeatures\t: fp asimd aes pmull sha1 sha2 crc32\n"
      "CPU implementer\t: 0x41\nCPU architecture: 8\nCPU variant\t: 0x0\n"
      "CPU part\t: 0xd08\nCPU revision\t: 3\n\n";
  CHECK(text("/proc/cpuinfo", m) == "processor\t: 0\n" + block + "processor\t: 1\n" + block);
  m.hwcap2 = 1u << 1;  // HWCAP2_SVE2
  CHECK(text("/proc/cpuinfo", m).find("crc32 sve2\n") != std::string::npos);
}

TEST_CASE("/proc/cpuinfo is empty without a CPU identity") {
  CHECK(text("/proc/cpuinfo", two_cpus()).empty());
}

}  // namespace
}  // namespace probesim::emu
