// The guest kernel through the public API (probesim/kernel.h): kallsyms, symbolization, the
// kprobe blacklist, kernel memory with and without breakpoints, the insn slot cache.
#include <algorithm>

#include "api.h"

using namespace probesim;
using namespace probesim::api_test;

TEST_CASE("kernel API: kallsyms entries, lookups by name and address, the blacklist") {
  for (Arch a : kArches) {
    auto m = boot(a);
    std::optional<KernelSymbol> kt = m->kernel_symbol("kprobe_target");
    REQUIRE(kt.has_value());
    CHECK(kt->size > 4);
    CHECK((kt->type == 'T' || kt->type == 't'));
    auto all = m->kernel_symbols();
    CHECK(std::is_sorted(all.begin(), all.end(),
                         [](const KernelSymbol& x, const KernelSymbol& y) { return x.addr < y.addr; }));
    CHECK(std::any_of(all.begin(), all.end(), [&](auto& s) { return s.name == "kprobe_target"; }));
    auto at = m->kernel_symbol_at(kt->addr + 4);
    REQUIRE(at.has_value());
    CHECK(at->symbol.name == "kprobe_target");
    CHECK(at->offset == 4);
    CHECK(m->kernel_symbolize(kt->addr + 4) == "kprobe_target+0x4");
    CHECK(!m->kernel_symbol("no_such_symbol").has_value());
    CHECK(!m->kernel_symbolize(0).has_value());
    auto bl = m->kprobe_blacklist();
    CHECK(std::any_of(bl.begin(), bl.end(), [](auto& e) { return e.start < e.end; }));
    CHECK(!m->kernel_boot_log().empty());
    CHECK(m->kernel_panic().empty());
  }
}

TEST_CASE("kernel API: memory shows the breakpoint, the original bytes are under it, slots fill") {
  for (Arch a : kArches) {
    Options o{.arch = a, .seed = 1, .kprobe_optimization = false};
    auto m = must(Machine::create(o));
    uint64_t at = m->kernel_symbol("kprobe_target")->addr;
    std::vector<uint8_t> before(4), now(4), original(4);
    REQUIRE(m->read_kernel(at, before));
    CHECK(m->kprobe_insn_slots().slots.size() % std::max<uint64_t>(1, m->kprobe_insn_slots().slots_per_page) == 0);
    auto kp = must(m->register_kprobe({.symbol = "kprobe_target"}));
    REQUIRE(m->read_kernel(at, now));
    REQUIRE(m->read_kernel(at, original, true));
    CHECK(original == before);
    CHECK(now != before);  // int3 / BRK #4
    InsnSlots slots = m->kprobe_insn_slots();
    CHECK(slots.slot_size == (a == Arch::X86_64 ? 16u : 8u));
    CHECK(std::any_of(slots.slots.begin(), slots.slots.end(),
                      [](const InsnSlot& s) { return s.state == "used" && !s.bytes.empty(); }));
    std::vector<uint8_t> out(4);
    CHECK(!m->read_kernel(0, out));
  }
}

TEST_CASE("kernel API without a guest kernel: empty answers") {
  auto m = boot(Arch::X86_64, false);
  CHECK(m->kernel_symbols().empty());
  CHECK(!m->kernel_symbol("kprobe_target").has_value());
  CHECK(m->kernel_boot_log().empty());
  CHECK(m->kprobe_blacklist().empty());
  CHECK(m->kprobe_insn_slots().slots.empty());
  std::vector<uint8_t> out(4);
  CHECK(!m->read_kernel(0xffffffff81000000, out));
}
