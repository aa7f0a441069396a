// Record and replay on real guest programs: exact replays (stdout, exit status, interleaving,
// checkpoints), also with kprobes and uprobes added; divergence reports; pct finding the racy
// counter's lost update; strategies as pure functions of (seed, run index).
#include <doctest/doctest.h>

#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <iterator>
#include <regex>
#include <set>
#include <string>
#include <vector>

#include "emu/machine_state.h"
#include "emu/record/recorder.h"
#include "probes/kprobe.h"
#include "probes/uprobes/uprobe_target.h"
#include "probesim/machine.h"

using namespace probesim;
namespace fs = std::filesystem;

namespace {

std::string guest(const std::string& flavour, const std::string& name) {
  return std::string(PROBESIM_GUEST_DIR) + "/" + flavour + "/" + name;
}

std::string tmp_path(const std::string& name) {
  fs::path dir = fs::temp_directory_path() / ("probesim-record-test-" + std::to_string(::getpid()));
  fs::create_directories(dir);
  return (dir / name).string();
}

struct Outcome {
  std::string out;
  int status = -1;
  std::vector<std::string> picks;  // "cpu tid insns reason" of every pick/preempt/block
  std::optional<Divergence> divergence;
  std::vector<std::string> warnings;
};

Outcome outcome_of(Machine& m, int pid) {
  Outcome o;
  o.out = m.captured_stdout(pid);
  if (auto e = m.exit_of(pid)) o.status = e->shell_status;
  for (const SchedEvent& e : m.schedule_log())
    if (e.reason == "pick" || e.reason == "preempt" || e.reason == "block")
      o.picks.push_back(std::to_string(e.cpu) + " " + std::to_string(e.tid) + " " +
                        std::to_string(e.insns) + " " + e.reason);
  o.divergence = m.divergence();
  o.warnings = m.replay_warnings();
  return o;
}

Outcome record(const Options& opt, const std::vector<std::string>& argv, const std::string& trace) {
  auto m = Machine::create(opt);
  REQUIRE_MESSAGE(m.ok(), (m.ok() ? "" : m.error().message));
  REQUIRE(m.value()->start_recording().ok());
  auto pid = m.value()->spawn(argv, {"LC_ALL=C"});
  REQUIRE_MESSAGE(pid.ok(), (pid.ok() ? "" : pid.error().message));
  m.value()->run();
  auto saved = m.value()->save_trace(trace);
  REQUIRE_MESSAGE(saved.ok(), (saved.ok() ? "" : saved.error().message));
  return outcome_of(*m.value(), pid.value());
}

// Counting probes a person would add to look at a replay: kprobes on the I/O paths, and a
// uprobe on `uprobe_sym` of the program (a symbol, or an entry-point offset).
struct Probes {
  std::vector<std::unique_ptr<probes::Kprobe>> kps;
  std::unique_ptr<probes::UprobeConsumer> consumer;
  probes::Uprobe* uprobe = nullptr;
  mmu::Inode* inode = nullptr;
  emu::MachineState* st = nullptr;
  ~Probes() {
    if (uprobe) st->uprobes().uprobe_unregister(uprobe, *consumer);
    if (inode) st->inodes().iput(inode);
    for (auto& kp : kps) st->kprobes()->unregister_kprobe(*kp);
  }
};

void attach(Machine& m, Probes& p, const std::string& uprobe_target) {
  p.st = &m.state();
  for (const char* sym : {"ksys_write", "vfs_read", "do_sys_openat2"}) {
    auto kp = std::make_unique<probes::Kprobe>();
    kp->symbol_name = sym;
    kp->pre_handler = [](probes::Kprobe&, probes::Regs&) { return 0; };
    REQUIRE(p.st->kprobes()->register_kprobe(*kp).ok());
    p.kps.push_back(std::move(kp));
  }
  auto spec = probes::parse_uprobe_spec(uprobe_target);
  REQUIRE(spec.ok());
  p.inode = p.st->lookup_inode(spec.value().path).value();
  auto off = p.st->uprobe_offset(*p.inode, spec.value());
  REQUIRE_MESSAGE(off.ok(), (off.ok() ? "" : off.error().message));
  p.consumer = std::make_unique<probes::UprobeConsumer>();
  p.consumer->handler = [](probes::UprobeConsumer&, probes::Regs&, uint64_t&) { return 0; };
  auto u = p.st->uprobes().uprobe_register(*p.inode, off.value(), *p.consumer);
  REQUIRE(u.ok());
  p.uprobe = u.value();
}

Outcome replay(const std::string& trace, const std::string& uprobe_target = {}, uint64_t* uprobe_hits = nullptr) {
  auto m = Machine::replay(trace);
  REQUIRE_MESSAGE(m.ok(), (m.ok() ? "" : m.error().message));
  Probes p;
  if (!uprobe_target.empty()) attach(*m.value(), p, uprobe_target);
  m.value()->run();
  if (uprobe_hits && p.consumer) *uprobe_hits = p.consumer->nhit;
  return outcome_of(*m.value(), m.value()->replay_pid());
}

void check_same(const Outcome& a, const Outcome& b) {
  CHECK_MESSAGE(!b.divergence, (b.divergence ? b.divergence->message() : ""));
  CHECK(a.out == b.out);
  CHECK(a.status == b.status);
  CHECK(a.picks == b.picks);
  CHECK(b.warnings.empty());
}

uint64_t counter_of(const std::string& out) {
  auto at = out.find("counter ");
  return at == std::string::npos ? 0 : std::stoull(out.substr(at + 8));
}

// Record, replay, replay again with kprobes and a uprobe: the same stdout, exit status,
// interleaving and checkpoints (a checkpoint mismatch would be a divergence).
void exact_replay(const std::string& name, const Options& opt, const std::vector<std::string>& argv,
                  const std::string& uprobe) {
  std::string trace = tmp_path(name + ".trace");
  Outcome rec = record(opt, argv, trace);
  CHECK(rec.status == 0);
  CHECK(rec.picks.size() > 3);
  Outcome plain = replay(trace);
  check_same(rec, plain);
  uint64_t hits = 0;
  Outcome probed = replay(trace, uprobe, &hits);
  check_same(rec, probed);
  CHECK(hits > 0);
}

}  // namespace

TEST_CASE("replay: 20 recorded runs (busybox sh pipelines on 4 CPUs, pthreads, racy, signals) "
          "replay exactly, also with kprobes and uprobes added") {
  const std::string bb = "/bin/busybox";  // Debian's busybox-static (scripts/install-deps.sh)
  REQUIRE(fs::exists(bb));
  const std::string pipelines[] = {
      "busybox seq 1 200 | busybox sort -r | busybox uniq | busybox wc -l; echo done | busybox tr a-z A-Z",
      "busybox seq 1 500 | busybox grep 7 | busybox tail -n 3 | busybox tr 0-9 a-j",
      "echo one two three | busybox tr ' ' '\\n' | busybox sort | busybox head -n 2",
      "busybox seq 1 50 | busybox awk '{s+=$1} END {print s}' | busybox cat",
  };
  struct Run {
    std::string name;
    Options opt;
    std::vector<std::string> argv;
    std::string uprobe;  // a symbol of the program, or a file offset (busybox is stripped)
  };
  std::vector<Run> runs;
  for (uint64_t i = 0; i < 8; ++i)  // the entry point's file offset
    runs.push_back({"busybox-" + std::to_string(i),
                    {.arch = Arch::X86_64, .seed = 3 + i, .quantum = 3000, .cpus = 4, .strategy = "random"},
                    {bb, "sh", "-c", pipelines[i % 4]}, bb + ":0xebf0"});
  for (uint64_t i = 0; i < 4; ++i) {
    const bool x86 = i % 2 == 0;
    const std::string flavour = x86 ? "x86_64-glibc" : "aarch64-glibc";
    const Arch arch = x86 ? Arch::X86_64 : Arch::AArch64;
    const std::string pthreads = guest(flavour, "pthreads"), racy = guest(flavour, "racy");
    runs.push_back({"pthreads-" + std::to_string(i),
                    {.arch = arch, .seed = 1 + i, .quantum = 20000, .cpus = 4, .strategy = "random"},
                    {pthreads}, pthreads + ":malloc"});
    runs.push_back({"racy-" + std::to_string(i),
                    {.arch = arch, .seed = 2 + i, .quantum = 5000, .cpus = 2,
                     .strategy = i < 2 ? "pct:2:3000000" : "random"},
                    {racy}, racy + ":next_value"});
    const std::string signals = guest(flavour, "signals");
    runs.push_back({"signals-" + std::to_string(i),
                    {.arch = arch, .seed = 3 + i, .quantum = 3000, .cpus = 2, .strategy = "random"},
                    {signals}, signals + ":malloc"});
  }
  REQUIRE(runs.size() == 20);
  for (const Run& r : runs) {
    CAPTURE(r.name);
    exact_replay(r.name, r.opt, r.argv, r.uprobe);
  }
}

TEST_CASE("replay: pct:2 finds the racy counter's lost update within 100 runs for 10 seeds") {
  const std::string prog = guest("x86_64-glibc", "racy");
  for (uint64_t seed = 1; seed <= 10; ++seed) {
    CAPTURE(seed);
    // The step estimate: one pct:1 run (no change points) counts the run's steps.
    auto cal = Machine::create(Options{.seed = seed, .strategy = "pct:1"});
    REQUIRE(cal.ok());
    int cal_pid = cal.value()->spawn({prog}, {}).value();
    cal.value()->run();
    CHECK(counter_of(cal.value()->captured_stdout(cal_pid)) == 400000);  // depth 1: no preemption
    std::string strategy = "pct:2:" + std::to_string(cal.value()->stats().user_instructions);
    std::optional<uint64_t> found;
    std::string trace = tmp_path("racy-found.trace");
    Outcome rec;
    for (uint64_t run = 0; run < 100 && !found; ++run) {
      rec = record(Options{.seed = seed, .strategy = strategy, .run_index = run}, {prog}, trace);
      if (counter_of(rec.out) < 400000) found = run;
    }
    REQUIRE(found.has_value());
    Outcome again = replay(trace);
    check_same(rec, again);
    CHECK(counter_of(again.out) == counter_of(rec.out));
  }
}

TEST_CASE("strategies: run i of a strategy is a pure function of (seed, i)") {
  const std::string prog = guest("x86_64-glibc", "racy");
  auto one = [&](const std::string& strategy, uint64_t run) {
    auto m = Machine::create(Options{.seed = 5, .quantum = 4000, .cpus = 2, .strategy = strategy, .run_index = run});
    REQUIRE(m.ok());
    int pid = m.value()->spawn({prog}, {}).value();
    m.value()->run();
    return outcome_of(*m.value(), pid);
  };
  for (const char* s : {"random", "pct:3:3000000"}) {
    CAPTURE(s);
    Outcome a = one(s, 7), b = one(s, 7), c = one(s, 8);
    CHECK(a.out == b.out);
    CHECK(a.picks == b.picks);
    CHECK(a.picks != c.picks);
  }
}

TEST_CASE("replay: a changed instruction is reported at the task that ran it, at the end of the "
          "quantum where it first ran") {
  // Record a copy of racy, then change next_value's `v + 1` into `v + 2` in that copy.
  std::string copy = tmp_path("racy-copy");
  fs::copy_file(guest("x86_64-glibc", "racy"), copy, fs::copy_options::overwrite_existing);
  std::string trace = tmp_path("racy-copy.trace");
  Outcome rec = record(Options{.seed = 1, .quantum = 5000, .cpus = 2, .strategy = "random"}, {copy}, trace);
  REQUIRE(rec.status == 0);
  auto m0 = Machine::create(Options{});
  auto inode = m0.value()->state().lookup_inode(copy);
  REQUIRE(inode.ok());
  auto off = m0.value()->state().uprobe_offset(*inode.value(), probes::parse_uprobe_spec(copy + ":next_value").value());
  REQUIRE(off.ok());
  m0.value()->state().inodes().iput(inode.value());
  std::fstream f(copy, std::ios::in | std::ios::out | std::ios::binary);
  std::vector<char> code(32);
  f.seekg(static_cast<long>(off.value().value));
  f.read(code.data(), 32);
  const char lea[] = {'\x48', '\x8d', '\x47', '\x01'};  // lea 0x1(%rdi),%rax
  auto at = std::search(code.begin(), code.end(), std::begin(lea), std::end(lea));
  REQUIRE(at != code.end());
  f.seekp(static_cast<long>(off.value().value) + (at - code.begin()) + 3);
  f.put('\x02');
  f.close();

  Outcome r = replay(trace);
  REQUIRE(r.divergence.has_value());
  REQUIRE(r.warnings.size() == 1);
  CHECK(r.warnings[0].find(copy + " changed since it was recorded") == 0);
  const Divergence& d = *r.divergence;
  CHECK(d.tid > 100);  // a worker thread, not main (tid 100), which never calls next_value
  bool regs_or_memory = d.what == "registers differ at a checkpoint" || d.what == "memory differs at a checkpoint";
  CHECK_MESSAGE(regs_or_memory, d.message());
  CHECK(d.where.find("racy-copy") != std::string::npos);
  CHECK(d.message().find("expected: task " + std::to_string(d.tid)) != std::string::npos);
  CHECK(d.message().find("actual:   task " + std::to_string(d.tid)) != std::string::npos);

  // The right instruction: the quantum in which the changed instruction first ran (a uprobe on
  // it, in a replay of the changed program, sees who ran it first and when) is the one reported,
  // at its end, the first checkpoint after the change.
  auto m = Machine::replay(trace);
  REQUIRE(m.ok());
  emu::MachineState& st = m.value()->state();
  mmu::Inode* ino = st.lookup_inode(copy).value();
  probes::UprobeConsumer first;
  std::optional<std::pair<int, uint64_t>> hit;  // (tid, the decision whose quantum ran it)
  first.handler = [&](probes::UprobeConsumer&, probes::Regs&, uint64_t&) {
    if (!hit) hit = {st.current_task()->tid(), st.replayer()->decisions_done() - 1};
    return 0;
  };
  auto u = st.uprobes().uprobe_register(*ino, FileOffset{off.value().value + (at - code.begin())}, first);
  REQUIRE(u.ok());
  m.value()->run();
  std::optional<Divergence> again = m.value()->divergence();
  st.uprobes().uprobe_unregister(u.value(), first);
  st.inodes().iput(ino);
  REQUIRE(hit.has_value());
  REQUIRE(again.has_value());
  CHECK(again->decision == d.decision);  // the probe moved nothing
  auto t = emu::load_trace(trace);
  REQUIRE(t.ok());
  REQUIRE(d.decision < t.value().decisions.size());
  const emu::TraceDecision& q = t.value().decisions[d.decision];
  CHECK(d.tid == hit->first);
  CHECK(d.decision == hit->second);
  CHECK(q.tid == hit->first);
  CHECK(d.insns == q.end);
}

TEST_CASE("replay: missing, foreign, truncated and corrupted traces are clear errors") {
  CHECK(Machine::replay("/nonexistent.trace").error().message.find("cannot read trace /nonexistent.trace") == 0);
  auto foreign = Machine::replay(guest("x86_64-glibc", "hello"));
  REQUIRE_FALSE(foreign.ok());
  CHECK(foreign.error().message.find("not a probesim trace") != std::string::npos);
  std::string trace = tmp_path("hello.trace");
  record(Options{.seed = 1}, {guest("x86_64-glibc", "hello")}, trace);
  std::ifstream in(trace, std::ios::binary);
  std::vector<char> bytes((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  std::string cut = tmp_path("cut.trace");
  std::ofstream(cut, std::ios::binary).write(bytes.data(), static_cast<long>(bytes.size() / 2));
  auto t = Machine::replay(cut);
  REQUIRE_FALSE(t.ok());
  CHECK(t.error().message.find("truncated probesim trace") != std::string::npos);
  bytes[bytes.size() / 2] ^= 0x40;
  std::string bad = tmp_path("bad.trace");
  std::ofstream(bad, std::ios::binary).write(bytes.data(), static_cast<long>(bytes.size()));
  auto c = Machine::replay(bad);
  REQUIRE_FALSE(c.ok());
  CHECK(c.error().message.find("corrupted probesim trace") != std::string::npos);
}

TEST_CASE("replay: the machine-wide limits come from the trace (a fork bomb stopped at 16 tasks)") {
  // forkbomb checks that fork and pthread_create fail with EAGAIN at exactly its argument; a
  // replay under the default limit (4096 tasks) would fork on and depart from the trace.
  const std::string p = guest("x86_64-glibc", "forkbomb");
  std::string trace = tmp_path("forkbomb.trace");
  Options opt{.seed = 4, .quantum = 3000, .cpus = 2, .strategy = "random"};
  opt.limits.tasks = 16;
  Outcome rec = record(opt, {p, "16"}, trace);
  REQUIRE(rec.status == 0);
  check_same(rec, replay(trace));
}

namespace {

struct Search {
  std::optional<uint64_t> run;
  Outcome outcome;
};

// Runs 0, 1, ... of `strategy` until the program exits with status 1, recording each run to
// `trace`; the first failing run's outcome.
Search search_runs(const std::string& prog, const std::string& strategy, uint64_t seed, uint64_t runs,
              const std::string& trace) {
  Search s;
  for (uint64_t run = 0; run < runs && !s.run; ++run) {
    s.outcome = record(Options{.seed = seed, .cpus = 2, .strategy = strategy, .run_index = run}, {prog}, trace);
    if (s.outcome.status == 1) s.run = run;
  }
  return s;
}

// One run without preemptions: its steps (and tasks) for pct's and bounded's estimates.
std::pair<uint64_t, size_t> calibrate(const std::string& prog, const std::string& strategy) {
  auto m = Machine::create(Options{.seed = 1, .cpus = 2, .strategy = strategy});
  REQUIRE(m.ok());
  int pid = m.value()->spawn({prog}, {}).value();
  m.value()->run();
  CHECK(m.value()->exit_of(pid)->shell_status == 0);  // no preemption: no bug
  std::set<int> tids;
  for (const SchedEvent& e : m.value()->schedule_log())
    if (e.tid >= 0) tids.insert(e.tid);
  return {m.value()->stats().user_instructions, tids.size()};
}

}  // namespace

TEST_CASE("races: pct:2 and bounded:2 find the 3-thread ordering bug of depth 2, which replays") {
  const std::string prog = guest("x86_64-glibc", "ordering");
  auto [steps, tasks] = calibrate(prog, "bounded:0");
  CHECK(tasks == 4);  // main and three threads
  std::string trace = tmp_path("ordering.trace");
  std::string bounded = "bounded:2:" + std::to_string(steps) + ":" + std::to_string(tasks);
  Search b = search_runs(prog, bounded, 1, 2000, trace);
  REQUIRE(b.run.has_value());
  CHECK(b.outcome.out.find("ordering bug hit: a=1 b=1") != std::string::npos);
  check_same(b.outcome, replay(trace));
  // The same search split by run index (what --jobs does) finds the same first run.
  Search again = search_runs(prog, bounded, 1, *b.run + 1, trace);
  CHECK(again.run == b.run);
  std::string pct = "pct:2:" + std::to_string(calibrate(prog, "pct:1").first);
  for (uint64_t seed = 1; seed <= 3; ++seed) {
    CAPTURE(seed);
    Search p = search_runs(prog, pct, seed, 200, trace);
    REQUIRE(p.run.has_value());
    check_same(p.outcome, replay(trace));
  }
}

TEST_CASE("races: the check-then-act atomicity violation is found by bounded:1 and pct:2, and replays") {
  const std::string prog = guest("x86_64-glibc", "atomicity");
  auto [steps, tasks] = calibrate(prog, "bounded:0");
  std::string trace = tmp_path("atomicity.trace");
  Search b = search_runs(prog, "bounded:1:" + std::to_string(steps) + ":" + std::to_string(tasks), 1, 1000, trace);
  REQUIRE(b.run.has_value());
  CHECK(b.outcome.out == "balance -100: overdrawn\n");
  check_same(b.outcome, replay(trace));
  Search p = search_runs(prog, "pct:2:" + std::to_string(calibrate(prog, "pct:1").first), 1, 100, trace);
  REQUIRE(p.run.has_value());
  check_same(p.outcome, replay(trace));
}

TEST_CASE("bounded: a run index beyond the enumeration is a clear error") {
  auto m = Machine::create(Options{.strategy = "bounded:1:650:2", .run_index = 65});
  REQUIRE(!m.ok());
  CHECK(m.error().message == "run index 65 is beyond the 65 schedules of bounded:1:650:2");
  CHECK(Machine::create(Options{.strategy = "bounded:1:650:2", .run_index = 64}).ok());
  CHECK(strategy_runs("bounded:1:650:2").value() == 65u);
  CHECK(!strategy_runs("pct:2").value());
  CHECK(!strategy_runs("fifo").ok());
}

TEST_CASE("races: an AB-BA deadlock is found and reported with each task's wait point") {
  const std::string prog = guest("x86_64-glibc", "deadlock");
  std::optional<std::string> report;
  for (uint64_t run = 0; run < 200 && !report; ++run) {
    auto m = Machine::create(Options{.seed = 1, .cpus = 2, .strategy = "bounded:1:400000:2", .run_index = run});
    REQUIRE(m.ok());
    int pid = m.value()->spawn({prog, "abba"}, {}).value();
    m.value()->run();
    if (m.value()->exit_of(pid)) continue;
    std::vector<Machine::BlockedTask> blocked = m.value()->blocked_tasks();
    REQUIRE(blocked.size() == 2);
    report = blocked[0].describe() + "; " + blocked[1].describe();
  }
  REQUIRE(report.has_value());
  // Both threads wait on a futex inside glibc's mutex lock path, each on the mutex the other
  // holds: main (A then B) on lock_b, the thread (B then A) on lock_a.
  CAPTURE(*report);
  CHECK(std::regex_search(*report, std::regex("task 100 waits on a futex 0x[0-9a-f]+ <lock_b> at pc 0x")));
  CHECK(std::regex_search(*report, std::regex("task 101 waits on a futex 0x[0-9a-f]+ <lock_a> at pc 0x")));
  CHECK(report->find("deadlock)>") != std::string::npos);
}

namespace {

// The memory digests of a recorded trace, checked against Recorder's rule: the first checkpoint,
// then the first checkpoint after kMemoryDigestInsns user instructions retired machine-wide
// since the last digest's quantum, up to (not including) the checkpoint's own quantum.
size_t memory_digests_by_rule(const emu::Trace& t) {
  REQUIRE(!t.checkpoints.empty());
  CHECK(t.checkpoints.front().memory.has_value());
  size_t digests = 0, next_decision = 0;
  uint64_t since = 0;
  for (const emu::TraceCheckpoint& c : t.checkpoints) {
    for (; next_decision < c.decision; ++next_decision)
      since += t.decisions[next_decision].end - t.decisions[next_decision].start;
    const bool due = digests == 0 || since >= emu::Recorder::kMemoryDigestInsns;
    CAPTURE(c.decision);
    CHECK(c.memory.has_value() == due);
    if (!c.memory) continue;
    ++digests;
    since = 0;
    next_decision = c.decision + 1;  // the count restarts after the digest's own quantum
  }
  return digests;
}

}  // namespace

TEST_CASE("record: memory digests follow the instructions retired, not the number of quanta") {
  std::string p = guest("x86_64-glibc", "racy");
  size_t checkpoints[2], digests[2];
  uint64_t quanta[2] = {1000, 20000};
  for (int i = 0; i < 2; ++i) {
    std::string trace = tmp_path("digests-" + std::to_string(quanta[i]) + ".trace");
    Outcome rec = record({.arch = Arch::X86_64, .seed = 5, .quantum = quanta[i], .cpus = 2, .strategy = "random"},
                         {p}, trace);
    REQUIRE(rec.status == 0);
    auto t = emu::load_trace(trace);
    REQUIRE_MESSAGE(t.ok(), (t.ok() ? "" : t.error().message));
    checkpoints[i] = t.value().checkpoints.size();
    digests[i] = memory_digests_by_rule(t.value());
  }
  // racy retires ~2.9M user instructions: 10-11 digests at either quantum, though the 20x
  // smaller quantum makes 21x the checkpoints (5,641 against 263 for seed 5).
  CHECK(checkpoints[0] > 10 * checkpoints[1]);
  CHECK(digests[0] >= 8);
  CHECK(digests[0] <= digests[1] + 2);
  CHECK(digests[1] <= digests[0] + 2);
}
