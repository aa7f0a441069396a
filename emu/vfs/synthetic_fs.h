// SyntheticFs: the filesystems probesim makes up instead of showing the host's: /dev (null,
// zero, random, urandom, tty and the fd/stdin/stdout/stderr links), /proc (/proc/self, every
// live process's /proc/<pid>/{cmdline,comm,cwd,exe,fd/N,maps,stat,statm,status,task/<tid>/},
// /proc/{stat,uptime,loadavg,meminfo,sys/kernel/...}) and /sys (/sys/devices/system/cpu/
// {online,possible,present}); the text files come from the ProcHost. Subtrees whose contents
// come from the machine are mounted as providers (TracefsHost): tracefs at /sys/kernel/tracing and
// /sys/kernel/debug/tracing, debugfs's /sys/kernel/debug/kprobes, /proc/kallsyms. (/dev/shm, a
// tmpfs of overlay objects, is mounted in /dev by Lookup.) They hide the host's /dev, /proc and
// /sys, whose contents are neither safe nor deterministic.
//
// Inodes: keyed "synthetic:<path>" in the InodeCache; those of /dev are held for the life of
// the Vfs (so chmod on them sticks), the others are created on demand. Their times are the
// machine's boot time. Nothing here can be created, removed or renamed by the guest.
#pragma once

#include <map>
#include <optional>
#include <string_view>
#include <vector>

#include "emu/vfs/caller.h"
#include "emu/vfs/dev_file.h"
#include "emu/vfs/inode_ref.h"
#include "emu/vfs/node.h"
#include "emu/vfs/proc_host.h"
#include "emu/vfs/tracefs_host.h"
#include "emu/virtual_clock.h"

namespace probesim::emu {

class SyntheticFs {
 public:
  SyntheticFs(mmu::InodeCache& inodes, const VirtualClock& clock);

  // True for the names mounted over the root: "dev", "proc", "sys".
  static bool is_mount(std::string_view name);
  static Node mount(std::string_view name);  // the node of /dev, /proc or /sys
  Result<Node> child(const Node& dir, std::string_view name, const Caller& caller) const;
  std::vector<Node> children(const Node& dir, const Caller& caller) const;  // sorted by path
  Result<InodeRef> inode(const Node& node);
  // /proc/<pid>/fd/N of a non-directory jumps to the open file itself (a Node with `file`).
  static std::optional<Node> magic_target(const Node& link, const Caller& caller);
  // The device behind a /dev node, or nullopt (tty and links: opening them is ENXIO).
  static std::optional<DevKind> dev_kind(const Node& node);
  // Mounts `host` at the absolute path `at` (under /sys or /proc; its parents need not exist:
  // the directories leading to a provider are made up). The host must outlive this.
  void mount_provider(std::string at, TracefsHost& host) { providers_[std::move(at)] = &host; }
  struct Provided {
    TracefsHost* host;
    std::string rel;  // the path inside the provider ("" its root)
  };
  // The provider holding `path` (at or below its mount point), if any.
  std::optional<Provided> provider(std::string_view path) const;
  // The provider of every text file (TextFile) and of /proc/<pid>/task/; null: none exist.
  void set_proc(ProcHost* host) { proc_ = host; }
  ProcHost* proc() const { return proc_; }
  // A ProcHost text file: /proc/<pid>/<name> (tid 0), /proc/<pid>/task/<tid>/<name>, or a
  // machine-wide file (pid 0, name = its absolute path: /proc/stat, /sys/.../online).
  struct TextFile {
    int pid = 0, tid = 0;
    std::string name;
  };
  std::optional<TextFile> text_file(const Node& node) const;

 private:
  std::vector<std::string> proc_components(std::string_view path) const;
  Result<Node> proc_child(const Node& dir, std::string_view name, const Caller& caller) const;
  std::optional<ProcHost::View> other_view(std::string_view pid_name, const Caller& caller) const;
  bool is_task_of(std::string_view pid_name, std::string_view tid_name) const;
  void proc_pid_children(const Node& dir, const Caller& caller,
                         std::vector<std::string>& names) const;
  Result<Node> sys_child(const Node& dir, std::string_view name) const;
  std::vector<std::string> sys_children(const Node& dir) const;
  // The next path components of the provider mount points strictly below `dir`.
  std::vector<std::string> mount_children(std::string_view dir) const;
  std::optional<Node> provided_node(const std::string& path) const;

  mmu::InodeCache& inodes_;
  Timespec boot_time_;
  std::map<std::string, InodeRef> dev_inodes_;  // by path, for the life of the Vfs
  std::map<std::string, TracefsHost*, std::less<>> providers_;  // by mount path
  ProcHost* proc_ = nullptr;
};

}  // namespace probesim::emu
