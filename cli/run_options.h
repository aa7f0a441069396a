// Parsing of `probesim run ...` command lines into RunOptions. Pure; unit-tested.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "probesim/limits.h"
#include "probesim/result.h"
#include "probesim/types.h"

namespace probesim::cli {

inline constexpr const char* kUsage =
    "usage: probesim run [--arch auto|x86_64|aarch64] [--root DIR] [--seed N] [--quantum N]\n"
    "                    [--cpus N] [--sched rr|random|pct:D[:STEPS[:POINTS]]] [--run-index N]\n"
    "                    [--record TRACE] [--sched-log FILE] [--epoch SECONDS|YYYY-MM-DD[THH:MM:SS]]\n"
    "                    [--strace [-s N]] [--stats] [--output FILE] [--env-clear] [--env K=V]...\n"
    "                    [--no-kernel] [--no-boost] [--no-optimize] [--optimize-delay DURATION]\n"
    "                    [--kernel-cmdline TEXT]\n"
    "                    [--kprobe SYM[+OFF]|ADDR]... [--early-kprobe SYM[+OFF]]...\n"
    "                    [--kretprobe SYM]... [--uprobe PATH:SYM[+OFF]|PATH:OFFSET[@N[-M]]]...\n"
    "                    [--uretprobe PATH:SYM]... [--max-insns N] [--max-time DURATION]\n"
    "                    [-e|--event 'PROBE-EVENT LINE']... [--trace FILE]\n"
    "                    [--limit-mem SIZE] [--limit-disk SIZE] [--limit-tasks N]\n"
    "                    [--limit-files N] [--bug NAME]...\n"
    "                    -- PROGRAM [ARGS...]\n"
    "       probesim replay TRACE [--strace] [--stats] [--output FILE] [--sched-log FILE]\n"
    "                    [--max-insns N] [--max-time DURATION]\n"
    "                    [--kprobe ...] [--kretprobe ...] [--uprobe ...] [--uretprobe ...]\n"
    "       probesim trace show TRACE\n"
    "       probesim symbols --kernel [--arch x86_64|aarch64] | PATH\n"
    "--uprobe SPEC@N queues the registration as kernel work that the kworker starts at N\n"
    "scheduling steps (retired user instructions), SPEC@N-M its unregistration at M too;\n"
    "--bug uprobe_no_revalidate re-creates a historical kernel race.\n"
    "--max-insns N / --max-time DURATION (virtual: 500us, 10ms, 2s) stop a runaway guest.\n"
    "--epoch sets the guest's wall clock at boot (default 2024-01-01, fixed so runs repeat).\n"
    "Exit status: the program's (128+signal if killed); 122 a replay departed from its trace;\n"
    "123 guest kernel panic; 124 a --max-* limit reached; 125 every task blocked or asleep\n"
    "forever; 126 not started; 2 bad usage.\n";

// A kprobe target: a kallsyms symbol plus offset, or an address (symbol empty).
struct ProbeSpec {
  std::string text;  // as given, for reports
  std::string symbol;
  uint64_t offset = 0;
  uint64_t addr = 0;
  std::optional<uint64_t> at;  // --kprobe SPEC@N: registered by the kworker at N steps
  std::optional<uint64_t> until;  // --kprobe SPEC@N-M: unregistered by the kworker at M steps
};

Result<ProbeSpec> parse_probe_spec(std::string_view flag, const std::string& v);
// --kprobe's SYMBOL[+OFFSET]|ADDR[@N[-M]] (also how a trace header names queued kprobe work).
Result<ProbeSpec> parse_kprobe_option(const std::string& v);

// A virtual duration: a positive integer and a unit, ns, us, ms or s ("10ms"); nanoseconds.
Result<uint64_t> parse_virtual_duration(std::string_view flag, const std::string& v);

struct RunOptions {
  enum class Command { Run, Replay } command = Command::Run;
  std::string trace;         // replay: the trace to replay; run: --record's file
  std::optional<Arch> arch;  // empty = auto
  std::string root = "/";
  uint64_t seed = 0;
  int64_t epoch = 1704067200;  // --epoch: CLOCK_REALTIME at boot (Options::epoch)
  std::string kernel_cmdline;  // --kernel-cmdline: the guest kernel's command line
  uint64_t quantum = 1'000'000;
  uint64_t cpus = 1;
  std::string sched = "rr";  // a strategy (emu/sched/strategy.h), checked by Machine::create
  uint64_t run_index = 0;
  std::string sched_log;
  bool strace = false;
  uint64_t strace_string_size = 32;  // -s N: bytes of each string or buffer --strace shows
  bool stats = false;
  bool env_clear = false;
  bool help = false;
  std::string output;
  std::vector<std::string> env;
  std::vector<std::string> argv;
  bool kernel = true;    // --no-kernel: syscalls skip the guest kernel
  double probe_cost = 1.0;  // --probe-cost X: scale of probe hit costs (0: observer mode)
  bool boost = true;     // --no-boost: x86 kprobes always single-step with a second trap
  bool optimize = true;  // --no-optimize: debug.kprobes-optimization = 0 (no optprobes)
  uint64_t optimize_delay_ns = 20'000'000;  // --optimize-delay: OPTIMIZE_DELAY (virtual ns)
  std::vector<ProbeSpec> kprobes;     // counting kprobes (hits in --stats)
  std::vector<std::string> early_kprobes;  // boot-time counting kprobes, SYM[+OFF] (ekprobe=)
  std::vector<ProbeSpec> kretprobes;  // counting kretprobes
  std::vector<std::string> uprobes;     // counting uprobes, PATH:SYMBOL[+OFF] or PATH:OFFSET
  std::vector<std::string> uretprobes;  // counting uretprobes
  // -e/--event: kprobe_events/uprobe_events lines (Documentation/trace/kprobetrace.rst),
  // defined and enabled before the run; their ftrace lines go to --trace FILE or stderr.
  std::vector<std::string> events;
  std::string trace_out;
  std::vector<std::string> bugs;  // --bug NAME: re-create a historical kernel bug (kthread/bugs.h)
  Limits limits;  // --limit-*: sizes take K/M/G suffixes (powers of 1024)
  uint64_t max_insns = 0;      // --max-insns: stop after this many instructions (0: none)
  uint64_t max_time_ns = 0;    // --max-time: stop at this virtual time (0: none)
  std::string max_time_text;   // as given ("10ms"), for the report
};

// --epoch: seconds since 1970 (digits), or a UTC date YYYY-MM-DD[THH:MM:SS[Z]]; within
// [0, kMaxEpoch].
Result<int64_t> parse_epoch(std::string_view flag, const std::string& v);

// A byte count: digits with an optional K, M or G suffix (KiB, MiB, GiB).
Result<uint64_t> parse_size(std::string_view flag, const std::string& v);

// `probesim run ...` and `probesim replay TRACE ...` (replay takes the machine's configuration
// and the program from the trace, so the options that set them are errors there).
Result<RunOptions> parse_run_options(int argc, const char* const* argv);

// One option of run/replay as `probesim run --help` describes it (the parser's own table).
struct RunFlagHelp {
  std::string name, alias, metavar;  // "--event", "-e", "'PROBE-EVENT LINE'" (empty: a switch)
  std::string help, default_text;    // what it does; its default ("" for --help)
  bool config = false;               // replay takes it from the trace
};
std::vector<RunFlagHelp> run_flags();

// `probesim run --help`: the usage, then every option with its description and default.
std::string run_help();

// The guest's environment for run and explore: the host's own (none with `clear`), then each
// KEY=VALUE of `overrides` replacing any entry with that KEY.
std::vector<std::string> guest_env(const std::vector<std::string>& overrides, bool clear);

}  // namespace probesim::cli
