#include "cli/run_outcome.h"

#include <algorithm>
#include <cstdio>

namespace probesim::cli {
namespace {

std::string seconds(uint64_t ns) {
  char b[48];
  std::snprintf(b, sizeof b, "%.6fs", static_cast<double>(ns) / 1e9);
  return b;
}

std::string limit_message(const Machine& m, const RunOptions& o) {
  std::string at = std::to_string(m.stats().instructions) + " instructions, virtual time " +
                   seconds(m.virtual_time_ns());
  if (o.max_time_ns && m.virtual_time_ns() >= o.max_time_ns)
    return "stopped by --max-time " + o.max_time_text + " (" + at + ")";
  return "stopped by --max-insns " + std::to_string(o.max_insns) + " (" + at + ")";
}

std::string blocked_message(const Machine& m) {
  std::vector<Machine::BlockedTask> blocked = m.blocked_tasks();
  size_t asleep = static_cast<size_t>(std::count_if(
      blocked.begin(), blocked.end(), [](const Machine::BlockedTask& t) { return t.wait == "sleep"; }));
  std::string n = std::to_string(blocked.size());
  if (!blocked.empty() && asleep == blocked.size())
    return "sleeps forever: " + n + " task(s) asleep until a time no clock reaches";
  std::string where;
  for (const Machine::BlockedTask& t : blocked) where += (where.empty() ? ": " : "; ") + t.describe();
  return "deadlocked: " + n + " task(s) blocked forever" + where;
}

}  // namespace

std::optional<RunEnd> abnormal_end(const Machine& m, const RunOptions& o, int pid, bool run_done) {
  std::string who = o.argv[0] + " (pid " + std::to_string(pid) + ") ";
  if (std::optional<std::string> panic = m.panic())
    return RunEnd{kExitPanic, "guest kernel panic: " + *panic + " (" + who + "did not finish)"};
  if (m.exit_of(pid)) return std::nullopt;
  if (!run_done) return RunEnd{kExitLimit, who + limit_message(m, o)};
  return RunEnd{kExitDeadlock, who + blocked_message(m)};
}

}  // namespace probesim::cli
