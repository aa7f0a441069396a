// Lookup: the read side of the merged guest namespace (Linux's lookup_slow / readdir over an
// overlayfs): one name in one directory, a symlink's target, a directory's listing, and the
// inode behind a node. Precedence for a name in a root-filesystem directory: the synthetic
// mounts (/dev, /proc, /sys at the root), then an overlay entry (a whiteout hides the host),
// then the host object if the directory is a host directory (guest-made ones are opaque).
#pragma once

#include <string_view>
#include <vector>

#include "emu/vfs/caller.h"
#include "emu/vfs/dir_file.h"
#include "emu/vfs/host_fs.h"
#include "emu/vfs/node.h"
#include "emu/vfs/overlay.h"
#include "emu/vfs/synthetic_fs.h"

namespace probesim::emu {

// How long an inode reference will live. Stat: released before the Vfs call returns (a
// host regular file then needs no open host backing). Keep: held by a File, an overlay entry
// or a pin, so a host regular file gets its backing and room to grow.
enum class InodeUse { Stat, Keep };

class Lookup {
 public:
  // Room for guest writes past a host file's size (a NORESERVE reservation: cheap).
  static constexpr uint64_t kWriteHeadroom = uint64_t{1} << 30;

  Lookup(HostFs& host, Overlay& overlay, SyntheticFs& synthetic, mmu::InodeCache& inodes)
      : host_(host), overlay_(overlay), synthetic_(synthetic), inodes_(inodes) {}

  Result<Node> root() const;
  // The object called name in dir (dir must be a directory; name not "." or "..").
  Result<Node> child(const Node& dir, std::string_view name, const Caller& caller) const;
  // `name` in `dir` is the /dev/shm mount point.
  static bool is_shm_mount(const Node& dir, std::string_view name);
  Result<std::string> link_target(const Node& node) const;
  // For /proc/<pid>/fd/N links: the open file they jump to, instead of their text.
  static std::optional<Node> magic_target(const Node& link, const Caller& caller) {
    return SyntheticFs::magic_target(link, caller);
  }
  // dir's entries: "." and ".." (parent's inode) first, then the merged entries by name.
  std::vector<DirEntry> list(const Node& dir, const Node& parent, const Caller& caller);
  // The merged names of dir without "." and "..", sorted (emptiness checks, listings).
  std::vector<Node> children(const Node& dir, const Caller& caller) const;
  Result<InodeRef> inode(const Node& node, InodeUse use);
  // True if the host has an object at path under the host directory parent.
  bool host_has(const Node& parent, std::string_view path) const;

 private:
  Node host_node(const std::string& path, HostFs::Lstat st) const;
  Result<InodeRef> host_inode(const Node& node, InodeUse use);

  HostFs& host_;
  Overlay& overlay_;
  SyntheticFs& synthetic_;
  mmu::InodeCache& inodes_;
};

}  // namespace probesim::emu
