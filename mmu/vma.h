// Vma: one mapping of an address space (Linux's vm_area_struct).
//
// Ownership: each Vma is owned by its Mm (std::unique_ptr). vm_file is a counted inode
// reference: the constructor takes it (iget) and the destructor drops it (iput). While a
// file-backed Vma exists it is linked into vm_file->i_mapping().i_mmap() (Mm maintains
// that; the intrusive node is `shared`, Linux's vma->shared.rb).
// A Vma's interval fields (vm_start, vm_end, vm_pgoff) must not change while it is linked.
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "mmu/host_arena.h"
#include "mmu/page_pool.h"
#include "probesim/types.h"

namespace probesim::mmu {

class Inode;
class Mm;
struct Vma;

// Intrusive node of ImmapTree (an augmented red-black tree). Only ImmapTree touches it.
struct ImmapNode {
  Vma* parent = nullptr;
  Vma* left = nullptr;
  Vma* right = nullptr;
  uint64_t rb_subtree_last = 0;  // max interval end in this subtree (Linux's name)
  bool red = false;
  bool linked = false;
};

// A run: a piece of a VMA that is realized as one host-backed region for the emulator,
// [start, start + len) with host memory `host` and protection VM_READ|VM_WRITE|VM_EXEC.
// A VMA has one run, split around each of its replaced pages (a replaced page is a run).
struct Run {
  GuestAddr start;
  uint64_t len = 0;  // 0: no run (a file VMA entirely beyond EOF)
  uint8_t* host = nullptr;
  uint32_t prot = 0;
  bool operator==(const Run&) const = default;
};

struct Vma {
  // Takes a reference on file (if not null). mm is the non-owning back-link.
  Vma(Mm* mm, GuestAddr start, GuestAddr end, uint64_t pgoff, uint32_t flags, Inode* file);
  ~Vma();  // drops the file reference; must not be linked in i_mmap any more
  Vma(const Vma&) = delete;
  Vma& operator=(const Vma&) = delete;

  GuestAddr vm_start, vm_end;  // [vm_start, vm_end), page aligned, vm_start < vm_end
  uint64_t vm_pgoff;           // file page of vm_start (anon private: vm_start >> 12)
  uint32_t vm_flags;
  Inode* vm_file;    // counted reference or null
  std::string name;  // "[heap]", "[stack]", "" ...
  Mm* vm_mm;         // back-link, non-owning

  // Backing. anon set: anonymous memory or a private copy of file pages, at
  // anon->data() + anon_offset for vm_start, contiguous over the whole VMA. anon null:
  // the page-cache frames of vm_file from vm_pgoff (shared with every mm mapping them).
  std::shared_ptr<HostArena> anon;
  uint64_t anon_offset = 0;

  // Replaced pages (uprobes, Linux __replace_page): guest page address -> this mm's private
  // copy of that single file page. Only in page-cache-backed private file VMAs (anon null, no
  // VM_MAYSHARE) and only for pages inside the file (below EOF). Maintained by Mm.
  std::map<uint64_t, PrivatePage> replaced;

  ImmapNode shared;          // i_mmap tree node (Linux: vma->shared.rb)
  std::vector<Run> emitted;  // the runs last reported to the MmObserver (maintained by Mm)

  bool private_copy() const { return anon != nullptr; }
  uint64_t len() const { return vm_end - vm_start; }
  uint64_t pages() const { return len() >> kPageShift; }
  // Closed file-page interval used as the i_mmap key.
  uint64_t pgoff_last() const { return vm_pgoff + pages() - 1; }
  // Host address backing a (a replaced page's copy if a's page is replaced); precondition
  // vm_start <= a < vm_end. For page-cache backing the pointer is only dereferenceable for
  // pages inside the file's capacity.
  uint8_t* host_ptr(GuestAddr a) const;
  // End of the host-contiguous piece that starts at a: the next replaced-page boundary, or
  // the end of the run pages. Precondition: a is inside the run pages.
  GuestAddr contiguous_end(GuestAddr a) const;
  // Pages of this VMA that exist in the file (all pages for anonymous VMAs).
  uint64_t run_pages() const;
  // The runs this VMA should have right now, ascending (Mm keeps `emitted` equal to them).
  std::vector<Run> runs() const;
};

}  // namespace probesim::mmu
