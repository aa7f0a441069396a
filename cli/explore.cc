#include "cli/explore.h"

#include <sys/mman.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <cinttypes>
#include <cstdio>
#include <cstring>
#include <regex>
#include <set>
#include <thread>

#include "cli/cli_probes.h"
#include "cli/explore_dask.h"
#include "cli/explore_options.h"
#include "cli/run_options.h"
#include "probesim/machine.h"


namespace probesim::cli {
namespace {

constexpr int kExitUsage = 2;
constexpr int kExitError = 126;

struct RunResult {
  bool failed = false;
  std::string why;
  std::unique_ptr<Machine> machine;  // kept when recording (its trace, its symbols)
  uint64_t steps = 0;
  uint64_t points = 0;  // scheduling points (atomics, syscalls)
  uint64_t tasks = 0;  // distinct tasks that ran
};

// "deadlock: N task(s) blocked forever: task T waits on a futex 0x... <lock_a> at pc ... <where>;
// ...".
std::string deadlock_text(const Machine& m) {
  std::vector<Machine::BlockedTask> blocked = m.blocked_tasks();
  std::string s = "deadlock: " + std::to_string(blocked.size()) + " task(s) blocked forever";
  for (size_t i = 0; i < blocked.size(); ++i) s += (i ? "; " : ": ") + blocked[i].describe();
  return s;
}

// Whether a finished run meets the --until condition, and how to say so.
void judge(const ExploreOptions& o, Machine& m, int pid, RunResult& r) {
  std::optional<ProcessExit> e = m.exit_of(pid);
  std::string what = e ? e->description : deadlock_text(m);
  switch (o.until) {
    case ExploreOptions::Until::ExitNonZero: r.failed = !e || e->shell_status != 0; break;
    case ExploreOptions::Until::Signal: r.failed = e && e->signaled; break;
    case ExploreOptions::Until::Deadlock: r.failed = !e; break;
    case ExploreOptions::Until::Invariant: {
      std::vector<std::string> v = m.invariant_violations();
      r.failed = !v.empty();
      if (r.failed) what = "invariant violated: " + v.front() + "; " + what;
      break;
    }
    case ExploreOptions::Until::Stdout:
      r.failed = std::regex_search(m.captured_stdout(pid), std::regex(o.stdout_regex));
      if (r.failed) what = "stdout matched /" + o.stdout_regex + "/; " + what;
      break;
  }
  r.why = what;
}

// One schedule: run `run` of `strategy` (or the guided schedule: its preemptions and the
// choices to repeat where a task stopped by itself), recording when asked.
enum class Watch { None, Memory };  // Memory: name the conflicting accesses (Machine::watch_memory)

Result<RunResult> run_one(const ExploreOptions& o, Arch arch, const std::string& strategy,
                          uint64_t run, const std::vector<Preemption>& guided, bool record,
                          const std::vector<Preemption>& choices = {}, Watch watch = Watch::None) {
  Options opt{.arch = arch, .root = o.root, .seed = o.seed, .quantum = o.quantum,
              .cpus = static_cast<int>(o.cpus), .strategy = strategy, .run_index = run,
              .preemptions = guided, .choices = choices, .bugs = o.bugs};
  opt.kprobe_optimize_delay_ns = o.optimize_delay_ns;
  auto m = PROBESIM_TRY(Machine::create(opt));
  if (record) PROBESIM_TRY_VOID(m->start_recording());
  if (watch == Watch::Memory) PROBESIM_TRY_VOID(m->watch_memory());
  auto probes = PROBESIM_TRY(CliProbes::attach_queued(*m, o.uprobes, o.kprobes));
  int pid = PROBESIM_TRY(m->spawn(o.argv, guest_env(o.env, o.env_clear), Stdio::Capture, {}, guest_cwd(o.root)));
  m->run();
  RunResult r;
  judge(o, *m, pid, r);
  r.steps = m->stats().user_instructions;
  r.points = m->stats().scheduling_points;
  std::set<int> tids;
  for (const SchedEvent& e : m->schedule_log())
    if (e.tid >= 0) tids.insert(e.tid);
  r.tasks = tids.size();
  probes.reset();  // before the machine goes (they unregister)
  if (record) r.machine = std::move(m);
  return r;
}

std::string failure_path(const ExploreOptions& o, uint64_t run) {
  if (!o.save.empty()) return o.save;
  return "./probesim-failure-" + std::to_string(o.seed) + "-" + std::to_string(run) + ".trace";
}

// pct:D and bounded:K without a step estimate: one run without preemptions (pct:1, bounded:0)
// counts the steps and the scheduling points (atomics and syscalls), and for bounded the tasks
// that ran (a preemption picks one of the others).
Result<std::string> calibrated(const ExploreOptions& o, Arch arch) {
  bool pct = o.strategy.starts_with("pct:"), bounded = o.strategy.starts_with("bounded:");
  size_t head = pct ? 4 : 8;
  if ((!pct && !bounded) || o.strategy.find(':', head) != std::string::npos) return o.strategy;
  RunResult r = PROBESIM_TRY(run_one(o, arch, pct ? "pct:1" : "bounded:0", 0, {}, false));
  std::string s = o.strategy + ":" + std::to_string(std::max<uint64_t>(r.steps, 1));
  if (bounded) s += ":" + std::to_string(std::clamp<uint64_t>(r.tasks, 2, 64));
  s += ":" + std::to_string(r.points);
  std::fprintf(stderr, "probesim: explore: %" PRIu64 " steps and %" PRIu64 " scheduling points per run; strategy %s\n",
               r.steps, r.points, s.c_str());
  return s;
}

constexpr unsigned kMaxJobs = 256;

struct Shared {  // between --jobs workers (MAP_SHARED)
  std::atomic<uint64_t> first_failure;
  std::atomic<uint64_t> done;
  uint64_t found[kMaxJobs];  // worker k's failing run, or ~0
};

std::string part_path(const ExploreOptions& o, uint64_t run) {
  return failure_path(o, run) + ".run" + std::to_string(run) + ".part";
}

void progress(const Shared& sh, uint64_t runs, std::chrono::steady_clock::time_point start, bool final) {
  if (!isatty(2)) return;
  double secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  uint64_t done = sh.done.load();
  bool found = sh.first_failure.load() != ~0ull;
  std::fprintf(stderr, "\rprobesim: explore: %" PRIu64 "/%" PRIu64 " schedules, %.1f schedules/s, %s%s",
               done, runs, secs > 0 ? done / secs : 0.0, found ? "1 failure" : "no failure",
               final ? "\n" : "");
}

// Runs k, k+jobs, k+2*jobs... until past the first failure any worker found; a failing run's
// trace is saved under its own name.
int worker(const ExploreOptions& o, Arch arch, const std::string& strategy, unsigned k, Shared& sh) {
  sh.found[k] = ~0ull;
  for (uint64_t run = o.first_run + k; run < o.first_run + o.runs && run < sh.first_failure.load();
       run += o.jobs) {
    auto r = run_one(o, arch, strategy, run, {}, true);
    if (!r) {
      std::fprintf(stderr, "probesim: %s\n", r.error().message.c_str());
      return kExitError;
    }
    ++sh.done;
    if (!r->failed) continue;
    if (auto saved = r->machine->save_trace(part_path(o, run)); !saved) {
      std::fprintf(stderr, "probesim: %s\n", saved.error().message.c_str());
      return kExitError;
    }
    sh.found[k] = run;
    uint64_t best = sh.first_failure.load();
    while (run < best && !sh.first_failure.compare_exchange_weak(best, run)) {
    }
    return 0;
  }
  return 0;
}

// Runs the schedules (serially, or in --jobs processes) and returns the first failing run.
Result<std::optional<uint64_t>> search(const ExploreOptions& o, Arch arch, const std::string& strategy) {
  void* mem = mmap(nullptr, sizeof(Shared), PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
  if (mem == MAP_FAILED) return Error::make(std::string("mmap: ") + std::strerror(errno));
  Shared& sh = *new (mem) Shared{};
  sh.first_failure = ~0ull;
  for (uint64_t& f : sh.found) f = ~0ull;
  auto start = std::chrono::steady_clock::now();
  std::fflush(nullptr);
  std::vector<pid_t> kids;
  for (unsigned k = 0; k < o.jobs; ++k) {
    pid_t pid = fork();
    if (pid == 0) _exit(worker(o, arch, strategy, k, sh));
    if (pid < 0) return Error::make(std::string("fork: ") + std::strerror(errno));
    kids.push_back(pid);
  }
  bool error = false;
  for (size_t left = kids.size(); left > 0;) {
    int status = 0;
    pid_t pid = waitpid(-1, &status, WNOHANG);
    if (pid > 0) {
      --left;
      error |= !WIFEXITED(status) || WEXITSTATUS(status) != 0;
    } else {
      progress(sh, o.runs, start, false);
      std::this_thread::sleep_for(std::chrono::milliseconds(100));
    }
  }
  progress(sh, o.runs, start, true);
  uint64_t first = sh.first_failure.load();
  // Workers may have saved later failures before hearing of an earlier one: keep the first.
  for (unsigned k = 0; k < o.jobs; ++k) {
    uint64_t run = sh.found[k];
    if (run == ~0ull) continue;
    if (run == first) std::rename(part_path(o, run).c_str(), failure_path(o, run).c_str());
    else ::unlink(part_path(o, run).c_str());
  }
  munmap(mem, sizeof(Shared));
  if (error && first == ~0ull) return Error::make("a worker failed");
  if (first == ~0ull) return std::optional<uint64_t>{};
  return std::optional<uint64_t>{first};
}

// --dask: the search on a Dask cluster (explore_dask.cc); the trace found goes where a local
// search puts it.
Result<std::optional<uint64_t>> search_dask(const ExploreOptions& o, Arch arch, const std::string& strategy) {
  std::string part = (o.save.empty() ? "./probesim-failure-" + std::to_string(o.seed) : o.save) + ".dask.part";
  auto first = PROBESIM_TRY(dask_search(o, arch, strategy, part));
  if (first && std::rename(part.c_str(), failure_path(o, *first).c_str()) != 0)
    return Error::make("explore --dask: cannot move " + part + " to " + failure_path(o, *first) + ": " +
                       std::strerror(errno));
  return first;
}

// Delta debugging (ddmin) over the failing run's preemptions, under the guided strategy:
// drop chunks of preemptions while the run still fails. Every run repeats the failing run's
// `choices` (who ran next where a task blocked, exited or yielded): those are no preemptions,
// and without them the guided strategy's own picks there lead elsewhere.
Result<std::vector<Preemption>> shrink(const ExploreOptions& o, Arch arch, std::vector<Preemption> p,
                                       const std::vector<Preemption>& choices, int* runs) {
  auto fails = [&](const std::vector<Preemption>& q) -> Result<bool> {
    ++*runs;
    RunResult r = PROBESIM_TRY(run_one(o, arch, "guided", 0, q, false, choices));
    return r.failed;
  };
  if (!PROBESIM_TRY(fails(p))) return Error::make("the failure does not reproduce when only its preemptions and choices are kept");
  if (PROBESIM_TRY(fails({}))) return std::vector<Preemption>{};
  size_t n = 2;
  while (p.size() >= 2) {
    bool reduced = false;
    size_t chunk = (p.size() + n - 1) / n;
    for (size_t start = 0; start < p.size() && !reduced; start += chunk) {  // a chunk alone
      std::vector<Preemption> part(p.begin() + static_cast<long>(start),
                                   p.begin() + static_cast<long>(std::min(p.size(), start + chunk)));
      if (part.size() < p.size() && PROBESIM_TRY(fails(part))) p = std::move(part), n = 2, reduced = true;
    }
    for (size_t start = 0; start < p.size() && !reduced; start += chunk) {  // its complement
      std::vector<Preemption> rest(p.begin(), p.begin() + static_cast<long>(start));
      rest.insert(rest.end(), p.begin() + static_cast<long>(std::min(p.size(), start + chunk)), p.end());
      if (PROBESIM_TRY(fails(rest))) p = std::move(rest), n = std::max<size_t>(n - 1, 2), reduced = true;
    }
    if (reduced) continue;
    if (n >= p.size()) break;
    n = std::min(p.size(), 2 * n);
  }
  return p;
}

std::string replay_command(const std::string& path) { return "probesim replay " + path; }

// Shrinks the failing trace at `path`, writes the shrunk run's trace and names its critical
// preemptions.
int shrink_and_report(const ExploreOptions& o, Arch arch, const std::string& path) {
  auto pre = trace_preemptions(path);
  if (!pre) return std::fprintf(stderr, "probesim: %s\n", pre.error().message.c_str()), kExitError;
  auto choices = trace_choices(path);
  if (!choices) return std::fprintf(stderr, "probesim: %s\n", choices.error().message.c_str()), kExitError;
  int runs = 0;
  auto kept = shrink(o, arch, pre.value(), choices.value(), &runs);
  if (!kept) {
    std::fprintf(stderr, "probesim: explore: not shrunk: %s\n", kept.error().message.c_str());
    return 1;
  }
  auto final_run =
      run_one(o, arch, "guided", 0, kept.value(), true, choices.value(), Watch::Memory);
  std::string shrunk = path.ends_with(".trace") ? path.substr(0, path.size() - 6) + ".shrunk.trace" : path + ".shrunk";
  if (!final_run || !final_run->failed || !final_run->machine->save_trace(shrunk)) {
    std::fprintf(stderr, "probesim: explore: the shrunk schedule did not fail again\n");
    return 1;
  }
  std::printf("shrunk: %zu of %zu preemptions needed (%d runs; the run's %zu choices where a task "
              "stopped by itself kept); trace %s\n",
              kept->size(), pre->size(), runs, choices->size(), shrunk.c_str());
  if (kept->empty()) std::printf("the failure needs no preemption (it happens in a non-preemptive schedule)\n");
  for (const Preemption& p : final_run->machine->recorded_preemptions()) {
    std::printf("critical preemption: %s\n", p.describe().c_str());
    if (!p.kernel.empty()) std::printf("in kernel terms: %s\n", p.kernel.c_str());
    if (!p.memory.empty()) std::printf("on memory: %s\n", p.memory.c_str());
  }
  std::printf("replay it with: %s\n", replay_command(shrunk).c_str());
  return 1;
}

}  // namespace

int explore_command(int argc, char** argv) {
  auto parsed = parse_explore_options(argc, argv);
  if (!parsed) return std::fprintf(stderr, "probesim: %s\n%s", parsed.error().message.c_str(), kExploreUsage), kExitUsage;
  ExploreOptions o = parsed.value();
  if (o.jobs > kMaxJobs) return kExitUsage;
  Arch arch = o.arch.value_or(Arch::X86_64);
  if (!o.arch) {
    auto a = detect_arch(o.root, o.argv[0], guest_cwd(o.root));
    if (!a) return std::fprintf(stderr, "probesim: %s\n", a.error().message.c_str()), kExitError;
    arch = a.value();
  }
  auto strategy = calibrated(o, arch);
  if (!strategy) return std::fprintf(stderr, "probesim: %s\n", strategy.error().message.c_str()), kExitError;
  auto total = strategy_runs(strategy.value());
  if (!total) return std::fprintf(stderr, "probesim: %s\n", total.error().message.c_str()), kExitUsage;
  bool exhaustive = total.value() && o.first_run + o.runs >= *total.value();
  if (total.value() && o.first_run >= *total.value())
    return std::fprintf(stderr, "probesim: explore: --from %" PRIu64 " is beyond the %" PRIu64 " schedules of %s\n",
                        o.first_run, *total.value(), strategy.value().c_str()), kExitUsage;
  if (exhaustive) o.runs = *total.value() - o.first_run;
  auto first = o.dask.empty() ? search(o, arch, strategy.value()) : search_dask(o, arch, strategy.value());
  if (!first) return std::fprintf(stderr, "probesim: %s\n", first.error().message.c_str()), kExitError;
  if (!first.value()) {
    std::printf("no failing schedule in %" PRIu64 " runs of %s (seed %" PRIu64 ", runs %" PRIu64 "..%" PRIu64 ")%s\n",
                o.runs, strategy.value().c_str(), o.seed, o.first_run, o.first_run + o.runs - 1,
                exhaustive ? ": every schedule of the enumeration explored" : "");
    return 0;
  }
  uint64_t run = *first.value();
  std::string path = failure_path(o, run);
  auto again = run_one(o, arch, strategy.value(), run, {}, false);
  std::printf("run %" PRIu64 " of %s (seed %" PRIu64 ") fails: %s\n", run, strategy.value().c_str(),
              o.seed, again ? again->why.c_str() : "?");
  std::printf("trace: %s\nreplay it with: %s\n", path.c_str(), replay_command(path).c_str());
  std::fflush(stdout);
  return o.shrink ? shrink_and_report(o, arch, path) : 1;
}

}  // namespace probesim::cli
