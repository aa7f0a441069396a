// ProcHost: what the synthetic /proc asks of its provider (the machine) for the text files
// of /proc/<pid>/ (maps, status, cmdline, comm). Like a seq_file, the text is taken when the
// file is opened.
#pragma once

#include <optional>
#include <string>
#include <string_view>

namespace probesim::emu {

class ProcHost {
 public:
  virtual ~ProcHost() = default;
  // The text of /proc/<pid>/<name>; nullopt: no such process or file.
  virtual std::optional<std::string> proc_text(int pid, std::string_view name) = 0;
};

}  // namespace probesim::emu
