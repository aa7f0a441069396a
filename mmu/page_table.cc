#include "mmu/page_table.h"

#include "probesim/assert.h"

namespace probesim::mmu {

// A leaf table: 512 entries, present when flags != 0.
struct PageTable::PteTable {
  std::array<Pte, kEntries> e{};
  uint32_t used = 0;
};

// An upper-level table: 512 pointers to the next level.
template <class Child>
struct Dir {
  std::array<std::unique_ptr<Child>, PageTable::kEntries> e{};
  uint32_t used = 0;
};
struct PageTable::PmdTable : Dir<PteTable> {};
struct PageTable::PudTable : Dir<PmdTable> {};
struct PageTable::PgdTable : Dir<PudTable> {};

namespace {

constexpr uint32_t index_at(uint64_t va, int level) {  // level 0 = pgd ... 3 = pte
  return static_cast<uint32_t>((va >> (kPageShift + 9 * (PageTable::kLevels - 1 - level))) & 511);
}

constexpr uint64_t span_of(int level) {  // bytes one entry of `level` covers
  return uint64_t{1} << (kPageShift + 9 * (PageTable::kLevels - 1 - level));
}

void check_va(GuestAddr va) {
  PROBESIM_ASSERT_MSG(va.value < (uint64_t{1} << PageTable::kVaBits),
                      "page table: address beyond 48 bits: " + std::to_string(va.value));
}

}  // namespace

PageTable::PageTable() : pgd_(std::make_unique<PgdTable>()) {}
PageTable::~PageTable() = default;

std::optional<Pte> PageTable::lookup(GuestAddr va) const {
  Pte* p = const_cast<PageTable*>(this)->find(va);
  return p ? std::optional<Pte>(*p) : std::nullopt;
}

Pte* PageTable::find(GuestAddr va) {
  check_va(va);
  const uint64_t a = va.value;
  PudTable* pud = pgd_->e[index_at(a, 0)].get();
  if (!pud) return nullptr;
  PmdTable* pmd = pud->e[index_at(a, 1)].get();
  if (!pmd) return nullptr;
  PteTable* pt = pmd->e[index_at(a, 2)].get();
  if (!pt) return nullptr;
  Pte& pte = pt->e[index_at(a, 3)];
  return pte.flags ? &pte : nullptr;
}

template <class T>
static T* child(std::unique_ptr<T>& slot, uint32_t& used, uint64_t& tables) {
  if (!slot) {
    slot = std::make_unique<T>();
    ++used;
    ++tables;
  }
  return slot.get();
}

void PageTable::set(GuestAddr va, Pte pte) {
  check_va(va);
  PROBESIM_ASSERT_MSG(pte.flags != 0, "a present PTE needs at least one flag");
  const uint64_t a = va.value;
  PudTable* pud = child(pgd_->e[index_at(a, 0)], pgd_->used, tables_);
  PmdTable* pmd = child(pud->e[index_at(a, 1)], pud->used, tables_);
  PteTable* pt = child(pmd->e[index_at(a, 2)], pmd->used, tables_);
  Pte& slot = pt->e[index_at(a, 3)];
  if (!slot.flags) {
    ++pt->used;
    ++entries_;
  }
  slot = pte;
}

std::optional<Pte> PageTable::clear(GuestAddr va) {
  check_va(va);
  const uint64_t a = va.value;
  auto& pud_slot = pgd_->e[index_at(a, 0)];
  if (!pud_slot) return std::nullopt;
  auto& pmd_slot = pud_slot->e[index_at(a, 1)];
  if (!pmd_slot) return std::nullopt;
  auto& pt_slot = pmd_slot->e[index_at(a, 2)];
  if (!pt_slot) return std::nullopt;
  Pte& slot = pt_slot->e[index_at(a, 3)];
  if (!slot.flags) return std::nullopt;
  const Pte old = slot;
  slot = Pte{};
  --entries_;
  // Free the tables this removal emptied, bottom up (Linux's free_pgtables).
  if (--pt_slot->used == 0) {
    pt_slot.reset();
    --tables_;
    if (--pmd_slot->used == 0) {
      pmd_slot.reset();
      --tables_;
      if (--pud_slot->used == 0) {
        pud_slot.reset();
        --tables_;
        --pgd_->used;
      }
    }
  }
  return old;
}

void PageTable::for_each(GuestAddr start, GuestAddr end,
                         const std::function<void(GuestAddr, Pte&)>& f) {
  uint64_t a = start.value & kPageMask;
  while (a < end.value) {
    check_va(GuestAddr{a});
    PudTable* pud = pgd_->e[index_at(a, 0)].get();
    if (!pud) {
      a = (a & ~(span_of(0) - 1)) + span_of(0);
      continue;
    }
    PmdTable* pmd = pud->e[index_at(a, 1)].get();
    if (!pmd) {
      a = (a & ~(span_of(1) - 1)) + span_of(1);
      continue;
    }
    PteTable* pt = pmd->e[index_at(a, 2)].get();
    if (!pt) {
      a = (a & ~(span_of(2) - 1)) + span_of(2);
      continue;
    }
    Pte& pte = pt->e[index_at(a, 3)];
    if (pte.flags) f(GuestAddr{a}, pte);
    a += kPageSize;
  }
}

std::array<PageTable::WalkStep, PageTable::kLevels> PageTable::walk(GuestAddr va) const {
  check_va(va);
  const uint64_t a = va.value;
  std::array<WalkStep, kLevels> out{};
  for (int l = 0; l < kLevels; ++l) out[l].index = index_at(a, l);
  const PudTable* pud = pgd_->e[out[0].index].get();
  out[0].present = pud != nullptr;
  const PmdTable* pmd = pud ? pud->e[out[1].index].get() : nullptr;
  out[1].present = pmd != nullptr;
  const PteTable* pt = pmd ? pmd->e[out[2].index].get() : nullptr;
  out[2].present = pt != nullptr;
  out[3].present = pt && pt->e[out[3].index].flags != 0;
  return out;
}

void PageTable::verify() const {
  uint64_t entries = 0, tables = 1, pgd_used = 0;
  for (const auto& pud : pgd_->e) {
    if (!pud) continue;
    ++pgd_used, ++tables;
    uint32_t pud_used = 0;
    for (const auto& pmd : pud->e) {
      if (!pmd) continue;
      ++pud_used, ++tables;
      uint32_t pmd_used = 0;
      for (const auto& pt : pmd->e) {
        if (!pt) continue;
        ++pmd_used, ++tables;
        uint32_t n = 0;
        for (const Pte& p : pt->e) n += p.flags != 0;
        PROBESIM_ASSERT(n == pt->used && n > 0);
        entries += n;
      }
      PROBESIM_ASSERT(pmd_used == pmd->used && pmd_used > 0);
    }
    PROBESIM_ASSERT(pud_used == pud->used && pud_used > 0);
  }
  PROBESIM_ASSERT(pgd_used == pgd_->used);
  PROBESIM_ASSERT(entries == entries_ && tables == tables_);
}

}  // namespace probesim::mmu
