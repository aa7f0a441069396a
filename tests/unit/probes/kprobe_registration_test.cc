// Registration rules of kprobes (Linux kernel/kprobes.c register_kprobe and friends): errors,
// re-registration, batch rollback, disable/enable, unregister, global arm/disarm, text
// patching and read_original, GONE.
#include <doctest/doctest.h>

#include <cerrno>

#include "probe_fixture.h"

using namespace probesim;
using namespace probesim::probes;
using namespace probesim::probes::test;

namespace {
int err_of(const Result<void>& r) { return r.ok() ? 0 : r.error().err; }
}  // namespace

TEST_CASE("kprobes: registering writes the breakpoint and read_original shows the original") {
  for (Arch arch : kArches) {
    CAPTURE(arch_str(arch));
    ProbeFixture f(arch);
    const GuestAddr a = f.fn("compute");
    const auto before = f.raw(a, 8);
    Kprobe kp;
    kp.addr = a;
    REQUIRE(f.mgr.register_kprobe(kp).ok());
    CHECK(f.breakpoint_at(a));
    const auto bp = f.mgr.arch().breakpoint();
    CHECK(bp.size() == (arch == Arch::X86_64 ? 1u : 4u));
    if (arch == Arch::X86_64) CHECK(bp[0] == 0xcc);
    else CHECK((bp[0] | bp[1] << 8 | bp[2] << 16 | uint32_t{bp[3]} << 24) == 0xd4200080u);
    CHECK(f.original(a, 8) == before);               // the API shows original bytes
    auto window = f.original(a - 3, 8);              // overlapping read
    auto raw_window = f.raw(a - 3, 8);
    CHECK(std::equal(window.begin() + 3, window.end(), before.begin()));
    CHECK(!std::equal(raw_window.begin(), raw_window.end(), window.begin()));
    const auto info = f.mgr.info(a);
    REQUIRE(info.has_value());
    CHECK(info->armed);
    CHECK(std::equal(info->opcode.begin(), info->opcode.end(), before.begin()));
    f.mgr.unregister_kprobe(kp);
    CHECK(f.raw(a, 8) == before);
    CHECK(!f.mgr.info(a).has_value());
  }
}

TEST_CASE("kprobes: a probe inside an instruction is -EILSEQ (x86 decodes from the function start)") {
  ProbeFixture f(Arch::X86_64);
  Kprobe kp;
  kp.symbol_name = "leaf";
  kp.offset = 1;  // inside `lea (%rdi,%rsi,2),%rax`
  CHECK(err_of(f.mgr.register_kprobe(kp)) == EILSEQ);
  CHECK(!kp.registered());
  // Still -EILSEQ when another probe's int3 sits in the decoded path (bytes are recovered).
  Kprobe first;
  first.symbol_name = "compute";
  REQUIRE(f.mgr.register_kprobe(first).ok());
  Kprobe inside;
  inside.symbol_name = "compute";
  inside.offset = 4;  // compute+3 is `je rel32`: +4 is inside it
  CHECK(err_of(f.mgr.register_kprobe(inside)) == EILSEQ);
  Kprobe boundary;
  boundary.symbol_name = "compute";
  boundary.offset = 3;
  CHECK(f.mgr.register_kprobe(boundary).ok());
  f.mgr.unregister_kprobe(boundary);
  f.mgr.unregister_kprobe(first);
}

TEST_CASE("kprobes: arm64 refuses unaligned addresses with -EINVAL") {
  ProbeFixture f(Arch::AArch64);
  Kprobe kp;
  kp.symbol_name = "leaf";
  kp.offset = 2;
  CHECK(err_of(f.mgr.register_kprobe(kp)) == EINVAL);
}

TEST_CASE("kprobes: blacklisted or non-text addresses are -EINVAL, unknown symbols -ENOENT") {
  for (Arch arch : kArches) {
    CAPTURE(arch_str(arch));
    ProbeFixture f(arch);
    f.syms.blacklist("mix");
    Kprobe black;
    black.symbol_name = "mix";
    CHECK(err_of(f.mgr.register_kprobe(black)) == EINVAL);
    Kprobe tramp;
    tramp.symbol_name = "__kretprobe_trampoline";
    CHECK(err_of(f.mgr.register_kprobe(tramp)) == EINVAL);
    Kprobe data;
    data.symbol_name = "counter";  // .data, not text
    CHECK(err_of(f.mgr.register_kprobe(data)) == EINVAL);
    Kprobe unknown;
    unknown.symbol_name = "no_such_function";
    CHECK(err_of(f.mgr.register_kprobe(unknown)) == ENOENT);
    Kprobe both;
    both.symbol_name = "leaf";
    both.addr = f.fn("leaf");
    CHECK(err_of(f.mgr.register_kprobe(both)) == EINVAL);
    Kprobe neither;
    CHECK(err_of(f.mgr.register_kprobe(neither)) == EINVAL);
    CHECK(f.mgr.addresses().empty());
  }
}

TEST_CASE("kprobes: re-registering a registered probe is -EINVAL") {
  for (Arch arch : kArches) {
    CAPTURE(arch_str(arch));
    ProbeFixture f(arch);
    Kprobe kp;
    kp.addr = f.fn("leaf");
    REQUIRE(f.mgr.register_kprobe(kp).ok());
    CHECK(err_of(f.mgr.register_kprobe(kp)) == EINVAL);
    f.mgr.unregister_kprobe(kp);
    // Linux keeps the resolved addr: a symbol probe must clear it before registering again.
    Kprobe sym;
    sym.symbol_name = "leaf";
    REQUIRE(f.mgr.register_kprobe(sym).ok());
    f.mgr.unregister_kprobe(sym);
    CHECK(err_of(f.mgr.register_kprobe(sym)) == EINVAL);
    sym.addr = GuestAddr{};
    sym.flags = 0;
    CHECK(f.mgr.register_kprobe(sym).ok());
    f.mgr.unregister_kprobe(sym);
  }
}

TEST_CASE("kprobes: register_kprobes rolls back the registered prefix on failure") {
  for (Arch arch : kArches) {
    CAPTURE(arch_str(arch));
    ProbeFixture f(arch);
    const auto leaf_before = f.raw(f.fn("leaf"), 4);
    const auto mix_before = f.raw(f.fn("mix"), 4);
    Kprobe a, b, bad;
    a.symbol_name = "leaf";
    b.symbol_name = "mix";
    bad.symbol_name = "nope";
    Kprobe* batch[] = {&a, &b, &bad};
    CHECK(err_of(f.mgr.register_kprobes(batch)) == ENOENT);
    CHECK(!a.registered());
    CHECK(!b.registered());
    CHECK(f.mgr.addresses().empty());
    CHECK(f.raw(f.fn("leaf"), 4) == leaf_before);
    CHECK(f.raw(f.fn("mix"), 4) == mix_before);
    CHECK(err_of(f.mgr.register_kprobes({})) == EINVAL);
  }
}

TEST_CASE("kprobes: disabling one child keeps the others, disabling all disarms, enable re-arms") {
  for (Arch arch : kArches) {
    CAPTURE(arch_str(arch));
    ProbeFixture f(arch);
    int hits_a = 0, hits_b = 0;
    Kprobe a, b;
    a.symbol_name = b.symbol_name = "leaf";
    a.pre_handler = [&](Kprobe&, Regs&) { ++hits_a; return 0; };
    b.pre_handler = [&](Kprobe&, Regs&) { ++hits_b; return 0; };
    REQUIRE(f.mgr.register_kprobe(a).ok());
    REQUIRE(f.mgr.register_kprobe(b).ok());
    REQUIRE(f.mgr.disable_kprobe(a).ok());
    CHECK(a.disabled());
    CHECK(f.breakpoint_at(f.fn("leaf")));  // b still needs it
    CHECK(f.call("leaf", {1, 1}) == 3);
    CHECK(hits_a == 0);
    CHECK(hits_b == 1);
    REQUIRE(f.mgr.disable_kprobe(b).ok());
    CHECK(!f.breakpoint_at(f.fn("leaf")));  // nothing enabled: original text back
    CHECK((f.mgr.info(f.fn("leaf"))->flags & kKprobeFlagDisabled) != 0);
    CHECK(f.call("leaf", {1, 1}) == 3);
    CHECK(hits_b == 1);
    REQUIRE(f.mgr.enable_kprobe(a).ok());
    CHECK(f.breakpoint_at(f.fn("leaf")));
    CHECK(f.call("leaf", {1, 1}) == 3);
    CHECK(hits_a == 1);
    CHECK(hits_b == 1);
    f.mgr.unregister_kprobe(a);
    f.mgr.unregister_kprobe(b);
    Kprobe stranger;
    CHECK(err_of(f.mgr.enable_kprobe(stranger)) == EINVAL);
    CHECK(err_of(f.mgr.disable_kprobe(stranger)) == EINVAL);
  }
}

TEST_CASE("kprobes: a probe registered with KPROBE_FLAG_DISABLED is not armed until enabled") {
  ProbeFixture f(Arch::X86_64);
  Kprobe kp;
  kp.symbol_name = "leaf";
  kp.flags = kKprobeFlagDisabled | kKprobeFlagGone;  // only DISABLED is kept
  REQUIRE(f.mgr.register_kprobe(kp).ok());
  CHECK(kp.flags == kKprobeFlagDisabled);
  CHECK(!f.breakpoint_at(f.fn("leaf")));
  REQUIRE(f.mgr.enable_kprobe(kp).ok());
  CHECK(f.breakpoint_at(f.fn("leaf")));
  f.mgr.unregister_kprobe(kp);
}

TEST_CASE("kprobes: unregistering one probe leaves the others at the address working") {
  for (Arch arch : kArches) {
    CAPTURE(arch_str(arch));
    ProbeFixture f(arch);
    int hits[3] = {};
    Kprobe p[3];
    for (int i = 0; i < 3; ++i) {
      p[i].symbol_name = "leaf";
      p[i].pre_handler = [&hits, i](Kprobe&, Regs&) { ++hits[i]; return 0; };
      REQUIRE(f.mgr.register_kprobe(p[i]).ok());
    }
    f.mgr.unregister_kprobe(p[1]);
    CHECK(!p[1].registered());
    CHECK(f.mgr.info(f.fn("leaf"))->children.size() == 2);
    CHECK(f.call("leaf", {2, 3}) == 8);
    CHECK(hits[0] == 1);
    CHECK(hits[1] == 0);
    CHECK(hits[2] == 1);
    f.mgr.unregister_kprobe(p[0]);
    CHECK(f.call("leaf", {2, 3}) == 8);
    CHECK(hits[2] == 2);
    f.mgr.unregister_kprobe(p[2]);
    CHECK(!f.breakpoint_at(f.fn("leaf")));
    CHECK(f.mgr.addresses().empty());
    f.mgr.unregister_kprobe(p[2]);  // unknown now: Linux clears addr
    CHECK(p[2].addr.value == 0);
  }
}

TEST_CASE("kprobes: global disarm restores all text, arm re-patches enabled probes only") {
  for (Arch arch : kArches) {
    CAPTURE(arch_str(arch));
    ProbeFixture f(arch);
    Kprobe a, b;
    a.symbol_name = "leaf";
    b.symbol_name = "mix";
    REQUIRE(f.mgr.register_kprobe(a).ok());
    REQUIRE(f.mgr.register_kprobe(b).ok());
    REQUIRE(f.mgr.disable_kprobe(b).ok());
    REQUIRE(f.mgr.write_enabled("0").ok());
    CHECK(f.mgr.all_disarmed());
    CHECK(!f.breakpoint_at(f.fn("leaf")));
    CHECK(f.call("leaf", {1, 2}) == 5);
    CHECK(a.nhit == 0);
    // Registering while disarmed does not arm; the trampoline stays armed.
    Kprobe c;
    c.symbol_name = "fib";
    REQUIRE(f.mgr.register_kprobe(c).ok());
    CHECK(!f.breakpoint_at(f.fn("fib")));
    CHECK(f.breakpoint_at(f.fn("__kretprobe_trampoline")));
    CHECK(f.mgr.write_enabled("x").error().err == EINVAL);
    REQUIRE(f.mgr.write_enabled("Y").ok());
    CHECK(f.breakpoint_at(f.fn("leaf")));
    CHECK(f.breakpoint_at(f.fn("fib")));
    CHECK(!f.breakpoint_at(f.fn("mix")));  // still disabled
    CHECK(f.call("leaf", {1, 2}) == 5);
    CHECK(a.nhit == 1);
    for (Kprobe* p : {&a, &b, &c}) f.mgr.unregister_kprobe(*p);
  }
}

TEST_CASE("kprobes: killed text makes probes GONE, enable of a GONE probe is -EINVAL") {
  for (Arch arch : kArches) {
    CAPTURE(arch_str(arch));
    ProbeFixture f(arch);
    Kprobe a, b;
    a.symbol_name = b.symbol_name = "mix";
    REQUIRE(f.mgr.register_kprobe(a).ok());
    REQUIRE(f.mgr.register_kprobe(b).ok());
    const size_t writes = f.m.text_writes();
    f.mgr.kill_kprobes_in_range(f.fn("mix"), f.syms.size("mix"));
    CHECK(f.m.text_writes() == writes);  // dead text is not written
    CHECK(a.gone());
    CHECK(b.gone());
    CHECK(f.mgr.info(f.fn("mix"))->slot.value == 0);
    CHECK(err_of(f.mgr.enable_kprobe(a)) == EINVAL);
    f.mgr.unregister_kprobe(a);
    f.mgr.unregister_kprobe(b);
    CHECK(f.mgr.addresses().empty());
  }
}
