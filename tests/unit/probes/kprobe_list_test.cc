// debugfs kprobes/list format: "%px  %s  %s+0x%x  %s " then [GONE][DISABLED][OPTIMIZED][FTRACE].
#include <doctest/doctest.h>

#include "probe_fixture.h"

using namespace probesim;
using namespace probesim::probes;
using namespace probesim::probes::test;

TEST_CASE("kprobes/list: line format and flag tags") {
  const GuestAddr a{0xffffffff81234560};
  CHECK(format_kprobe_list_line(a, false, "vfs_read", 0, 0, 0) ==
        "ffffffff81234560  k  vfs_read+0x0    \n");
  CHECK(format_kprobe_list_line(a, true, "do_sys_openat2", 0x1f, 0, 0) ==
        "ffffffff81234560  r  do_sys_openat2+0x1f    \n");
  CHECK(format_kprobe_list_line(a, false, "f", 4, kKprobeFlagDisabled, 0) ==
        "ffffffff81234560  k  f+0x4    [DISABLED]\n");
  CHECK(format_kprobe_list_line(a, false, "f", 4, kKprobeFlagDisabled | kKprobeFlagGone, 0) ==
        "ffffffff81234560  k  f+0x4    [GONE]\n");
  CHECK(format_kprobe_list_line(a, false, "f", 0, 0, kKprobeFlagOptimized | kKprobeFlagFtrace) ==
        "ffffffff81234560  k  f+0x0    [OPTIMIZED][FTRACE]\n");
  CHECK(format_kprobe_list_line(a, false, "", 0, 0, 0) ==
        "ffffffff81234560  k  0xffffffff81234560 \n");
}

TEST_CASE("kprobes/list: one line per probe, aggregate children newest first, in hash order") {
  ProbeFixture f(Arch::X86_64);
  Kprobe a, b, c;
  a.symbol_name = b.symbol_name = "mix";
  c.symbol_name = "compute";
  c.offset = 3;
  Kretprobe rp;
  rp.kp.symbol_name = "fib";
  REQUIRE(f.mgr.register_kprobe(a).ok());
  REQUIRE(f.mgr.register_kprobe(b).ok());
  REQUIRE(f.mgr.register_kprobe(c).ok());
  REQUIRE(f.mgr.register_kretprobe(rp).ok());
  REQUIRE(f.mgr.disable_kprobe(a).ok());
  const std::string mix_b = format_kprobe_list_line(f.fn("mix"), false, "mix", 0, 0, 0);
  const std::string mix_a =
      format_kprobe_list_line(f.fn("mix"), false, "mix", 0, kKprobeFlagDisabled, 0);
  const std::string comp = format_kprobe_list_line(f.fn("compute") + 3, false, "compute", 3, 0, 0);
  const std::string fib = format_kprobe_list_line(f.fn("fib"), true, "fib", 0, 0, 0);
  const std::string list = f.mgr.list();
  CHECK(list.size() == mix_b.size() + mix_a.size() + comp.size() + fib.size());
  CHECK(list.find(mix_b + mix_a) != std::string::npos);  // b registered last: listed first
  CHECK(list.find(comp) != std::string::npos);
  CHECK(list.find(fib) != std::string::npos);
  // Buckets are walked in hash_ptr order.
  std::vector<std::pair<unsigned, size_t>> order;
  for (GuestAddr addr : f.mgr.addresses()) order.emplace_back(kprobe_hash(addr), 0);
  for (size_t i = 1; i < order.size(); ++i) CHECK(order[i - 1].first <= order[i].first);
  f.mgr.unregister_kprobe(a);
  f.mgr.unregister_kprobe(b);
  f.mgr.unregister_kprobe(c);
  f.mgr.unregister_kretprobe(rp);
  CHECK(f.mgr.list().empty());
}
