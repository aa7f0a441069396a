// kretprobes on the booted machine: real return values and return addresses, entry handlers
// with per-instance data, maxactive exhaustion, nesting, and unregistering.
#include <climits>
#include <cstring>

#include "kmachine.h"

using namespace probesim;
using namespace probesim::kmachine;
using probes::Kretprobe;
using probes::KretprobeInstance;
using probes::Regs;

TEST_CASE("kretprobe on the machine: the handler sees the real return value and return address") {
  for (Arch a : kArches) {
    auto m = boot(a);
    Kretprobe rp;
    rp.kp.symbol_name = "kprobe_target";
    rp.data_size = 8;
    uint64_t seen_ret = 0, seen_ip = 0, entry_arg = 0, ret_addr = 0;
    rp.entry_handler = [&](KretprobeInstance& ri, Regs& r) {
      uint64_t a0 = arg(r, 0);
      std::memcpy(ri.data().data(), &a0, 8);
      return 0;
    };
    rp.handler = [&](KretprobeInstance& ri, Regs& r) {
      seen_ret = r.return_value();
      seen_ip = r.ip().value;
      ret_addr = ri.ret_addr.value;
      std::memcpy(&entry_arg, ri.data().data(), 8);
      return 0;
    };
    REQUIRE(kprobes(*m).register_kretprobe(rp).ok());
    CHECK(call(*m, "kprobe_target", {3, 4}) == 11);
    CHECK(seen_ret == 11);
    CHECK(entry_arg == 3);
    CHECK(seen_ip == ret_addr);  // regs->ip is the real return address, not the trampoline
    const probes::KernelSymbol& tramp = ksym(*m, "probesim_kernel_call_trampoline");
    CHECK(seen_ip > tramp.addr.value);
    CHECK(seen_ip < tramp.addr.value + std::max<uint64_t>(tramp.size, 64));
    kprobes(*m).unregister_kretprobe(rp);
    seen_ret = 0;
    CHECK(call(*m, "kprobe_target", {3, 4}) == 11);
    CHECK(seen_ret == 0);
  }
}

TEST_CASE("kretprobe on the machine: nested kretprobes return innermost first") {
  for (Arch a : kArches) {
    auto m = boot(a);
    std::vector<std::pair<std::string, uint64_t>> order;
    Kretprobe outer, inner;
    outer.kp.symbol_name = "kprobe_caller_target";
    inner.kp.symbol_name = "kprobe_target";
    outer.handler = [&](KretprobeInstance&, Regs& r) { return order.push_back({"outer", r.return_value()}), 0; };
    inner.handler = [&](KretprobeInstance&, Regs& r) { return order.push_back({"inner", r.return_value()}), 0; };
    REQUIRE(kprobes(*m).register_kretprobe(outer).ok());
    REQUIRE(kprobes(*m).register_kretprobe(inner).ok());
    CHECK(call(*m, "kprobe_caller_target", {3, 4}) == 12);
    CHECK(order == std::vector<std::pair<std::string, uint64_t>>{{"inner", 11}, {"outer", 12}});
    kprobes(*m).unregister_kretprobe(inner);
    kprobes(*m).unregister_kretprobe(outer);
  }
}

TEST_CASE("kretprobe on the machine: recursion beyond maxactive is missed and still returns right") {
  for (Arch a : kArches) {
    auto m = boot(a);
    Kretprobe rp;
    rp.kp.symbol_name = "kprobe_recursed_target";
    rp.maxactive = 2;
    std::vector<uint64_t> rets;
    rp.handler = [&](KretprobeInstance&, Regs& r) { return rets.push_back(r.return_value()), 0; };
    REQUIRE(kprobes(*m).register_kretprobe(rp).ok());
    CHECK(call(*m, "kprobe_recursed_target", {5}) == 120);
    // Five nested activations, two instances: the two outermost are hooked.
    CHECK(rets == std::vector<uint64_t>{24, 120});
    CHECK(rp.nmissed == 3);
    CHECK(rp.free_instances() == 2);
    kprobes(*m).unregister_kretprobe(rp);
  }
}

TEST_CASE("kretprobe on the machine: maxactive above KRETPROBE_MAXACTIVE_MAX is E2BIG, not a huge pool") {
  for (Arch a : kArches) {
    auto m = boot(a);
    for (int maxactive : {4097, 1'000'000'000, INT_MAX}) {
      Kretprobe rp;
      rp.kp.symbol_name = "ksys_write";
      rp.maxactive = maxactive;
      auto r = kprobes(*m).register_kretprobe(rp);
      REQUIRE_FALSE(r.ok());
      CHECK(r.error().err == E2BIG);
      CHECK(r.error().message.find("KRETPROBE_MAXACTIVE_MAX") != std::string::npos);
      CHECK_FALSE(rp.registered());
    }
    Kretprobe max;
    max.kp.symbol_name = "kprobe_target";
    max.maxactive = Kretprobe::kMaxActive;  // the limit itself is allowed
    REQUIRE(kprobes(*m).register_kretprobe(max).ok());
    CHECK(max.free_instances() == 4096);
    CHECK(call(*m, "kprobe_target", {3, 4}) == 11);
    kprobes(*m).unregister_kretprobe(max);
  }
}

TEST_CASE("kretprobe on the machine: an entry handler that declines leaves that return unhooked") {
  for (Arch a : kArches) {
    auto m = boot(a);
    Kretprobe rp;
    rp.kp.symbol_name = "kprobe_branch_target";
    int returns = 0;
    rp.entry_handler = [](KretprobeInstance&, Regs& r) { return arg(r, 0) > 10 ? 1 : 0; };
    rp.handler = [&](KretprobeInstance&, Regs&) { return ++returns, 0; };
    REQUIRE(kprobes(*m).register_kretprobe(rp).ok());
    CHECK(call(*m, "kprobe_branch_target", {20}) == 10);
    CHECK(call(*m, "kprobe_branch_target", {5}) == 105);
    CHECK(returns == 1);
    CHECK(rp.nmissed == 0);
    kprobes(*m).unregister_kretprobe(rp);
  }
}
