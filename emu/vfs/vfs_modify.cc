// The Vfs operations that change the namespace or attributes. All changes land in the
// Overlay or in cached inodes; the host root is never written.
#include <sys/stat.h>

#include <cerrno>

#include "emu/vfs/vfs.h"
#include "emu/vfs/vfs_abi.h"
#include "probesim/assert.h"

namespace probesim::emu {

Result<Node> Vfs::create_object(const Caller& c, const Node& parent, const std::string& name,
                                uint32_t mode, std::string link_target) {
  const std::string path = path_join(parent.path, name);
  if (parent.synthetic()) return vfs_error(EACCES, path);
  mmu::InodeAttrs a;
  a.mode = mode;
  a.uid = c.fsuid();  // inode_init_owner (setgid directories are not modelled)
  a.gid = c.fsgid();
  a.size = link_target.size();
  a.nlink = S_ISDIR(mode) ? 2 : 1;
  const Timespec t = now();
  a.atime_sec = a.mtime_sec = a.ctime_sec = t.sec;
  a.atime_nsec = a.mtime_nsec = a.ctime_nsec = t.nsec;
  const uint64_t capacity = S_ISREG(mode) ? Lookup::kWriteHeadroom : 0;
  InodeRef inode =
      PROBESIM_TRY(insert_inode(inodes_, overlay_.next_key(), path, a, nullptr, capacity));
  overlay_.put(path, OverlayEntry{false, std::move(inode), std::move(link_target)});
  return lookup_.child(parent, name, c);
}

// Takes node's name out of the namespace: a whiteout if the host has an object there,
// otherwise the overlay entry simply goes (dropping its inode reference).
void Vfs::remove_name(const Node& parent, const Node& node) {
  if (node.kind == NodeKind::Host || lookup_.host_has(parent, node.path)) {
    overlay_.put(node.path, OverlayEntry{true, {}, {}});
  } else {
    overlay_.erase(node.path);
  }
}

Result<void> Vfs::mkdir(const Caller& c, std::string_view base, std::string_view path,
                        uint32_t mode) {
  const WalkResult w = PROBESIM_TRY(walk(c, base, path, Follow::No));
  if (w.last_type != LastType::Normal || w.node) return vfs_error(EEXIST, path);
  PROBESIM_TRY(create_object(c, w.parent, w.last, S_IFDIR | (mode & 01777 & ~c.fs.umask)));
  return {};
}

Result<void> Vfs::mknod(const Caller& c, std::string_view base, std::string_view path,
                        uint32_t mode) {
  const WalkResult w = PROBESIM_TRY(walk(c, base, path, Follow::No));
  if (w.last_type != LastType::Normal || w.node) return vfs_error(EEXIST, path);
  PROBESIM_TRY(create_object(c, w.parent, w.last, (mode & S_IFMT) | (mode & 07777 & ~c.fs.umask)));
  return {};
}

// fs/namei.c do_symlinkat: the target is only stored (it may dangle); filename_create's
// errors for the new name.
Result<void> Vfs::symlink(const Caller& c, std::string_view target, std::string_view base,
                          std::string_view path) {
  if (target.empty()) return vfs_error(ENOENT, path);  // getname("")
  const WalkResult w = PROBESIM_TRY(walk(c, base, path, Follow::No));
  if (w.last_type != LastType::Normal || w.node) return vfs_error(EEXIST, path);
  if (w.trailing_slash) return vfs_error(ENOENT, path);
  PROBESIM_TRY(create_object(c, w.parent, w.last, S_IFLNK | 0777, std::string(target)));
  return {};
}

Result<void> Vfs::unlink(const Caller& c, std::string_view base, std::string_view path) {
  const WalkResult w = PROBESIM_TRY(walk(c, base, path, Follow::No));
  if (w.last_type != LastType::Normal) return vfs_error(EISDIR, path);
  if (!w.node) return vfs_error(ENOENT, path);
  const Node& node = *w.node;
  if (node.is_dir()) return vfs_error(EISDIR, path);
  if (node.synthetic()) return vfs_error(EACCES, path);
  // Open files keep the inode; fstat on them then shows one link fewer.
  mmu::Inode* inode = node.kind == NodeKind::Overlay ? node.inode : inodes_.find(node.host_key);
  if (inode != nullptr && inode->attrs().nlink > 0) {
    inode->attrs().nlink -= 1;
    const Timespec t = now();
    inode->attrs().ctime_sec = t.sec;
    inode->attrs().ctime_nsec = t.nsec;
  }
  remove_name(w.parent, node);
  return {};
}

Result<void> Vfs::rmdir(const Caller& c, std::string_view base, std::string_view path) {
  const WalkResult w = PROBESIM_TRY(walk(c, base, path, Follow::No));
  if (w.last_type == LastType::Dot) return vfs_error(EINVAL, path);
  if (w.last_type == LastType::DotDot) return vfs_error(ENOTEMPTY, path);
  if (w.last_type == LastType::Root) return vfs_error(EBUSY, path);
  if (!w.node) return vfs_error(ENOENT, path);
  const Node& node = *w.node;
  if (!node.is_dir()) return vfs_error(ENOTDIR, path);
  if (node.synthetic() || node.path == kShmPath) {
    return vfs_error(w.parent.synthetic() && node.path != kShmPath ? EACCES : EBUSY, path);
  }
  if (!lookup_.children(node, c).empty()) return vfs_error(ENOTEMPTY, path);
  overlay_.erase_below(node.path);  // whiteouts of host entries deleted inside it
  remove_name(w.parent, node);
  return {};
}

// An overlay entry holding node's object, for rename.
Result<OverlayEntry> Vfs::detach_entry(const Node& node) {
  if (node.kind == NodeKind::Overlay) {
    const OverlayEntry* e = overlay_.find(node.path);
    PROBESIM_ASSERT(e != nullptr && !e->whiteout);
    return OverlayEntry{false, e->inode, e->link_target};
  }
  InodeRef inode = PROBESIM_TRY(lookup_.inode(node, InodeUse::Keep));
  std::string target;
  if (node.is_symlink()) target = PROBESIM_TRY(host_.readlink(node.path));
  return OverlayEntry{false, std::move(inode), std::move(target)};
}

Result<void> Vfs::rename(const Caller& c, std::string_view old_base, std::string_view old_path,
                         std::string_view new_base, std::string_view new_path) {
  const WalkResult wo = PROBESIM_TRY(walk(c, old_base, old_path, Follow::No));
  const WalkResult wn = PROBESIM_TRY(walk(c, new_base, new_path, Follow::No));
  if (wo.last_type != LastType::Normal || wn.last_type != LastType::Normal) {
    return vfs_error(EBUSY, old_path);
  }
  if (!wo.node) return vfs_error(ENOENT, old_path);
  const Node& src = *wo.node;
  const std::string dst_path = path_join(wn.parent.path, wn.last);
  if (src.synthetic() || wn.parent.synthetic()) return vfs_error(EXDEV, old_path);
  if (src.path == kShmPath) return vfs_error(EBUSY, old_path);  // a mount point
  if (node_dev(src) != node_dev(wn.parent)) return vfs_error(EXDEV, old_path);
  if (wn.node) {
    const Node& dst = *wn.node;
    if (dst.path == src.path) return {};
    if (src.kind == NodeKind::Host && dst.kind == NodeKind::Host && src.host_key == dst.host_key) {
      return {};  // two hard links of one file: rename does nothing
    }
    if (src.is_dir() && !dst.is_dir()) return vfs_error(ENOTDIR, new_path);
    if (!src.is_dir() && dst.is_dir()) return vfs_error(EISDIR, new_path);
    if (dst.is_dir() && !lookup_.children(dst, c).empty()) return vfs_error(ENOTEMPTY, new_path);
  } else if (!src.is_dir() && wn.trailing_slash) {
    return vfs_error(ENOTDIR, new_path);
  }
  if (src.is_dir() && dst_path.starts_with(src.path + "/")) return vfs_error(EINVAL, new_path);
  // A host directory cannot move without copying its tree: overlayfs without redirect_dir
  // says EXDEV, and mv(1) then copies.
  if (src.kind == NodeKind::Host && src.is_dir()) return vfs_error(EXDEV, old_path);
  OverlayEntry entry = PROBESIM_TRY(detach_entry(src));
  if (wn.node && wn.node->is_dir()) overlay_.erase_below(dst_path);
  if (src.is_dir()) overlay_.move_below(src.path, dst_path);
  remove_name(wo.parent, src);
  overlay_.put(dst_path, std::move(entry));
  return {};
}

// fs/namei.c do_linkat / vfs_link: EPERM for directories and synthetic objects, EXDEV across
// filesystems, EEXIST if the new name exists; the inode gains a link and a ctime.
Result<void> Vfs::link(const Caller& c, std::string_view old_base, std::string_view old_path,
                       std::string_view new_base, std::string_view new_path, Follow follow) {
  const Node src = PROBESIM_TRY(resolve(c, old_base, old_path, follow));
  const WalkResult wn = PROBESIM_TRY(walk(c, new_base, new_path, Follow::No));
  if (wn.last_type != LastType::Normal || wn.node) return vfs_error(EEXIST, new_path);
  if (wn.trailing_slash) return vfs_error(ENOENT, new_path);
  if (wn.parent.synthetic() || node_dev(src) != node_dev(wn.parent)) {
    return vfs_error(EXDEV, old_path);
  }
  if (src.is_dir() || src.synthetic() || src.file) return vfs_error(EPERM, old_path);
  OverlayEntry entry = PROBESIM_TRY(detach_entry(src));
  mmu::InodeAttrs& a = entry.inode->attrs();
  a.nlink += 1;
  const Timespec t = now();
  a.ctime_sec = t.sec;
  a.ctime_nsec = t.nsec;
  overlay_.put(path_join(wn.parent.path, wn.last), std::move(entry));
  return {};
}

void Vfs::pin(mmu::Inode* inode) {
  if (inode->key().starts_with("host:"))
    pinned_.try_emplace(inode->key(), InodeRef::acquire(inode));
}

Result<void> Vfs::chmod(const Caller& c, std::string_view base, std::string_view path,
                        uint32_t mode) {
  const Node node = PROBESIM_TRY(resolve(c, base, path, Follow::Yes));
  if (node.file) {  // a /proc/<pid>/fd/N magic link: the open file's inode
    chmod_inode(*node.file->inode(), mode);
    return {};
  }
  if (node.kind == NodeKind::Proc || node.kind == NodeKind::Sys) return vfs_error(EPERM, path);
  InodeRef inode = PROBESIM_TRY(lookup_.inode(node, InodeUse::Keep));
  chmod_inode(*inode, mode);
  return {};
}

void Vfs::chmod(File& file, uint32_t mode) {
  chmod_inode(*file.inode(), mode);
}

void Vfs::chmod_inode(mmu::Inode& inode, uint32_t mode) {
  mmu::InodeAttrs& a = inode.attrs();
  a.mode = (a.mode & S_IFMT) | (mode & 07777);
  const Timespec t = now();
  a.ctime_sec = t.sec;
  a.ctime_nsec = t.nsec;
  pin(&inode);
}

Result<void> Vfs::chown(const Caller& c, std::string_view base, std::string_view path,
                        uint32_t uid, uint32_t gid, Follow follow) {
  const Node node = PROBESIM_TRY(resolve(c, base, path, follow));
  if (node.file) {  // a /proc/<pid>/fd/N magic link (musl's fchown of an O_PATH fd uses it)
    chown_inode(*node.file->inode(), uid, gid);
    return {};
  }
  if (node.kind == NodeKind::Proc || node.kind == NodeKind::Sys) return vfs_error(EPERM, path);
  InodeRef inode = PROBESIM_TRY(lookup_.inode(node, InodeUse::Keep));
  chown_inode(*inode, uid, gid);
  return {};
}

void Vfs::chown(File& file, uint32_t uid, uint32_t gid) {
  chown_inode(*file.inode(), uid, gid);
}

void Vfs::chown_inode(mmu::Inode& inode, uint32_t uid, uint32_t gid) {
  mmu::InodeAttrs& a = inode.attrs();
  if (uid != kNoId) a.uid = uid;
  if (gid != kNoId) a.gid = gid;
  if (!S_ISDIR(a.mode)) {
    a.mode &= ~uint32_t{S_ISUID};
    if ((a.mode & (S_ISGID | S_IXGRP)) == (S_ISGID | S_IXGRP)) a.mode &= ~uint32_t{S_ISGID};
  }
  const Timespec t = now();
  a.ctime_sec = t.sec;
  a.ctime_nsec = t.nsec;
  pin(&inode);
}

Result<void> Vfs::utimens(const Caller& c, std::string_view base, std::string_view path,
                          const Timespec times[2], Follow follow) {
  const Node node = PROBESIM_TRY(resolve(c, base, path, follow));
  if (node.kind == NodeKind::Proc || node.kind == NodeKind::Sys) return vfs_error(EPERM, path);
  InodeRef inode = PROBESIM_TRY(lookup_.inode(node, InodeUse::Keep));
  utimens_inode(*inode, times);
  return {};
}

void Vfs::utimens(File& file, const Timespec times[2]) {
  utimens_inode(*file.inode(), times);
}

// utimensat: each time is set, set to now (UTIME_NOW) or left (UTIME_OMIT); ctime becomes
// now unless both are omitted.
void Vfs::utimens_inode(mmu::Inode& inode, const Timespec times[2]) {
  if (times[0].nsec == kUTIME_OMIT && times[1].nsec == kUTIME_OMIT) return;
  const Timespec t = now();
  auto pick = [&](const Timespec& v, int64_t& sec, int64_t& nsec) {
    if (v.nsec == kUTIME_OMIT) return;
    const Timespec val = v.nsec == kUTIME_NOW ? t : v;
    sec = val.sec;
    nsec = val.nsec;
  };
  mmu::InodeAttrs& a = inode.attrs();
  pick(times[0], a.atime_sec, a.atime_nsec);
  pick(times[1], a.mtime_sec, a.mtime_nsec);
  a.ctime_sec = t.sec;
  a.ctime_nsec = t.nsec;
  pin(&inode);
}

}  // namespace probesim::emu
