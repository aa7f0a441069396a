// SyntheticFs: the filesystems probesim makes up instead of showing the host's: /dev (null,
// zero, random, urandom, tty and the fd/stdin/stdout/stderr links), /proc (only the calling
// process: /proc/self, /proc/<pid>/{exe,cwd,fd/N}) and /sys, which holds only tracefs at
// /sys/kernel/tracing and /sys/kernel/debug/tracing (its contents from a TracefsHost; without
// one /sys is empty; /dev/shm, a tmpfs of overlay objects, is mounted in /dev by Lookup). They
// hide the host's
// /dev, /proc and /sys, whose contents are neither safe nor deterministic.
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
  // The path inside tracefs of /sys/kernel/tracing/REL or /sys/kernel/debug/tracing/REL.
  static std::optional<std::string> tracefs_rel(std::string_view path);
  // The provider of tracefs (the machine's TraceEvents); null: /sys stays empty.
  void set_tracefs(TracefsHost* host) { tracefs_ = host; }
  TracefsHost* tracefs() const { return tracefs_; }

 private:
  std::vector<std::string> proc_components(std::string_view path) const;
  Result<Node> proc_child(const Node& dir, std::string_view name, const Caller& caller) const;
  Result<Node> sys_child(const Node& dir, std::string_view name) const;
  std::vector<std::string> sys_children(const Node& dir) const;

  mmu::InodeCache& inodes_;
  Timespec boot_time_;
  std::map<std::string, InodeRef> dev_inodes_;  // by path, for the life of the Vfs
  TracefsHost* tracefs_ = nullptr;
};

}  // namespace probesim::emu
