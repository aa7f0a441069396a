#include "cli/run_options.h"

#include <unistd.h>  // environ

#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <optional>
#include <string_view>

#include "probesim/machine.h"

namespace probesim::cli {
namespace {

Result<uint64_t> parse_u64(std::string_view flag, const std::string& v) {
  char* end = nullptr;
  errno = 0;
  unsigned long long n = std::strtoull(v.c_str(), &end, 0);
  if (v.empty() || *end != '\0' || errno != 0 || v[0] == '-')
    return Error::make(std::string(flag) + " needs a non-negative integer, got '" + v + "'");
  return static_cast<uint64_t>(n);
}

// A finite decimal from 0 to 1000 (a scale factor such as --probe-cost's).
Result<double> parse_scale(const std::string& v, std::string_view flag) {
  char* end = nullptr;
  errno = 0;
  const double x = std::strtod(v.c_str(), &end);
  if (v.empty() || *end != '\0' || errno != 0 || !(x >= 0 && x <= 1000))
    return Error::make(std::string(flag) + " needs a number from 0 to 1000, got '" + v + "'");
  return x;
}

Result<std::optional<Arch>> parse_arch(const std::string& v) {
  if (v == "auto") return std::optional<Arch>{};
  if (v == "x86_64" || v == "x86-64" || v == "amd64") return std::optional<Arch>{Arch::X86_64};
  if (v == "aarch64" || v == "arm64") return std::optional<Arch>{Arch::AArch64};
  return Error::make("--arch must be auto, x86_64 or aarch64, got '" + v + "'");
}

}  // namespace

Result<uint64_t> parse_size(std::string_view flag, const std::string& v) {
  const std::string bad = std::string(flag) + " needs a size (bytes, or a number with K, M or G), got '" + v + "'";
  if (v.empty() || v[0] < '0' || v[0] > '9') return Error::make(bad);
  char* end = nullptr;
  errno = 0;
  const unsigned long long n = std::strtoull(v.c_str(), &end, 10);
  const std::string_view suffix(end);
  int shift = 0;
  if (suffix == "K" || suffix == "k") shift = 10;
  else if (suffix == "M" || suffix == "m") shift = 20;
  else if (suffix == "G" || suffix == "g") shift = 30;
  else if (!suffix.empty()) return Error::make(bad);
  if (errno != 0 || n > (~uint64_t{0} >> shift)) return Error::make(std::string(flag) + ": '" + v + "' is too large");
  return static_cast<uint64_t>(n) << shift;
}

// "sym", "sym+off" (offset in any base strtoull takes) or a number (an address).
Result<ProbeSpec> parse_probe_spec(std::string_view flag, const std::string& v) {
  ProbeSpec p;
  p.text = v;
  if (v.empty()) return Error::make(std::string(flag) + " needs SYMBOL[+OFFSET] or an address");
  if (v[0] >= '0' && v[0] <= '9') {
    p.addr = PROBESIM_TRY(parse_u64(flag, v));
    // Address 0 would mean "no address" to register_kprobe; no kernel text lives there.
    if (p.addr == 0)
      return Error::make(std::string(flag) + " " + v +
                         ": address 0 is not in the guest kernel; give SYMBOL[+OFFSET] or a kernel "
                         "text address");
    return p;
  }
  size_t plus = v.find('+');
  p.symbol = v.substr(0, plus);
  if (plus != std::string::npos) p.offset = PROBESIM_TRY(parse_u64(flag, v.substr(plus + 1)));
  if (p.symbol.empty()) return Error::make(std::string(flag) + ": empty symbol in '" + v + "'");
  return p;
}

Result<ProbeSpec> parse_kprobe_option(const std::string& v) {
  const size_t at = v.rfind('@');
  if (at == std::string::npos) return parse_probe_spec("--kprobe", v);
  ProbeSpec p = PROBESIM_TRY(parse_probe_spec("--kprobe", v.substr(0, at)));
  const std::string steps = v.substr(at + 1);
  const size_t dash = steps.find('-');
  const std::string n = steps.substr(0, dash);
  const std::string m = dash == std::string::npos ? "0" : steps.substr(dash + 1);
  auto bad = [](const std::string& s) {
    return s.empty() || s.find_first_not_of("0123456789") != std::string::npos;
  };
  if ((bad(n) && n != "now") || bad(m))
    return Error::make("--kprobe " + v + ": bad steps '@" + steps +
                       "': SPEC@N (registered at N) or SPEC@N-M (and unregistered at M) take "
                       "counts of scheduling steps; N may be 'now' (registered at once)",
                       EINVAL);
  if (n != "now") p.at = PROBESIM_TRY(parse_u64("--kprobe", n));
  if (dash != std::string::npos) {
    p.until = PROBESIM_TRY(parse_u64("--kprobe", m));
    if (p.at && *p.until < *p.at)
      return Error::make("--kprobe " + v + ": unregistered at " + m + " before registered at " +
                         n, EINVAL);
  }
  p.text = v;
  return p;
}

Result<uint64_t> parse_virtual_duration(std::string_view flag, const std::string& v) {
  struct Unit {
    const char* suffix;
    uint64_t ns;
  };
  static constexpr Unit kUnits[] = {{"ns", 1}, {"us", 1'000}, {"ms", 1'000'000}, {"s", 1'000'000'000}};
  size_t digits = 0;
  while (digits < v.size() && v[digits] >= '0' && v[digits] <= '9') ++digits;
  std::string unit = v.substr(digits);
  for (const Unit& u : kUnits) {
    if (digits == 0 || unit != u.suffix) continue;
    errno = 0;
    uint64_t n = std::strtoull(v.substr(0, digits).c_str(), nullptr, 10);
    if (errno == 0 && n > 0 && n <= UINT64_MAX / u.ns) return n * u.ns;
  }
  return Error::make(std::string(flag) + " needs a virtual duration such as 500us, 10ms or 2s " +
                     "(a positive integer and a unit: ns, us, ms, s), got '" + v + "'");
}

namespace {

// Days since 1970-01-01 of a proleptic Gregorian date (H. Hinnant's days_from_civil).
int64_t days_from_civil(int64_t y, int64_t m, int64_t d) {
  y -= m <= 2;
  const int64_t era = (y >= 0 ? y : y - 399) / 400;
  const int64_t yoe = y - era * 400;
  const int64_t doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
  const int64_t doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
  return era * 146097 + doe - 719468;
}

bool leap(int64_t y) { return (y % 4 == 0 && y % 100 != 0) || y % 400 == 0; }

// YYYY-MM-DD[THH:MM:SS[Z]] as seconds since 1970 (UTC), or nothing if malformed.
std::optional<int64_t> parse_utc_date(const std::string& v) {
  int y, mo, d, h = 0, mi = 0, s = 0, n = 0;
  if (std::sscanf(v.c_str(), "%4d-%2d-%2d%n", &y, &mo, &d, &n) != 3 || n != 10) return std::nullopt;
  std::string rest = v.substr(10);
  if (!rest.empty()) {
    int m = 0;
    if (std::sscanf(rest.c_str(), "T%2d:%2d:%2d%n", &h, &mi, &s, &m) != 3 || m != 9) return std::nullopt;
    rest = rest.substr(9);
    if (!rest.empty() && rest != "Z") return std::nullopt;
  }
  static constexpr int kDays[] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
  if (mo < 1 || mo > 12 || d < 1 || d > kDays[mo - 1] + (mo == 2 && leap(y))) return std::nullopt;
  if (h > 23 || mi > 59 || s > 59 || h < 0 || mi < 0 || s < 0) return std::nullopt;
  return days_from_civil(y, mo, d) * 86400 + h * 3600 + mi * 60 + s;
}

}  // namespace

Result<int64_t> parse_epoch(std::string_view flag, const std::string& v) {
  std::optional<int64_t> secs;
  if (!v.empty() && v.find_first_not_of("0123456789") == std::string::npos && v.size() <= 12)
    secs = std::stoll(v);
  else
    secs = parse_utc_date(v);
  if (secs && *secs >= 0 && *secs <= kMaxEpoch) return *secs;
  return Error::make(std::string(flag) + " needs seconds since 1970 or a UTC date " +
                     "YYYY-MM-DD[THH:MM:SS], from 1970-01-01 to 9999-12-31, got '" + v + "'");
}

namespace {

// `--sched` values: a strategy (checked by Machine::create), or replay:FILE, which makes the run
// a replay of FILE (its decisions, configuration and inputs: what `replay FILE` does).
Result<void> set_sched(RunOptions& o, const std::string& v) {
  if (v.starts_with("replay:") && v.size() > 7 && o.command == RunOptions::Command::Run) {
    o.command = RunOptions::Command::Replay;
    o.trace = v.substr(7);
    return {};
  }
  if (v != "rr" && v != "random" && !v.starts_with("pct:") && !v.starts_with("bounded:"))
    return Error::make("--sched must be rr, random, pct:D[:STEPS[:POINTS]], bounded:K[:STEPS[:TASKS[:POINTS]]] or "
                       "replay:FILE, got '" + v + "'");
  o.sched = v;
  return {};
}

Result<void> set_env(RunOptions& o, const std::string& kv) {
  if (kv.find('=') == std::string::npos || kv[0] == '=')
    return Error::make("--env needs KEY=VALUE, got '" + kv + "'");
  o.env.push_back(kv);
  return {};
}

Result<void> add_early_kprobe(RunOptions& o, const std::string& v) {
  const ProbeSpec s = PROBESIM_TRY(parse_probe_spec("--early-kprobe", v));
  if (s.symbol.empty()) return Error::make("--early-kprobe takes SYM[+OFF], got '" + s.text + "'");
  o.early_kprobes.push_back(s.text);
  return {};
}

Result<void> set_max_insns(RunOptions& o, const std::string& v) {
  o.max_insns = PROBESIM_TRY(parse_u64("--max-insns", v));
  if (o.max_insns == 0) return Error::make("--max-insns must be at least 1");
  return {};
}

Result<void> set_max_time(RunOptions& o, const std::string& v) {
  o.max_time_text = v;
  o.max_time_ns = PROBESIM_TRY(parse_virtual_duration("--max-time", v));
  return {};
}

// One flag of `run`/`replay`: how it is spelled, its value's name (empty: a switch), what it
// sets, whether a replay takes it from the trace instead, its description and default.
struct RunFlag {
  std::string_view name, alias, metavar;
  Result<void> (*apply)(RunOptions&, const std::string& value);
  bool config;  // replay: the trace sets it
  std::string_view help, default_text;
};

// Lambdas for the table: a field parsed from the value, or a statement.
#define PROBESIM_PARSE(field, parse, flag) \
  [](RunOptions& o, const std::string& v) -> Result<void> { \
    o.field = PROBESIM_TRY(parse(flag, v)); \
    return {}; \
  }
#define PROBESIM_SET(expr) [](RunOptions& o, const std::string& v) -> Result<void> { \
    (void)v; \
    expr; \
    return {}; \
  }

// clang-format off
const RunFlag kRunFlags[] = {
  {"--arch", "", "ARCH", [](RunOptions& o, const std::string& v) -> Result<void> {
     o.arch = PROBESIM_TRY(parse_arch(v)); return {}; }, true,
   "auto, x86_64 or aarch64: the guest's architecture (auto: from the ELF header)", "auto"},
  {"--root", "", "DIR", PROBESIM_SET(o.root = v), true,
   "host directory shown as the guest's / (read-only; guest writes go to an overlay)", "/"},
  {"--seed", "", "N", PROBESIM_PARSE(seed, parse_u64, "--seed"), true,
   "seed of every random input (AT_RANDOM, getrandom, /dev/urandom, random schedules)", "0"},
  {"--epoch", "", "WHEN", PROBESIM_PARSE(epoch, parse_epoch, "--epoch"), true,
   "the guest's wall clock at boot: seconds since 1970 or YYYY-MM-DD[THH:MM:SS]", "2024-01-01"},
  {"--quantum", "", "N", PROBESIM_PARSE(quantum, parse_u64, "--quantum"), true,
   "instructions a task runs before the scheduler may switch (at least 1)", "1000000"},
  {"--cpus", "", "N", PROBESIM_PARSE(cpus, parse_u64, "--cpus"), true, "logical CPUs simulated (1 to 64)", "1"},
  {"--sched", "", "STRATEGY", set_sched, true,
   "rr, random, pct:D[:STEPS[:POINTS]], bounded:K[:STEPS[:TASKS[:POINTS]]] or replay:TRACE (= replay TRACE)",
   "rr"},
  {"--run-index", "", "N", PROBESIM_PARSE(run_index, parse_u64, "--run-index"), true,
   "which run of the strategy for this seed (pct, bounded, random)", "0"},
  {"--record", "", "TRACE", PROBESIM_SET(o.trace = v), true,
   "record the run into TRACE (compressed; `probesim replay TRACE` reproduces it)", "none"},
  {"--sched-log", "", "FILE", PROBESIM_SET(o.sched_log = v), false,
   "write every scheduling decision to FILE", "none"},
  {"--strace", "", "", PROBESIM_SET(o.strace = true), false,
   "log every syscall strace-style to --output", "off"},
  {"--string-size", "-s", "N", PROBESIM_PARSE(strace_string_size, parse_u64, "-s"), false,
   "--strace shows at most N bytes of each string or buffer, as strace -s", "32"},
  {"--stats", "", "", PROBESIM_SET(o.stats = true), false,
   "print instructions, cycles, virtual time, syscalls and faults after the run", "off"},
  {"--output", "", "FILE", PROBESIM_SET(o.output = v), false,
   "where --strace, --stats and probe counts go", "stderr"},
  {"--env-clear", "", "", PROBESIM_SET(o.env_clear = true), true,
   "start the guest with an empty environment instead of the host's", "off"},
  {"--env", "", "KEY=VALUE", set_env, true,
   "set one guest environment variable (repeatable; replaces the host's)", "none"},
  {"--no-kernel", "", "", PROBESIM_SET(o.kernel = false), true,
   "skip the guest kernel: syscalls go straight to the model (no kprobes)", "kernel on"},
  {"--no-boost", "", "", PROBESIM_SET(o.boost = false), true,
   "x86 kprobes always take the second (single-step) trap", "boost on"},
  {"--probe-cost", "", "X", [](RunOptions& o, const std::string& v) -> Result<void> {
     o.probe_cost = PROBESIM_TRY(parse_scale(v, "--probe-cost")); return {}; }, false,
   "scale of every probe hit's modelled cycles; 0 = observer mode (probes change no clock)",
   "1"},
  {"--no-optimize", "", "", PROBESIM_SET(o.optimize = false), true,
   "debug.kprobes-optimization = 0: no jump-optimized kprobes", "optimize on"},
  {"--optimize-delay", "", "DURATION",
   PROBESIM_PARSE(optimize_delay_ns, parse_virtual_duration, "--optimize-delay"), true,
   "OPTIMIZE_DELAY: virtual time from queueing a kprobe for optimization to the optimizer's "
   "text pokes (Linux: 5 jiffies; shorter: a short run sees them race the CPUs)", "20ms"},
  {"--kernel-cmdline", "", "TEXT", PROBESIM_SET(o.kernel_cmdline = v), true,
   "the guest kernel's command line (e.g. ekprobe=SYM)", "empty"},
  {"--kprobe", "", "SYM[+OFF]|ADDR[@N[-M]]", [](RunOptions& o, const std::string& v) -> Result<void> {
     o.kprobes.push_back(PROBESIM_TRY(parse_kprobe_option(v))); return {}; }, false,
   "a counting kprobe on a guest kernel function (repeatable; hits reported after the run; "
   "@N: registered by the kworker at N scheduling steps, its text pokes racing the CPUs; "
   "@N-M: and unregistered by it at M; @now-M: registered at once, unregistered by it at M)",
   "none"},
  {"--early-kprobe", "", "SYM[+OFF]", add_early_kprobe, true,
   "a counting kprobe registered during boot, before init_kprobes (repeatable)", "none"},
  {"--kretprobe", "", "SYM", [](RunOptions& o, const std::string& v) -> Result<void> {
     o.kretprobes.push_back(PROBESIM_TRY(parse_probe_spec("--kretprobe", v))); return {}; },
   false, "a counting kretprobe on a guest kernel function (repeatable)", "none"},
  {"--uprobe", "", "PATH:SYM[+OFF]|PATH:OFFSET[@N[-M]]", PROBESIM_SET(o.uprobes.push_back(v)),
   false,
   "a counting uprobe on a program file's instruction, in every process mapping it "
   "(repeatable; @N: registered by the kworker at N scheduling steps; @N-M: and unregistered "
   "by it at M; @now-M: registered at once, unregistered by it at M)", "none"},
  {"--uretprobe", "", "PATH:SYM", PROBESIM_SET(o.uretprobes.push_back(v)), false,
   "a counting uretprobe on a program file's function (repeatable)", "none"},
  {"--event", "-e", "'PROBE-EVENT LINE'", PROBESIM_SET(o.events.push_back(v)), false,
   "define and enable a dynamic event, kprobe_events/uprobe_events syntax (repeatable)",
   "none"},
  {"--trace", "", "FILE", PROBESIM_SET(o.trace_out = v), false,
   "where the dynamic events' ftrace lines go", "stderr"},
  {"--bug", "", "NAME", PROBESIM_SET(o.bugs.push_back(v)), true,
   "re-create a historical kernel bug (uprobe_no_revalidate, kprobe_unoptimize_flag_early)",
   "none"},
  {"--limit-mem", "", "SIZE", PROBESIM_PARSE(limits.mem, parse_size, "--limit-mem"), true,
   "guest memory the machine may commit (K/M/G suffixes)", "no limit"},
  {"--limit-disk", "", "SIZE", PROBESIM_PARSE(limits.disk, parse_size, "--limit-disk"), true,
   "bytes the guest may write into the overlay (K/M/G suffixes)", "no limit"},
  {"--limit-tasks", "", "N", PROBESIM_PARSE(limits.tasks, parse_u64, "--limit-tasks"), true,
   "tasks (threads and processes) that may exist at once", "no limit"},
  {"--limit-files", "", "N", PROBESIM_PARSE(limits.files, parse_u64, "--limit-files"), true,
   "open files per process", "no limit"},
  {"--max-insns", "", "N", set_max_insns, false,
   "stop after N instructions (exit 124), as timeout(1)", "no limit"},
  {"--max-time", "", "DURATION", set_max_time, false,
   "stop when the virtual clock reaches DURATION (500us, 10ms, 2s; exit 124)", "no limit"},
  {"--help", "-h", "", PROBESIM_SET(o.help = true), false, "print this help and exit", ""},
};
// clang-format on
#undef PROBESIM_PARSE
#undef PROBESIM_SET

const RunFlag* find_run_flag(std::string_view a) {
  for (const RunFlag& f : kRunFlags)
    if (a == f.name || (!f.alias.empty() && a == f.alias)) return &f;
  return nullptr;
}

// Checks of the whole command line once every flag is read.
Result<RunOptions> check_run(RunOptions o) {
  if (o.argv.empty()) return Error::make("no program given");
  if (o.quantum == 0) return Error::make("--quantum must be at least 1");
  if (o.cpus < 1 || o.cpus > 64) return Error::make("--cpus must be between 1 and 64");
  if (!o.kernel && (!o.kprobes.empty() || !o.kretprobes.empty() || !o.early_kprobes.empty()))
    return Error::make("--kprobe, --kretprobe and --early-kprobe need the guest kernel (drop --no-kernel)");
  return o;
}

}  // namespace

Result<RunOptions> parse_run_options(int argc, const char* const* argv) {
  RunOptions o;
  int i = 1;
  if (i < argc && (std::string_view(argv[i]) == "--help" || std::string_view(argv[i]) == "-h")) {
    o.help = true;
    return o;
  }
  if (i >= argc || (std::string_view(argv[i]) != "run" && std::string_view(argv[i]) != "replay"))
    return Error::make("expected the command 'run', 'replay', 'explore', 'events', 'symbols' or "
                       "'trace show'");
  if (std::string_view(argv[i]) == "replay") {
    o.command = RunOptions::Command::Replay;
    if (++i >= argc || argv[i][0] == '-') return Error::make("replay needs the trace file first");
    o.trace = argv[i];
  }
  std::vector<std::string> config_flags;  // options a replay takes from its trace
  for (++i; i < argc; ++i) {
    std::string_view a = argv[i];
    if (a == "--") {
      ++i;
      break;
    }
    const RunFlag* f = find_run_flag(a);
    if (!f && a.starts_with("-")) return Error::make("unknown option '" + std::string(a) + "'");
    if (!f) break;  // the program (without a preceding --)
    std::string value;
    if (!f->metavar.empty()) {
      if (i + 1 >= argc) return Error::make(std::string(a) + " needs a value");
      value = argv[++i];
    }
    const bool was_run = o.command == RunOptions::Command::Run;
    PROBESIM_TRY_VOID(f->apply(o, value));
    // --sched replay:FILE turned the run into a replay: it is not a flag the trace overrides.
    if (f->config && !(was_run && o.command == RunOptions::Command::Replay))
      config_flags.emplace_back(a);
  }
  if (o.help) return o;
  for (; i < argc; ++i) o.argv.emplace_back(argv[i]);
  if (o.command == RunOptions::Command::Replay) {
    if (!config_flags.empty())
      return Error::make("replay takes " + config_flags.front() + " from the trace; drop it");
    if (!o.argv.empty()) return Error::make("replay takes the program from the trace; drop '" + o.argv[0] + "'");
    return o;
  }
  return check_run(std::move(o));
}

std::vector<RunFlagHelp> run_flags() {
  std::vector<RunFlagHelp> out;
  for (const RunFlag& f : kRunFlags)
    out.push_back({std::string(f.name), std::string(f.alias), std::string(f.metavar),
                   std::string(f.help), std::string(f.default_text), f.config});
  return out;
}

std::string run_help() {
  std::string s = kUsage;
  s += "\noptions of run (replay takes the ones marked * from its trace):\n";
  for (const RunFlag& f : kRunFlags) {
    std::string left = "  " + (f.alias.empty() ? "" : std::string(f.alias) + ", ") +
                       std::string(f.name) + (f.metavar.empty() ? "" : " " + std::string(f.metavar));
    if (f.config) left += " *";
    s += left + "\n      " + std::string(f.help);
    if (!f.default_text.empty()) s += " (default: " + std::string(f.default_text) + ")";
    s += "\n";
  }
  return s;
}

std::vector<std::string> guest_env(const std::vector<std::string>& overrides, bool clear) {
  std::vector<std::string> env;
  if (!clear)
    for (char** e = environ; *e; ++e) env.emplace_back(*e);
  for (const std::string& kv : overrides) {
    std::string key = kv.substr(0, kv.find('='));
    std::erase_if(env, [&](const std::string& s) { return s.substr(0, s.find('=')) == key; });
    env.push_back(kv);
  }
  return env;
}

}  // namespace probesim::cli
