// debug_files.h: debugfs's kprobes directory and /proc/kallsyms.
#include "emu/tracefs/debug_files.h"

#include <cerrno>
#include <cstdio>

#include "emu/machine_state.h"

namespace probesim::emu {
namespace {

constexpr std::string_view kKprobesFiles[] = {"blacklist", "enabled", "list"};

std::string_view trim_newline(std::string_view v) {
  if (!v.empty() && v.back() == '\n') v.remove_suffix(1);
  return v;
}

}  // namespace

std::optional<bool> KprobesDebugfs::tracefs_kind(std::string_view rel) {
  if (rel.empty()) return true;
  for (std::string_view f : kKprobesFiles)
    if (rel == f) return false;
  return std::nullopt;
}

std::vector<TracefsHost::Entry> KprobesDebugfs::tracefs_list(std::string_view rel) {
  std::vector<Entry> out;
  if (rel.empty())
    for (std::string_view f : kKprobesFiles) out.push_back({std::string(f), false});
  return out;
}

std::string KprobesDebugfs::tracefs_read(std::string_view rel) {
  probes::KprobeManager* mgr = m_.kprobes();
  if (rel == "enabled") return mgr && mgr->all_disarmed() ? "0\n" : "1\n";
  if (rel == "list") return mgr ? mgr->list() : std::string();
  if (rel == "blacklist" && m_.kernel()) return m_.kernel()->space().kallsyms().format_blacklist();
  return {};
}

// write_enabled_file_bool (kernel/kprobes.c): kstrtobool's first character decides.
int64_t KprobesDebugfs::tracefs_write(std::string_view rel, std::string_view data) {
  if (rel != "enabled") return -EINVAL;
  probes::KprobeManager* mgr = m_.kprobes();
  if (!mgr) return -ENODEV;
  std::string_view v = trim_newline(data);
  if (v.empty()) return -EINVAL;
  Result<void> r;
  if (v[0] == 'y' || v[0] == 'Y' || v[0] == '1') {
    r = mgr->arm_all_kprobes();
  } else if (v[0] == 'n' || v[0] == 'N' || v[0] == '0') {
    r = mgr->disarm_all_kprobes();
  } else {
    return -EINVAL;
  }
  if (!r) return -r.error().err;
  return static_cast<int64_t>(data.size());
}

std::optional<bool> ProcKallsyms::tracefs_kind(std::string_view rel) {
  if (rel.empty()) return false;
  return std::nullopt;
}

std::string ProcKallsyms::tracefs_read(std::string_view) {
  std::string out;
  if (!m_.kernel()) return out;
  char addr[24];
  for (const probes::KernelSymbol& s : m_.kernel()->space().kallsyms().symbols()) {
    std::snprintf(addr, sizeof addr, "%016llx %c ", static_cast<unsigned long long>(s.addr.value),
                  s.type);
    out += addr + s.name + "\n";
  }
  return out;
}

int64_t ProcKallsyms::tracefs_write(std::string_view, std::string_view) {
  return -EIO;
}

}  // namespace probesim::emu
