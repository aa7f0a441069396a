// HostFs: read-only access to the host directory that is the guest's root. It is the only
// code in emu/ that touches the host filesystem (the page cache reads file data through
// mmu::HostFileBacking), and it never writes, creates, renames, chmods or deletes anything.
//
// Confinement: guest paths given to HostFs are canonical (absolute, no ".", "..", or
// symlinks: the PathWalker expanded them inside the guest root), so every intermediate
// component is a real host directory under the root and the host never follows a symlink.
#pragma once

#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include <functional>

#include "mmu/inode.h"
#include "mmu/inode_backing.h"
#include "probesim/result.h"

namespace probesim::emu {

class HostFs {
 public:
  // root: an existing host directory (made absolute and symlink-free with realpath).
  static Result<HostFs> create(const std::string& root);

  const std::string& root() const { return root_; }
  std::string host_path(std::string_view guest_path) const;

  struct Lstat {
    mmu::InodeAttrs attrs;
    std::string key;  // InodeCache key "host:<st_dev>:<st_ino>" (hard links share it)
  };
  // lstat(2) of the object at a canonical guest path; errors carry the host errno.
  Result<Lstat> lstat(std::string_view guest_path) const;
  Result<std::string> readlink(std::string_view guest_path) const;
  // The names in a directory, sorted, without "." and "..".
  Result<std::vector<std::string>> list(std::string_view guest_path) const;
  Result<std::unique_ptr<mmu::HostFileBacking>> open_backing(std::string_view guest_path) const;
  // Called with the guest path of every file open_backing opens (recording hashes them).
  std::function<void(const std::string&)> on_open;

 private:
  explicit HostFs(std::string root) : root_(std::move(root)) {}
  std::string root_;  // "/" or an absolute path without a trailing slash
};

}  // namespace probesim::emu
