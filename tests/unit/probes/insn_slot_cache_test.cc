// Linux's kprobe_insn_cache rules: CLEAN -> USED -> CLEAN (plain free) or DIRTY (boosted
// copy) -> CLEAN at garbage collection; new pages when full; empty pages freed except the last.
#include <doctest/doctest.h>

#include <set>

#include "uc_machine.h"

using namespace probesim;
using namespace probesim::probes;
using namespace probesim::probes::test;

TEST_CASE("insn slots: get_slot takes the first clean slot, a clean free makes it reusable") {
  UcMachine m(Arch::X86_64);
  InsnSlotCache c(m, 16);
  CHECK(c.slots_per_page() == 256);
  auto s0 = c.get_slot();
  auto s1 = c.get_slot();
  REQUIRE(s0.ok());
  REQUIRE(s1.ok());
  CHECK(*s1 == *s0 + 16);
  CHECK(page_aligned(s0->value));
  CHECK(c.state(*s0) == SlotState::Used);
  CHECK(c.state(*s0 + 32) == SlotState::Clean);
  CHECK(c.is_slot_addr(*s0 + 5));
  c.free_slot(*s0, SlotFree::Clean);
  CHECK(c.state(*s0) == SlotState::Clean);
  CHECK(*c.get_slot() == *s0);
  CHECK(m.live_insn_pages() == 1);
}

TEST_CASE("insn slots: dirty slots stay DIRTY until garbage collection, which cleans them") {
  UcMachine m(Arch::X86_64);
  InsnSlotCache c(m, 16);
  auto s0 = *c.get_slot();
  auto s1 = *c.get_slot();
  c.free_slot(s0, SlotFree::Dirty);
  CHECK(c.state(s0) == SlotState::Dirty);
  CHECK(c.nr_garbage() == 1);
  CHECK(*c.get_slot() == s1 + 16);  // a dirty slot is not handed out
  // The in-use check (a CPU may still be in the copy) keeps it dirty.
  c.set_in_use_check([&](GuestAddr slot, size_t) { return slot == s0; });
  CHECK(c.collect_garbage() == 0);
  CHECK(c.state(s0) == SlotState::Dirty);
  c.set_in_use_check(nullptr);
  CHECK(c.collect_garbage() == 1);
  CHECK(c.state(s0) == SlotState::Clean);
  CHECK(c.nr_garbage() == 0);
}

TEST_CASE("insn slots: more dirty slots than a page holds triggers collection") {
  UcMachine m(Arch::AArch64);
  InsnSlotCache c(m, 8);
  CHECK(c.slots_per_page() == 512);
  std::vector<GuestAddr> slots;
  for (int i = 0; i < 513; ++i) slots.push_back(*c.get_slot());
  CHECK(c.pages().size() == 2);
  for (int i = 0; i < 512; ++i) c.free_slot(slots[i], SlotFree::Dirty);
  CHECK(c.nr_garbage() == 512);  // not more than slots_per_page yet
  c.free_slot(slots[512], SlotFree::Dirty);
  CHECK(c.nr_garbage() == 0);  // 513 > 512: collected
  CHECK(c.pages().size() == 1);  // one emptied page freed, the last one kept
  CHECK(m.live_insn_pages() == 1);
}

TEST_CASE("insn slots: a full page makes a new page, freeing its slots frees it, not the last") {
  UcMachine m(Arch::X86_64);
  InsnSlotCache c(m, 16);
  std::vector<GuestAddr> first;
  for (int i = 0; i < 256; ++i) first.push_back(*c.get_slot());
  const GuestAddr extra = *c.get_slot();
  CHECK(c.pages().size() == 2);
  CHECK(c.pages().front() == GuestAddr{page_align_down(extra.value)});  // newest first
  CHECK(extra.value % kPageSize == 0);
  c.free_slot(extra, SlotFree::Clean);
  CHECK(c.pages().size() == 1);
  CHECK(m.live_insn_pages() == 1);
  for (GuestAddr s : first) c.free_slot(s, SlotFree::Clean);
  CHECK(c.pages().size() == 1);  // the last page is kept
  CHECK(c.get_slot().ok());
}

TEST_CASE("insn slots: a probe's slot goes USED -> CLEAN, a boosted one USED -> DIRTY -> CLEAN") {
  UcMachine m(Arch::X86_64);
  m.load_guest_image();
  TestSymbols syms(Arch::X86_64);
  KprobeManager mgr(Arch::X86_64, m, syms);
  Kprobe plain, boosted;
  plain.symbol_name = "mix";
  plain.post_handler = [](Kprobe&, Regs&, unsigned long) {};
  boosted.symbol_name = "leaf";
  REQUIRE(mgr.register_kprobe(plain).ok());
  REQUIRE(mgr.register_kprobe(boosted).ok());
  const GuestAddr ps = mgr.info(syms.addr("mix"))->slot;
  const GuestAddr bs = mgr.info(syms.addr("leaf"))->slot;
  CHECK(mgr.insn_slots().state(ps) == SlotState::Used);
  CHECK(mgr.insn_slots().state(bs) == SlotState::Used);
  mgr.unregister_kprobe(plain);
  mgr.unregister_kprobe(boosted);
  CHECK(mgr.insn_slots().state(ps) == SlotState::Clean);
  CHECK(mgr.insn_slots().state(bs) == SlotState::Dirty);
  CHECK(mgr.insn_slots().collect_garbage() == 1);
  CHECK(mgr.insn_slots().state(bs) == SlotState::Clean);
}
