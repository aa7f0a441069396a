// Transparency of optprobes: a jump-optimized probe at each optimizable address of the selftest
// functions (one at a time: each jump replaces up to 20 bytes), and pre-only probes on every
// instruction of the I/O paths (the optimizable ones jump, the rest stay traps), change nothing
// the guest computes or prints; every probe on an executed path hit.
#include "kmachine.h"

using namespace probesim;
using namespace probesim::kmachine;

namespace {

const std::vector<std::string> kSelftest = {"kprobe_target", "kprobe_riprel_target",
                                            "kprobe_branch_target", "kprobe_caller_target",
                                            "kprobe_recursed_target", "kprobe_six_args_target"};

std::vector<uint64_t> selftest_results(Machine& m) {
  return {call(m, "kprobe_target", {3, 4}),        call(m, "kprobe_riprel_target", {7}),
          call(m, "kprobe_branch_target", {20}),   call(m, "kprobe_branch_target", {5}),
          call(m, "kprobe_caller_target", {3, 4}), call(m, "kprobe_recursed_target", {6}),
          call(m, "kprobe_six_args_target", {1, 2, 3, 4, 5, 6})};
}

std::unique_ptr<probes::Kprobe> pre_only(GuestAddr a) {
  auto k = std::make_unique<probes::Kprobe>();
  k->addr = a;
  k->pre_handler = [](probes::Kprobe&, probes::Regs&) { return 0; };
  return k;
}

}  // namespace

TEST_CASE("optprobe transparency: a jump at each optimizable selftest address changes no result") {
  for (Arch a : kArches) {
    CAPTURE(a);
    auto plain = boot(a), m = boot(a);  // called in lockstep (riprel_target keeps a counter)
    size_t jumped = 0;
    for (const std::string& fn : kSelftest)
      for (GuestAddr at : insn_boundaries(*plain, fn)) {
        CAPTURE(fn);
        CAPTURE(at - ksym(*plain, fn).addr);
        auto k = pre_only(at);
        if (!kprobes(*m).register_kprobe(*k)) continue;
        kprobes(*m).wait_for_optimizer();
        const bool j = kprobes(*m).info(at)->jumped;
        jumped += j;
        CHECK(selftest_results(*m) == selftest_results(*plain));
        if (j) CHECK(k->nhit > 0);
        kprobes(*m).unregister_kprobe(*k);
      }
    CHECK(jumped >= 10);
  }
}

TEST_CASE("optprobe transparency: pre-only probes on every instruction of the I/O paths") {
  for (Arch a : kArches) {
    CAPTURE(a);
    std::string sys = a == Arch::X86_64 ? "__x64_sys_" : "__arm64_sys_";
    const std::vector<std::string> paths = {"ksys_write", "vfs_write", "ksys_read", "vfs_read",
                                            "do_sys_openat2", "ksys_mmap_pgoff", "__do_sys_brk",
                                            sys + "write", sys + "read", sys + "openat"};
    std::string fixture = fixture_dir("optprobe-transparency");
    for (const char* prog : {"fileio", "hello"}) {
      CAPTURE(prog);
      auto run = [&](Machine& m) {
        auto pid = m.spawn({guest(a, prog), fixture}, {"LC_ALL=C"});
        REQUIRE(pid.ok());
        REQUIRE(m.run());
        return m.captured_stdout(pid.value()) + m.captured_stderr(pid.value()) + "\nstatus " +
               std::to_string(m.exit_of(pid.value())->shell_status);
      };
      auto plain = boot(a);
      const std::string expected = run(*plain);
      auto m = boot(a);
      std::vector<std::unique_ptr<probes::Kprobe>> kps;
      for (const std::string& f : paths) {
        if (!m->state().kernel()->space().kallsyms().find(f)) continue;
        for (GuestAddr at : insn_boundaries(*m, f)) {
          auto k = pre_only(at);
          if (kprobes(*m).register_kprobe(*k)) kps.push_back(std::move(k));
        }
      }
      kprobes(*m).wait_for_optimizer();
      size_t jumped = 0;
      for (auto& k : kps) jumped += kprobes(*m).info(k->addr)->jumped;
      CHECK(jumped > 0);
      CHECK(run(*m) == expected);
      uint64_t hits = 0;
      for (auto& k : kps) hits += k->nhit;
      CHECK(hits > 0);
      for (auto& k : kps) kprobes(*m).unregister_kprobe(*k);
    }
  }
}
