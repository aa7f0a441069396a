// Transparency: kprobes on every instruction of kernel functions change nothing the guest
// computes or prints (kernel_call results, and real programs' output and exit status), with
// x86 boosting on and off; and every probe on an executed path really hit.
#include "kmachine.h"

using namespace probesim;
using namespace probesim::kmachine;

namespace {

// Probes every instruction of each function; returns the number registered. Instructions the
// engine refuses (Linux's documented rejections) are skipped, but most must be accepted.
size_t probe_all(ProbeSet& ps, Machine& m, const std::vector<std::string>& fns) {
  size_t tried = 0;
  std::string refused;
  for (const std::string& fn : fns)
    for (GuestAddr a : insn_boundaries(m, fn)) {
      ++tried;
      auto r = ps.add(a);
      if (!r) refused += fn + "+" + std::to_string(a - ksym(m, fn).addr) + ": " + r.error().message + "\n";
    }
  CHECK_MESSAGE(ps.kps.size() * 10 >= tried * 9, refused);  // >= 90% take a probe
  return ps.kps.size();
}

struct Outcome {
  std::string out;
  int status;
  bool operator==(const Outcome&) const = default;
};

Outcome run_program(Machine& m, const std::vector<std::string>& argv) {
  auto pid = m.spawn(argv, {"LC_ALL=C"});
  REQUIRE_MESSAGE(pid.ok(), (pid.ok() ? "" : pid.error().message));
  REQUIRE(m.run());
  auto e = m.exit_of(pid.value());
  REQUIRE(e.has_value());
  return {m.captured_stdout(pid.value()) + m.captured_stderr(pid.value()), e->shell_status};
}

const std::vector<std::string> kSelftest = {"kprobe_target", "kprobe_riprel_target",
                                            "kprobe_branch_target", "kprobe_caller_target",
                                            "kprobe_recursed_target", "kprobe_six_args_target"};

std::vector<uint64_t> selftest_results(Machine& m) {
  return {call(m, "kprobe_target", {3, 4}),          call(m, "kprobe_riprel_target", {7}),
          call(m, "kprobe_branch_target", {20}),     call(m, "kprobe_branch_target", {5}),
          call(m, "kprobe_caller_target", {3, 4}),   call(m, "kprobe_recursed_target", {6}),
          call(m, "kprobe_six_args_target", {1, 2, 3, 4, 5, 6})};
}

}  // namespace

TEST_CASE("transparency: probes on every instruction of the selftest functions change no result") {
  for (Arch a : kArches)
    for (bool boost : {true, false}) {
      if (a == Arch::AArch64 && !boost) continue;  // boosting is x86-only
      CAPTURE(a);
      CAPTURE(boost);
      auto plain = boot(a, boost);
      std::vector<uint64_t> expected = selftest_results(*plain);
      auto m = boot(a, boost);
      ProbeSet ps(*m);
      probe_all(ps, *m, kSelftest);
      CHECK(selftest_results(*m) == expected);
      for (auto& k : ps.kps) CHECK_MESSAGE(k->nhit > 0, "never hit: " << k->addr.value);
      for (auto& k : ps.kps) CHECK(k->nmissed == 0);
    }
}

TEST_CASE("transparency: probes on every instruction of the I/O paths leave programs unchanged") {
  for (Arch a : kArches)
    for (bool boost : {true, false}) {
      if (a == Arch::AArch64 && !boost) continue;
      CAPTURE(a);
      CAPTURE(boost);
      std::string sys = a == Arch::X86_64 ? "__x64_sys_" : "__arm64_sys_";
      std::vector<std::string> paths = {"ksys_write",     "vfs_write",       "ksys_read",
                                        "vfs_read",       "do_sys_openat2",  "ksys_mmap_pgoff",
                                        "__do_sys_brk",   "probesim_model_syscall",
                                        sys + "write",    sys + "read",      sys + "openat"};
      std::string fixture = fixture_dir(std::string("transparency-") + (boost ? "b" : "n"));
      for (const char* prog : {"fileio", "hello", "sha256"}) {
        auto plain = boot(a, boost);
        Outcome expected = run_program(*plain, {guest(a, prog), fixture});
        CHECK(expected.status == (std::string(prog) == "hello" ? 2 : 0));
        auto m = boot(a, boost);
        ProbeSet ps(*m);
        std::vector<std::string> probed;
        for (const std::string& f : paths)
          if (m->state().kernel()->space().kallsyms().find(f)) probed.push_back(f);
        probe_all(ps, *m, probed);
        CHECK(run_program(*m, {guest(a, prog), fixture}) == expected);
        uint64_t hits = 0;
        for (auto& k : ps.kps) hits += k->nhit;
        CHECK(hits > 0);
      }
    }
}
