// Mm: one guest address space (Linux's mm_struct), model only: VMAs, brk, mmap placement,
// permissions, and the host memory backing every page. It never touches Unicorn; the
// emulator realizes it through MmObserver.
//
// Ownership: Mm owns its VMAs (unique_ptr, ordered by vm_start). VMAs hold inode references
// and are linked in their file's i_mmap while they exist. The InodeCache must outlive the Mm.
// Threading: touched only by the machine's thread. Linux's mmap_lock is modelled outside the Mm
// (emu/kthread/kernel_locks.h): a syscall that takes it for write waits while kernel work holds
// it, and otherwise runs all its Mm operations within one scheduling step, so operations on one
// Mm never interleave.
//
// Observer contract (after every public operation): the runs emitted so far (on_map minus
// on_unmap) are exactly Vma::runs() of every VMA: one run per VMA, [vm_start, min(vm_end,
// EOF end)), split around each replaced page (uprobes), each with its host pointer and
// vm_flags & RWX; a run that changes gets on_unmap of its whole old extent, and all
// on_unmaps of an operation come before its on_maps, so runs never overlap.
#pragma once

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <map>
#include <memory>
#include <set>
#include <span>
#include <string>
#include <vector>

#include "mmu/anon_allocator.h"
#include "mmu/budget.h"
#include "mmu/inode.h"
#include "mmu/page_pool.h"
#include "mmu/vma.h"
#include "probesim/result.h"
#include "probesim/types.h"

namespace probesim::mmu {

// Realization hook (the emulator maps these into Unicorn). Must not call back into the Mm
// and must not throw.
struct MmObserver {
  virtual ~MmObserver() = default;
  virtual void on_unmap(GuestAddr start, uint64_t len) = 0;
  // prot: VM_READ | VM_WRITE | VM_EXEC (same values as PROT_*).
  virtual void on_map(GuestAddr start, uint64_t len, uint8_t* host, uint32_t prot) = 0;
};

struct MmLayout {
  GuestAddr mmap_base;               // top-down mmap allocates below this
  GuestAddr task_size;               // end of user space
  GuestAddr mmap_min_addr{0x10000};  // Linux's vm.mmap_min_addr default
  // The anonymous window [mmap_base - anon_window_bytes, mmap_base) shares one host arena.
  uint64_t anon_window_bytes = uint64_t{1} << 32;
  uint64_t stack_guard_gap = uint64_t{256} << kPageShift;  // Linux's stack_guard_gap
  // vm.max_map_count (DEFAULT_MAX_MAP_COUNT 65530). The emulator lowers it to what its engine
  // can realize (emu/uc_regions.h): map_count() never passes it by more than one (see there).
  uint64_t max_map_count = 65530;
  // A bound of the emulator's on exec_map_count() (its executable runs are regions of their
  // own): operations that would add an executable VMA or replaced page above it get ENOMEM.
  uint64_t max_exec_map_count = 65530;
};

enum class FaultKind { None, MapErr, AccErr, Bus };  // SEGV_MAPERR / SEGV_ACCERR / SIGBUS
enum class Access { Read, Write, Exec };
// How the file passed to mmap was opened: a MAP_SHARED mapping of a read-only file gets
// neither VM_MAYWRITE nor VM_SHARED (as Linux), so mprotect cannot make it writable.
enum class FileMode { ReadOnly, ReadWrite };

// What backs one guest page (page_state): for notebooks and uprobes ("is this the shared
// page-cache frame or this mm's private copy?").
enum class PageState {
  Unmapped,      // no VMA, or beyond the file's EOF
  Anonymous,     // anonymous memory (no file)
  PageCache,     // the file's page-cache frame, shared with every mm mapping it
  ReplacedPage,  // this mm's private copy of that one file page (uprobes' __replace_page)
  PrivateCopy,   // the whole VMA is a private copy of the file (written, or writable)
};

class Mm {
 public:
  explicit Mm(MmLayout layout);
  ~Mm();  // drops every VMA (i_mmap removal, iput); emits nothing
  Mm(const Mm&) = delete;
  Mm& operator=(const Mm&) = delete;

  // Non-owning; on set, on_map is emitted for every existing run. null detaches.
  void set_observer(MmObserver* o);
  MmObserver* observer() const { return observer_; }
  // fork's dup_mmap: a new mm with the same VMAs; private memory copied, file pages and
  // MAP_SHARED memory shared (mm_fork.cc). The child has no observer yet.
  Result<std::unique_ptr<Mm>> dup() const;
  const MmLayout& layout() const { return layout_; }

  // Commit accounting, Linux's strict overcommit (vm.overcommit_memory=2, mm/util.c
  // __vm_enough_memory) with the machine's memory limit as CommitLimit: the bytes of every
  // writable (or once writable: VM_ACCOUNT) VMA backed by this mm's own memory (anonymous,
  // private file copies; MAP_NORESERVE too, since the host backs every page the guest writes)
  // are charged to `budget`, which every mm of a machine shares. mmap, mprotect, brk and fork
  // (dup) fail with ENOMEM, changing nothing, when the growth does not fit. The charge
  // follows every operation and is given back when the mm dies. null: no limit (the default).
  void set_commit_budget(Budget* budget);
  uint64_t committed() const { return committed_; }

  // Linux-semantics syscalls: the result or -errno, as the kernel returns them.
  int64_t mmap(GuestAddr addr, uint64_t len, int prot, int flags, Inode* file, FileOffset off,
               FileMode mode = FileMode::ReadWrite);
  int64_t munmap(GuestAddr addr, uint64_t len);
  int64_t mprotect(GuestAddr addr, uint64_t len, int prot);
  uint64_t brk(GuestAddr new_brk);         // the (possibly unchanged) brk, as sys_brk
  void set_brk_base(GuestAddr start_brk);  // exec; no VMA until brk grows
  GuestAddr start_brk() const { return start_brk_; }
  GuestAddr cur_brk() const { return brk_; }
  // MADV_DONTNEED: private anon pages read zero again, private file copies re-read the
  // file, shared memory is kept. Flag advice (DONTFORK, DONTDUMP...) splits like mprotect.
  // MADV_FREE keeps contents (deterministic); unknown advice is EINVAL.
  int64_t madvise(GuestAddr addr, uint64_t len, int advice);
  // Names the VMA containing addr (e.g. "[stack]"); ENOMEM if unmapped.
  Result<void> set_vma_name(GuestAddr addr, std::string name);

  const Vma* find_vma(GuestAddr addr) const;  // first VMA with vm_end > addr, or null
  const Vma* vma_at(GuestAddr addr) const;    // the VMA containing addr, or null
  std::vector<const Vma*> vmas() const;       // ascending
  uint64_t total_vm() const { return total_pages_; }  // mm->total_vm: pages of every VMA
  // mm->hiwater_vm (VmPeak): the most pages mapped at once. Linux raises it to total_vm
  // before each unmap lowers total_vm (update_hiwater_vm in remove_mt); a fork's child
  // starts at its own total_vm (dup_mm).
  uint64_t hiwater_vm() const { return std::max(hiwater_vm_, total_vm()); }
  size_t vma_count() const { return vmas_.size(); }
  // mm->map_count as the limit sees it: the VMAs, plus two for each replaced page (the run it
  // splits off costs the emulator up to two more realized runs). As Linux with max_map_count:
  // mmap, brk and install_special_mapping refuse a new VMA with ENOMEM once map_count() is
  // above layout().max_map_count; mprotect, madvise and a munmap that punches a hole into one
  // VMA refuse a split that would take it there; write_private_page refuses a new copy.
  uint64_t map_count() const { return vmas_.size() + 2 * pool_.in_use(); }
  // Executable VMAs (not PROT_NONE) plus two per replaced page, held against
  // max_exec_map_count as map_count() is against max_map_count. O(VMAs): computed only by
  // operations that may add one (PROT_EXEC mmap and mprotect, splits of executable VMAs).
  uint64_t exec_map_count() const;

  // Guest-initiated access (copy_{from,to}_user): needs VM_READ / VM_WRITE on every byte
  // and pages inside the file; false means -EFAULT (nothing is copied then).
  bool copy_from_user(void* dst, GuestAddr src, size_t n) const;
  bool copy_to_user(GuestAddr dst, const void* src, size_t n);
  // Linux's access_ok: [addr, addr+size) lies below TASK_SIZE without wrapping (nothing
  // about mappings). Syscalls check it on a whole user buffer before transferring anything.
  bool access_ok(GuestAddr addr, uint64_t size) const;
  // How many bytes from a can be accessed (`access` Read/Write) before the first byte that
  // copy_{from,to}_user would refuse: a partial transfer stops there, as Linux's copies do.
  size_t accessible_prefix(GuestAddr a, size_t n, Access access) const;
  // Reads a NUL-terminated string, scanning at most max bytes (the buffer size, NUL
  // included, as getname's PATH_MAX); EFAULT on a bad byte, ENAMETOOLONG if no NUL in max.
  Result<std::string> strncpy_from_user(GuestAddr src, size_t max) const;
  // Privileged access (loader, debugger/API): ignores protections but needs a mapping.
  // poke into a page-cache-backed private VMA first makes the whole VMA a private copy
  // (COW at VMA granularity) and re-emits its run; poke into MAP_SHARED writes the page cache.
  bool peek(GuestAddr src, void* dst, size_t n) const;
  bool poke(GuestAddr dst, const void* src, size_t n);

  FaultKind classify_fault(GuestAddr addr, Access access) const;

  // ---- uprobes' page replacement (Linux uprobe_write_opcode / __replace_page) ----
  PageState page_state(GuestAddr addr) const;
  // Writes bytes at dst into THIS mm's own copy of dst's page, never into the page cache: a
  // page-cache page of a private file VMA is first replaced by a private copy of that one
  // page (realized as its own run: the VMA's run splits around it); a replaced page or a
  // private-copy VMA is written in place. Ignores protections (FOLL_FORCE). Errors: EFAULT
  // (unmapped, beyond EOF, or [dst, dst+n) crosses a page), EINVAL (anonymous or MAP_SHARED
  // VMA: there is no private copy to make), ENOMEM.
  Result<void> write_private_page(GuestAddr dst, std::span<const uint8_t> bytes);
  // If addr's page is a replaced page byte-identical to its page-cache frame, drops it so
  // this mm maps the shared frame again (the run re-merges); true if it was dropped.
  bool drop_identical_page(GuestAddr addr);
  uint64_t replaced_pages() const { return pool_.in_use(); }

  // _install_special_mapping: a new anonymous VMA of len bytes named `name` with exactly
  // vm_flags (e.g. uprobes' "[uprobes]" XOL page: VM_EXEC|VM_MAYEXEC|VM_DONTCOPY|VM_IO),
  // placed by get_unmapped_area(hint). VM_IO makes it VM_SPECIAL: it never merges. Returns
  // its start; ENOMEM when no room.
  Result<GuestAddr> install_special_mapping(GuestAddr hint, uint64_t len, uint32_t vm_flags,
                                            std::string name);

  // Asserts VMA order/non-overlap/alignment, no mergeable neighbours, i_mmap membership,
  // backing invariants and emitted runs == computed runs.
  void verify() const;
  struct Stats {
    uint64_t private_copies = 0, merges = 0, splits = 0;
    uint64_t replaced_pages = 0, dropped_pages = 0;  // __replace_page copies made / dropped
  };
  const Stats& stats() const { return stats_; }

  // Called by AddressSpace only: i_size of vma's file crossed a page boundary inside vma's
  // interval; updates the VMA's run (filling new pages) and tells the observer.
  void i_size_changed(Vma& vma);

 private:
  friend class RunBatch;
  using VmaMap = std::map<uint64_t, std::unique_ptr<Vma>>;  // by vm_start
  enum class Discard { Yes, No };

  // True when `extra` more counts fit under max_map_count (splits, replaced pages).
  bool map_count_fits(uint64_t extra) const {
    return map_count() + extra <= layout_.max_map_count;
  }
  bool exec_map_count_fits(uint64_t extra) const {
    return extra == 0 || exec_map_count() + extra <= layout_.max_exec_map_count;
  }

  // VMA container (mm_vma_ops.cc)
  Vma* vma_at_mut(GuestAddr addr);
  Vma* link_vma(std::unique_ptr<Vma> v);
  void unlink_vma(Vma* v, Discard discard);  // destroys v
  void set_bounds(Vma* v, GuestAddr start, GuestAddr end);
  Vma* split_vma(Vma* v, GuestAddr at);  // v keeps [vm_start, at); returns [at, vm_end)
  void unmap_range(GuestAddr start, GuestAddr end);
  bool can_merge(const Vma& a, const Vma& b) const;
  void merge_around(GuestAddr lo, GuestAddr hi);
  Result<void> make_private_copy(Vma& v);
  void refill_from_page_cache(Vma& v, uint64_t first_page, uint64_t end_page);
  // Gives v's replaced pages in [start, end) back to the pool (after the caller's RunBatch
  // has told the observer, the pool may reuse them: callers hold a RunBatch).
  void free_replaced(Vma& v, GuestAddr start, GuestAddr end);

  // mmap placement and creation (mm_mmap.cc)
  uint64_t vm_start_gap(const Vma& v) const;
  bool range_free(GuestAddr start, uint64_t len) const;
  int64_t place_mapping(GuestAddr addr, uint64_t rlen, int flags) const;
  int64_t get_unmapped_area(GuestAddr hint, uint64_t len) const;
  int64_t find_gap_topdown(uint64_t len, uint64_t low, uint64_t high) const;
  int64_t find_gap_topdown_linear(uint64_t len, uint64_t low, uint64_t high) const;
  int64_t find_gap_bottomup(uint64_t len, uint64_t low, uint64_t high) const;
  int64_t map_region(GuestAddr addr, uint64_t len, uint32_t vm_flags, Inode* file, uint64_t pgoff);

  // mprotect / madvise / brk helpers (mm_mprotect.cc, mm_brk.cc)
  int64_t mprotect_fixup(Vma* v, GuestAddr start, GuestAddr end, uint32_t newflags);
  int64_t madvise_vma(int advice, Vma* v, GuestAddr start, GuestAddr end);
  int64_t madvise_dontneed(Vma& v, GuestAddr start, GuestAddr end);
  bool grow_heap(GuestAddr old_end, GuestAddr new_end);

  // The VMA index kept beside vmas_ (mm_holes.cc): every change of the VMA set goes through
  // link_vma, unlink_vma or set_bounds, which call note_vmas_changed for the old and new extent.
  void note_vmas_changed(uint64_t lo, uint64_t hi);
  void verify_index() const;

  // Commit accounting (mm_commit.cc)
  static uint64_t vma_committed(const Vma& v);
  bool commit_fits(uint64_t extra) const;
  uint64_t committed_in(GuestAddr start, GuestAddr end) const;
  uint64_t mprotect_commit_extra(GuestAddr start, GuestAddr end, int prot) const;
  void sync_commit();  // recounts committed_ and moves the difference to the budget

  // Access helpers (mm_access.cc): calls f(host, len) per piece; false if some byte of
  // [a, a+n) is unmapped, beyond EOF, or lacks `need` (VM_* bits, 0 = none).
  template <class F>
  bool for_each_piece(GuestAddr a, size_t n, uint32_t need, F&& f) const;

  MmLayout layout_;
  VmaMap vmas_;
  AnonAllocator anon_;
  PagePool pool_;  // replaced pages
  MmObserver* observer_ = nullptr;
  GuestAddr start_brk_, brk_;
  Stats stats_;
  Budget* commit_budget_ = nullptr;  // non-owning; the machine's, outlives this mm
  uint64_t hiwater_vm_ = 0;          // pages; see hiwater_vm()
  uint64_t committed_ = 0;           // bytes charged to commit_budget_ (when set)
  // The index, so that placing and unmapping cost O(log N), not O(VMAs) (mm_holes.cc):
  // non-empty free holes [start, end) between VMAs keyed by end (the next VMA's vm_start, or
  // kNoVma for the hole above the last VMA); the vm_starts of VM_GROWSDOWN VMAs (whose guard
  // gap makes a hole smaller than the space between two VMAs); and mm->total_vm in pages.
  static constexpr uint64_t kNoVma = ~uint64_t{0};
  std::map<uint64_t, uint64_t> holes_{{kNoVma, 0}};
  std::set<uint64_t> growsdown_;
  uint64_t total_pages_ = 0;
};

}  // namespace probesim::mmu
