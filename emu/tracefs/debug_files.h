// The kernel's other synthetic files over the machine, next to tracefs: debugfs's
// /sys/kernel/debug/kprobes/{list,enabled,blacklist} (kernel/kprobes.c) and /proc/kallsyms
// (kernel/kallsyms.c s_show). Both read the guest kernel image's KprobeManager and kallsyms;
// without a guest kernel the files exist and are empty (`enabled` reads 1).
// Who may touch them: the emulation thread, through the Vfs (never from a probe handler).
#pragma once

#include "emu/vfs/tracefs_host.h"

namespace probesim::emu {

class MachineState;

// /sys/kernel/debug/kprobes: `list` (every registered kprobe, "%px  k|r  sym+0xoff  [FLAGS]"),
// `enabled` (1/0; writing y/Y/1 arms all kprobes, n/N/0 disarms them: arm_all_kprobes /
// disarm_all_kprobes), `blacklist` ("0x<start>-0x<end>\t<func>").
class KprobesDebugfs final : public TracefsHost {
 public:
  explicit KprobesDebugfs(MachineState& m) : m_(m) {}
  std::optional<bool> tracefs_kind(std::string_view rel) override;
  std::vector<Entry> tracefs_list(std::string_view rel) override;
  std::string tracefs_read(std::string_view rel) override;
  int tracefs_truncate(std::string_view) override { return 0; }
  int64_t tracefs_write(std::string_view rel, std::string_view data) override;

 private:
  MachineState& m_;
};

// /proc/kallsyms: "<16 hex digits> <type> <name>\n" per symbol, ascending address, as root
// reads it (kptr_restrict lets root see addresses). Read-only: a write is EIO (pde_write
// without a proc_write op).
class ProcKallsyms final : public TracefsHost {
 public:
  explicit ProcKallsyms(MachineState& m) : m_(m) {}
  std::optional<bool> tracefs_kind(std::string_view rel) override;
  std::vector<Entry> tracefs_list(std::string_view) override { return {}; }
  std::string tracefs_read(std::string_view rel) override;
  int tracefs_truncate(std::string_view) override { return 0; }
  int64_t tracefs_write(std::string_view, std::string_view) override;

 private:
  MachineState& m_;
};

}  // namespace probesim::emu
