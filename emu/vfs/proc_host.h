// ProcHost: what the synthetic /proc and /sys ask of their provider (the machine): the live
// pids and threads, each process's exe/cwd/fds, the text files of /proc/<pid>/ and
// /proc/<pid>/task/<tid>/ (maps, stat, statm, status, cmdline, comm) and the machine-wide
// text files (/proc/stat, /proc/uptime, /sys/devices/system/cpu/online, cpuN/topology/...). Like a seq_file,
// a text is taken when the file is opened.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace probesim::emu {

class FdTable;

// A machine-wide file of /proc or /sys: its absolute path and mode (S_IFREG and permissions).
struct SystemPath {
  std::string path;
  uint32_t mode = 0;
};

class ProcHost {
 public:
  // What /proc/<pid>/{exe,cwd,fd/} of a process other than the caller show.
  struct View {
    std::string exe, cwd;
    const FdTable* fds = nullptr;  // valid for the one path operation that asked
  };
  virtual ~ProcHost() = default;
  virtual std::vector<int> proc_pids() = 0;  // the live processes, ascending
  virtual std::optional<View> proc_view(int pid) = 0;  // nullopt: no such live process
  // The live threads of process `pid` (/proc/<pid>/task/), ascending; empty: no such process.
  virtual std::vector<int> proc_tids(int pid) = 0;
  // The text of /proc/<pid>/<name> (tid 0) or /proc/<pid>/task/<tid>/<name>; nullopt: no such
  // process, thread of it, or file.
  virtual std::optional<std::string> proc_text(int pid, int tid, std::string_view name) = 0;
  // The text of the machine-wide file at the absolute `path`; nullopt: not one it provides.
  virtual std::optional<std::string> system_text(std::string_view path) = 0;
  // Every machine-wide file it provides, sorted by path; fixed for the machine's life.
  virtual const std::vector<SystemPath>& system_paths() = 0;
};

}  // namespace probesim::emu
