// Value snapshots handed to Python: a Vma, a page's backing, an i_mmap node. They copy what
// they show (the model's objects may be freed while Python holds the snapshot) and name
// their owners by pid / i_ino, never by host pointer.
#pragma once

#include <pybind11/pybind11.h>

#include <cstdint>
#include <optional>
#include <string>

#include "emu/machine_state.h"
#include "mmu/vma.h"

namespace probesim::python {

// One line of /proc/<pid>/maps, plus the model's backing facts.
struct VmaView {
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
struct PageInfo {
  uint64_t addr = 0;                 // the page's first address
  std::string kind;                  // kPageCache, kPrivateCopy or kAnonymous
  std::optional<uint64_t> ino;       // file-backed VMAs
  std::optional<uint64_t> index;     // file page index (page-cache frame number in i_mapping)
  std::optional<uint64_t> mapcount;  // page cache: VMAs mapping that frame itself
  VmaView vma;
};
inline constexpr const char* kPageCache = "page-cache frame";
inline constexpr const char* kPrivateCopy = "private copy";
inline constexpr const char* kAnonymous = "anonymous";

// One node of an inode's i_mmap interval tree (in order), as ImmapTree::NodeView.
struct ImmapNodeView {
  uint64_t start = 0, last = 0;  // closed file-page interval [vm_pgoff, pgoff_last]
  uint64_t subtree_last = 0;     // rb_subtree_last
  int depth = 0;                 // root 0
  std::string color;             // "red" / "black"
  VmaView vma;
};

// The pid of the process whose mm is `mm`, or 0.
int pid_of(emu::MachineState& state, const mmu::Mm* mm);
VmaView make_vma_view(const mmu::Vma& v, int pid);
// Precondition: v contains addr.
PageInfo make_page_info(const mmu::Vma& v, uint64_t addr, int pid);
std::string vma_repr(const VmaView& v);

// Binds Vma, PageInfo, ImmapNode, ProcessExit, Fault and SchedEvent.
void bind_views(pybind11::module_& m);

}  // namespace probesim::python
