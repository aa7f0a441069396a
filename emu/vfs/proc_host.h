// ProcHost: what the synthetic /proc asks of its provider (the machine): the live pids, each
// one's exe/cwd/fds, and the text files of /proc/<pid>/ (maps, status, cmdline, comm). Like
// a seq_file, a text is taken when the file is opened.
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace probesim::emu {

class FdTable;

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
  // The text of /proc/<pid>/<name>; nullopt: no such process or file.
  virtual std::optional<std::string> proc_text(int pid, std::string_view name) = 0;
};

}  // namespace probesim::emu
