// The probe API of include/probesim/ (probes.h, pt_regs.h): handles, handlers with pt_regs
// and who hit, enable/disable/unregister, errors; on both arches.
#include <cerrno>
#include <set>

#include "api.h"

using namespace probesim;
using namespace probesim::api_test;

TEST_CASE("kprobe handle: the pre handler reads the arguments, hits and enable/disable count") {
  for (Arch a : kArches) {
    auto m = boot(a);
    std::vector<uint64_t> args;
    int pid = -1;
    auto kp = must(m->register_kprobe({.symbol = "kprobe_target", .pre = [&](ProbeHit& h) {
                                         args = {*h.regs.argument(0), *h.regs.argument(1)};
                                         pid = h.pid;
                                         CHECK(h.regs.arch() == a);
                                         return 0;
                                       }}));
    CHECK(kp->name() == "kprobe_target");
    CHECK(kp->addr().value != 0);
    CHECK(call(*m, "kprobe_target", {3, 4}) == 11);
    CHECK(args == std::vector<uint64_t>{3, 4});
    CHECK(pid == 0);  // kernel_call runs as no task
    CHECK(kp->hits() == 1);
    CHECK(kp->nmissed() == 0);
    REQUIRE(kp->disable().ok());
    CHECK(!kp->enabled());
    CHECK(call(*m, "kprobe_target", {3, 4}) == 11);
    CHECK(kp->hits() == 1);
    REQUIRE(kp->enable().ok());
    CHECK(call(*m, "kprobe_target", {3, 4}) == 11);
    CHECK(kp->hits() == 2);
    CHECK(m->kprobes_list().find("kprobe_target") != std::string::npos);
    kp->unregister();
    CHECK(!kp->registered());
    CHECK(call(*m, "kprobe_target", {3, 4}) == 11);
    CHECK(kp->hits() == 2);
    CHECK(kp->enable().error().err == EINVAL);
    kp->unregister();  // idempotent
  }
}

TEST_CASE("kprobe handle: a post handler runs after the step, a pre handler may write registers") {
  for (Arch a : kArches) {
    auto m = boot(a);
    int posts = 0;
    const char* arg0 = a == Arch::X86_64 ? "di" : "x0";
    auto kp = must(m->register_kprobe({.symbol = "kprobe_target",
                                       .pre = [&](ProbeHit& h) {
                                         CHECK(h.regs.set(arg0, 10));
                                         return 0;
                                       },
                                       .post = [&](ProbeHit&) { ++posts; }}));
    CHECK(call(*m, "kprobe_target", {3, 4}) == call(*m, "kprobe_target", {10, 4}));
    CHECK(posts == 2);
    CHECK(kp->hits() == 2);
  }
}

TEST_CASE("kretprobe handle: entry and return share the instance data, the return value is seen") {
  for (Arch a : kArches) {
    auto m = boot(a);
    std::vector<uint64_t> rets;
    uint64_t func = 0, ret_addr = 0;
    auto rp = must(m->register_kretprobe(
        {.symbol = "kprobe_target",
         .handler = [&](ProbeHit& h) {
           rets.push_back(h.regs.return_value() * 100 + h.data[0]);
           func = h.func.value;
           ret_addr = h.ret_addr.value;
           CHECK(h.regs.ip() == h.ret_addr);
         },
         .entry_handler = [&](ProbeHit& h) { return h.data[0] = 42, 0; },
         .data_size = 8}));
    CHECK(call(*m, "kprobe_target", {3, 4}) == 11);
    CHECK(rets == std::vector<uint64_t>{11 * 100 + 42});
    CHECK(func == rp->addr().value);
    CHECK(ret_addr != 0);
    CHECK(rp->hits() == 1);
    REQUIRE(rp->disable().ok());
    call(*m, "kprobe_target", {3, 4});
    CHECK(rp->hits() == 1);
  }
}

TEST_CASE("kprobe registration errors: unknown symbol, both or neither target, no guest kernel") {
  auto m = boot(Arch::X86_64);
  auto bad = m->register_kprobe({.symbol = "no_such_function"});
  REQUIRE(!bad.ok());
  CHECK(bad.error().err == ENOENT);
  CHECK(m->register_kprobe({}).error().err == EINVAL);
  auto nokernel = boot(Arch::X86_64, false);
  CHECK(!nokernel->has_kernel());
  auto r = nokernel->register_kretprobe({.symbol = "kprobe_target"});
  REQUIRE(!r.ok());
  CHECK(r.error().message == "kprobes need the guest kernel");
  CHECK(nokernel->kprobes_list().empty());
  CHECK(nokernel->probeable_functions().empty());
}

TEST_CASE("uprobe handle: one binary as three processes (fork), each hit with its pid") {
  for (Arch a : kArches) {
    auto m = boot(a);
    std::string prog = guest(a, "uprobed");
    std::multiset<int> pids;
    auto up = must(m->register_uprobe({.target = prog + ":probe_me", .handler = [&](ProbeHit& h) {
                                         pids.insert(h.pid);
                                         CHECK(h.tid != 0);
                                         return 0;
                                       }}));
    CHECK(up->registered());
    CHECK(!up->is_return());
    auto [out, status] = run_to_end(*m, {prog, "fork"});
    CHECK(status == 0);
    CHECK(out.find("parent: probe_me=100") != std::string::npos);
    CHECK(up->hits() == 3);
    CHECK(std::set<int>(pids.begin(), pids.end()).size() == 3);
  }
}

TEST_CASE("uretprobe handle: recursion returns innermost first, func is the probed function") {
  for (Arch a : kArches) {
    auto m = boot(a);
    std::string prog = guest(a, "uprobed");
    std::vector<uint64_t> rets;
    std::set<uint64_t> funcs;
    auto up = must(m->register_uprobe({.target = prog + ":fact", .ret_handler = [&](ProbeHit& h) {
                                         rets.push_back(h.regs.return_value());
                                         funcs.insert(h.func.value);
                                       }}));
    CHECK(up->is_return());
    auto [out, status] = run_to_end(*m, {prog, "recurse"});
    CHECK(status == 0);
    CHECK(rets == std::vector<uint64_t>{1, 2, 6, 24, 120, 720});
    CHECK(funcs.size() == 1);
    CHECK(up->ret_hits() == 6);
    CHECK(up->hits() == 0);
  }
}

TEST_CASE("uprobe handle: disabled, no handler runs and no page is private, enable re-arms") {
  for (Arch a : kArches) {
    auto m = boot(a);
    std::string prog = guest(a, "uprobed");
    auto up = must(m->register_uprobe({.target = prog + ":probe_me"}));
    REQUIRE(up->disable().ok());
    CHECK(!up->enabled());
    auto [out, status] = run_to_end(*m, {prog, "fork"});
    CHECK(status == 0);
    CHECK(up->hits() == 0);
    REQUIRE(up->enable().ok());
    auto [out2, status2] = run_to_end(*m, {prog, "fork"});
    CHECK(out2 == out);
    CHECK(up->hits() == 3);
    up->unregister();
    CHECK(!up->registered());
    CHECK(up->disable().error().err == EINVAL);
  }
}

TEST_CASE("uprobe handle: a registration queued for the kworker (at=N) is pending, then done") {
  for (Arch a : kArches) {
    auto m = boot(a);
    std::string prog = guest(a, "uprobed");
    auto up = must(m->register_uprobe({.target = prog + ":leaf", .at = 0}));
    // A queued registration whose handle goes first unregisters itself when it ran.
    must(m->register_uprobe({.target = prog + ":probe_me", .at = 0}));
    CHECK(up->pending());
    CHECK(!up->registered());
    auto [out, status] = run_to_end(*m, {prog, "loop", "2000"});
    CHECK(status == 0);
    CHECK(!up->pending());
    CHECK(up->registered());
    CHECK(!up->error().has_value());
    auto info = must(m->inode(prog));
    CHECK(info.uprobe_offsets == std::vector<uint64_t>{up->offset().value});
  }
}

TEST_CASE("uprobe registration errors name the problem: bad spec, missing file, uretprobe mid-function") {
  auto m = boot(Arch::X86_64);
  std::string prog = guest(Arch::X86_64, "uprobed");
  CHECK(m->register_uprobe({.target = "no-colon"}).error().err == EINVAL);
  auto missing = m->register_uprobe({.target = "/no/such/file:main"});
  REQUIRE(!missing.ok());
  CHECK(missing.error().err == ENOENT);
  CHECK(missing.error().message.find("/no/such/file") != std::string::npos);
  CHECK(m->register_uprobe({.target = prog + ":no_such_symbol"}).error().err == ENOENT);
  auto mid = m->register_uprobe({.target = prog + ":fact+4", .ret_handler = [](ProbeHit&) {}});
  REQUIRE(!mid.ok());
  CHECK(mid.error().err == EINVAL);
}

TEST_CASE("dynamic events through the API: defined, enabled, disabled, hits as values and text") {
  auto m = boot(Arch::X86_64);
  EventId kt = must(m->add_event("p:kt kprobe_target a=$arg1"));
  CHECK(kt.group == "kprobes");
  CHECK(kt.name == "kt");
  CHECK(m->event_enabled(kt));
  CHECK(m->dynamic_events().find("p:kprobes/kt kprobe_target") != std::string::npos);
  CHECK(call(*m, "kprobe_target", {3, 4}) == 11);
  REQUIRE(m->set_event_enabled(kt, false).ok());
  CHECK(!m->event_enabled(kt));
  call(*m, "kprobe_target", {5, 6});  // not recorded
  std::vector<TraceEvent> hits = m->trace();
  REQUIRE(hits.size() == 1);
  CHECK(hits[0].event == "kt");
  CHECK(hits[0].location.starts_with("kprobe_target+0x0/"));
  CHECK(hits[0].fields == std::vector<std::pair<std::string, std::string>>{{"a", "0x3"}});
  CHECK(m->trace_text() == hits[0].line + "\n");
  CHECK(m->set_event_enabled({"kprobes", "nope"}, true).error().err == ENOENT);
  auto bad = m->add_event("p:bad no_such_function");
  REQUIRE(!bad.ok());
  CHECK(m->events_error_log().find("no_such_function") != std::string::npos);
}

TEST_CASE("early kprobes and probe-able functions are visible through the API") {
  auto o = Options{.arch = Arch::X86_64, .seed = 1, .early_kprobes = {"kprobe_target", "nope"}};
  auto m = must(Machine::create(o));
  auto early = m->early_kprobes();
  REQUIRE(early.size() == 2);
  CHECK(early[0].spec == "kprobe_target");
  CHECK(early[0].err == 0);
  CHECK(early[1].err != 0);
  CHECK(!early[1].error.empty());
  call(*m, "kprobe_target", {1, 2});
  CHECK(m->early_kprobes()[0].hits == 1);
  auto fns = m->probeable_functions();
  CHECK(std::find(fns.begin(), fns.end(), "kprobe_target") != fns.end());
  CHECK(std::find(fns.begin(), fns.end(), "kprobe_int3_handler") == fns.end());  // blacklisted
}

TEST_CASE("probe path costs: every path of the cost tables, in cycles, no kprobe costs without a kernel") {
  for (Arch a : kArches) {
    auto m = boot(a);
    auto k = m->kprobe_costs();
    REQUIRE(k.size() == 4);
    CHECK(k[0].first == "trap");
    for (auto& [name, cycles] : k) CHECK(cycles > 0);
    auto u = m->uprobe_costs();
    REQUIRE(!u.empty());
    CHECK(u[0].first == "uprobe-trap");
    CHECK(u[0].second > 0);
  }
  CHECK(boot(Arch::X86_64, false)->kprobe_costs().empty());
}
