// How the probed instruction runs after the pre handlers: the x86 slot [insn][CC] or boosted
// [insn][jmp back], emulation inside the first trap, arm64 [insn][BRK #6] or simulation, and
// the modelled cost of each path.
#include <doctest/doctest.h>

#include <cstring>

#include "probe_fixture.h"
#include "probes/arch/arm64/arm64_insn.h"

using namespace probesim;
using namespace probesim::probes;
using namespace probesim::probes::test;

TEST_CASE("kprobes: x86 slot is [insn][CC] with a post handler, [insn][jmp back] when boosted") {
  for (bool with_post : {true, false}) {
    CAPTURE(with_post);
    ProbeFixture f(Arch::X86_64);
    const GuestAddr a = f.fn("leaf");  // lea (%rdi,%rsi,2),%rax: 4 bytes, boostable
    Kprobe kp;
    kp.addr = a;
    if (with_post) kp.post_handler = [](Kprobe&, Regs&, unsigned long) {};
    REQUIRE(f.mgr.register_kprobe(kp).ok());
    const auto info = f.mgr.info(a);
    REQUIRE(info->slot.value != 0);
    CHECK(info->boosted == !with_post);
    const auto slot = f.raw(info->slot, 9);
    CHECK(std::equal(slot.begin(), slot.begin() + 4, f.original(a, 4).begin()));
    if (with_post) {
      CHECK(slot[4] == 0xcc);
    } else {
      CHECK(slot[4] == 0xe9);
      int32_t rel;
      std::memcpy(&rel, &slot[5], 4);
      CHECK(info->slot.value + 9 + static_cast<int64_t>(rel) == a.value + 4);
    }
    RunOutcome o;
    CHECK(f.m.call(a, {5, 7}, &f.mgr, {}, 0, &o) == 19);
    CHECK(o.traps == (with_post ? 2u : 1u));
    f.mgr.unregister_kprobe(kp);
  }
}

TEST_CASE("kprobes: adding a child with a post handler turns a boosted slot into a trapping one") {
  ProbeFixture f(Arch::X86_64);
  Kprobe a, b;
  a.symbol_name = b.symbol_name = "leaf";
  int posts = 0;
  b.post_handler = [&](Kprobe&, Regs&, unsigned long) { ++posts; };
  REQUIRE(f.mgr.register_kprobe(a).ok());
  CHECK(f.mgr.info(f.fn("leaf"))->boosted);
  REQUIRE(f.mgr.register_kprobe(b).ok());
  CHECK(!f.mgr.info(f.fn("leaf"))->boosted);
  CHECK(f.call("leaf", {5, 7}) == 19);
  CHECK(posts == 1);
  f.mgr.unregister_kprobe(a);
  f.mgr.unregister_kprobe(b);
}

TEST_CASE("kprobes: emulated instructions run pre and post handlers within one trap") {
  for (Arch arch : kArches) {
    CAPTURE(arch_str(arch));
    ProbeFixture f(arch, KprobeConfig{.ncpus = 1, .boost = false});
    // outer's call to leaf: x86 `call rel32` (emulated), arm64 `bl` (simulated).
    GuestAddr call_site{};
    for (uint64_t off = 0; off < f.syms.size("outer"); ++off) {
      const auto b = f.raw(f.fn("outer") + off, 4);
      uint32_t w;
      std::memcpy(&w, b.data(), 4);
      if ((arch == Arch::X86_64 && b[0] == 0xe8) ||
          (arch == Arch::AArch64 && off % 4 == 0 && arm64::kBl.matches(w))) {
        call_site = f.fn("outer") + off;
        break;
      }
    }
    REQUIRE(call_site.value != 0);
    Kprobe kp;
    kp.addr = call_site;
    uint64_t post_ip = 0;
    kp.post_handler = [&](Kprobe&, Regs& regs, unsigned long) { post_ip = regs.ip().value; };
    REQUIRE(f.mgr.register_kprobe(kp).ok());
    const auto info = f.mgr.info(call_site);
    CHECK(info->step == StepKind::Emulate);
    CHECK((info->slot.value != 0) == (arch == Arch::X86_64));  // x86 allocates a slot anyway
    RunOutcome o;
    CHECK(f.m.call(f.fn("outer"), {3}, &f.mgr, {}, 0, &o) == 23);
    CHECK(o.traps == 1);
    CHECK(post_ip == f.fn("leaf").value);  // the call was taken
    f.mgr.unregister_kprobe(kp);
  }
}

TEST_CASE("kprobes: arm64 slot is [insn][BRK #6] and DAIF is masked during the step") {
  ProbeFixture f(Arch::AArch64);
  const GuestAddr a = f.fn("leaf");
  Kprobe kp;
  kp.addr = a;
  uint64_t post_pstate = ~0ull;
  kp.post_handler = [&](Kprobe&, Regs& regs, unsigned long) { post_pstate = regs.flags(); };
  REQUIRE(f.mgr.register_kprobe(kp).ok());
  const auto info = f.mgr.info(a);
  REQUIRE(info->slot.value != 0);
  const auto slot = f.raw(info->slot, 8);
  uint32_t w[2];
  std::memcpy(w, slot.data(), 8);
  const auto orig = f.original(a, 4);
  uint32_t ow;
  std::memcpy(&ow, orig.data(), 4);
  CHECK(w[0] == ow);
  CHECK(w[1] == arm64::kBrkKprobesSs);
  Regs regs = f.m.call_regs(a, {5, 7});
  regs.set_flags(0x5);  // EL1h with DAIF clear: the step must mask it and restore it
  RunOutcome o = f.m.run(regs, f.m.layout().stop, &f.mgr);
  CHECK(o.ok);
  CHECK(o.traps == 2);
  CHECK(regs.return_value() == 19);
  CHECK((post_pstate & kArm64DaifMask) == 0);
  CHECK((regs.flags() & kArm64DaifMask) == 0);
  f.mgr.unregister_kprobe(kp);
}

TEST_CASE("kprobes: each path charges its modelled cost (kprobes.rst overheads at 2 GHz)") {
  ProbeFixture f(Arch::X86_64);
  CHECK(f.mgr.cost(ProbePath::Trap).value == 860);        // 0.43 us
  CHECK(f.mgr.cost(ProbePath::SingleStep).value == 1120); // 0.56 us
  CHECK(f.mgr.cost(ProbePath::KretprobeReturn).value == 500);
  CHECK(f.mgr.cost(ProbePath::Optimized).value == 120);   // 0.06 us
  Kprobe kp;
  kp.symbol_name = "leaf";
  kp.post_handler = [](Kprobe&, Regs&, unsigned long) {};
  REQUIRE(f.mgr.register_kprobe(kp).ok());
  RunOutcome o;
  f.m.call(f.fn("leaf"), {1, 2}, &f.mgr, {}, 0, &o);
  CHECK(o.probe_cycles == 1980);  // k = 0.99 us
  f.mgr.unregister_kprobe(kp);
  Kprobe boosted;
  boosted.symbol_name = "leaf";
  REQUIRE(f.mgr.register_kprobe(boosted).ok());
  f.m.call(f.fn("leaf"), {1, 2}, &f.mgr, {}, 0, &o);
  CHECK(o.probe_cycles == 860);  // b = 0.43 us
  f.mgr.unregister_kprobe(boosted);
  Kretprobe rp;
  rp.kp.symbol_name = "leaf";
  REQUIRE(f.mgr.register_kretprobe(rp).ok());
  f.m.call(f.fn("leaf"), {1, 2}, &f.mgr, {}, 0, &o);
  CHECK(o.probe_cycles == 860 + 500);  // rb = 0.68 us (boosted entry + return)
  f.mgr.unregister_kretprobe(rp);
}

TEST_CASE("kprobes: a breakpoint removed after the trap re-executes the original instruction") {
  ProbeFixture f(Arch::X86_64);
  const GuestAddr a = f.fn("leaf");
  Regs regs = f.m.call_regs(a, {1, 2});
  regs.set_ip(a + 1);  // as if an int3 at `a` trapped, but no probe is registered any more
  const HitResult r = f.mgr.on_breakpoint({}, regs);
  CHECK(r.disposition == HitDisposition::Handled);
  CHECK(r.kind == HitKind::Stale);
  CHECK(regs.ip() == a);
  // A real int3 that is not ours is reported as such.
  const uint8_t cc = 0xcc;
  REQUIRE(f.m.write_text(a, std::span<const uint8_t>(&cc, 1)));
  regs.set_ip(a + 1);
  CHECK(f.mgr.on_breakpoint({}, regs).disposition == HitDisposition::NotOurs);
}

TEST_CASE("kprobes: a fault in the slot moves ip back to the probe and ends the step") {
  ProbeFixture f(Arch::X86_64);
  Kprobe kp;
  kp.symbol_name = "leaf";
  kp.post_handler = [](Kprobe&, Regs&, unsigned long) {};
  REQUIRE(f.mgr.register_kprobe(kp).ok());
  Regs regs = f.m.call_regs(f.fn("leaf"), {1, 2});
  regs.set_ip(f.fn("leaf") + 1);
  REQUIRE(f.mgr.on_breakpoint({}, regs).kind == HitKind::Stepped);
  CHECK(regs.ip() == f.mgr.info(f.fn("leaf"))->slot);
  CHECK((regs.flags() & kX86FlagsIF) == 0);
  CHECK(f.mgr.on_fault({}, regs));
  CHECK(regs.ip() == f.fn("leaf"));
  CHECK((regs.flags() & kX86FlagsIF) != 0);
  CHECK(!f.mgr.kprobe_running(CpuId{0}));
  f.mgr.unregister_kprobe(kp);
}

TEST_CASE("kprobes: unregistering a probe while a CPU is inside its step completes the step") {
  ProbeFixture f(Arch::X86_64, KprobeConfig{.ncpus = 2, .boost = true});
  Kprobe kp;
  kp.symbol_name = "leaf";
  int posts = 0;
  kp.post_handler = [&](Kprobe&, Regs&, unsigned long) { ++posts; };
  REQUIRE(f.mgr.register_kprobe(kp).ok());
  const GuestAddr slot = f.mgr.info(f.fn("leaf"))->slot;
  Regs regs = f.m.call_regs(f.fn("leaf"), {1, 2});
  regs.set_ip(f.fn("leaf") + 1);
  REQUIRE(f.mgr.on_breakpoint({CpuId{1}}, regs).kind == HitKind::Stepped);
  f.mgr.unregister_kprobe(kp);  // CPU 1 is paused in the slot
  CHECK(f.m.live_insn_pages() == 1);
  CHECK(f.mgr.insn_slots().state(slot) == SlotState::Used);  // not freed under the CPU
  RunOutcome o = f.m.run(regs, f.m.layout().stop, &f.mgr, {CpuId{1}});
  CHECK(o.ok);
  CHECK(regs.return_value() == 5);
  CHECK(posts == 0);  // the probe is gone: its handler is not called
  CHECK(f.mgr.insn_slots().state(slot) == SlotState::Clean);
}
