// Node: one resolved object of the guest filesystem (Linux: a dentry and its inode), the
// value path lookup produces. A Node is a transient value inside one Vfs call: its raw
// `inode` pointer is kept alive by the overlay or the Vfs only for that long, and it is
// never stored. Anything that outlives the call (a File, an overlay entry) holds an InodeRef.
#pragma once

#include <sys/stat.h>

#include <cstdint>
#include <string>
#include <string_view>

#include "emu/vfs/file.h"
#include "emu/vfs/kstat.h"
#include "mmu/inode.h"
#include "probesim/result.h"

namespace probesim::emu {

// Which filesystem a node lives on. Host: an object of the host root not touched by the
// guest (its inode may be cached, possibly written). Overlay: created or moved by the guest.
// Dev, Proc, Sys: the synthetic filesystems mounted at /dev, /proc and /sys.
enum class NodeKind : uint8_t { Host, Overlay, Dev, Proc, Sys };

struct Node {
  std::string path;  // canonical guest path: absolute, no symlinks, "." or ".."
  NodeKind kind = NodeKind::Host;
  uint32_t mode = 0;            // S_IFMT and permission bits at lookup time
  mmu::Inode* inode = nullptr;  // Overlay: the entry's inode (not counted); else null
  mmu::InodeAttrs host_attrs;   // Host: the host lstat
  std::string host_key;         // Host: the InodeCache key "host:<st_dev>:<st_ino>"
  std::string link_target;      // symlinks that are not on the host (overlay, synthetic)
  int row = -1;                 // Dev: the row of the /dev table; Proc fd links: the fd
  // The target of a /proc/<pid>/fd/N "magic link" to a non-directory: the open file itself
  // (opening the link reopens that file, as Linux does, even if it has no path).
  std::shared_ptr<File> file;

  bool is_dir() const { return S_ISDIR(mode); }
  bool is_symlink() const { return S_ISLNK(mode); }
  bool is_regular() const { return S_ISREG(mode); }
  bool synthetic() const { return kind != NodeKind::Host && kind != NodeKind::Overlay; }
};

// The device each filesystem reports in st_dev: fixed, deterministic anonymous devices.
inline constexpr DevId kRootFsDev{0, 32};  // the merged root (host + overlay)
inline constexpr DevId kDevFsDev{0, 5};    // devtmpfs at /dev
inline constexpr DevId kProcFsDev{0, 22};  // proc at /proc
inline constexpr DevId kSysFsDev{0, 21};   // sysfs at /sys
inline constexpr DevId kPipeFsDev{0, 13};  // consoles and other anonymous files
inline constexpr DevId kShmDev{0, 23};     // the tmpfs at /dev/shm

// /dev/shm: a tmpfs mounted in the synthetic /dev. Its directory and files are overlay
// objects (in memory only), so shm_open/sem_open files can be created, mapped and unlinked.
inline constexpr std::string_view kShmPath = "/dev/shm";
bool in_shm(std::string_view path);  // path is /dev/shm or below it
inline constexpr DevId kAnonInodeDev{0, 14};  // anon_inodefs: epoll, eventfd
inline constexpr DevId kSockFsDev{0, 8};      // sockfs: sockets

DevId node_dev(NodeKind kind);
DevId node_dev(const Node& node);  // the file's device for magic-link targets

// An Error for the guest: the errno and a message naming the path.
Error vfs_error(int err, std::string_view path);

// Joins a canonical directory path and a name.
std::string path_join(std::string_view dir, std::string_view name);
// The canonical parent of a canonical path ("/" for "/").
std::string path_dirname(std::string_view path);

}  // namespace probesim::emu
