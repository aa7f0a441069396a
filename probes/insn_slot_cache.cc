#include "probes/insn_slot_cache.h"

#include <cerrno>

#include "probesim/assert.h"

namespace probesim::probes {

InsnSlotCache::InsnSlotCache(KernelMemory& mem, size_t insn_size, std::string sym)
    : mem_(mem), insn_size_(insn_size), sym_(std::move(sym)) {
  PROBESIM_ASSERT(insn_size_ > 0 && kPageSize % insn_size_ == 0);
}

InsnSlotCache::~InsnSlotCache() = default;

std::optional<GuestAddr> InsnSlotCache::take_clean_slot() {
  for (auto& page : pages_) {
    if (page->nused >= slots_per_page()) continue;
    for (size_t i = 0; i < page->slot_used.size(); ++i) {
      if (page->slot_used[i] != SlotState::Clean) continue;
      page->slot_used[i] = SlotState::Used;
      ++page->nused;
      return page->base + i * insn_size_;
    }
    PROBESIM_ASSERT_MSG(false, "kprobe_insn_page nused is broken");
  }
  return std::nullopt;
}

Result<GuestAddr> InsnSlotCache::get_slot() {
  for (;;) {
    if (auto slot = take_clean_slot()) return *slot;
    if (nr_garbage_ == 0 || collect_garbage() == 0) break;
  }
  auto base = mem_.alloc_insn_page();
  if (!base) return base.take_error();
  PROBESIM_ASSERT(page_aligned(base->value));
  auto page = std::make_unique<Page>();
  page->base = *base;
  page->slot_used.assign(slots_per_page(), SlotState::Clean);
  page->slot_used[0] = SlotState::Used;
  page->nused = 1;
  pages_.insert(pages_.begin(), std::move(page));
  return *base;
}

std::pair<InsnSlotCache::Page*, size_t> InsnSlotCache::find(GuestAddr slot) {
  for (auto& page : pages_) {
    if (slot.value >= page->base.value && slot.value < page->base.value + kPageSize) {
      return {page.get(), (slot - page->base) / insn_size_};
    }
  }
  return {nullptr, 0};
}

bool InsnSlotCache::collect_one_slot(size_t page_index, size_t slot) {
  Page& page = *pages_[page_index];
  page.slot_used[slot] = SlotState::Clean;
  --page.nused;
  if (page.nused != 0) return false;
  // Free the page unless it is the last one (kept so the next probe need not set it up).
  if (pages_.size() > 1) {
    const GuestAddr base = page.base;
    pages_.erase(pages_.begin() + static_cast<std::ptrdiff_t>(page_index));
    mem_.free_insn_page(base);
  }
  return true;
}

void InsnSlotCache::free_slot(GuestAddr slot, SlotFree how) {
  auto [page, idx] = find(slot);
  PROBESIM_ASSERT_MSG(page != nullptr && (slot - page->base) % insn_size_ == 0,
                      "free_slot of an address that is not an insn slot");
  PROBESIM_ASSERT(page->slot_used[idx] == SlotState::Used);
  if (how == SlotFree::Dirty) {
    page->slot_used[idx] = SlotState::Dirty;
    ++page->ngarbage;
    if (++nr_garbage_ > slots_per_page()) collect_garbage();
    return;
  }
  for (size_t i = 0; i < pages_.size(); ++i) {
    if (pages_[i].get() == page) {
      collect_one_slot(i, idx);
      return;
    }
  }
}

size_t InsnSlotCache::collect_garbage() {
  size_t collected = 0;
  size_t remaining = 0;
  for (size_t p = 0; p < pages_.size();) {
    Page& page = *pages_[p];
    bool page_freed = false;
    for (size_t i = 0; i < page.slot_used.size() && page.ngarbage > 0; ++i) {
      if (page.slot_used[i] != SlotState::Dirty) continue;
      if (in_use_ && in_use_(page.base + i * insn_size_, insn_size_)) continue;
      --page.ngarbage;
      ++collected;
      if (collect_one_slot(p, i)) {
        page_freed = p >= pages_.size() || pages_[p].get() != &page;
        if (page_freed) break;
      }
    }
    if (page_freed) continue;
    remaining += page.ngarbage;
    ++p;
  }
  nr_garbage_ = remaining;
  return collected;
}

std::optional<SlotState> InsnSlotCache::state(GuestAddr slot) const {
  for (const auto& page : pages_) {
    if (slot.value < page->base.value || slot.value >= page->base.value + kPageSize) continue;
    if ((slot - page->base) % insn_size_ != 0) return std::nullopt;
    return page->slot_used[(slot - page->base) / insn_size_];
  }
  return std::nullopt;
}

bool InsnSlotCache::is_slot_addr(GuestAddr a) const {
  for (const auto& page : pages_) {
    if (a.value >= page->base.value && a.value < page->base.value + kPageSize) return true;
  }
  return false;
}

std::vector<GuestAddr> InsnSlotCache::pages() const {
  std::vector<GuestAddr> out;
  for (const auto& page : pages_) out.push_back(page->base);
  return out;
}

}  // namespace probesim::probes
