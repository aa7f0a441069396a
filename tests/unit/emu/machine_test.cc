// The Machine API end to end on real guest programs (built by guest/, both arches).
#include <doctest/doctest.h>

#include <set>
#include <string>
#include <vector>

#include "probesim/machine.h"

using namespace probesim;

namespace {

std::string guest(const std::string& flavour, const std::string& name) {
  return std::string(PROBESIM_GUEST_DIR) + "/" + flavour + "/" + name;
}

struct Run {
  std::unique_ptr<Machine> m;
  int pid = 0;
  std::vector<std::string> strace;
};

Run run(Arch arch, const std::vector<std::string>& argv, uint64_t seed = 1,
        uint64_t quantum = 1'000'000) {
  Run r;
  auto m = Machine::create(Options{.arch = arch, .seed = seed, .quantum = quantum});
  REQUIRE(m.ok());
  r.m = std::move(m.value());
  r.m->set_strace([&r](const std::string& line) { r.strace.push_back(line); });
  auto pid = r.m->spawn(argv, {"LC_ALL=C"});
  REQUIRE_MESSAGE(pid.ok(), (pid.ok() ? "" : pid.error().message));
  r.pid = pid.value();
  CHECK(r.m->run());
  return r;
}

}  // namespace

TEST_CASE("machine: a static program runs to its exit status on both arches") {
  for (auto [arch, flavour] : {std::pair{Arch::X86_64, "x86_64-glibc"},
                               std::pair{Arch::AArch64, "aarch64-glibc"}}) {
    Run r = run(arch, {guest(flavour, "hello"), "a", "b"});
    auto e = r.m->exit_of(r.pid);
    REQUIRE(e.has_value());
    CHECK_FALSE(e->signaled);
    CHECK(e->code == 3);
    CHECK(r.m->captured_stdout(r.pid).find("argv[2]=b") != std::string::npos);
    CHECK(r.m->captured_stdout(r.pid).find("EXIT-SUCCESS") != std::string::npos);
    CHECK(r.m->captured_stderr(r.pid).find("stderr") != std::string::npos);
  }
}

TEST_CASE("machine: a guest fault is a value with the signal, address and pc") {
  for (auto [arch, flavour] : {std::pair{Arch::X86_64, "x86_64-musl"},
                               std::pair{Arch::AArch64, "aarch64-glibc"}}) {
    Run r = run(arch, {guest(flavour, "segv")});
    auto e = r.m->exit_of(r.pid);
    REQUIRE(e.has_value());
    CHECK(e->signaled);
    CHECK(e->signo == 11);
    CHECK(e->shell_status == 139);
    REQUIRE(e->fault.has_value());
    CHECK(e->fault->addr == 0xdead0000);
    CHECK(e->fault->si_code == 1);  // SEGV_MAPERR
    CHECK(e->fault->pc != 0);
    CHECK(e->description.find("SIGSEGV") != std::string::npos);
    CHECK(r.m->stats().faults == 1);
  }
}

TEST_CASE("machine: same seed gives identical output, instructions, cycles and strace") {
  Run a = run(Arch::X86_64, {guest("x86_64-glibc", "sha256"), "4096"}, 7);
  Run b = run(Arch::X86_64, {guest("x86_64-glibc", "sha256"), "4096"}, 7);
  CHECK(a.m->captured_stdout(a.pid) == b.m->captured_stdout(b.pid));
  CHECK(a.m->stats().instructions == b.m->stats().instructions);
  CHECK(a.m->stats().cycles == b.m->stats().cycles);
  CHECK(a.strace == b.strace);
  CHECK(a.m->stats().instructions > 10000);
}

TEST_CASE("machine: the quantum size changes nothing a single process computes") {
  Run big = run(Arch::AArch64, {guest("aarch64-glibc", "sha256"), "4096"}, 1, 1'000'000);
  Run small = run(Arch::AArch64, {guest("aarch64-glibc", "sha256"), "4096"}, 1, 997);
  CHECK(big.m->captured_stdout(big.pid) == small.m->captured_stdout(small.pid));
  CHECK(big.m->stats().instructions == small.m->stats().instructions);
  CHECK(big.m->stats().cycles == small.m->stats().cycles);
  CHECK(small.m->stats().quanta > big.m->stats().quanta);
}

TEST_CASE("machine: an instruction emulated in a code hook is counted once, with its block") {
  // fpu_x87 loop N: N x (fsin; dec; jnz), fsin run on the host x87 in a code hook.
  Run a = run(Arch::X86_64, {guest("x86_64-glibc", "fpu_x87"), "loop", "1000"});
  Run b = run(Arch::X86_64, {guest("x86_64-glibc", "fpu_x87"), "loop", "3000"});
  REQUIRE(a.m->exit_of(a.pid).has_value());
  REQUIRE(b.m->exit_of(b.pid).has_value());
  CHECK(a.m->exit_of(a.pid)->shell_status == 0);
  CHECK(b.m->stats().instructions - a.m->stats().instructions == 3 * 2000);
}

TEST_CASE("machine: run with an instruction limit stops between quanta and resumes") {
  auto m = Machine::create(Options{.arch = Arch::X86_64, .quantum = 1000});
  REQUIRE(m.ok());
  Machine& mach = *m.value();
  int pid = mach.spawn({guest("x86_64-glibc", "sha256"), "4096"}, {}).value();
  CHECK_FALSE(mach.run(5000));
  CHECK_FALSE(mach.exit_of(pid).has_value());
  CHECK(mach.stats().instructions >= 5000);
  CHECK(mach.stats().instructions < 5000 + 1000);
  CHECK(mach.run());
  CHECK(mach.exit_of(pid)->code == 0);
}

TEST_CASE("machine: unknown syscalls return ENOSYS and are counted by name") {
  Run r = run(Arch::X86_64, {guest("x86_64-glibc", "nosys")});
  CHECK(r.m->exit_of(r.pid)->code == 0);
  auto unknown = r.m->stats().unknown_syscalls;
  CHECK(unknown["syscall_1000"] == 1);
  bool traced = false;
  for (const std::string& l : r.strace) traced |= l.find("syscall_1000(") == 0;
  CHECK(traced);
}

TEST_CASE("machine: an unimplemented Linux syscall is counted and traced by its name") {
  for (auto [arch, flavour] : {std::pair{Arch::X86_64, "x86_64-musl"},
                               std::pair{Arch::AArch64, "aarch64-glibc"}}) {
    Run r = run(arch, {guest(flavour, "nosys"), "named"});
    CHECK(r.m->exit_of(r.pid)->code == 0);
    auto unknown = r.m->stats().unknown_syscalls;
    CHECK(unknown["kexec_load"] == 1);
    CHECK(unknown.count("syscall_246") == 0);
    CHECK(unknown.count("syscall_104") == 0);
    bool traced = false;
    for (const std::string& l : r.strace)
      traced |= l == "kexec_load(0, 0, 0, 0) = -1 ENOSYS (Function not implemented)";
    CHECK(traced);
  }
}

TEST_CASE("machine: spawn errors name the file and the problem") {
  auto m = Machine::create(Options{.arch = Arch::X86_64});
  REQUIRE(m.ok());
  auto missing = m.value()->spawn({"/no/such/program"}, {});
  REQUIRE_FALSE(missing.ok());
  CHECK(missing.error().message.find("/no/such/program") != std::string::npos);
  auto wrong = m.value()->spawn({guest("aarch64-glibc", "hello")}, {});
  REQUIRE_FALSE(wrong.ok());
  CHECK(wrong.error().message.find("aarch64") != std::string::npos);
  // A "#!" script is no error: its interpreter runs it (binfmt_script).
  CHECK(m.value()->spawn({std::string(PROBESIM_SOURCE_DIR) + "/scripts/demo.sh"}, {}).ok());
  auto noexec = m.value()->spawn({std::string(PROBESIM_SOURCE_DIR) + "/README.md"}, {});
  REQUIRE_FALSE(noexec.ok());
  CHECK(noexec.error().message.find("README.md: Permission denied") != std::string::npos);
  CHECK_FALSE(m.value()->spawn({}, {}).ok());
}

TEST_CASE("machine: detect_arch finds the program as spawn does and fails with spawn's message") {
  const std::string dir = std::string(PROBESIM_GUEST_DIR) + "/x86_64-glibc";
  auto rel = probesim::detect_arch("/", "hello", dir);  // relative to the guest cwd
  REQUIRE(rel.ok());
  CHECK(rel.value() == Arch::X86_64);
  CHECK(probesim::detect_arch(dir, "/hello").value() == Arch::X86_64);  // inside the root
  auto m = Machine::create(Options{.arch = Arch::X86_64});
  REQUIRE(m.ok());
  auto spawned = m.value()->spawn({dir}, {});  // a directory: execve's EACCES
  auto detected = probesim::detect_arch("/", dir);
  REQUIRE_FALSE(spawned.ok());
  REQUIRE_FALSE(detected.ok());
  CHECK(detected.error().message == dir + ": Permission denied");
  CHECK(spawned.error().message == detected.error().message);
  auto no_root = probesim::detect_arch("/no/such/root", "/hello");
  REQUIRE_FALSE(no_root.ok());
  CHECK(no_root.error().message.find("guest root '/no/such/root' does not exist") !=
        std::string::npos);
}

TEST_CASE("machine: a missing guest root is a clear error") {
  auto m = Machine::create(Options{.arch = Arch::X86_64, .root = "/no/such/root"});
  REQUIRE_FALSE(m.ok());
  CHECK(m.error().message.find("/no/such/root") != std::string::npos);
}

namespace {
Run run_sched(Arch arch, const std::string& flavour, const std::string& prog, int cpus,
              Options::Sched sched, uint64_t seed, uint64_t quantum) {
  Run r;
  auto m = Machine::create(
      Options{.arch = arch, .seed = seed, .quantum = quantum, .cpus = cpus, .sched = sched});
  REQUIRE(m.ok());
  r.m = std::move(m.value());
  auto pid = r.m->spawn({guest(flavour, prog)}, {});
  REQUIRE_MESSAGE(pid.ok(), (pid.ok() ? "" : pid.error().message));
  r.pid = pid.value();
  CHECK(r.m->run());
  return r;
}
}  // namespace

TEST_CASE("scheduler: pthread programs are correct on 1 and 4 CPUs under several seeds") {
  for (auto [arch, flavour] : {std::pair{Arch::X86_64, "x86_64-glibc"},
                               std::pair{Arch::X86_64, "x86_64-musl"},
                               std::pair{Arch::AArch64, "aarch64-glibc"}}) {
    for (int cpus : {1, 4}) {
      for (uint64_t seed : {1, 2, 3}) {
        Run r = run_sched(arch, flavour, "pthreads", cpus, Options::Sched::Random, seed, 20000);
        CAPTURE(flavour);
        CAPTURE(cpus);
        CAPTURE(seed);
        REQUIRE(r.m->exit_of(r.pid).has_value());
        CHECK(r.m->exit_of(r.pid)->code == 0);
        CHECK(r.m->captured_stdout(r.pid).find("EXIT-SUCCESS") != std::string::npos);
      }
    }
  }
}

TEST_CASE("scheduler: a racy program varies across seeds and repeats exactly for one seed") {
  std::set<std::string> outcomes;
  for (uint64_t seed : {1, 2, 3, 4}) {
    Run r = run_sched(Arch::X86_64, "x86_64-glibc", "racy", 2, Options::Sched::Random, seed, 5000);
    outcomes.insert(r.m->captured_stdout(r.pid));
  }
  CHECK(outcomes.size() > 1);
  Run a = run_sched(Arch::AArch64, "aarch64-glibc", "racy", 2, Options::Sched::Random, 9, 5000);
  Run b = run_sched(Arch::AArch64, "aarch64-glibc", "racy", 2, Options::Sched::Random, 9, 5000);
  CHECK(a.m->captured_stdout(a.pid) == b.m->captured_stdout(b.pid));
  CHECK(a.m->stats().instructions == b.m->stats().instructions);
  CHECK(a.m->task_instructions() == b.m->task_instructions());
  CHECK(a.m->task_instructions().size() == 3);  // main thread + two workers
  auto la = a.m->schedule_log(), lb = b.m->schedule_log();
  REQUIRE(la.size() == lb.size());
  CHECK(la.size() > 10);
  for (size_t i = 0; i < la.size(); ++i) {
    CHECK(la[i].tid == lb[i].tid);
    CHECK(la[i].cpu == lb[i].cpu);
    CHECK(la[i].reason == lb[i].reason);
    CHECK(la[i].insns == lb[i].insns);
  }
}

TEST_CASE("scheduler: every task blocked forever is reported as a deadlock, not a hang") {
  Run r = run_sched(Arch::X86_64, "x86_64-glibc", "deadlock", 2, Options::Sched::RoundRobin, 1,
                    100000);
  CHECK_FALSE(r.m->exit_of(r.pid).has_value());
  CHECK(r.m->blocked_tids() == std::vector<int>{r.pid});
  CHECK(r.m->captured_stdout(r.pid) == "locking twice\n");
}

TEST_CASE("signals: an uncaught SIGSEGV ends the process with status 139 and a report") {
  Run r = run(Arch::AArch64, {guest("aarch64-glibc", "segv")});
  CHECK(r.m->exit_of(r.pid)->shell_status == 139);
  CHECK(r.m->exit_of(r.pid)->core_dumped);
}

TEST_CASE("signals: handlers, siglongjmp out of SIGSEGV, SIGCHLD and masks on both arches") {
  for (auto [arch, flavour] : {std::pair{Arch::X86_64, "x86_64-glibc"},
                               std::pair{Arch::X86_64, "x86_64-musl"},
                               std::pair{Arch::AArch64, "aarch64-glibc"}}) {
    Run r = run(arch, {guest(flavour, "signals")});
    CAPTURE(flavour);
    CHECK(r.m->exit_of(r.pid)->code == 0);
    CHECK(r.m->captured_stdout(r.pid).find("EXIT-SUCCESS") != std::string::npos);
    CHECK(r.m->stats().faults == 1);  // the caught SIGSEGV
  }
}
