// Vfs: the guest's filesystem tree, machine-wide (one per Machine). The root is a host
// directory that probesim never modifies; guest changes live in the Overlay (created files
// and directories, whiteouts for deletions) and in the page cache of written inodes (a write
// to a host file copies it up: its inode turns dirty and stays cached, the only copy of the
// new data). /dev, /proc and /sys are synthetic. Every path is resolved inside the root
// (path_walk.h). Listings are merged and sorted by name, so nothing depends on the host's
// directory order.
//
// Errors are Results whose Error::err is the errno Linux would return; messages name the
// path. Every path operation takes the Caller (cwd, umask, fds, exe, pid) and a `base`, the
// canonical directory a relative path starts from (the cwd, or a dirfd's File::path()).
//
// Ownership: owned by the Machine; it must outlive every File it opened (DirFile listers and
// RegularFile clocks refer back to it) and be destroyed before the InodeCache.
// Touched only by the machine's thread (syscall handlers, the loader).
#pragma once

#include <map>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "emu/deterministic_rng.h"
#include "emu/vfs/caller.h"
#include "emu/vfs/console_file.h"
#include "emu/vfs/dir_file.h"
#include "emu/vfs/file.h"
#include "emu/vfs/host_fs.h"
#include "emu/vfs/lookup.h"
#include "emu/vfs/overlay.h"
#include "emu/vfs/path_walk.h"
#include "emu/vfs/synthetic_fs.h"
#include "emu/virtual_clock.h"

namespace probesim::emu {

class Vfs {
 public:
  // host_root: the host directory shown as "/" (read-only to the guest). clock and rng are
  // the machine's (file times, /dev/urandom); all three dependencies must outlive the Vfs.
  static Result<std::unique_ptr<Vfs>> create(mmu::InodeCache& inodes, const VirtualClock& clock,
                                             DeterministicRng& rng, const std::string& host_root);
  ~Vfs();
  Vfs(const Vfs&) = delete;
  Vfs& operator=(const Vfs&) = delete;

  // openat(2). flags in the generic encoding (vfs_abi.h); mode is masked with the umask.
  // Handles O_CREAT, O_EXCL, O_TRUNC, O_APPEND, O_DIRECTORY, O_NOFOLLOW, O_PATH; O_CLOEXEC
  // is the caller's (an fd flag); O_TMPFILE is EOPNOTSUPP.
  Result<std::shared_ptr<File>> open(const Caller& c, std::string_view base, std::string_view path,
                                     uint32_t flags, uint32_t mode);
  // do_open_execat: the executable for execve/spawn, opened read-only. EACCES unless it is a
  // regular file with an x bit. Its path() is canonical (what /proc/self/exe shows).
  Result<std::shared_ptr<File>> open_exec(const Caller& c, std::string_view base,
                                          std::string_view path);
  Result<KStat> stat(const Caller& c, std::string_view base, std::string_view path, Follow follow);
  // A synthetic subtree provided by the machine at an absolute path under /sys or /proc
  // (tracefs, debugfs's kprobes, /proc/kallsyms); see SyntheticFs::mount_provider.
  void set_proc(ProcHost* host) { synthetic_.set_proc(host); }
  void mount_provider(std::string at, TracefsHost& host) {
    synthetic_.mount_provider(std::move(at), host);
  }
  Result<std::string> readlink(const Caller& c, std::string_view base, std::string_view path);
  // faccessat: as root (R_OK/W_OK always; X_OK needs an x bit unless a directory).
  Result<void> access(const Caller& c, std::string_view base, std::string_view path, uint32_t mode,
                      Follow follow);
  // The canonical path of what path names, symlinks followed (realpath(3); Inode names of
  // host and overlay files are such paths). ENOENT when it names nothing.
  Result<std::string> realpath(const Caller& c, std::string_view base, std::string_view path);
  // The canonical path of the directory path names (chdir).
  Result<std::string> resolve_dir(const Caller& c, std::string_view base, std::string_view path);
  Result<KStatfs> statfs(const Caller& c, std::string_view base, std::string_view path);
  static KStatfs statfs_of(DevId dev);
  // The merged listing of a directory, "." and ".." first (what getdents64 returns).
  Result<std::vector<DirEntry>> list(const Caller& c, std::string_view base, std::string_view path);

  Result<void> mkdir(const Caller& c, std::string_view base, std::string_view path, uint32_t mode);
  // A node of type mode & S_IFMT (a socket's, for bind) with the umask applied: EEXIST if taken.
  Result<void> mknod(const Caller& c, std::string_view base, std::string_view path, uint32_t mode);
  Result<void> unlink(const Caller& c, std::string_view base, std::string_view path);
  Result<void> rmdir(const Caller& c, std::string_view base, std::string_view path);
  Result<void> rename(const Caller& c, std::string_view old_base, std::string_view old_path,
                      std::string_view new_base, std::string_view new_path);
  // linkat(2): a second name for a non-directory (its overlay entry shares the inode).
  Result<void> link(const Caller& c, std::string_view old_base, std::string_view old_path,
                    std::string_view new_base, std::string_view new_path, Follow follow);
  Result<void> chmod(const Caller& c, std::string_view base, std::string_view path, uint32_t mode);
  // symlinkat(2): a symlink holding `target` as given (ENOENT if empty), owned by the caller's
  // fs ids. EEXIST if the name exists, ENOENT for a trailing slash.
  Result<void> symlink(const Caller& c, std::string_view target, std::string_view base,
                       std::string_view path);
  // chown/lchown/fchownat as root: uid and gid set (kNoId keeps one), ctime now, and on a
  // non-directory S_ISUID dropped, S_ISGID too if group-executable (notify_change with
  // ATTR_KILL_SUID/SGID, setattr_should_drop_sgid). EPERM in /proc and /sys, except through
  // a /proc/<pid>/fd/N link, which names the open file's inode (chmod alike).
  Result<void> chown(const Caller& c, std::string_view base, std::string_view path, uint32_t uid,
                     uint32_t gid, Follow follow);
  // times[0] atime, times[1] mtime; nsec may be kUTIME_NOW or kUTIME_OMIT.
  Result<void> utimens(const Caller& c, std::string_view base, std::string_view path,
                       const Timespec times[2], Follow follow);
  // fchmod / futimens: on an open file's inode.
  void chmod(File& file, uint32_t mode);
  void chown(File& file, uint32_t uid, uint32_t gid);
  void utimens(File& file, const Timespec times[2]);

  // A console file (stdin/stdout/stderr) on an anonymous FIFO-like inode.
  // A new anonymous FIFO inode (pipe2, consoles); the files are made by the caller.
  InodeRef make_pipe_inode(std::string name = "pipe");
  // An inode of no filesystem: epoll and eventfd (anon_inode, mode 0600 without a type),
  // sockets (sockfs, S_IFSOCK | 0777).
  InodeRef make_anon_inode(std::string name, uint32_t mode);
  // memfd_create(2): an open O_RDWR file on a new unlinked tmpfs inode (S_IFREG | 0777,
  // nlink 0, owned by the caller's fs ids) named "/memfd:<name> (deleted)", with no seals and
  // sealing allowed, or with F_SEAL_SEAL (memfd_file.h). ENOMEM if the inode cache refuses.
  Result<std::shared_ptr<File>> make_memfd(const Caller& c, std::string_view name,
                                           bool allow_sealing);
  std::shared_ptr<File> make_console(uint32_t f_flags, std::string name,
                                     std::shared_ptr<InputSource> in,
                                     std::shared_ptr<OutputSink> out);

  const HostFs& host() const { return host_; }
  void set_open_observer(std::function<void(const std::string&)> f) { host_.on_open = std::move(f); }
  const Overlay& overlay() const { return overlay_; }
  Timespec now() const { return clock_.realtime(); }

 private:
  Vfs(mmu::InodeCache& inodes, const VirtualClock& clock, DeterministicRng& rng, HostFs host);

  Result<WalkResult> walk(const Caller& c, std::string_view base, std::string_view path,
                          Follow follow);
  Result<Node> resolve(const Caller& c, std::string_view base, std::string_view path,
                       Follow follow);
  Result<std::shared_ptr<File>> open_node(const Caller& c, const Node& node, uint32_t f_flags);
  Result<std::shared_ptr<File>> open_synthetic(const Caller& c, const Node& node, uint32_t f_flags);
  DirLister lister_for(const Caller& c, const Node& node);
  Result<void> mount_shm();  // at creation
  // A new overlay object named parent/name owned by the caller's fs ids; link_target: a
  // symlink's contents (also its size).
  Result<Node> create_object(const Caller& c, const Node& parent, const std::string& name,
                             uint32_t mode, std::string link_target = {});
  void remove_name(const Node& parent, const Node& node);
  Result<OverlayEntry> detach_entry(const Node& node);
  void pin(mmu::Inode* inode);
  void chmod_inode(mmu::Inode& inode, uint32_t mode);
  void chown_inode(mmu::Inode& inode, uint32_t uid, uint32_t gid);
  void utimens_inode(mmu::Inode& inode, const Timespec times[2]);

  mmu::InodeCache& inodes_;
  const VirtualClock& clock_;
  DeterministicRng& rng_;
  HostFs host_;
  Overlay overlay_;
  SyntheticFs synthetic_;
  Lookup lookup_;
  std::map<std::string, InodeRef> pinned_;  // host inodes whose attributes the guest changed
  uint64_t last_anon_ = 0;
  uint64_t last_memfd_ = 0;
};

}  // namespace probesim::emu
