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

// --limit-* flags: the Limits field each sets and whether it takes a size suffix.
struct LimitFlag {
  std::string_view name;
  uint64_t Limits::*field;
  bool size;
};
constexpr LimitFlag kLimitFlags[] = {
    {"--limit-mem", &Limits::mem, true},
    {"--limit-disk", &Limits::disk, true},
    {"--limit-tasks", &Limits::tasks, false},
    {"--limit-files", &Limits::files, false},
};

const LimitFlag* find_limit_flag(std::string_view a) {
  for (const LimitFlag& f : kLimitFlags)
    if (f.name == a) return &f;
  return nullptr;
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

Result<RunOptions> parse_run_options(int argc, const char* const* argv) {
  RunOptions o;
  int i = 1;
  if (i < argc && (std::string_view(argv[i]) == "--help" || std::string_view(argv[i]) == "-h")) {
    o.help = true;
    return o;
  }
  if (i >= argc || (std::string_view(argv[i]) != "run" && std::string_view(argv[i]) != "replay"))
    return Error::make("expected the command 'run', 'replay' or 'trace show'");
  if (std::string_view(argv[i]) == "replay") {
    o.command = RunOptions::Command::Replay;
    if (++i >= argc || argv[i][0] == '-') return Error::make("replay needs the trace file first");
    o.trace = argv[i];
  }
  ++i;
  std::vector<std::string> config_flags;  // options a replay takes from its trace
  auto value = [&](std::string_view flag) -> Result<std::string> {
    if (i + 1 >= argc) return Error::make(std::string(flag) + " needs a value");
    return std::string(argv[++i]);
  };
  for (; i < argc; ++i) {
    std::string_view a = argv[i];
    if (a == "--") {
      ++i;
      break;
    }
    static constexpr std::string_view kConfig[] = {"--arch", "--root", "--seed", "--quantum", "--cpus",
                                                   "--sched", "--run-index", "--record", "--env",
                                                   "--env-clear", "--no-kernel", "--no-boost", "--bug",
                                                   "--early-kprobe", "--epoch", "--kernel-cmdline"};
    for (std::string_view c : kConfig)
      if (a == c) config_flags.emplace_back(a);
    if (find_limit_flag(a)) config_flags.emplace_back(a);
    if (a == "--strace") o.strace = true;
    else if (a == "--stats") o.stats = true;
    else if (a == "--env-clear") o.env_clear = true;
    else if (a == "--no-kernel") o.kernel = false;
    else if (a == "--no-boost") o.boost = false;
    else if (a == "--no-optimize") o.optimize = false;
    else if (a == "--kprobe") o.kprobes.push_back(PROBESIM_TRY(parse_probe_spec(a, PROBESIM_TRY(value(a)))));
    else if (a == "--early-kprobe") {
      const ProbeSpec s = PROBESIM_TRY(parse_probe_spec(a, PROBESIM_TRY(value(a))));
      if (s.symbol.empty()) return Error::make("--early-kprobe takes SYM[+OFF], got '" + s.text + "'");
      o.early_kprobes.push_back(s.text);
    }
    else if (a == "--uprobe") o.uprobes.push_back(PROBESIM_TRY(value(a)));
    else if (a == "--uretprobe") o.uretprobes.push_back(PROBESIM_TRY(value(a)));
    else if (a == "--bug") o.bugs.push_back(PROBESIM_TRY(value(a)));
    else if (a == "-e" || a == "--event") o.events.push_back(PROBESIM_TRY(value(a)));
    else if (a == "--trace") o.trace_out = PROBESIM_TRY(value(a));
    else if (a == "--kretprobe") o.kretprobes.push_back(PROBESIM_TRY(parse_probe_spec(a, PROBESIM_TRY(value(a)))));
    else if (a == "--help" || a == "-h") o.help = true;
    else if (a == "--arch") o.arch = PROBESIM_TRY(parse_arch(PROBESIM_TRY(value(a))));
    else if (a == "--root") o.root = PROBESIM_TRY(value(a));
    else if (a == "--output") o.output = PROBESIM_TRY(value(a));
    else if (a == "--seed") o.seed = PROBESIM_TRY(parse_u64(a, PROBESIM_TRY(value(a))));
    else if (a == "--epoch") o.epoch = PROBESIM_TRY(parse_epoch(a, PROBESIM_TRY(value(a))));
    else if (a == "--kernel-cmdline") o.kernel_cmdline = PROBESIM_TRY(value(a));
    else if (a == "--quantum") o.quantum = PROBESIM_TRY(parse_u64(a, PROBESIM_TRY(value(a))));
    else if (a == "--cpus") o.cpus = PROBESIM_TRY(parse_u64(a, PROBESIM_TRY(value(a))));
    else if (a == "--sched-log") o.sched_log = PROBESIM_TRY(value(a));
    else if (const LimitFlag* f = find_limit_flag(a)) {
      const std::string v = PROBESIM_TRY(value(a));
      o.limits.*(f->field) = f->size ? PROBESIM_TRY(parse_size(a, v)) : PROBESIM_TRY(parse_u64(a, v));
    }
    else if (a == "--max-insns") {
      o.max_insns = PROBESIM_TRY(parse_u64(a, PROBESIM_TRY(value(a))));
      if (o.max_insns == 0) return Error::make("--max-insns must be at least 1");
    }
    else if (a == "--max-time") {
      o.max_time_text = PROBESIM_TRY(value(a));
      o.max_time_ns = PROBESIM_TRY(parse_virtual_duration(a, o.max_time_text));
    }
    else if (a == "--record") o.trace = PROBESIM_TRY(value(a));
    else if (a == "--run-index") o.run_index = PROBESIM_TRY(parse_u64(a, PROBESIM_TRY(value(a))));
    else if (a == "--sched") {
      std::string v = PROBESIM_TRY(value(a));
      if (v.starts_with("replay:") && v.size() > 7 && o.command == RunOptions::Command::Run) {
        // The trace's decisions (and its configuration and inputs): what `replay FILE` does.
        config_flags.pop_back();
        o.command = RunOptions::Command::Replay;
        o.trace = v.substr(7);
        continue;
      }
      if (v != "rr" && v != "random" && !v.starts_with("pct:") && !v.starts_with("bounded:"))
        return Error::make("--sched must be rr, random, pct:D[:STEPS], bounded:K[:STEPS[:TASKS]] or "
                           "replay:FILE, got '" + v + "'");
      o.sched = v;
    }
    else if (a == "--env") {
      std::string kv = PROBESIM_TRY(value(a));
      if (kv.find('=') == std::string::npos || kv[0] == '=')
        return Error::make("--env needs KEY=VALUE, got '" + kv + "'");
      o.env.push_back(kv);
    } else if (a.starts_with("-")) {
      return Error::make("unknown option '" + std::string(a) + "'");
    } else {
      break;  // the program (without a preceding --)
    }
  }
  if (o.help) return o;
  for (; i < argc; ++i) o.argv.emplace_back(argv[i]);
  if (o.command == RunOptions::Command::Replay) {
    if (!config_flags.empty())
      return Error::make("replay takes " + config_flags.front() + " from the trace; drop it");
    if (!o.argv.empty()) return Error::make("replay takes the program from the trace; drop '" + o.argv[0] + "'");
    return o;
  }
  if (o.argv.empty()) return Error::make("no program given");
  if (o.quantum == 0) return Error::make("--quantum must be at least 1");
  if (o.cpus < 1 || o.cpus > 64) return Error::make("--cpus must be between 1 and 64");
  if (!o.kernel && (!o.kprobes.empty() || !o.kretprobes.empty() || !o.early_kprobes.empty()))
    return Error::make("--kprobe, --kretprobe and --early-kprobe need the guest kernel (drop --no-kernel)");
  return o;
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
