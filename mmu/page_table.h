// PageTable: one mm's page tables in Linux's 4-level shape (PGD -> PUD -> PMD -> PTE, 9 bits of
// the virtual address per level over 4 KiB pages: the 48-bit layout of x86-64 and of arm64 with
// a 4 KiB granule). A leaf entry names a frame of the machine's FrameSpace and its permissions.
// Tables are allocated on the first entry below them and freed when their last entry goes, so
// the cost is proportional to the pages mapped, never to the size of the VMAs.
//
// Ownership: the mm that owns it. The table does not count frame references itself: whoever
// sets or clears an entry (the fault path, zap, fork) moves the frame's refcount and mapcount
// (page_fault.h), so the table stays a plain radix structure. Machine thread only.
#pragma once

#include <array>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>

#include "mmu/frame_space.h"
#include "probesim/types.h"

namespace probesim::mmu {

// PTE flag bits (the model's, not an arch's encoding).
enum PteFlag : uint32_t {
  kPteRead = 1,  // same values as VM_READ / VM_WRITE / VM_EXEC
  kPteWrite = 2,
  kPteExec = 4,
  kPteUser = 8,    // user mode may access the page (kernel pages lack it)
  kPteDirty = 16,  // written since mapped
};

struct Pte {
  Pfn pfn;
  uint32_t flags = 0;
  bool operator==(const Pte&) const = default;
};

class PageTable {
 public:
  static constexpr int kLevels = 4;  // pgd, pud, pmd, pte
  static constexpr uint64_t kEntries = 512;
  static constexpr uint64_t kVaBits = 48;

  PageTable();
  ~PageTable();
  PageTable(const PageTable&) = delete;
  PageTable& operator=(const PageTable&) = delete;

  // The entry mapping va's page, or nullopt. va must lie below 2^48.
  std::optional<Pte> lookup(GuestAddr va) const;
  // The mutable entry, or null (flags may change in place; pfn changes go through set()).
  Pte* find(GuestAddr va);
  // Installs (or replaces) the entry for va's page, allocating the tables above it.
  void set(GuestAddr va, Pte pte);
  // Removes va's entry and frees tables left empty; returns the old entry.
  std::optional<Pte> clear(GuestAddr va);
  // Calls f(page address, entry) for every entry in [start, end), ascending; skips absent
  // tables whole. f may modify the entry in place but not set or clear entries.
  void for_each(GuestAddr start, GuestAddr end, const std::function<void(GuestAddr, Pte&)>& f);

  // One step of a walk (for p.mm.page_table(addr)): the level's index and whether the entry
  // there is present (an upper level: a table below exists; the pte level: a frame).
  struct WalkStep {
    uint32_t index = 0;
    bool present = false;
  };
  std::array<WalkStep, kLevels> walk(GuestAddr va) const;

  uint64_t entries() const { return entries_; }  // present leaf entries
  uint64_t tables() const { return tables_; }    // table pages, the pgd included
  // Asserts every table's count of used entries and the totals, and that no table but the
  // pgd is empty.
  void verify() const;

  struct PteTable;
  struct PmdTable;
  struct PudTable;
  struct PgdTable;

 private:
  std::unique_ptr<PgdTable> pgd_;
  uint64_t entries_ = 0;
  uint64_t tables_ = 1;
};

}  // namespace probesim::mmu
