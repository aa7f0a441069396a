#include "emu/vfs/path_walk.h"

#include <cerrno>
#include <deque>

#include "emu/vfs/vfs_abi.h"

namespace probesim::emu {
namespace {

// Pushes the components of path in front of rest (in order); empty ones are dropped.
void prepend_components(std::deque<std::string>& rest, std::string_view path) {
  std::deque<std::string> parts;
  size_t i = 0;
  while (i < path.size()) {
    const size_t j = path.find('/', i);
    const size_t end = j == std::string_view::npos ? path.size() : j;
    if (end > i) parts.emplace_back(path.substr(i, end - i));
    i = end + 1;
  }
  rest.insert(rest.begin(), parts.begin(), parts.end());
}

// The walk's state between components.
struct Walk {
  Lookup& lookup;
  const Caller& caller;
  Follow follow_last;
  Node root;
  Node cur;
  std::deque<std::string> rest;
  int links = 0;

  // cur's parent: re-walked from the root along cur's canonical path (".." of "/" is "/").
  Result<void> up() {
    if (cur.path == "/") return {};
    Result<Node> p = lookup_dir(lookup, caller, path_dirname(cur.path));
    if (!p) return p.take_error();
    cur = std::move(*p);
    return {};
  }

  // Replaces a symlink component by its target's components.
  Result<void> expand(const Node& link) {
    if (++links > kMaxSymlinks) return vfs_error(ELOOP, link.path);
    Result<std::string> target = lookup.link_target(link);
    if (!target) return target.take_error();
    if (target->empty()) return vfs_error(ENOENT, link.path);
    if ((*target)[0] == '/') cur = root;
    prepend_components(rest, *target);
    return {};
  }

  // Walks the next component. Returns true when the walk is complete (r filled in).
  Result<bool> step(WalkResult& r) {
    const std::string name = std::move(rest.front());
    rest.pop_front();
    const bool last = rest.empty();
    if (!cur.is_dir()) return vfs_error(ENOTDIR, cur.path);
    if (name == "." || name == "..") {
      if (name == "..") PROBESIM_TRY_VOID(up());
      if (last) r.last_type = name == "." ? LastType::Dot : LastType::DotDot;
      return false;
    }
    if (name.size() > kNameMax) return vfs_error(ENAMETOOLONG, name.substr(0, 64));
    Result<Node> child = lookup.child(cur, name, caller);
    if (!child && !(last && child.error().err == ENOENT)) return child.take_error();
    if (child && child->is_symlink() && (!last || follow_last == Follow::Yes || r.trailing_slash)) {
      if (std::optional<Node> magic = Lookup::magic_target(*child, caller)) {
        if (++links > kMaxSymlinks) return vfs_error(ELOOP, child->path);
        cur = std::move(*magic);
        if (last) r.last_type = LastType::Dot;
        return false;
      }
      PROBESIM_TRY_VOID(expand(*child));
      r.last_type = LastType::Dot;  // a final link to "/" or "." leaves cur as the result
      return false;
    }
    if (!last) {
      cur = std::move(*child);
      return false;
    }
    r.last_type = LastType::Normal;
    r.parent = std::move(cur);
    r.last = name;
    if (child) r.node = std::move(*child);
    if (r.node && r.trailing_slash && !r.node->is_dir()) return vfs_error(ENOTDIR, r.node->path);
    return true;
  }
};

}  // namespace

Result<WalkResult> walk_path(Lookup& lookup, const Caller& caller, std::string_view base,
                             std::string_view path, Follow follow_last) {
  if (path.empty()) return vfs_error(ENOENT, path);
  if (path.size() >= kPathMax) return vfs_error(ENAMETOOLONG, path.substr(0, 64));
  Result<Node> root = lookup.root();
  if (!root) return root.take_error();
  Walk w{lookup, caller, follow_last, *root, *root, {}, 0};
  if (path[0] != '/' && base != "/") {
    Result<Node> b = lookup_dir(lookup, caller, base);
    if (!b) return b.take_error();
    w.cur = std::move(*b);
  }
  prepend_components(w.rest, path);
  WalkResult r;
  r.trailing_slash = path.back() == '/';
  r.last_type = w.rest.empty() ? LastType::Root : LastType::Dot;
  while (!w.rest.empty()) {
    if (PROBESIM_TRY(w.step(r))) return r;
  }
  r.node = std::move(w.cur);
  return r;
}

Result<Node> lookup_dir(Lookup& lookup, const Caller& caller, std::string_view dir) {
  Result<WalkResult> r = walk_path(lookup, caller, "/", dir, Follow::Yes);
  if (!r) return r.take_error();
  if (!r->node) return vfs_error(ENOENT, dir);
  if (!r->node->is_dir()) return vfs_error(ENOTDIR, dir);
  return std::move(*r->node);
}

}  // namespace probesim::emu
