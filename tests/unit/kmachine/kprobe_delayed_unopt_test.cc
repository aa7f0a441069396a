// Delayed unoptimizing (issue 17; Linux kernel/kprobes.c unoptimize_kprobe(p, false) and the
// optimizer's do_unoptimize_kprobes): while the optimizer is kernel work, disabling or
// unregistering a jump-optimized kprobe leaves the jump in the text and queues the probe on
// unoptimizing_list; the optimizer's kworker steps put the int3 over the jump, the tail back,
// then disarm it (and free an unregistered one). CPUs that take the jump meanwhile run no
// handler. guest kprobe_hammer: three threads write to fd 42 through ksys_write.
#include <algorithm>
#include <cerrno>

#include "emu/kthread/kprobe_work.h"
#include "kmachine.h"

using namespace probesim;
using namespace probesim::kmachine;
using probes::Kprobe;
using probes::Regs;

namespace {

// The machine's optimizer as kernel work, as queue_kprobe_work makes it (nothing runs the
// kworker here: wait_for_optimizer runs the optimizer in place, as wait_for_kprobe_optimizer).
void optimizer_as_work(Machine& m) {
  Machine* mp = &m;
  kprobes(m).set_optimizer_work([mp] {
    mp->state().queue_kernel_work(std::make_unique<emu::KprobeOptimizerWork>());
  });
}

struct Counter {
  Kprobe kp;
  explicit Counter(GuestAddr a) {
    kp.addr = a;
    kp.pre_handler = [](Kprobe&, Regs&) { return 0; };
  }
};

}  // namespace

TEST_CASE("delayed unoptimizing: disable keeps the jump until the optimizer, enable keeps it") {
  for (Arch a : kArches) {
    CAPTURE(a);
    auto m = boot(a);
    optimizer_as_work(*m);
    const GuestAddr at = ksym(*m, "kprobe_target").addr;
    const size_t n = a == Arch::X86_64 ? 5 : 4;
    const auto orig = text(*m, at, n);
    Counter c(at);
    REQUIRE(kprobes(*m).register_kprobe(c.kp).ok());
    kprobes(*m).wait_for_optimizer();
    const auto jump = text(*m, at, n);
    REQUIRE(info_of(*m, at).jumped);

    REQUIRE(kprobes(*m).disable_kprobe(c.kp).ok());
    CHECK(text(*m, at, n) == jump);
    CHECK(info_of(*m, at).unoptimizing);
    CHECK(info_of(*m, at).armed);
    std::vector<uint8_t> shown(n);
    REQUIRE(kprobes(*m).read_original(at, shown));
    CHECK(shown == orig);
    CHECK(call(*m, "kprobe_target", {3, 4}) == 11);
    CHECK(c.kp.nhit == 0);  // through the jump: optimized_callback runs no disabled handler

    REQUIRE(kprobes(*m).enable_kprobe(c.kp).ok());  // dequeued: the jump is kept
    CHECK_FALSE(info_of(*m, at).unoptimizing);
    CHECK(info_of(*m, at).jumped);
    CHECK(text(*m, at, n) == jump);
    CHECK(call(*m, "kprobe_target", {3, 4}) == 11);
    CHECK(c.kp.nhit == 1);

    REQUIRE(kprobes(*m).disable_kprobe(c.kp).ok());
    kprobes(*m).wait_for_optimizer();  // int3 over the jump, the tail, arch_disarm_kprobe
    CHECK(text(*m, at, n) == orig);
    CHECK_FALSE(info_of(*m, at).armed);
    CHECK_FALSE(info_of(*m, at).jumped);
    CHECK_FALSE(info_of(*m, at).unoptimizing);
    CHECK(call(*m, "kprobe_target", {3, 4}) == 11);
    CHECK(c.kp.nhit == 1);
    kprobes(*m).unregister_kprobe(c.kp);
    CHECK_FALSE(kprobes(*m).info(at).has_value());
  }
}

TEST_CASE("delayed unoptimizing: an unregistered entry is freed by the optimizer or reused") {
  for (Arch a : kArches) {
    CAPTURE(a);
    auto m = boot(a);
    optimizer_as_work(*m);
    const GuestAddr at = ksym(*m, "kprobe_target").addr;
    const size_t n = a == Arch::X86_64 ? 5 : 4;
    const auto orig = text(*m, at, n);
    Counter c(at);
    REQUIRE(kprobes(*m).register_kprobe(c.kp).ok());
    kprobes(*m).wait_for_optimizer();
    const auto jump = text(*m, at, n);

    kprobes(*m).unregister_kprobe(c.kp);  // the entry stays, unused, with its jump
    CHECK_FALSE(c.kp.registered());
    CHECK(info_of(*m, at).unoptimizing);
    CHECK(info_of(*m, at).children.empty());
    CHECK(kprobes(*m).list().empty());
    CHECK(text(*m, at, n) == jump);
    CHECK(call(*m, "kprobe_target", {3, 4}) == 11);
    CHECK(c.kp.nhit == 0);

    Counter d(at);  // reuse_unused_kprobe: the jump is kept
    REQUIRE(kprobes(*m).register_kprobe(d.kp).ok());
    CHECK_FALSE(info_of(*m, at).unoptimizing);
    CHECK(info_of(*m, at).jumped);
    CHECK(text(*m, at, n) == jump);
    CHECK(call(*m, "kprobe_target", {3, 4}) == 11);
    CHECK(d.kp.nhit == 1);

    kprobes(*m).unregister_kprobe(d.kp);
    CHECK(kprobes(*m).unoptimizing_count() == 1);
    kprobes(*m).wait_for_optimizer();
    CHECK_FALSE(kprobes(*m).info(at).has_value());
    CHECK(kprobes(*m).unoptimizing_count() == 0);
    CHECK(text(*m, at, n) == orig);
    CHECK(call(*m, "kprobe_target", {3, 4}) == 11);
    CHECK(d.kp.nhit == 1);
  }
}

TEST_CASE("delayed unoptimizing: forcing writes the text at once, the optimizer still disarms") {
  auto m = boot(Arch::X86_64);
  optimizer_as_work(*m);
  const GuestAddr at = ksym(*m, "kprobe_target").addr;
  const auto orig = text(*m, at, 5);
  Counter c(at);
  REQUIRE(kprobes(*m).register_kprobe(c.kp).ok());
  kprobes(*m).wait_for_optimizer();
  REQUIRE(kprobes(*m).disable_kprobe(c.kp).ok());
  REQUIRE(kprobes(*m).disarm_all_kprobes().ok());  // a disabled probe is skipped (as Linux)
  CHECK(info_of(*m, at).unoptimizing);
  kprobes(*m).set_optimization(false);  // force: off the list, the text back now
  CHECK_FALSE(info_of(*m, at).unoptimizing);
  CHECK_FALSE(info_of(*m, at).jumped);
  CHECK(text(*m, at, 1)[0] == 0xcc);  // still armed: freeing_list disarms it
  kprobes(*m).wait_for_optimizer();
  CHECK(text(*m, at, 5) == orig);
  CHECK_FALSE(info_of(*m, at).armed);
  kprobes(*m).unregister_kprobe(c.kp);
}

namespace {

constexpr uint64_t kHammerFd = 42;
constexpr uint64_t kWrites = 3000;  // kprobe_hammer 1000: three threads
constexpr uint64_t kDelayNs = 20'000;
constexpr uint64_t kOffAt = 60'000;  // unregister_at: ksys_write is jump-optimized by then

// How ksys_write's probe is turned off: by the host once half the writes are done (disable,
// unregister), or by the kworker at kOffAt scheduling steps (unregister_at).
enum class Off { Disable, Unregister, UnregisterAt };

struct OffRun {
  int status = -1;
  std::string out;
  uint64_t ref = 0;           // writes to fd 42 seen by an int3 probe on __do_sys_write
  uint64_t ref_on = 0;        // of them, while ksys_write's probe was enabled
  uint64_t hits = 0;          // ksys_write's pre handler calls
  bool jumped_at_off = false;
  uint64_t during_unopt = 0;  // writes while ksys_write waited for or was in its unoptimizing
  std::optional<probes::KprobeInfo> end;  // ksys_write's entry at the end
  size_t oopses = 0;
  bool unregistered = false;  // the handle at the end
  std::vector<std::string> steps;
};

bool has_step(const OffRun& r, const std::string& prefix) {
  return std::any_of(r.steps.begin(), r.steps.end(),
                     [&](const std::string& s) { return s.starts_with(prefix); });
}

// ksys_write probed and jump-optimized by the kworker's optimizer (vfs_write queued at 0 puts
// the optimizer on the kworker), then turned off while the threads write. Every write runs
// __do_sys_write, then ksys_write, within one quantum of its CPU, so the reference probe sees
// ksys_write's probe enabled exactly when that write must hit it.
OffRun turn_off_while_writing(Arch a, uint64_t seed, Off how, bool bug) {
  Options o{.arch = a, .seed = seed, .quantum = 2000, .cpus = 2};
  o.strategy = "random";
  if (bug) o.bugs = {"kprobe_unoptimize_flag_early"};
  auto made = Machine::create(o);
  REQUIRE_MESSAGE(made.ok(), (made.ok() ? "" : made.error().message));
  Machine& m = *made.value();
  kprobes(m).set_optimize_delay_ns(kDelayNs);
  OffRun r;
  const GuestAddr at = ksym(m, "ksys_write").addr;
  auto direct = m.register_kprobe({.symbol = "ksys_write", .pre = [&r](ProbeHit& h) {
    if (h.regs.argument(0) == kHammerFd) ++r.hits;
    return 0;
  }});
  REQUIRE(direct.ok());
  KprobeHandle* d = direct.value().get();
  auto ref = m.register_kprobe({.symbol = "__do_sys_write",
                                .pre = [&r, &m, at, d](ProbeHit& h) {
                                  if (h.regs.argument(0) != kHammerFd) return 0;
                                  ++r.ref;
                                  r.ref_on += d->enabled();
                                  auto i = kprobes(m).info(at);
                                  if (i && (i->unoptimizing || i->unpoking)) ++r.during_unopt;
                                  return 0;
                                },
                                .post = [](ProbeHit&) {}});  // never optimized: int3 only
  REQUIRE(ref.ok());
  auto queued = m.register_kprobe({.symbol = "vfs_write", .at = uint64_t{0}});
  REQUIRE(queued.ok());
  if (how == Off::UnregisterAt) REQUIRE(d->unregister_at(kOffAt).ok());
  auto pid = m.spawn({guest(a, "kprobe_hammer"), "1000"}, {});
  REQUIRE(pid.ok());
  if (how != Off::UnregisterAt) {
    m.run(0, [&r] { return r.ref >= kWrites / 2; });
    r.jumped_at_off = kprobes(m).info(at)->jumped;
    if (how == Off::Disable)
      REQUIRE(d->disable().ok());
    else
      d->unregister();
  }
  m.run(200'000'000);  // a CPU sent into the rel32 may loop: the run ends anyway
  auto exit = m.exit_of(pid.value());
  r.status = exit ? exit->shell_status : -1;
  r.out = m.captured_stdout(pid.value());
  r.end = kprobes(m).info(at);
  r.oopses = m.kernel_oopses().size();
  r.unregistered = !d->registered() && !d->unregister_pending();
  for (const auto& s : m.state().kernel_steps()) r.steps.push_back(s.what);
  if (how == Off::UnregisterAt) {
    // Jump-optimized when the kworker's __unregister_kprobe_top ran: its unoptimizing followed.
    r.jumped_at_off = has_step(r, "text_poke breakpoint over the jump at 0x");
  }
  return r;
}

void check_off_run(const OffRun& r, Off how) {
  CHECK(r.out == "writes 3000\nEXIT-SUCCESS\n");
  CHECK(r.ref == kWrites);
  CHECK(r.hits == r.ref_on);  // no hit lost while enabled, none after
  CHECK(r.ref_on < kWrites);
  CHECK(r.oopses == 0);
  if (how == Off::Disable) {
    REQUIRE(r.end.has_value());
    CHECK_FALSE(r.end->armed);
    CHECK_FALSE(r.end->jumped);
    CHECK_FALSE(r.end->unoptimizing);
  } else {
    CHECK(r.unregistered);
    CHECK_FALSE(r.end.has_value());  // freed (by the optimizer when it was jump-optimized)
  }
  if (r.jumped_at_off) CHECK(has_step(r, "arch_disarm_kprobe at 0x"));
}

}  // namespace

// Issue 17's transparency under random schedules, both arches: every write made while the
// probe was enabled hit it exactly once, none after, nothing crashed, and the optimizer's steps
// interleaved with CPUs writing (some writes ran while the probe was queued or half undone).
TEST_CASE("delayed unoptimizing: turning a probe off while CPUs write loses and adds no hit") {
  for (Arch a : kArches) {
    for (Off how : {Off::Disable, Off::Unregister}) {
      CAPTURE(a);
      CAPTURE(static_cast<int>(how));
      uint64_t during = 0, jumped = 0;
      for (uint64_t seed = 1; seed <= 6; ++seed) {
        CAPTURE(seed);
        OffRun r = turn_off_while_writing(a, seed, how, false);
        REQUIRE(r.status == 0);
        check_off_run(r, how);
        during += r.during_unopt;
        jumped += r.jumped_at_off;
      }
      CHECK(jumped > 0);
      CHECK(during > 0);
    }
  }
}

// unregister_at(N): unregister_kprobe as kworker steps (kprobe_mutex, __unregister_kprobe_top
// under text_mutex, synchronize_rcu), then the optimizer's delayed unoptimizing.
TEST_CASE("kprobe work: unregister at N runs as kworker steps and loses no hit") {
  for (Arch a : kArches) {
    CAPTURE(a);
    uint64_t jumped = 0;
    for (uint64_t seed = 1; seed <= 4; ++seed) {
      CAPTURE(seed);
      OffRun r = turn_off_while_writing(a, seed, Off::UnregisterAt, false);
      REQUIRE(r.status == 0);
      check_off_run(r, Off::UnregisterAt);
      CHECK(has_step(r, "mutex_lock(kprobe_mutex) of unregister_kprobe(ksys_write)"));
      CHECK(has_step(r, "__unregister_kprobe_top at 0x"));
      if (r.jumped_at_off)
        CHECK(std::any_of(r.steps.begin(), r.steps.end(), [](const std::string& s) {
          return s.starts_with("text_poke original tail at 0x") &&
                 s.find(" <ksys_write+0x0/0x") != std::string::npos;  // steps name the probe
        }));
      CHECK(has_step(r, "synchronize_rcu of unregister_kprobe(ksys_write)"));
      jumped += r.jumped_at_off;
    }
    CHECK(jumped > 0);
  }
}

TEST_CASE("kprobe work: unregister at N is refused before a queued registration's start") {
  auto m = boot(Arch::X86_64);
  auto h = m->register_kprobe({.symbol = "vfs_write", .at = uint64_t{5000}});
  REQUIRE(h.ok());
  CHECK(h.value()->unregister_at(4000).error().err == EINVAL);
  REQUIRE(h.value()->unregister_at(6000).ok());
  CHECK(h.value()->unregister_pending());
  CHECK(h.value()->unregister_at(7000).error().err == EBUSY);
}

// kprobe_unoptimize_flag_early on the disable path: KPROBE_FLAG_OPTIMIZED cleared when the
// optimizer takes its batch, so a CPU that hits the int3 over the jump steps the first
// instruction and returns into the rel32 (x86).
TEST_CASE("delayed unoptimizing: clearing the optimized flag early on disable is found") {
  int failed = 0;
  for (uint64_t seed = 1; seed <= 12; ++seed) {
    OffRun r = turn_off_while_writing(Arch::X86_64, seed, Off::Disable, true);
    failed += r.status != 0 || r.oopses != 0;
  }
  CHECK(failed > 0);
}
