// What each architecture steps, emulates, boosts and refuses (Linux v6 x86 prepare_emulation /
// can_boost / __copy_instruction; arm64 decode-insn.c incl. the LL/SC scan).
#include <doctest/doctest.h>

#include <cerrno>
#include <cstring>
#include <vector>

#include "probe_fixture.h"
#include "probes/arch/arm64/arm64_insn.h"
#include "probes/arch/x86_64/x86_kprobes.h"

using namespace probesim;
using namespace probesim::probes;
using namespace probesim::probes::test;

namespace {

struct X86Expect {
  std::vector<uint8_t> bytes;
  int result;  // 0 slot, 1 emulated, -errno refused
  bool boostable;
};

int classify(const Result<ArchInsn>& r) {
  if (!r) return -r.error().err;
  return r->step == StepKind::Slot ? 0 : 1;
}

}  // namespace

TEST_CASE("x86 decoding: emulated, stepped, boostable and refused instructions") {
  x86::X86Kprobes arch;
  const X86Expect table[] = {
      {{0x48, 0x01, 0xc8}, 0, true},           // add rax, rcx
      {{0x50}, 0, true},                       // push rax
      {{0x48, 0xf7, 0xe1}, 0, false},          // mul rcx: Grp3 (f7) not boostable
      {{0x0f, 0xa2}, 0, false},                // cpuid: twobyte a2 = 0
      {{0x48, 0x0f, 0xaf, 0xc3}, 0, true},     // imul: twobyte af = 1
      {{0x2e, 0x48, 0x01, 0xc8}, 0, false},    // CS override prefix
      {{0x67, 0x8b, 0x00}, 0, false},          // address-size prefix
      {{0xf0, 0x48, 0x0f, 0xb1, 0x0e}, 0, true},  // lock cmpxchg (0f b1 = 1)
      {{0xc3}, 1, true},                       // ret: emulated, but boostable (Linux)
      {{0xc2, 0x08, 0x00}, 1, true},           // ret imm16
      {{0xfa}, 1, true},                       // cli
      {{0x9d}, 1, true},                       // popf
      {{0xe8, 0, 0, 0, 0}, 1, false},          // call rel32
      {{0xeb, 0x10}, 1, false},                // jmp rel8
      {{0x74, 0x10}, 1, false},                // je rel8
      {{0x0f, 0x85, 0, 0, 0, 0}, 1, false},    // jne rel32
      {{0xe2, 0xfe}, 1, false},                // loop
      {{0xe3, 0x02}, 1, false},                // jrcxz
      {{0xff, 0xd0}, 1, false},                // call rax
      {{0xff, 0xe0}, 1, true},                 // jmp rax (the only boostable ff)
      {{0x41, 0xff, 0xd3}, 1, false},          // call r11 (REX.B)
      {{0xcc}, -EINVAL, false},                // int3: another breakpoint
      {{0x8e, 0xd0}, -EINVAL, false},          // mov ss, ax: masks exceptions
      {{0xcf}, -EOPNOTSUPP, false},            // iret
      {{0xcb}, -EOPNOTSUPP, false},            // lret (probesim: segments not modelled)
      {{0xff, 0x1c, 0x24}, -EOPNOTSUPP, false},  // call far [rsp]
      {{0xff, 0x2c, 0x24}, -EOPNOTSUPP, false},  // jmp far [rsp]
      {{0xff, 0x10}, -EOPNOTSUPP, false},      // call [rax]: memory operand
      {{0xff, 0x24, 0xc5, 0, 0, 0, 0}, -EOPNOTSUPP, false},  // jmp [table + rax*8]
      {{0x67, 0xff, 0xd0}, -EOPNOTSUPP, false},  // 32-bit addressing indirect call
      {{0x0f, 0x01, 0xc1}, -EOPNOTSUPP, false},  // vmcall
      {{0x66, 0xe8, 0, 0, 0, 0}, -EOPNOTSUPP, false},  // operand-size prefixed call
      {{0x06}, -EINVAL, false},                // push es: invalid in 64-bit mode
  };
  for (const auto& e : table) {
    CAPTURE(e.bytes[0]);
    CAPTURE(e.bytes.size());
    const auto r = arch.analyze(GuestAddr{0xffffffff81000000}, e.bytes);
    CHECK(classify(r) == e.result);
    if (r) CHECK(r->boostable == e.boostable);
  }
}

TEST_CASE("arm64: probes inside a load/store-exclusive sequence are -EINVAL") {
  ProbeFixture f(Arch::AArch64);
  const GuestAddr mix = f.fn("asm_mix");
  std::vector<GuestAddr> refused;
  GuestAddr ldxr{};
  for (uint64_t off = 0; off < f.syms.size("asm_mix"); off += 4) {
    const auto b = f.original(mix + off, 4);
    uint32_t w;
    std::memcpy(&w, b.data(), 4);
    if (arm64::kLoadEx.matches(w)) ldxr = mix + off;
    Kprobe kp;
    kp.addr = mix + off;
    const auto r = f.mgr.register_kprobe(kp);
    if (r) {
      f.mgr.unregister_kprobe(kp);
    } else {
      CHECK(r.error().err == EINVAL);
      refused.push_back(mix + off);
    }
  }
  REQUIRE(ldxr.value != 0);
  // ldxr and stxr themselves (exclusive: neither steppable nor simulated) and the add between.
  CHECK(refused == std::vector<GuestAddr>{ldxr, ldxr + 4, ldxr + 8});
}

TEST_CASE("kprobes: a hit in the kretprobe trampoline handler is missed (kprobe_busy)") {
  for (Arch arch : kArches) {
    CAPTURE(arch_str(arch));
    ProbeFixture f(arch);
    Kprobe inner;
    inner.symbol_name = "mix";
    int inner_hits = 0;
    inner.pre_handler = [&](Kprobe&, Regs&) { ++inner_hits; return 0; };
    REQUIRE(f.mgr.register_kprobe(inner).ok());
    Kretprobe rp;
    rp.kp.symbol_name = "leaf";
    uint64_t nested = 0;
    rp.handler = [&](KretprobeInstance&, Regs&) {
      nested = f.call("mix", {1, 2}, {}, 1);  // guest code on the same CPU, inside the handler
      return 0;
    };
    REQUIRE(f.mgr.register_kretprobe(rp).ok());
    const uint64_t expect_mix = f.call("mix", {1, 2});
    CHECK(inner_hits == 1);
    CHECK(f.call("leaf", {5, 7}) == 19);
    CHECK(nested == expect_mix);
    CHECK(inner_hits == 1);  // the nested hit ran no handler...
    CHECK(inner.nmissed == 1);  // ...and was counted
    f.mgr.unregister_kretprobe(rp);
    f.mgr.unregister_kprobe(inner);
  }
}

TEST_CASE("kprobes: a hit while a reentered probe is stepping is unrecoverable (Linux BUG)") {
  ProbeFixture f(Arch::X86_64, KprobeConfig{.ncpus = 1, .boost = false});
  Kprobe a, b, c;
  a.symbol_name = "leaf";
  b.symbol_name = "mix";
  c.symbol_name = "compute";
  HitResult nested_b, nested_c;
  a.pre_handler = [&](Kprobe&, Regs&) {
    Regs rb = f.m.call_regs(f.fn("mix"), {1, 2});
    rb.set_ip(f.fn("mix") + 1);
    nested_b = f.mgr.on_breakpoint({}, rb);  // reenter: stepping b's copy, status REENTER
    Regs rc = f.m.call_regs(f.fn("compute"), {1, 2});
    rc.set_ip(f.fn("compute") + 1);
    nested_c = f.mgr.on_breakpoint({}, rc);  // a hit during that step
    return 0;
  };
  for (Kprobe* p : {&a, &b, &c}) REQUIRE(f.mgr.register_kprobe(*p).ok());
  Regs ra = f.m.call_regs(f.fn("leaf"), {1, 2});
  ra.set_ip(f.fn("leaf") + 1);
  f.mgr.on_breakpoint({}, ra);
  CHECK(nested_b.kind == HitKind::Missed);
  CHECK(b.nmissed == 1);
  CHECK(nested_c.disposition == HitDisposition::Bug);
  for (Kprobe* p : {&a, &b, &c}) f.mgr.unregister_kprobe(*p);
}
