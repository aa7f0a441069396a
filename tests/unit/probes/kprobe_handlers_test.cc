// Handler contracts of kprobes (Linux Documentation/trace/kprobes.rst, kernel/kprobes.c):
// order and values, non-zero pre return, recursion and nmissed, aggregate chains.
#include <doctest/doctest.h>

#include <stdexcept>
#include <string>
#include <vector>

#include "probe_fixture.h"

using namespace probesim;
using namespace probesim::probes;
using namespace probesim::probes::test;

TEST_CASE("kprobes: pre handler sees the probe address and arguments, post runs after the step") {
  for (Arch arch : kArches) {
    CAPTURE(arch_str(arch));
    ProbeFixture f(arch);
    std::vector<std::string> log;
    Kprobe kp;
    kp.symbol_name = "leaf";
    kp.pre_handler = [&](Kprobe& p, Regs& regs) {
      CHECK(regs.ip() == f.handler_ip(p.addr));
      CHECK(regs.kernel_argument(0) == 5u);
      CHECK(regs.kernel_argument(1) == 7u);
      log.push_back("pre");
      return 0;
    };
    kp.post_handler = [&](Kprobe& p, Regs& regs, unsigned long flags) {
      CHECK(flags == 0);
      // After the first instruction of leaf (a + 2b into the return register).
      CHECK(regs.return_value() == 19u);
      CHECK(regs.ip() == p.addr + (arch == Arch::X86_64 ? 4 : 4));
      log.push_back("post");
    };
    REQUIRE(f.mgr.register_kprobe(kp).ok());
    CHECK(kp.addr == f.fn("leaf"));
    CHECK(f.call("leaf", {5, 7}) == 19);
    CHECK(log == std::vector<std::string>{"pre", "post"});
    CHECK(kp.nhit == 1);
    CHECK(kp.nmissed == 0);
    f.mgr.unregister_kprobe(kp);
  }
}

TEST_CASE("kprobes: probes at several addresses fire in execution order") {
  for (Arch arch : kArches) {
    CAPTURE(arch_str(arch));
    ProbeFixture f(arch);
    std::vector<std::string> log;
    Kprobe a, b;
    a.symbol_name = "outer";
    b.symbol_name = "leaf";
    a.pre_handler = [&](Kprobe&, Regs&) { log.push_back("outer"); return 0; };
    b.pre_handler = [&](Kprobe&, Regs&) { log.push_back("leaf"); return 0; };
    Kprobe* both[] = {&a, &b};
    REQUIRE(f.mgr.register_kprobes(both).ok());
    CHECK(f.call("outer", {3}) == 23);
    CHECK(log == std::vector<std::string>{"outer", "leaf"});
    f.mgr.unregister_kprobes(both);
  }
}

TEST_CASE("kprobes: a non-zero pre_handler return skips the step and the post_handler") {
  for (Arch arch : kArches) {
    CAPTURE(arch_str(arch));
    ProbeFixture f(arch);
    int posts = 0;
    Kprobe kp;
    kp.symbol_name = "leaf";
    kp.pre_handler = [&](Kprobe&, Regs& regs) {
      f.return_from_entry(regs, 42);
      return 1;
    };
    kp.post_handler = [&](Kprobe&, Regs&, unsigned long) { ++posts; };
    REQUIRE(f.mgr.register_kprobe(kp).ok());
    CHECK(f.call("leaf", {5, 7}) == 42);
    CHECK(posts == 0);
    CHECK(f.call("outer", {3}) == 85);  // leaf "returns" 42 inside outer too
    CHECK(!f.mgr.kprobe_running(CpuId{0}));
    f.mgr.unregister_kprobe(kp);
  }
}

TEST_CASE("kprobes: a hit while a handler runs counts nmissed on every child and still steps") {
  for (Arch arch : kArches) {
    for (bool boost : {false, true}) {
      CAPTURE(arch_str(arch));
      CAPTURE(boost);
      ProbeFixture f(arch, KprobeConfig{.ncpus = 1, .boost = boost});
      uint64_t nested_result = 0;
      int outer_pre = 0, other_pre = 0;
      Kprobe outer, other;
      outer.symbol_name = other.symbol_name = "leaf";
      // The handler runs guest code on the same CPU (another engine): leaf is probed, so that
      // nested hit is a recursion.
      outer.pre_handler = [&](Kprobe&, Regs&) {
        if (++outer_pre == 1) nested_result = f.call("leaf", {1, 2}, {}, 1);
        return 0;
      };
      other.pre_handler = [&](Kprobe&, Regs&) { ++other_pre; return 0; };
      REQUIRE(f.mgr.register_kprobe(outer).ok());
      REQUIRE(f.mgr.register_kprobe(other).ok());  // aggregate: other runs first, then outer
      CHECK(f.call("leaf", {5, 7}) == 19);
      CHECK(nested_result == 5);  // the nested instruction was still executed
      CHECK(outer_pre == 1);      // no handler ran for the nested hit
      CHECK(other_pre == 1);
      CHECK(outer.nmissed == 1);
      CHECK(other.nmissed == 1);
      CHECK(f.mgr.status(CpuId{0}) != KprobeStatus::Reenter);
      CHECK(!f.mgr.kprobe_running(CpuId{0}));
      f.mgr.unregister_kprobe(outer);
      f.mgr.unregister_kprobe(other);
    }
  }
}

TEST_CASE("kprobes: an aggregate runs children newest first and stops at the first non-zero pre") {
  for (Arch arch : kArches) {
    CAPTURE(arch_str(arch));
    ProbeFixture f(arch);
    std::vector<std::string> log;
    Kprobe p1, p2, p3;
    for (Kprobe* p : {&p1, &p2, &p3}) p->symbol_name = "leaf";
    p1.name = "p1";
    p2.name = "p2";
    p3.name = "p3";
    auto logger = [&](Kprobe& p, Regs&) { log.push_back(p.name); return 0; };
    p1.pre_handler = logger;
    p3.pre_handler = logger;
    p2.pre_handler = [&](Kprobe& p, Regs& regs) {
      log.push_back(p.name);
      f.return_from_entry(regs, 7);
      return 1;
    };
    int posts = 0;
    for (Kprobe* p : {&p1, &p2, &p3}) {
      p->post_handler = [&](Kprobe&, Regs&, unsigned long) { ++posts; };
      REQUIRE(f.mgr.register_kprobe(*p).ok());
    }
    const auto info = f.mgr.info(f.fn("leaf"));
    REQUIRE(info.has_value());
    CHECK(info->aggregated);
    CHECK(info->children.size() == 3);
    CHECK(f.call("leaf", {5, 7}) == 7);
    CHECK(log == std::vector<std::string>{"p3", "p2"});  // p1 never runs
    CHECK(posts == 0);
    // Without the short circuit every child runs and every post handler runs.
    f.mgr.unregister_kprobe(p2);
    log.clear();
    CHECK(f.call("leaf", {5, 7}) == 19);
    CHECK(log == std::vector<std::string>{"p3", "p1"});
    CHECK(posts == 2);
    f.mgr.unregister_kprobe(p1);
    f.mgr.unregister_kprobe(p3);
  }
}

TEST_CASE("kprobes: post handlers of an aggregate run in list order after one step") {
  for (Arch arch : kArches) {
    CAPTURE(arch_str(arch));
    ProbeFixture f(arch);
    std::vector<std::string> log;
    Kprobe a, b;
    a.name = "a";
    b.name = "b";
    for (Kprobe* p : {&a, &b}) {
      p->symbol_name = "leaf";
      p->post_handler = [&](Kprobe& k, Regs& regs, unsigned long) {
        CHECK(regs.return_value() == 19u);
        log.push_back(k.name);
      };
      REQUIRE(f.mgr.register_kprobe(*p).ok());
    }
    RunOutcome o;
    CHECK(f.m.call(f.fn("leaf"), {5, 7}, &f.mgr, {}, 0, &o) == 19);
    CHECK(o.traps == 2);  // one breakpoint + one step trap for both children
    CHECK(log == std::vector<std::string>{"b", "a"});
    f.mgr.unregister_kprobe(a);
    f.mgr.unregister_kprobe(b);
  }
}

TEST_CASE("kprobes: a handler that throws leaves the CPU's kprobe state clean") {
  for (Arch arch : kArches) {
    CAPTURE(arch_str(arch));
    ProbeFixture f(arch);
    bool fail = true;
    Kprobe kp;
    kp.symbol_name = "leaf";
    kp.pre_handler = [&](Kprobe&, Regs&) -> int {
      if (fail) throw std::runtime_error("handler failed");
      return 0;
    };
    REQUIRE(f.mgr.register_kprobe(kp).ok());
    CHECK_THROWS_AS(f.call("leaf", {1, 2}), std::runtime_error);
    CHECK(!f.mgr.kprobe_running(CpuId{0}));
    CHECK(f.mgr.status(CpuId{0}) == KprobeStatus::None);
    fail = false;
    CHECK(f.call("leaf", {1, 2}) == 5);
    CHECK(kp.nmissed == 0);
    f.mgr.unregister_kprobe(kp);  // allowed: no handler is running any more
  }
}
