#include "emu/vfs/lookup.h"

#include <algorithm>
#include <cerrno>

#include "probesim/assert.h"

namespace probesim::emu {

Node Lookup::host_node(const std::string& path, HostFs::Lstat st) const {
  Node n;
  n.path = path;
  n.kind = NodeKind::Host;
  n.mode = st.attrs.mode;
  n.host_attrs = st.attrs;
  n.host_key = std::move(st.key);
  return n;
}

Result<Node> Lookup::root() const {
  Result<HostFs::Lstat> st = host_.lstat("/");
  if (!st) return st.take_error();
  return host_node("/", std::move(*st));
}

// /dev/shm, a directory of the overlay mounted in the synthetic /dev.
bool Lookup::is_shm_mount(const Node& dir, std::string_view name) {
  return dir.kind == NodeKind::Dev && dir.path == "/dev" && name == kShmPath.substr(5);
}

Result<Node> Lookup::child(const Node& dir, std::string_view name, const Caller& caller) const {
  if (dir.synthetic() && !is_shm_mount(dir, name)) return synthetic_.child(dir, name, caller);
  if (dir.path == "/" && SyntheticFs::is_mount(name)) return SyntheticFs::mount(name);
  std::string path = path_join(dir.path, name);
  if (const OverlayEntry* e = overlay_.find(path)) {
    if (e->whiteout) return vfs_error(ENOENT, path);
    Node n;
    n.path = std::move(path);
    n.kind = NodeKind::Overlay;
    n.mode = e->inode->attrs().mode;
    n.inode = e->inode.get();
    n.link_target = e->link_target;
    return n;
  }
  if (dir.kind != NodeKind::Host) return vfs_error(ENOENT, path);
  Result<HostFs::Lstat> st = host_.lstat(path);
  if (!st) return st.take_error();
  return host_node(path, std::move(*st));
}

Result<std::string> Lookup::link_target(const Node& node) const {
  if (!node.is_symlink()) return vfs_error(EINVAL, node.path);
  if (node.kind == NodeKind::Host) return host_.readlink(node.path);
  return node.link_target;
}

bool Lookup::host_has(const Node& parent, std::string_view path) const {
  if (parent.kind != NodeKind::Host) return false;
  if (parent.path == "/" && SyntheticFs::is_mount(path.substr(1))) return false;
  return host_.lstat(path).ok();
}

std::vector<Node> Lookup::children(const Node& dir, const Caller& caller) const {
  if (dir.synthetic()) {
    std::vector<Node> out = synthetic_.children(dir, caller);
    if (dir.kind == NodeKind::Dev && dir.path == "/dev") {
      if (Result<Node> shm = child(dir, kShmPath.substr(5), caller)) out.push_back(std::move(*shm));
      std::sort(out.begin(), out.end(), [](const Node& a, const Node& b) { return a.path < b.path; });
    }
    return out;
  }
  std::vector<Node> out;
  const bool is_root = dir.path == "/";
  if (dir.kind == NodeKind::Host) {
    Result<std::vector<std::string>> names = host_.list(dir.path);
    for (const std::string& name : names ? *names : std::vector<std::string>{}) {
      if (is_root && SyntheticFs::is_mount(name)) continue;
      const std::string path = path_join(dir.path, name);
      if (overlay_.find(path) != nullptr) continue;  // shadowed: whiteout or overlay object
      Result<HostFs::Lstat> st = host_.lstat(path);
      if (st) out.push_back(host_node(path, std::move(*st)));
    }
  }
  for (const auto& [name, entry] : overlay_.children(dir.path)) {
    if (entry->whiteout) continue;
    Result<Node> n = child(dir, name, caller);
    if (n) out.push_back(std::move(*n));
  }
  if (is_root) {
    for (std::string_view m : {"dev", "proc", "sys"}) out.push_back(SyntheticFs::mount(m));
  }
  std::sort(out.begin(), out.end(), [](const Node& a, const Node& b) { return a.path < b.path; });
  return out;
}

std::vector<DirEntry> Lookup::list(const Node& dir, const Node& parent, const Caller& caller) {
  std::vector<DirEntry> out;
  auto add = [&](std::string name, const Node& n) {
    Result<InodeRef> ino = inode(n, InodeUse::Stat);
    if (ino) out.push_back(DirEntry{std::move(name), (*ino)->i_ino(), dt_type(n.mode)});
  };
  add(".", dir);
  add("..", parent);
  for (const Node& n : children(dir, caller)) add(n.path.substr(n.path.rfind('/') + 1), n);
  return out;
}

Result<InodeRef> Lookup::inode(const Node& node, InodeUse use) {
  switch (node.kind) {
    case NodeKind::Overlay:
      return InodeRef::acquire(node.inode);
    case NodeKind::Host:
      return host_inode(node, use);
    default:
      return synthetic_.inode(node);
  }
}

Result<InodeRef> Lookup::host_inode(const Node& node, InodeUse use) {
  const bool data = use == InodeUse::Keep && node.is_regular();
  if (mmu::Inode* cached = inodes_.find(node.host_key)) {
    PROBESIM_ASSERT_MSG(
        !data || cached->backing() != nullptr || cached->dirty() || cached->i_size() == 0,
        "host inode " + node.path + " cached without its backing");
    return InodeRef::acquire(cached);
  }
  std::unique_ptr<mmu::InodeBacking> backing;
  uint64_t capacity = node.is_regular() ? page_align_up(node.host_attrs.size) : 0;
  if (data) {
    Result<std::unique_ptr<mmu::HostFileBacking>> b = host_.open_backing(node.path);
    if (!b) return b.take_error();
    backing = std::move(*b);
    capacity += kWriteHeadroom;
  }
  return insert_inode(inodes_, node.host_key, node.path, node.host_attrs, std::move(backing),
                      capacity);
}

}  // namespace probesim::emu
