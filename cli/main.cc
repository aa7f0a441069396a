// probesim command line (usage: run_options.h):
//   probesim run [options] [--record TRACE] -- PROGRAM [ARGS...]
//   probesim replay TRACE [--strace] [--stats] [probes...]
//   probesim trace show TRACE
// The guest's stdout/stderr pass through; probesim exits with the guest's status (128+signal
// when it was killed). --strace/--stats write to --output FILE (default stderr).
#include <unistd.h>

#include <cerrno>
#include <cinttypes>
#include <optional>
#include <cstdio>
#include <cstring>
#include <string>
#include <vector>

#include "cli/cli_events.h"
#include "cli/cli_symbols.h"
#include "cli/cli_probes.h"
#include "cli/explore.h"
#include "cli/run_options.h"
#include "cli/run_outcome.h"
#include "probesim/machine.h"


namespace probesim::cli {
namespace {

constexpr int kExitUsage = 2;
constexpr int kExitError = 126;  // like a shell: the program could not be started
constexpr int kExitDiverged = 122;  // a replay departed from its trace

// The files --output and --sched-log name, opened (truncated) before anything runs, so an
// unwritable path is reported at once, not after the whole run. Null members: not requested
// (--output then means stderr).
struct OutputFiles {
  FILE* output = nullptr;
  FILE* sched_log = nullptr;
  ~OutputFiles() {
    if (output) std::fclose(output);
    if (sched_log) std::fclose(sched_log);
  }
};

Result<FILE*> open_for_writing(const char* flag, const std::string& path) {
  FILE* f = std::fopen(path.c_str(), "w");
  if (!f) return Error::make(std::string(flag) + " " + path + ": cannot write: " + std::strerror(errno));
  return f;
}

Result<void> open_outputs(const RunOptions& o, OutputFiles& files) {
  if (!o.output.empty()) files.output = PROBESIM_TRY(open_for_writing("--output", o.output));
  if (!o.sched_log.empty())
    files.sched_log = PROBESIM_TRY(open_for_writing("--sched-log", o.sched_log));
  return {};
}

// One line per scheduling decision: seq cpu tid reason insns time_ns.
void write_sched_log(FILE* f, const Machine& m) {
  uint64_t seq = 0;
  for (const SchedEvent& e : m.schedule_log())
    std::fprintf(f, "%" PRIu64 " cpu%d tid%d %s insns=%" PRIu64 " t=%" PRIu64 "\n", seq++, e.cpu,
                 e.tid, e.reason.c_str(), e.insns, e.time_ns);
}

void print_stats(FILE* out, const Stats& s) {
  std::fprintf(out, "instructions: %" PRIu64 "\n", s.instructions);
  std::fprintf(out, "cycles: %" PRIu64 "\n", s.cycles);
  std::fprintf(out, "virtual_time_s: %.9f\n", s.virtual_seconds);
  std::fprintf(out, "quanta: %" PRIu64 "\n", s.quanta);
  std::fprintf(out, "faults: %" PRIu64 "\n", s.faults);
  uint64_t total = 0;
  for (const auto& [name, n] : s.syscalls) total += n;
  std::fprintf(out, "syscalls: %" PRIu64 "\n", total);
  for (const auto& [name, n] : s.syscalls) std::fprintf(out, "  %-20s %" PRIu64 "\n", name.c_str(), n);
  uint64_t unknown = 0;
  for (const auto& [name, n] : s.unknown_syscalls) unknown += n;
  std::fprintf(out, "unknown_syscalls: %" PRIu64 "\n", unknown);
  for (const auto& [name, n] : s.unknown_syscalls)
    std::fprintf(out, "  %-20s %" PRIu64 "\n", name.c_str(), n);
}

// The machine of `probesim run`: configured from the options, recording if --record.
Result<std::unique_ptr<Machine>> make_machine(const RunOptions& o, const std::string& cwd) {
  Arch arch = o.arch.value_or(Arch::X86_64);
  // The program as the guest will find it: inside the root, from its cwd.
  if (!o.arch) arch = PROBESIM_TRY(detect_arch(o.root, o.argv[0], cwd));
  auto m = PROBESIM_TRY(Machine::create(Options{
      .arch = arch, .root = o.root, .seed = o.seed, .epoch = o.epoch, .quantum = o.quantum,
      .cpus = static_cast<int>(o.cpus), .kernel = o.kernel, .kprobe_boost = o.boost,
      .kprobe_optimization = o.optimize, .kprobe_optimize_delay_ns = o.optimize_delay_ns,
      .probe_cost = o.probe_cost, .kernel_cmdline = o.kernel_cmdline,
      .early_kprobes = o.early_kprobes,
      .limits = o.limits, .strategy = o.sched, .run_index = o.run_index, .bugs = o.bugs}));
  if (!o.trace.empty()) PROBESIM_TRY_VOID(m->start_recording());
  return m;
}

// What a replay found: the first divergence (kExitDiverged), or -1 when there was none (a
// replay stopped early by --max-insns/--max-time says nothing here).
int report_replay(const Machine& m, bool run_done) {
  std::optional<Divergence> d = m.divergence();
  if (!d) {
    if (run_done) std::fprintf(stderr, "probesim: replay followed the trace to its end: no divergence\n");
    return -1;
  }
  std::fprintf(stderr, "probesim: %s\n", d->message().c_str());
  return kExitDiverged;
}

int run(const RunOptions& o) {
  OutputFiles files;
  if (auto opened = open_outputs(o, files); !opened) {
    std::fprintf(stderr, "probesim: %s\n", opened.error().message.c_str());
    return kExitError;
  }
  bool replay = o.command == RunOptions::Command::Replay;
  const std::string cwd = guest_cwd(o.root);
  auto machine = replay ? Machine::replay(o.trace, Stdio::PassThrough) : make_machine(o, cwd);
  if (!machine) {
    std::fprintf(stderr, "probesim: %s\n", machine.error().message.c_str());
    return kExitError;
  }
  Machine& m = *machine.value();
  for (const std::string& w : m.replay_warnings()) std::fprintf(stderr, "probesim: warning: %s\n", w.c_str());
  FILE* out = files.output ? files.output : stderr;
  auto probes = CliProbes::attach(m, o);
  if (!probes) {
    std::fprintf(stderr, "probesim: %s\n", probes.error().message.c_str());
    return kExitError;
  }
  // A replay queues the recorded kernel work again, in the recorded order.
  for (const std::string& k : m.replay_kernel_work()) {
    if (auto added = probes.value()->add_kernel_work(k); !added) {
      std::fprintf(stderr, "probesim: the trace's kernel work: %s\n",
                   added.error().message.c_str());
      return kExitError;
    }
  }
  auto events = CliEvents::attach(m, o);  // -e: destroyed before the machine
  if (!events) {
    std::fprintf(stderr, "probesim: %s\n", events.error().message.c_str());
    return kExitError;
  }
  if (o.strace)
    m.set_strace([out](const std::string& line) { std::fprintf(out, "%s\n", line.c_str()); },
                 o.strace_string_size);
  Result<int> pid = replay ? Result<int>(m.replay_pid())
                           : m.spawn(o.argv, guest_env(o.env, o.env_clear), Stdio::PassThrough, {}, cwd);
  if (!pid) {
    std::fprintf(stderr, "probesim: %s\n", pid.error().message.c_str());
    return kExitError;
  }
  // A replay names its trace where a run names its program (messages about the run's end).
  RunOptions shown = o;
  if (replay) shown.argv = {o.trace};
  m.set_time_limit(o.max_time_ns);
  bool done = m.run(o.max_insns);
  if (events.value()) events.value()->emit();
  if (files.sched_log) write_sched_log(files.sched_log, m);
  if (!replay && !o.trace.empty()) {
    if (auto saved = m.save_trace(o.trace); !saved) {
      std::fprintf(stderr, "probesim: %s\n", saved.error().message.c_str());
      return kExitError;
    }
  }
  if (replay) {
    int status = report_replay(m, done);
    if (status >= 0) return status;
  }
  if (std::optional<RunEnd> end = abnormal_end(m, shown, pid.value(), done)) {
    std::fprintf(stderr, "probesim: %s\n", end->message.c_str());
    if (o.stats) print_stats(out, m.stats());
    if (o.stats) probes.value()->report(out);
    return end->status;
  }
  ProcessExit e = *m.exit_of(pid.value());
  if (e.signaled)
    std::fprintf(stderr, "probesim: %s (pid %d) %s\n", shown.argv[0].c_str(), pid.value(),
                 e.description.c_str());
  if (o.stats) print_stats(out, m.stats());
  if (o.stats || !o.kprobes.empty() || !o.kretprobes.empty() || !o.uprobes.empty() ||
      !o.uretprobes.empty() || !o.early_kprobes.empty() || !m.replay_kernel_work().empty())
    probes.value()->report(out);
  return e.shell_status;
}

// `probesim trace show TRACE`
int trace_command(int argc, char** argv) {
  if (argc != 4 || std::string(argv[2]) != "show") {
    std::fprintf(stderr, "usage: probesim trace show TRACE\n");
    return kExitUsage;
  }
  Result<std::string> text = describe_trace(argv[3]);
  if (!text) {
    std::fprintf(stderr, "probesim: %s\n", text.error().message.c_str());
    return kExitError;
  }
  std::fputs(text.value().c_str(), stdout);
  return 0;
}

}  // namespace

// The guest starts in the host's working directory when that lies inside the guest root
// (always, for the default root "/"), else in "/".
std::string guest_cwd(const std::string& root) {
  char buf[4096];
  if (!::getcwd(buf, sizeof buf)) return "/";
  std::string cwd = buf;
  std::string r = root;
  while (r.size() > 1 && r.back() == '/') r.pop_back();
  if (r == "/") return cwd;
  if (cwd == r) return "/";
  if (cwd.rfind(r + "/", 0) == 0) return cwd.substr(r.size());
  return "/";
}

}  // namespace probesim::cli

int main(int argc, char** argv) {
  using namespace probesim::cli;
  if (argc > 1 && std::string(argv[1]) == "trace") return trace_command(argc, argv);
  if (argc > 1 && std::string(argv[1]) == "explore") return explore_command(argc, argv);
  if (argc > 1 && std::string(argv[1]) == "events") return events_command(argc, argv);
  if (argc > 1 && std::string(argv[1]) == "symbols") return symbols_command(argc, argv);
  auto opts = parse_run_options(argc, argv);
  if (!opts) {
    std::fprintf(stderr, "probesim: %s\n%s", opts.error().message.c_str(), kUsage);
    return kExitUsage;
  }
  if (opts->help) {
    std::fputs(run_help().c_str(), stdout);
    return 0;
  }
  return run(opts.value());
}
