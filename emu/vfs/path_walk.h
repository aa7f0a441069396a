// walk_path: Linux's path walk (link_path_walk + the last component), confined to the guest
// root. Rules (path_resolution(7)):
//   - absolute paths and absolute symlink targets start at the guest root; relative ones at
//     `base` (a canonical directory: the cwd or a dirfd's path) or at the link's directory;
//   - ".." of the root is the root, so no path or symlink can leave it;
//   - at most kMaxSymlinks (40) symlinks per walk, else ELOOP;
//   - ENAMETOOLONG for a path of PATH_MAX bytes or more or a component over NAME_MAX;
//   - ENOTDIR when a non-directory is used as a directory; ENOENT for a missing
//     intermediate component or an empty path;
//   - a trailing slash makes the last component follow symlinks and demands a directory.
#pragma once

#include <optional>
#include <string>
#include <string_view>

#include "emu/vfs/lookup.h"

namespace probesim::emu {

enum class Follow { No, Yes };

// Linux's LAST_NORM / LAST_DOT / LAST_DOTDOT / LAST_ROOT: what the last component was.
enum class LastType { Normal, Dot, DotDot, Root };

struct WalkResult {
  LastType last_type = LastType::Normal;
  Node parent;               // Normal: the directory holding `last`
  std::string last;          // Normal: the last name
  std::optional<Node> node;  // the object; empty when a Normal last name does not exist
  bool trailing_slash = false;
};

Result<WalkResult> walk_path(Lookup& lookup, const Caller& caller, std::string_view base,
                             std::string_view path, Follow follow_last);

// The node of a canonical directory path (cwd, a dirfd's path); ENOENT/ENOTDIR if it is gone.
Result<Node> lookup_dir(Lookup& lookup, const Caller& caller, std::string_view dir);

}  // namespace probesim::emu
