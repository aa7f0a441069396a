// Inspection snapshots: plain values copied out of the model (processes, VMAs, where a page's
// bytes live, inodes and their i_mmap interval tree). They name owners by pid and i_ino, never
// by host pointer, so they stay valid after the model changed or freed what they show.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace probesim {

// One line of /proc/<pid>/maps, plus the model's backing facts (Linux's vm_area_struct).
struct VmaInfo {
  uint64_t start = 0, end = 0;
  uint64_t pgoff = 0;  // vm_pgoff (file page of start; anon: start >> 12)
  uint32_t vm_flags = 0;
  std::string flags;                // "r-xp"
  std::optional<std::string> file;  // the mapped inode's path
  std::optional<uint64_t> ino;
  std::string name;           // "[stack]", "[heap]", ""
  bool private_copy = false;  // backed by private frames (anon, or a COW'd file mapping)
  int pid = 0;                // the process whose mm holds it (0: unknown)
};

// Where the bytes of one guest page live.
inline constexpr const char* kPageCache = "page-cache frame";
inline constexpr const char* kPrivateCopy = "private copy";
inline constexpr const char* kAnonymous = "anonymous";
struct PageInfo {
  uint64_t addr = 0;                 // the page's first address
  std::string kind;                  // kPageCache, kPrivateCopy or kAnonymous
  std::optional<uint64_t> ino;       // file-backed VMAs
  std::optional<uint64_t> index;     // file page index (page-cache frame number in i_mapping)
  std::optional<uint64_t> mapcount;  // page cache: VMAs mapping that frame itself
  VmaInfo vma;
};

// One node of an inode's i_mmap interval tree, in tree order.
struct ImmapNode {
  uint64_t start = 0, last = 0;  // closed file-page interval [vm_pgoff, pgoff_last]
  uint64_t subtree_last = 0;     // rb_subtree_last
  int depth = 0;                 // root 0
  std::string color;             // "red" / "black"
  VmaInfo vma;
};

// A cached file (Linux's struct inode), its page cache and i_mmap tree.
struct InodeInfo {
  uint64_t ino = 0;
  std::string name;  // the guest path, symlinks resolved
  uint64_t size = 0;
  uint64_t nrpages = 0;  // uptodate page-cache pages
  uint64_t i_count = 0;  // references (the snapshot's lookup's own is not counted)
  std::vector<ImmapNode> i_mmap;
  std::vector<uint64_t> uprobe_offsets;  // file offsets of the uprobes on it
};

struct TaskInfo {
  int tid = 0;
  std::string state;  // "running", "blocked", ...
};

struct ProcessInfo {
  int pid = 0;
  int ppid = 0;
  std::string comm;
  std::string exe;  // the program's guest path
  bool exited = false;  // a zombie (exited, not reaped) or gone
  std::vector<TaskInfo> tasks;
};

}  // namespace probesim
