// Overlay: everything the guest changed in its filesystem, kept in memory (the upper layer of
// an overlayfs whose lower layer is the read-only host root). Keyed by canonical guest path:
//   - an object entry: a file, directory or symlink the guest created or renamed; its inode
//     is an "overlay:<n>" inode of the InodeCache (or, for a renamed host file, the host
//     inode, pinned by this entry);
//   - a whiteout: a host object the guest deleted or renamed away.
// Directories created by the guest are opaque: nothing of the host shows through them.
// Data written to host files needs no entry: it lives in the (dirty, pinned) host inode.
//
// Invariants: entries exist only below directories of the root filesystem, or at and below
// /dev/shm (the tmpfs mounted in the synthetic /dev, node.h); whiteouts exist only where the
// host has an object and the parent directory is a host directory.
// Ownership: owned by the Vfs; entries own one inode reference each.
#pragma once

#include <map>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "emu/vfs/inode_ref.h"

namespace probesim::emu {

struct OverlayEntry {
  bool whiteout = false;
  InodeRef inode;           // objects only
  std::string link_target;  // symlinks only
};

class Overlay {
 public:
  const OverlayEntry* find(std::string_view path) const;
  void put(const std::string& path, OverlayEntry entry);  // replaces any entry at path
  void erase(std::string_view path);
  void erase_below(std::string_view dir);  // every entry strictly below dir/
  // Moves every entry strictly below `from`/ to the same place below `to`/.
  void move_below(std::string_view from, std::string_view to);
  // Direct children of dir (whiteouts included), sorted by name.
  std::vector<std::pair<std::string, const OverlayEntry*>> children(std::string_view dir) const;

  // A fresh InodeCache key for a guest-created object: "overlay:1", "overlay:2", ...
  std::string next_key() { return "overlay:" + std::to_string(++last_id_); }
  size_t size() const { return entries_.size(); }

 private:
  using Map = std::map<std::string, OverlayEntry, std::less<>>;
  // [first, last) of the entries strictly below dir/.
  std::pair<Map::iterator, Map::iterator> below(std::string_view dir);
  static std::string prefix_of(std::string_view dir);

  Map entries_;
  uint64_t last_id_ = 0;
};

}  // namespace probesim::emu
