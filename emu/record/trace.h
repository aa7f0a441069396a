// The recorded-run trace (docs/trace-format.md is the normative description; keep both in
// step and bump kTraceVersion on any change of the payload's layout or meaning). A trace holds
// everything a replay needs to reproduce a run exactly: the configuration, the fingerprints of
// the inputs, every scheduling decision keyed by (task, retired user instructions), every time
// value and stdin byte the guest read, and checkpoints to detect the first divergence.
#pragma once

#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "probesim/limits.h"
#include "probesim/result.h"
#include "probesim/types.h"

namespace probesim::emu {

inline constexpr uint32_t kTraceVersion = 8;
// Version 8 adds the header's OPTIMIZE_DELAY (a run with a shortened delay replays with it).
// Version 7 compresses the payload with zstd (level 1, with its checksum) instead of zlib: the
// payload's layout is version 6's; zlib took ~3.7 ms per 240 KB of a small-quantum trace, most
// of the cost of recording. Version 6 adds each decision's timer fires. Versions 4 and 5 have none (probesim had no
// timers), so they still read; version 4's preemptions all lie at block starts, which a replay
// with scheduling points inside blocks (version 5) reaches at the same counts.
inline constexpr uint32_t kTraceOldestVersion = 4;
inline constexpr char kProbesimVersion[] = "0.1.0";  // pyproject.toml's version

struct TraceHeader {
  std::string probesim_version = kProbesimVersion;
  Arch arch = Arch::X86_64;
  std::vector<std::string> argv, env;
  std::string cwd = "/", root = "/";
  uint32_t cpus = 1;
  uint64_t seed = 0, quantum = 0, run_index = 0;
  std::string strategy;  // StrategySpec::text() of the recorded run
  bool kernel = true, kprobe_boost = true;
  Limits limits;  // machine-wide limits (they decide ENOMEM/ENOSPC/EAGAIN/EMFILE)
  std::vector<std::string> bugs;        // bug toggles on (emu/kthread/bugs.h)
  std::vector<std::string> kernel_work; // queued kernel work, as the CLI spells it: "uprobe SPEC@N"
  int64_t epoch = 1704067200;           // CLOCK_REALTIME at boot (seconds)
  bool kprobe_optimization = true;      // debug.kprobes-optimization at boot
  uint64_t optimize_delay_ns = 20'000'000;  // OPTIMIZE_DELAY (version 8; before: this default)
  std::string kernel_cmdline;           // the guest kernel's command line
  std::vector<std::string> early_kprobes;  // ekprobe= entries appended to it
};

struct TraceFile {
  std::string path;    // guest path
  std::string sha256;  // hex
};

// A timer that fired just before a decision: the process, which timer (-1, -2, -3: ITIMER_REAL,
// VIRTUAL, PROF; >= 0: a POSIX timer id), how many of its periods passed (the overrun follows
// from them), and how many of the decision's deadline wakes came before it.
struct TraceTimerFire {
  int32_t pid = 0;
  int32_t timer = 0;
  uint64_t periods = 1;
  uint32_t after_wakes = 0;
};

struct TraceDecision {
  uint32_t cpu = 0;
  int32_t tid = 0;
  uint64_t start = 0, end = 0;  // the task's retired user instructions at pick and at the end
  bool preempted = false;       // the quantum ended by its budget (else by a natural point)
  std::vector<int32_t> wakes;   // sleepers whose deadline fired just before this decision
  std::vector<TraceTimerFire> timers;  // timers that fired (version 6), in order
};

struct TraceTime {
  int32_t tid = 0;
  uint64_t cycles = 0;  // the cycle counter value the guest saw (all its time derives from it)
};

struct TraceStdin {
  int64_t result = 0;          // the read's result: bytes, 0 at EOF, or -errno
  std::vector<uint8_t> bytes;  // `result` bytes when positive
};

// At the end of every quantum whose task is still alive (decision = its index).
struct TraceCheckpoint {
  uint64_t decision = 0;
  int32_t tid = 0;
  uint64_t insns = 0;  // retired user instructions
  uint64_t pc = 0, sp = 0;
  uint64_t regs = 0;   // digest of the user general registers, PC, SP and flags
  std::optional<uint64_t> memory;  // digest of the process's writable memory (every Nth)
};

struct TraceOutcome {
  bool exited = false;  // false: deadlock or stopped early
  int32_t shell_status = 0;
  std::string description;
};

struct Trace {
  uint32_t version = kTraceVersion;  // the format it was read from (decode_trace); encode ignores it
  TraceHeader header;
  std::vector<TraceFile> files;
  std::vector<TraceDecision> decisions;
  std::vector<TraceTime> times;
  std::vector<TraceStdin> stdin_reads;
  std::vector<TraceCheckpoint> checkpoints;
  TraceOutcome outcome;
};

// `version`: kTraceVersion, or an older layout still read (tests of old traces); a trace with
// timer fires needs version 6.
std::vector<uint8_t> encode_trace(const Trace& t, uint32_t version = kTraceVersion);
// `name` names the input in error messages (a path).
Result<Trace> decode_trace(std::span<const uint8_t> bytes, const std::string& name);
Result<void> save_trace(const Trace& t, const std::string& path);
Result<Trace> load_trace(const std::string& path);

}  // namespace probesim::emu
