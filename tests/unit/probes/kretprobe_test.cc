// kretprobes (Linux register_kretprobe, pre_handler_kretprobe, the trampoline handler):
// return values, regs.ip at return, maxactive and nmissed, entry_handler and per-instance
// data, nested and chained instances, unregister with returns pending, flush_task.
#include <doctest/doctest.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <vector>

#include "probe_fixture.h"

using namespace probesim;
using namespace probesim::probes;
using namespace probesim::probes::test;

TEST_CASE("kretprobes: the handler sees the return value and regs.ip = the real return address") {
  for (Arch arch : kArches) {
    CAPTURE(arch_str(arch));
    ProbeFixture f(arch);
    Kretprobe rp;
    rp.kp.symbol_name = "leaf";
    std::vector<uint64_t> rets;
    uint64_t ip_seen = 0, ri_ret = 0;
    rp.handler = [&](KretprobeInstance& ri, Regs& regs) {
      rets.push_back(regs.return_value());
      ip_seen = regs.ip().value;
      ri_ret = ri.ret_addr.value;
      CHECK(ri.rp() == &rp);
      return 0;
    };
    REQUIRE(f.mgr.register_kretprobe(rp).ok());
    CHECK(rp.maxactive == 10);  // max(10, 2 * ncpus)
    RunOutcome o;
    Regs out(arch);
    CHECK(f.m.call(f.fn("leaf"), {5, 7}, &f.mgr, {}, 0, &o, &out) == 19);
    CHECK(o.ok);
    CHECK(rets == std::vector<uint64_t>{19});
    CHECK(ip_seen == f.m.layout().stop.value);
    CHECK(ri_ret == f.m.layout().stop.value);
    if (arch == Arch::AArch64) CHECK(out.x(30) == f.m.layout().stop.value);  // lr repaired
    CHECK(f.mgr.pending_instances({}) == 0);
    CHECK(rp.free_instances() == 10);
    // Called from another function: the return goes back into it.
    CHECK(f.call("outer", {3}) == 23);
    CHECK(rets == std::vector<uint64_t>{19, 11});
    f.mgr.unregister_kretprobe(rp);
  }
}

TEST_CASE("kretprobes: entry_handler and per-instance data carry state from entry to return") {
  for (Arch arch : kArches) {
    CAPTURE(arch_str(arch));
    ProbeFixture f(arch);
    Kretprobe rp;
    rp.kp.symbol_name = "fib";
    rp.data_size = sizeof(uint64_t);
    rp.maxactive = 64;
    std::vector<std::pair<uint64_t, uint64_t>> seen;  // (argument, return value)
    rp.entry_handler = [&](KretprobeInstance& ri, Regs& regs) {
      const uint64_t arg = *regs.kernel_argument(0);
      std::memcpy(ri.data().data(), &arg, 8);
      return 0;
    };
    rp.handler = [&](KretprobeInstance& ri, Regs& regs) {
      uint64_t arg;
      std::memcpy(&arg, ri.data().data(), 8);
      seen.emplace_back(arg, regs.return_value());
      return 0;
    };
    REQUIRE(f.mgr.register_kretprobe(rp).ok());
    Kprobe calls;  // counts entries (aggregated with the kretprobe's entry probe)
    calls.symbol_name = "fib";
    REQUIRE(f.mgr.register_kprobe(calls).ok());
    CHECK(f.call("fib", {6}) == 8);
    const uint64_t fib[] = {0, 1, 1, 2, 3, 5, 8};
    CHECK(calls.nhit > 6);  // the compiler keeps part of the recursion
    CHECK(seen.size() == calls.nhit);
    for (auto [arg, ret] : seen) CHECK(ret == fib[arg]);
    CHECK(seen.back().first == 6);  // the outermost frame returns last
    CHECK(rp.nmissed == 0);
    f.mgr.unregister_kprobe(calls);
    f.mgr.unregister_kretprobe(rp);
  }
}

TEST_CASE("kretprobes: entry_handler non-zero skips the return hook without counting a miss") {
  for (Arch arch : kArches) {
    CAPTURE(arch_str(arch));
    ProbeFixture f(arch);
    Kretprobe rp;
    rp.kp.symbol_name = "leaf";
    int returns = 0;
    rp.entry_handler = [&](KretprobeInstance&, Regs& regs) {
      return *regs.kernel_argument(0) == 0 ? 1 : 0;
    };
    rp.handler = [&](KretprobeInstance&, Regs&) { ++returns; return 0; };
    REQUIRE(f.mgr.register_kretprobe(rp).ok());
    CHECK(f.call("leaf", {0, 4}) == 8);
    CHECK(returns == 0);
    CHECK(f.call("leaf", {1, 4}) == 9);
    CHECK(returns == 1);
    CHECK(rp.nmissed == 0);
    CHECK(rp.free_instances() == static_cast<size_t>(rp.maxactive));
    f.mgr.unregister_kretprobe(rp);
  }
}

TEST_CASE("kretprobes: with every instance in flight, entries are missed (nmissed)") {
  for (Arch arch : kArches) {
    CAPTURE(arch_str(arch));
    ProbeFixture f(arch);
    Kretprobe rp;
    rp.kp.symbol_name = "fib";
    rp.maxactive = 3;
    uint64_t returns = 0;
    rp.handler = [&](KretprobeInstance&, Regs&) { ++returns; return 0; };
    REQUIRE(f.mgr.register_kretprobe(rp).ok());
    Kprobe calls;
    calls.symbol_name = "fib";
    REQUIRE(f.mgr.register_kprobe(calls).ok());
    // The outer frames of the recursion hold all three instances while deeper calls run.
    CHECK(f.call("fib", {7}) == 13);
    CHECK(returns + rp.nmissed == calls.nhit);
    CHECK(rp.nmissed > 0);
    CHECK(returns >= 3);
    CHECK(rp.free_instances() == 3);
    CHECK(rp.kp.nmissed == 0);  // recursion misses are a different counter
    f.mgr.unregister_kprobe(calls);
    f.mgr.unregister_kretprobe(rp);
  }
}

TEST_CASE("kretprobes: nested kretprobes on caller and callee return innermost first") {
  for (Arch arch : kArches) {
    CAPTURE(arch_str(arch));
    ProbeFixture f(arch);
    std::vector<std::pair<std::string, uint64_t>> log;
    Kretprobe ro, rl;
    ro.kp.symbol_name = "outer";
    rl.kp.symbol_name = "leaf";
    ro.handler = [&](KretprobeInstance&, Regs& r) { log.emplace_back("outer", r.return_value()); return 0; };
    rl.handler = [&](KretprobeInstance&, Regs& r) { log.emplace_back("leaf", r.return_value()); return 0; };
    Kretprobe* both[] = {&ro, &rl};
    REQUIRE(f.mgr.register_kretprobes(both).ok());
    CHECK(f.call("outer", {3}) == 23);
    REQUIRE(log.size() == 2);
    CHECK(log[0] == std::make_pair(std::string("leaf"), uint64_t{11}));
    CHECK(log[1] == std::make_pair(std::string("outer"), uint64_t{23}));
    f.mgr.unregister_kretprobes(both);
  }
}

TEST_CASE("kretprobes: two kretprobes on one function chain on the same frame") {
  for (Arch arch : kArches) {
    CAPTURE(arch_str(arch));
    ProbeFixture f(arch);
    std::vector<std::string> log;
    Kretprobe r1, r2;
    r1.kp.symbol_name = r2.kp.symbol_name = "leaf";
    for (auto [rp, name] : {std::pair{&r1, "r1"}, std::pair{&r2, "r2"}}) {
      rp->handler = [&, name = std::string(name)](KretprobeInstance& ri, Regs& regs) {
        CHECK(ri.ret_addr == f.m.layout().stop);
        CHECK(regs.ip() == f.m.layout().stop);
        CHECK(regs.return_value() == 19);
        log.push_back(name);
        return 0;
      };
      REQUIRE(f.mgr.register_kretprobe(*rp).ok());
    }
    CHECK(f.mgr.info(f.fn("leaf"))->aggregated);
    CHECK(f.call("leaf", {5, 7}) == 19);
    // r2's entry ran first (newest child) and saved the real address; r1 saved the trampoline.
    CHECK(log == std::vector<std::string>{"r1", "r2"});
    f.mgr.unregister_kretprobe(r1);
    f.mgr.unregister_kretprobe(r2);
  }
}

TEST_CASE("kretprobes: registration errors (-EINVAL off entry, -E2BIG, -ENOENT, blacklist)") {
  for (Arch arch : kArches) {
    CAPTURE(arch_str(arch));
    ProbeFixture f(arch);
    Kretprobe off;
    off.kp.symbol_name = "mix";
    off.kp.offset = 4;
    CHECK(f.mgr.register_kretprobe(off).error().err == EINVAL);
    Kretprobe big;
    big.kp.symbol_name = "mix";
    big.data_size = Kretprobe::kMaxDataSize + 1;
    CHECK(f.mgr.register_kretprobe(big).error().err == E2BIG);
    Kretprobe unknown;
    unknown.kp.symbol_name = "nope";
    CHECK(f.mgr.register_kretprobe(unknown).error().err == ENOENT);
    f.syms.blacklist("compute");
    Kretprobe black;
    black.kp.symbol_name = "compute";
    CHECK(f.mgr.register_kretprobe(black).error().err == EINVAL);
    CHECK(f.mgr.addresses().empty());
  }
}

TEST_CASE("kretprobes: unregistering with a return pending still repairs that return") {
  for (Arch arch : kArches) {
    CAPTURE(arch_str(arch));
    ProbeFixture f(arch);
    Kretprobe rp;
    rp.kp.symbol_name = "outer";
    int returns = 0;
    rp.handler = [&](KretprobeInstance&, Regs&) { ++returns; return 0; };
    REQUIRE(f.mgr.register_kretprobe(rp).ok());
    Regs regs = f.m.call_regs(f.fn("outer"), {3});
    REQUIRE(f.m.run(regs, f.fn("leaf"), &f.mgr).ok);  // stop inside: outer's return is hooked
    CHECK(f.mgr.pending_instances({}) == 1);
    f.mgr.unregister_kretprobe(rp);
    RunOutcome o = f.m.run(regs, f.m.layout().stop, &f.mgr);
    CHECK(o.ok);
    CHECK(regs.return_value() == 23);
    CHECK(returns == 0);
    CHECK(f.mgr.pending_instances({}) == 0);
  }
}

TEST_CASE("kretprobes: flush_task recycles a dead task's instances") {
  ProbeFixture f(Arch::X86_64);
  Kretprobe rp;
  rp.kp.symbol_name = "outer";
  rp.maxactive = 2;
  REQUIRE(f.mgr.register_kretprobe(rp).ok());
  const HitContext task7{CpuId{0}, TaskId{7}};
  Regs regs = f.m.call_regs(f.fn("outer"), {3});
  REQUIRE(f.m.run(regs, f.fn("leaf"), &f.mgr, task7).ok);
  CHECK(f.mgr.pending_instances(TaskId{7}) == 1);
  CHECK(rp.free_instances() == 1);
  f.mgr.flush_task(TaskId{7});
  CHECK(f.mgr.pending_instances(TaskId{7}) == 0);
  CHECK(rp.free_instances() == 2);
  f.mgr.unregister_kretprobe(rp);
}

TEST_CASE("kretprobes: instances are per task (a return on another task is not theirs)") {
  ProbeFixture f(Arch::AArch64);
  Kretprobe rp;
  rp.kp.symbol_name = "leaf";
  REQUIRE(f.mgr.register_kretprobe(rp).ok());
  CHECK(f.call("leaf", {1, 1}, {CpuId{0}, TaskId{1}}) == 3);
  Regs regs = f.m.call_regs(f.fn("leaf"), {1, 1});
  const RunOutcome part = f.m.run(regs, f.fn("leaf") + 4, &f.mgr, {CpuId{0}, TaskId{2}});
  INFO(part.error);
  REQUIRE(part.ok);
  CHECK(f.mgr.pending_instances(TaskId{2}) == 1);
  // The same trampoline hit reported for task 3 (no instances) is not a kretprobe return.
  Regs tramp = regs;
  tramp.set_ip(f.fn("__kretprobe_trampoline"));
  CHECK(f.mgr.on_breakpoint({CpuId{0}, TaskId{3}}, tramp).disposition == HitDisposition::NotOurs);
  RunOutcome o = f.m.run(regs, f.m.layout().stop, &f.mgr, {CpuId{0}, TaskId{2}});
  CHECK(o.ok);
  CHECK(regs.return_value() == 3);
  f.mgr.unregister_kretprobe(rp);
}
