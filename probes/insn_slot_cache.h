// InsnSlotCache: Linux's kprobe_insn_cache (kernel/kprobes.c). Out-of-line instruction slots
// carved from pages obtained with KernelMemory::alloc_insn_page. Each slot is CLEAN (free),
// USED (holds a probe's copy) or DIRTY (freed, but a CPU may still be executing it because the
// copy was boosted: it runs without a trap, so nobody knows when it is left).
// Rules (Linux):
// - get_slot: first CLEAN slot of the newest page that has room; if none and garbage exists,
//   collect and retry; else allocate a new page (added at the head) and use its slot 0.
// - free_slot(Clean): the slot is CLEAN at once. free_slot(Dirty): DIRTY, and when the number
//   of dirty slots exceeds slots_per_page, collect garbage.
// - collect_garbage: after a grace period every DIRTY slot becomes CLEAN (ours: except slots a
//   CPU is still inside, per the optional in-use check). A page whose last slot is cleaned is
//   returned to KernelMemory unless it is the only page.
// Single-threaded: the machine thread only, never from inside a probe handler.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "probes/kernel_memory.h"
#include "probesim/result.h"
#include "probesim/types.h"

namespace probesim::probes {

enum class SlotState : uint8_t { Clean = 0, Dirty = 1, Used = 2 };  // SLOT_CLEAN/DIRTY/USED
enum class SlotFree : uint8_t { Clean, Dirty };

class InsnSlotCache {
 public:
  // True if some CPU may still be executing inside [slot, slot+size) (the grace period check).
  using InUseCheck = std::function<bool(GuestAddr slot, size_t size)>;

  // insn_size: bytes per slot (x86 MAX_INSN_SIZE 16; arm64 2 words = 8).
  InsnSlotCache(KernelMemory& mem, size_t insn_size, std::string sym = "kprobe_insn_page");
  ~InsnSlotCache();
  InsnSlotCache(const InsnSlotCache&) = delete;
  InsnSlotCache& operator=(const InsnSlotCache&) = delete;

  Result<GuestAddr> get_slot();
  void free_slot(GuestAddr slot, SlotFree how);
  // collect_garbage_slots: returns how many DIRTY slots became CLEAN.
  size_t collect_garbage();

  void set_in_use_check(InUseCheck check) { in_use_ = std::move(check); }
  std::optional<SlotState> state(GuestAddr slot) const;
  bool is_slot_addr(GuestAddr a) const;  // __is_insn_slot_addr
  size_t insn_size() const { return insn_size_; }
  size_t slots_per_page() const { return kPageSize / insn_size_; }
  size_t nr_garbage() const { return nr_garbage_; }
  std::vector<GuestAddr> pages() const;  // newest first
  const std::string& sym() const { return sym_; }

 private:
  struct Page {
    GuestAddr base;
    std::vector<SlotState> slot_used;
    size_t nused = 0;  // USED + DIRTY
    size_t ngarbage = 0;
  };
  bool collect_one_slot(size_t page_index, size_t slot);
  std::pair<Page*, size_t> find(GuestAddr slot);
  std::optional<GuestAddr> take_clean_slot();

  KernelMemory& mem_;
  size_t insn_size_;
  std::string sym_;
  std::vector<std::unique_ptr<Page>> pages_;  // index 0 = newest (Linux list head)
  size_t nr_garbage_ = 0;
  InUseCheck in_use_;
};

}  // namespace probesim::probes
