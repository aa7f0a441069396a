// The machine-wide text files in the synthetic /proc and /sys (SyntheticFs + the machine as
// ProcHost): where they are, that directories lead to them, and that they read as the
// machine's counters.
#include <doctest/doctest.h>

#include <algorithm>
#include <string>
#include <vector>

#include "vfs_test_util.h"

namespace probesim::emu::test {
namespace {

bool has(const std::vector<std::string>& names, const std::string& n) {
  return std::find(names.begin(), names.end(), n) != names.end();
}

TEST_CASE("/sys/devices/system/cpu holds online, possible, present and cpuN/topology/") {
  FakeKernel k;
  CHECK(k.names("/sys/devices/system/cpu") ==
        std::vector<std::string>{"cpu0", "online", "possible", "present"});
  CHECK(has(k.names("/sys"), "devices"));
  CHECK(k.read_all("/sys/devices/system/cpu/possible") == "0\n");  // one logical CPU
  CHECK(k.names("/sys/devices/system/cpu/cpu0") == std::vector<std::string>{"topology"});
  const std::vector<std::string> topology = k.names("/sys/devices/system/cpu/cpu0/topology");
  CHECK(topology.size() == 17);
  CHECK(has(topology, "thread_siblings_list"));
  CHECK(k.read_all("/sys/devices/system/cpu/cpu0/topology/core_siblings") == "1\n");
  CHECK(k.read_all("/sys/devices/system/cpu/cpu1/topology/core_id").empty());  // no cpu1
}

TEST_CASE("/proc lists the machine-wide files beside the processes") {
  FakeKernel k;
  const std::vector<std::string> proc = k.names("/proc");
  for (const char* n : {"cpuinfo", "loadavg", "meminfo", "stat", "sys", "uptime", "version",
                        "self"})
    CHECK_MESSAGE(has(proc, n), n);
  CHECK(k.names("/proc/sys") == std::vector<std::string>{"kernel", "vm"});
  CHECK(k.names("/proc/sys/kernel") ==
        std::vector<std::string>{"domainname", "hostname", "osrelease", "ostype", "pid_max",
                                 "version"});
  CHECK(k.names("/proc/sys/vm") == std::vector<std::string>{"max_map_count"});
}

TEST_CASE("/proc/<pid>/ lists stat, statm and task beside the other files") {
  FakeKernel k;
  const std::vector<std::string> self = k.names("/proc/self");
  for (const char* n : {"stat", "statm", "status", "task", "maps"}) CHECK_MESSAGE(has(self, n), n);
}

TEST_CASE("the machine-wide files read as the machine's state at boot") {
  FakeKernel k;  // nothing ran, nothing spawned: the last pid is the one before the first
  CHECK(k.read_all("/proc/loadavg") == "0.00 0.00 0.00 0/0 99\n");
  CHECK(k.read_all("/proc/uptime") == "0.00 0.00\n");
  CHECK(k.read_all("/proc/sys/kernel/osrelease") == "6.1.0-probesim\n");
  const std::string stat = k.read_all("/proc/stat");
  CHECK(stat.starts_with("cpu  0 0 0 0 0 0 0 0 0 0\ncpu0 0 0 0 0 0 0 0 0 0 0\nintr 0"));
  CHECK(stat.find("\nbtime 1704067200\nprocesses 0\n") != std::string::npos);
}

}  // namespace
}  // namespace probesim::emu::test
