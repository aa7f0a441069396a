#include "emu/vfs/vfs.h"

#include <sys/stat.h>

#include <cerrno>

#include "emu/vfs/memfd_file.h"
#include "emu/vfs/regular_file.h"
#include "emu/vfs/proc_file.h"
#include "emu/vfs/tracefs_file.h"
#include "emu/vfs/vfs_abi.h"
#include "probesim/assert.h"

namespace probesim::emu {
namespace {

// Flags the kernel does not keep in f_flags (do_dentry_open; O_CLOEXEC is an fd flag).
constexpr uint32_t kOpenOnlyFlags = kO_CREAT | kO_EXCL | kO_NOCTTY | kO_TRUNC | kO_CLOEXEC;
// build_open_flags: what an O_PATH open keeps.
constexpr uint32_t kOPathFlags = kO_DIRECTORY | kO_NOFOLLOW | kO_PATH;

template <class T, class... Args>
std::shared_ptr<File> make_file(Args&&... args) {
  return std::make_shared<T>(std::forward<Args>(args)...);
}

}  // namespace

Result<std::unique_ptr<Vfs>> Vfs::create(mmu::InodeCache& inodes, const VirtualClock& clock,
                                         DeterministicRng& rng, const std::string& host_root) {
  Result<HostFs> host = HostFs::create(host_root);
  if (!host) return host.take_error();
  std::unique_ptr<Vfs> vfs(new Vfs(inodes, clock, rng, std::move(*host)));
  PROBESIM_TRY_VOID(vfs->mount_shm());
  return vfs;
}

Vfs::Vfs(mmu::InodeCache& inodes, const VirtualClock& clock, DeterministicRng& rng, HostFs host)
    : inodes_(inodes),
      clock_(clock),
      rng_(rng),
      host_(std::move(host)),
      synthetic_(inodes, clock),
      lookup_(host_, overlay_, synthetic_, inodes) {}

// /dev/shm: drwxrwxrwt, as systemd and Debian mount it.
Result<void> Vfs::mount_shm() {
  mmu::InodeAttrs a;
  a.mode = S_IFDIR | 01777;
  a.nlink = 2;
  const Timespec t = now();
  a.atime_sec = a.mtime_sec = a.ctime_sec = t.sec;
  a.atime_nsec = a.mtime_nsec = a.ctime_nsec = t.nsec;
  InodeRef inode =
      PROBESIM_TRY(insert_inode(inodes_, "tmpfs:/dev/shm", std::string(kShmPath), a, nullptr, 0));
  overlay_.put(std::string(kShmPath), OverlayEntry{false, std::move(inode), {}});
  return {};
}

Vfs::~Vfs() = default;

Result<WalkResult> Vfs::walk(const Caller& c, std::string_view base, std::string_view path,
                             Follow follow) {
  return walk_path(lookup_, c, base, path, follow);
}

Result<Node> Vfs::resolve(const Caller& c, std::string_view base, std::string_view path,
                          Follow follow) {
  WalkResult w = PROBESIM_TRY(walk(c, base, path, follow));
  if (!w.node) return vfs_error(ENOENT, path);
  return std::move(*w.node);
}

Result<std::shared_ptr<File>> Vfs::open(const Caller& c, std::string_view base,
                                        std::string_view path, uint32_t flags, uint32_t mode) {
  if (flags & k__O_TMPFILE) return vfs_error(EOPNOTSUPP, path);
  const bool creat = (flags & kO_CREAT) && !(flags & kO_PATH);
  const bool excl = creat && (flags & kO_EXCL);
  const Follow follow = (flags & kO_NOFOLLOW) || excl ? Follow::No : Follow::Yes;
  WalkResult w = PROBESIM_TRY(walk(c, base, path, follow));
  Node node;
  if (!w.node) {
    if (!creat || w.last_type != LastType::Normal) return vfs_error(ENOENT, path);
    if (w.trailing_slash) return vfs_error(EISDIR, path);
    node = PROBESIM_TRY(create_object(c, w.parent, w.last, S_IFREG | (mode & 07777 & ~c.fs.umask)));
  } else {
    node = std::move(*w.node);
    if (excl) return vfs_error(EEXIST, path);
    if (node.is_symlink() && !(flags & kO_PATH)) return vfs_error(ELOOP, path);
    if (creat && node.is_dir()) return vfs_error(EISDIR, path);
  }
  if ((flags & kO_DIRECTORY) && !node.is_dir()) return vfs_error(ENOTDIR, path);
  const bool path_only = flags & kO_PATH;
  if (node.is_dir() && !path_only && ((flags & kO_ACCMODE) != kO_RDONLY || (flags & kO_TRUNC))) {
    return vfs_error(EISDIR, path);
  }
  uint32_t f_flags = (flags & ~kOpenOnlyFlags) | kO_LARGEFILE;
  if (path_only) f_flags &= kOPathFlags | kO_LARGEFILE;
  std::shared_ptr<File> file = PROBESIM_TRY(open_node(c, node, f_flags));
  if ((flags & kO_TRUNC) && !path_only && file->is_regular() && w.node) {
    const int64_t r = file->truncate(0);
    if (r < 0) return vfs_error(static_cast<int>(-r), path);
  }
  return file;
}

Result<std::shared_ptr<File>> Vfs::open_exec(const Caller& c, std::string_view base,
                                             std::string_view path) {
  const Node node = PROBESIM_TRY(resolve(c, base, path, Follow::Yes));
  if (!node.is_regular()) return vfs_error(EACCES, path);
  std::shared_ptr<File> file = PROBESIM_TRY(open_node(c, node, kO_RDONLY | kO_LARGEFILE));
  if ((file->inode()->attrs().mode & 0111) == 0) return vfs_error(EACCES, path);
  return file;
}

Result<std::shared_ptr<File>> Vfs::open_node(const Caller& c, const Node& node, uint32_t f_flags) {
  if (node.synthetic() && !(f_flags & kO_PATH)) return open_synthetic(c, node, f_flags);
  InodeRef inode = PROBESIM_TRY(lookup_.inode(node, InodeUse::Keep));
  const DevId dev = node_dev(node);
  if (f_flags & kO_PATH) return std::make_shared<File>(f_flags, node.path, std::move(inode), dev);
  if (node.is_regular()) {
    // do_dentry_open's get_write_access: a running executable cannot be opened for writing.
    if ((f_flags & kO_ACCMODE) != kO_RDONLY && inode->i_writecount() < 0) {
      return vfs_error(ETXTBSY, node.path);
    }
    return make_file<RegularFile>(f_flags, node.path, std::move(inode), dev, clock_);
  }
  if (node.is_dir()) {
    return make_file<DirFile>(f_flags, node.path, std::move(inode), dev, lister_for(c, node));
  }
  return vfs_error(ENXIO, node.path);  // host devices, FIFOs and sockets are not emulated
}

Result<std::shared_ptr<File>> Vfs::open_synthetic(const Caller& c, const Node& node,
                                                  uint32_t f_flags) {
  if (node.file) {
    std::shared_ptr<File> again = node.file->reopen(f_flags);
    if (!again) return vfs_error(ENXIO, node.path);
    return again;
  }
  InodeRef inode = PROBESIM_TRY(synthetic_.inode(node));
  const DevId dev = node_dev(node);
  if (node.is_dir()) {
    return make_file<DirFile>(f_flags, node.path, std::move(inode), dev, lister_for(c, node));
  }
  if (std::optional<SyntheticFs::Provided> p = synthetic_.provider(node.path)) {
    return make_file<TracefsFile>(*p->host, p->rel, f_flags, node.path, std::move(inode), dev);
  }
  if (std::optional<SyntheticFs::TextFile> file = synthetic_.text_file(node);
      file && synthetic_.proc()) {
    ProcHost& host = *synthetic_.proc();
    std::optional<std::string> text = file->pid == 0
                                          ? host.system_text(file->name)
                                          : host.proc_text(file->pid, file->tid, file->name);
    if (!text) return vfs_error(ENOENT, node.path);
    return make_file<ProcFile>(std::move(*text), f_flags, node.path, std::move(inode), dev);
  }
  const std::optional<DevKind> kind = SyntheticFs::dev_kind(node);
  if (!kind) return vfs_error(ENXIO, node.path);
  return make_file<DevFile>(*kind, f_flags, node.path, std::move(inode), dev, rng_);
}

// Root-filesystem directories are listed afresh on each rewind; synthetic ones (whose
// contents depend on the opening process) once, at open.
DirLister Vfs::lister_for(const Caller& c, const Node& node) {
  if (node.synthetic()) {
    Result<std::vector<DirEntry>> now = list(c, "/", node.path);
    return [entries = now ? std::move(*now) : std::vector<DirEntry>{}] { return entries; };
  }
  return [this, path = node.path] {
    static const FsStruct kRootFs;
    Result<std::vector<DirEntry>> now = list(Caller{kRootFs}, "/", path);
    return now ? std::move(*now) : std::vector<DirEntry>{};
  };
}

Result<std::vector<DirEntry>> Vfs::list(const Caller& c, std::string_view base,
                                        std::string_view path) {
  const Node dir = PROBESIM_TRY(resolve(c, base, path, Follow::Yes));
  if (!dir.is_dir()) return vfs_error(ENOTDIR, path);
  if (dir.path == "/") return lookup_.list(dir, dir, c);
  const Node parent = PROBESIM_TRY(lookup_dir(lookup_, c, path_dirname(dir.path)));
  return lookup_.list(dir, parent, c);
}

Result<KStat> Vfs::stat(const Caller& c, std::string_view base, std::string_view path,
                        Follow follow) {
  const Node node = PROBESIM_TRY(resolve(c, base, path, follow));
  const InodeRef inode = PROBESIM_TRY(lookup_.inode(node, InodeUse::Stat));
  return inode_kstat(*inode, node_dev(node));
}

Result<std::string> Vfs::readlink(const Caller& c, std::string_view base, std::string_view path) {
  const Node node = PROBESIM_TRY(resolve(c, base, path, Follow::No));
  if (!node.is_symlink()) return vfs_error(EINVAL, path);
  return lookup_.link_target(node);
}

Result<void> Vfs::access(const Caller& c, std::string_view base, std::string_view path,
                         uint32_t mode, Follow follow) {
  if (mode & ~(kR_OK | kW_OK | kX_OK)) return vfs_error(EINVAL, path);
  const Node node = PROBESIM_TRY(resolve(c, base, path, follow));
  if ((mode & kX_OK) && !node.is_dir()) {
    const InodeRef inode = PROBESIM_TRY(lookup_.inode(node, InodeUse::Stat));
    if ((inode->attrs().mode & 0111) == 0) return vfs_error(EACCES, path);
  }
  return {};
}

Result<std::string> Vfs::realpath(const Caller& c, std::string_view base, std::string_view path) {
  const Node node = PROBESIM_TRY(resolve(c, base, path, Follow::Yes));
  return node.path;
}

Result<std::string> Vfs::resolve_dir(const Caller& c, std::string_view base,
                                     std::string_view path) {
  const Node node = PROBESIM_TRY(resolve(c, base, path, Follow::Yes));
  if (!node.is_dir()) return vfs_error(ENOTDIR, path);
  return node.path;
}

Result<KStatfs> Vfs::statfs(const Caller& c, std::string_view base, std::string_view path) {
  const Node node = PROBESIM_TRY(resolve(c, base, path, Follow::Yes));
  return statfs_of(node_dev(node));
}

// Fixed, deterministic answers; f_type values from include/uapi/linux/magic.h.
KStatfs Vfs::statfs_of(DevId dev) {
  KStatfs s;
  s.f_bsize = s.f_frsize = 4096;
  s.f_namelen = kNameMax;
  s.f_fsid[0] = dev.minor;
  if (dev == kRootFsDev) {
    s.f_type = 0x794c7630;           // OVERLAYFS_SUPER_MAGIC
    s.f_blocks = uint64_t{1} << 24;  // 64 GiB
    s.f_bfree = s.f_bavail = uint64_t{1} << 23;
    s.f_files = uint64_t{1} << 22;
    s.f_ffree = uint64_t{1} << 21;
  } else if (dev == kDevFsDev || dev == kShmDev) {
    s.f_type = 0x01021994;  // TMPFS_MAGIC (devtmpfs, the tmpfs at /dev/shm)
  } else if (dev == kProcFsDev) {
    s.f_type = 0x9fa0;  // PROC_SUPER_MAGIC
  } else if (dev == kSysFsDev) {
    s.f_type = 0x62656572;  // SYSFS_MAGIC
  } else {
    s.f_type = 0x50495045;  // PIPEFS_MAGIC
  }
  return s;
}

// An anonymous FIFO inode (pipes, consoles) stamped with the current virtual time.
InodeRef Vfs::make_pipe_inode(std::string name) { return make_anon_inode(std::move(name), S_IFIFO | 0600); }

InodeRef Vfs::make_anon_inode(std::string name, uint32_t mode) {
  mmu::InodeAttrs a;
  a.mode = mode;
  const Timespec t = now();
  a.atime_sec = a.mtime_sec = a.ctime_sec = t.sec;
  a.atime_nsec = a.mtime_nsec = a.ctime_nsec = t.nsec;
  const std::string key = "anon:" + std::to_string(++last_anon_);
  Result<InodeRef> inode = insert_inode(inodes_, key, std::move(name), a, nullptr, 0);
  PROBESIM_ASSERT_MSG(inode.ok(), "anonymous inode: " + inode.error().message);
  return std::move(*inode);
}

Result<std::shared_ptr<File>> Vfs::make_memfd(const Caller& c, std::string_view name,
                                              bool allow_sealing) {
  mmu::InodeAttrs a;
  a.mode = S_IFREG | 0777;
  a.nlink = 0;  // shmem_file_setup: "It is unlinked"
  a.uid = c.fsuid();
  a.gid = c.fsgid();
  const Timespec t = now();
  a.atime_sec = a.mtime_sec = a.ctime_sec = t.sec;
  a.atime_nsec = a.mtime_nsec = a.ctime_nsec = t.nsec;
  const std::string path = "/memfd:" + std::string(name) + " (deleted)";
  InodeRef inode = PROBESIM_TRY(insert_inode(inodes_, "memfd:" + std::to_string(++last_memfd_),
                                             path, a, nullptr, Lookup::kWriteHeadroom));
  auto seals = std::make_shared<uint32_t>(allow_sealing ? 0 : kF_SEAL_SEAL);
  return std::shared_ptr<File>(std::make_shared<MemfdFile>(
      kO_RDWR | kO_LARGEFILE, path, std::move(inode), kShmDev, clock_, std::move(seals)));
}

std::shared_ptr<File> Vfs::make_console(uint32_t f_flags, std::string name,
                                        std::shared_ptr<InputSource> in,
                                        std::shared_ptr<OutputSink> out) {
  InodeRef inode = make_pipe_inode(name);
  return std::make_shared<ConsoleFile>(f_flags, std::move(name), std::move(inode), kPipeFsDev,
                                       std::move(in), std::move(out));
}

}  // namespace probesim::emu
