#include "emu/vfs/synthetic_fs.h"

#include <sys/stat.h>

#include <algorithm>
#include <cerrno>

#include "probesim/assert.h"

namespace probesim::emu {
namespace {

struct DevRow {
  std::string_view name;
  uint32_t mode;
  DevId rdev;                   // Documentation/admin-guide/devices.txt
  std::optional<DevKind> kind;  // what opening it gives; nullopt: ENXIO
  std::string_view link;        // symlinks only
};

constexpr uint32_t kChr = S_IFCHR | 0666;
constexpr uint32_t kLnk = S_IFLNK | 0777;
constexpr DevRow kDevRows[] = {
    {"fd", kLnk, {}, std::nullopt, "/proc/self/fd"},
    {"null", kChr, {1, 3}, DevKind::Null, ""},
    {"random", kChr, {1, 8}, DevKind::Random, ""},
    {"stderr", kLnk, {}, std::nullopt, "/proc/self/fd/2"},
    {"stdin", kLnk, {}, std::nullopt, "/proc/self/fd/0"},
    {"stdout", kLnk, {}, std::nullopt, "/proc/self/fd/1"},
    {"tty", kChr, {5, 0}, std::nullopt, ""},
    {"urandom", kChr, {1, 9}, DevKind::Urandom, ""},
    {"zero", kChr, {1, 5}, DevKind::Zero, ""},
};

struct MountRow {
  std::string_view name;
  NodeKind kind;
  uint32_t mode;
};
constexpr MountRow kMounts[] = {
    {"dev", NodeKind::Dev, S_IFDIR | 0755},
    {"proc", NodeKind::Proc, S_IFDIR | 0555},
    {"sys", NodeKind::Sys, S_IFDIR | 0555},
};

Node make_node(std::string path, NodeKind kind, uint32_t mode, std::string link = {}) {
  Node n;
  n.path = std::move(path);
  n.kind = kind;
  n.mode = mode;
  n.link_target = std::move(link);
  return n;
}

// The text files of /proc/<pid>/ (fs/proc/base.c tgid_base_stuff: 0444, comm 0644), their
// text from the ProcHost. Sorted by name.
struct ProcTextRow {
  std::string_view name;
  uint32_t mode;
};
constexpr ProcTextRow kProcText[] = {
    {"cmdline", S_IFREG | 0444}, {"comm", S_IFREG | 0644},  {"maps", S_IFREG | 0444},
    {"stat", S_IFREG | 0444},    {"statm", S_IFREG | 0444}, {"status", S_IFREG | 0444},
};

const ProcTextRow* proc_text_row(std::string_view name) {
  for (const ProcTextRow& r : kProcText)
    if (r.name == name) return &r;
  return nullptr;
}

// The first of the sorted `files` whose path is not below `path`.
std::vector<SystemPath>::const_iterator first_from(const std::vector<SystemPath>& files,
                                                  std::string_view path) {
  return std::lower_bound(files.begin(), files.end(), path,
                          [](const SystemPath& f, std::string_view v) { return f.path < v; });
}

// The machine-wide file (ProcHost::system_paths) at `path`; null: none.
const SystemPath* system_file(const std::vector<SystemPath>& files, std::string_view path) {
  auto it = first_from(files, path);
  return it != files.end() && it->path == path ? &*it : nullptr;
}

// The node of a machine-wide file or of a directory leading to one (made up, 0555); nullopt:
// neither.
std::optional<Node> system_node(const std::vector<SystemPath>& files, const std::string& path,
                                NodeKind kind) {
  if (const SystemPath* f = system_file(files, path)) return make_node(path, kind, f->mode);
  const std::string dir = path + "/";
  if (auto it = first_from(files, dir); it != files.end() && it->path.starts_with(dir))
    return make_node(path, kind, S_IFDIR | 0555);
  return std::nullopt;
}

// The names in `dir` of machine-wide files and of directories leading to them, added once.
void add_system_children(const std::vector<SystemPath>& files, std::string_view dir,
                         std::vector<std::string>& names) {
  const std::string prefix = std::string(dir) + "/";
  for (auto it = first_from(files, prefix); it != files.end() && it->path.starts_with(prefix); ++it) {
    std::string_view rest = std::string_view(it->path).substr(prefix.size());
    std::string next(rest.substr(0, rest.find('/')));
    if (std::find(names.begin(), names.end(), next) == names.end()) names.push_back(next);
  }
}

std::optional<int> parse_fd(std::string_view s) {
  if (s.empty() || s.size() > 9 || (s.size() > 1 && s[0] == '0')) return std::nullopt;
  int v = 0;
  for (char c : s) {
    if (c < '0' || c > '9') return std::nullopt;
    v = v * 10 + (c - '0');
  }
  return v;
}

}  // namespace

SyntheticFs::SyntheticFs(mmu::InodeCache& inodes, const VirtualClock& clock) : inodes_(inodes) {
  const Timespec now = clock.realtime(), up = clock.monotonic();
  boot_time_ = Timespec{now.sec - up.sec, now.nsec - up.nsec};
  if (boot_time_.nsec < 0) {
    boot_time_.nsec += 1'000'000'000;
    boot_time_.sec -= 1;
  }
}

bool SyntheticFs::is_mount(std::string_view name) {
  return std::any_of(std::begin(kMounts), std::end(kMounts),
                     [&](const MountRow& m) { return m.name == name; });
}

Node SyntheticFs::mount(std::string_view name) {
  for (const MountRow& m : kMounts) {
    if (m.name == name) return make_node(path_join("/", name), m.kind, m.mode);
  }
  PROBESIM_ASSERT_MSG(false, "not a synthetic mount: " + std::string(name));
  return Node{};
}

Result<Node> SyntheticFs::child(const Node& dir, std::string_view name,
                                const Caller& caller) const {
  const std::string path = path_join(dir.path, name);
  if (dir.kind == NodeKind::Dev) {
    for (size_t i = 0; i < std::size(kDevRows); ++i) {
      const DevRow& r = kDevRows[i];
      if (r.name != name) continue;
      Node n = make_node(path, NodeKind::Dev, r.mode, std::string(r.link));
      n.row = static_cast<int>(i);
      return n;
    }
  } else if (dir.kind == NodeKind::Proc) {
    return proc_child(dir, name, caller);
  } else if (dir.kind == NodeKind::Sys) {
    return sys_child(dir, name);
  }
  return vfs_error(ENOENT, path);
}

std::optional<SyntheticFs::Provided> SyntheticFs::provider(std::string_view path) const {
  for (const auto& [mnt, host] : providers_) {
    if (path == mnt) return Provided{host, std::string()};
    if (path.size() > mnt.size() && path.starts_with(mnt) && path[mnt.size()] == '/')
      return Provided{host, std::string(path.substr(mnt.size() + 1))};
  }
  return std::nullopt;
}

std::vector<std::string> SyntheticFs::mount_children(std::string_view dir) const {
  std::vector<std::string> names;
  for (const auto& [mnt, host] : providers_) {
    if (mnt.size() <= dir.size() + 1 || !mnt.starts_with(dir) || mnt[dir.size()] != '/') continue;
    std::string_view rest = std::string_view(mnt).substr(dir.size() + 1);
    std::string next(rest.substr(0, rest.find('/')));
    if (std::find(names.begin(), names.end(), next) == names.end()) names.push_back(next);
  }
  std::sort(names.begin(), names.end());
  return names;
}

// A node inside a provider: a directory or a regular file, as the provider says.
std::optional<Node> SyntheticFs::provided_node(const std::string& path) const {
  std::optional<Provided> p = provider(path);
  if (!p) return std::nullopt;
  std::optional<bool> is_dir = p->host->tracefs_kind(p->rel);
  if (!is_dir) return std::nullopt;
  const NodeKind kind = path.starts_with("/proc") ? NodeKind::Proc : NodeKind::Sys;
  return make_node(path, kind, *is_dir ? S_IFDIR | 0755 : S_IFREG | 0644);
}

std::vector<std::string> SyntheticFs::sys_children(const Node& dir) const {
  if (std::optional<Provided> p = provider(dir.path)) {
    std::vector<std::string> names;
    for (const TracefsHost::Entry& e : p->host->tracefs_list(p->rel)) names.push_back(e.name);
    return names;
  }
  std::vector<std::string> names = mount_children(dir.path);
  if (proc_ != nullptr) add_system_children(proc_->system_paths(), dir.path, names);
  std::sort(names.begin(), names.end());
  return names;
}

Result<Node> SyntheticFs::sys_child(const Node& dir, std::string_view name) const {
  const std::string path = path_join(dir.path, name);
  if (provider(path)) {
    if (std::optional<Node> n = provided_node(path)) return *n;
    return vfs_error(ENOENT, path);
  }
  if (proc_ != nullptr)
    if (std::optional<Node> n = system_node(proc_->system_paths(), path, NodeKind::Sys)) return *n;
  for (const std::string& n : sys_children(dir))
    if (n == name) return make_node(path, NodeKind::Sys, S_IFDIR | 0755);
  return vfs_error(ENOENT, path);
}

std::vector<std::string> SyntheticFs::proc_components(std::string_view path) const {
  std::vector<std::string> out;
  size_t pos = std::string_view("/proc").size();
  while (pos < path.size()) {
    const size_t next = path.find('/', pos + 1);
    out.emplace_back(path.substr(pos + 1, next == std::string_view::npos ? next : next - pos - 1));
    pos = next == std::string_view::npos ? path.size() : next;
  }
  return out;
}

// /proc/<pid>/: self -> <pid>, <pid>/{cwd,exe,fd,task} and the text files, <pid>/fd/<n>,
// <pid>/task/<tid>/ (its text files), for the caller and (through the ProcHost) every live
// process; and the machine-wide files with the directories leading to them.
Result<Node> SyntheticFs::proc_child(const Node& dir, std::string_view name,
                                     const Caller& caller) const {
  const std::string path = path_join(dir.path, name);
  const std::string pid = std::to_string(caller.pid);
  const std::vector<std::string> rel = proc_components(dir.path);
  if (std::optional<Node> n = provided_node(path)) return *n;
  if (proc_ != nullptr)
    if (std::optional<Node> n = system_node(proc_->system_paths(), path, NodeKind::Proc)) return *n;
  if (rel.empty()) {
    if (name == "self") return make_node(path, NodeKind::Proc, S_IFLNK | 0777, pid);
    if (name == pid || other_view(name, caller)) return make_node(path, NodeKind::Proc, S_IFDIR | 0555);
    return vfs_error(ENOENT, path);
  }
  // /proc/<pid>/...: the caller's own view, or the ProcHost's of another live process.
  const std::optional<ProcHost::View> other = other_view(rel[0], caller);
  if (rel[0] != pid && !other) return vfs_error(ENOENT, path);
  const std::string_view exe = other ? std::string_view(other->exe) : caller.exe;
  const std::string& cwd = other ? other->cwd : caller.fs.cwd;
  const FdTable* fds = other ? other->fds : caller.fds;
  const ProcTextRow* text = proc_ != nullptr ? proc_text_row(name) : nullptr;
  if (rel.size() == 1) {
    if (name == "exe") return make_node(path, NodeKind::Proc, S_IFLNK | 0777, std::string(exe));
    if (name == "cwd") return make_node(path, NodeKind::Proc, S_IFLNK | 0777, cwd);
    if (name == "fd") return make_node(path, NodeKind::Proc, S_IFDIR | 0500);
    if (name == "task" && proc_ != nullptr) return make_node(path, NodeKind::Proc, S_IFDIR | 0555);
    if (text != nullptr) return make_node(path, NodeKind::Proc, text->mode);
  } else if (rel.size() == 2 && rel[1] == "fd") {
    const std::optional<int> fd = parse_fd(name);
    const File* f = fd && fds ? fds->file(*fd) : nullptr;
    if (f != nullptr) {
      Node n = make_node(path, NodeKind::Proc, S_IFLNK | 0700, f->path());
      n.row = other ? -1 : *fd;  // another process's fd resolves by its path, not as a magic link
      return n;
    }
  } else if (rel.size() == 2 && rel[1] == "task") {
    if (is_task_of(rel[0], name)) return make_node(path, NodeKind::Proc, S_IFDIR | 0555);
  } else if (rel.size() == 3 && rel[1] == "task") {
    if (text != nullptr && is_task_of(rel[0], rel[2]))
      return make_node(path, NodeKind::Proc, text->mode);
  }
  return vfs_error(ENOENT, path);
}

// True when `tid_name` names a live thread of the process `pid_name` (both decimal).
bool SyntheticFs::is_task_of(std::string_view pid_name, std::string_view tid_name) const {
  const std::optional<int> pid = parse_fd(pid_name), tid = parse_fd(tid_name);
  if (!pid || !tid || proc_ == nullptr) return false;
  const std::vector<int> tids = proc_->proc_tids(*pid);
  return std::binary_search(tids.begin(), tids.end(), *tid);
}

// The ProcHost's view of `pid_name` when it names a live process other than the caller.
std::optional<ProcHost::View> SyntheticFs::other_view(std::string_view pid_name,
                                                      const Caller& caller) const {
  const std::optional<int> pid = parse_fd(pid_name);  // a decimal number without leading 0
  if (!pid || *pid == caller.pid || proc_ == nullptr) return std::nullopt;
  return proc_->proc_view(*pid);
}

std::optional<SyntheticFs::TextFile> SyntheticFs::text_file(const Node& node) const {
  if ((node.kind != NodeKind::Proc && node.kind != NodeKind::Sys) || !node.is_regular() ||
      node.file || proc_ == nullptr)
    return std::nullopt;
  if (system_file(proc_->system_paths(), node.path)) return TextFile{0, 0, node.path};
  if (node.kind != NodeKind::Proc || !node.path.starts_with("/proc/")) return std::nullopt;
  // <pid>/<name> or <pid>/task/<tid>/<name> below /proc.
  std::vector<std::string_view> parts;
  for (std::string_view rest = std::string_view(node.path).substr(6); !rest.empty();) {
    const size_t slash = rest.find('/');
    parts.push_back(rest.substr(0, slash));
    rest = slash == std::string_view::npos ? std::string_view() : rest.substr(slash + 1);
  }
  const bool task = parts.size() == 4 && parts[1] == "task";
  if ((parts.size() != 2 && !task) || proc_text_row(parts.back()) == nullptr) return std::nullopt;
  const std::optional<int> pid = parse_fd(parts[0]);
  const std::optional<int> tid = task ? parse_fd(parts[2]) : std::optional<int>(0);
  if (!pid || !tid) return std::nullopt;
  return TextFile{*pid, *tid, std::string(parts.back())};
}

std::optional<Node> SyntheticFs::magic_target(const Node& link, const Caller& caller) {
  if (link.kind != NodeKind::Proc || link.row < 0 || caller.fds == nullptr) return std::nullopt;
  std::shared_ptr<File> f = caller.fds->get(link.row);
  if (!f || f->is_dir()) return std::nullopt;  // directories resolve by their path
  Node n = make_node(link.link_target, NodeKind::Proc, f->inode()->attrs().mode);
  n.file = std::move(f);
  return n;
}

// The names in a directory below /proc/<pid>/ (or in /proc/sys...), sorted.
void SyntheticFs::proc_pid_children(const Node& dir, const Caller& caller,
                                    std::vector<std::string>& names) const {
  const std::vector<std::string> rel = proc_components(dir.path);
  if (proc_ != nullptr) add_system_children(proc_->system_paths(), dir.path, names);
  const bool text = proc_ != nullptr;
  if (rel.empty() || !parse_fd(rel[0])) {  // /proc/sys...: machine-wide files only
    std::sort(names.begin(), names.end());
    return;
  }
  if (rel.size() == 1) {
    for (const char* n : {"cwd", "exe", "fd"}) names.emplace_back(n);
    if (text) names.emplace_back("task");
  }
  if ((rel.size() == 1 || (rel.size() == 3 && rel[1] == "task")) && text)
    for (const ProcTextRow& r : kProcText) names.emplace_back(r.name);
  if (rel.size() == 2 && rel[1] == "task" && text)
    for (int tid : proc_->proc_tids(parse_fd(rel[0]).value_or(0)))
      names.push_back(std::to_string(tid));
  if (rel.size() == 2 && rel[1] == "fd") {
    const std::optional<ProcHost::View> other = other_view(rel[0], caller);
    const FdTable* fds = other ? other->fds : caller.fds;
    if (fds != nullptr)
      for (int fd : fds->open_fds()) names.push_back(std::to_string(fd));
  }
  std::sort(names.begin(), names.end());
}

std::vector<Node> SyntheticFs::children(const Node& dir, const Caller& caller) const {
  std::vector<std::string> names;
  if (dir.kind == NodeKind::Dev) {
    for (const DevRow& r : kDevRows) names.emplace_back(r.name);
  } else if (dir.kind == NodeKind::Proc) {
    const size_t depth = proc_components(dir.path).size();
    if (depth == 0) {  // as proc_root_readdir: the named entries, then the pids ascending
      names = {"self"};
      for (std::string& n : mount_children("/proc")) names.push_back(std::move(n));
      if (proc_ != nullptr) add_system_children(proc_->system_paths(), "/proc", names);
      std::sort(names.begin(), names.end());
      std::vector<int> pids = proc_ != nullptr ? proc_->proc_pids() : std::vector<int>{};
      if (!std::binary_search(pids.begin(), pids.end(), caller.pid))
        pids.insert(std::lower_bound(pids.begin(), pids.end(), caller.pid), caller.pid);
      for (int pid : pids) names.push_back(std::to_string(pid));
    } else {
      proc_pid_children(dir, caller, names);
    }
  } else if (dir.kind == NodeKind::Sys) {
    names = sys_children(dir);
  }
  std::vector<Node> out;
  for (const std::string& name : names) {
    Result<Node> n = child(dir, name, caller);
    if (n) out.push_back(std::move(*n));
  }
  return out;
}

Result<InodeRef> SyntheticFs::inode(const Node& node) {
  if (node.file) return InodeRef::acquire(node.file->inode());
  const std::string key = "synthetic:" + node.path;
  if (mmu::Inode* cached = inodes_.find(key)) return InodeRef::acquire(cached);
  mmu::InodeAttrs a;
  a.mode = node.mode;
  a.nlink = node.is_dir() ? 2 : 1;
  if (node.kind == NodeKind::Dev && node.row >= 0) a.rdev = encode_dev(kDevRows[node.row].rdev);
  a.atime_sec = a.mtime_sec = a.ctime_sec = boot_time_.sec;
  a.atime_nsec = a.mtime_nsec = a.ctime_nsec = boot_time_.nsec;
  InodeRef ref = PROBESIM_TRY(insert_inode(inodes_, key, node.path, a, nullptr, 0));
  if (node.kind == NodeKind::Dev) dev_inodes_.emplace(node.path, ref);
  return ref;
}

std::optional<DevKind> SyntheticFs::dev_kind(const Node& node) {
  if (node.kind != NodeKind::Dev || node.row < 0) return std::nullopt;
  return kDevRows[node.row].kind;
}

}  // namespace probesim::emu
