#include "emu/record/trace_text.h"

#include <cinttypes>
#include <cstdio>

namespace probesim::emu {
namespace {

std::string fmt(const char* f, auto... args) {
  char buf[512];
  std::snprintf(buf, sizeof buf, f, args...);
  return buf;
}

std::string quoted(const std::vector<std::string>& v) {
  std::string s;
  for (const std::string& a : v) s += (s.empty() ? "'" : " '") + a + "'";
  return s;
}

void header_text(std::string& out, const Trace& t) {
  const TraceHeader& h = t.header;
  out += fmt("probesim trace, format version %u, recorded by probesim %s\n", t.version,
             h.probesim_version.c_str());
  out += fmt("arch %s, cpus %u, seed %" PRIu64 ", quantum %" PRIu64 ", strategy %s, run %" PRIu64
             ", guest kernel %s\n",
             std::string(arch_name(h.arch)).c_str(), h.cpus, h.seed, h.quantum,
             h.strategy.c_str(), h.run_index, h.kernel ? "on" : "off");
  out += fmt("limits: mem %" PRIu64 ", disk %" PRIu64 ", tasks %" PRIu64 ", files %" PRIu64 "\n",
             h.limits.mem, h.limits.disk, h.limits.tasks, h.limits.files);
  out += "argv: " + quoted(h.argv) + "\n";
  if (!h.bugs.empty()) out += "bugs: " + quoted(h.bugs) + "\n";
  if (!h.kernel_work.empty()) out += "kernel work: " + quoted(h.kernel_work) + "\n";
  if (h.epoch != TraceHeader{}.epoch) out += fmt("epoch: %" PRId64 " s\n", h.epoch);
  if (!h.kprobe_optimization) out += "kprobe optimization: off\n";
  if (h.optimize_delay_ns != TraceHeader{}.optimize_delay_ns)
    out += fmt("kprobe optimize delay: %" PRIu64 " ns\n", h.optimize_delay_ns);
  if (!h.kernel_cmdline.empty()) out += "kernel command line: " + h.kernel_cmdline + "\n";
  if (!h.early_kprobes.empty()) out += "early kprobes: " + quoted(h.early_kprobes) + "\n";
  out += "cwd: " + h.cwd + ", root: " + h.root + ", env: " + std::to_string(h.env.size()) + " entries\n";
  out += "outcome: " + t.outcome.description + "\n";
  out += fmt("files read: %zu\n", t.files.size());
  for (const TraceFile& f : t.files) out += "  " + f.sha256 + "  " + f.path + "\n";
}

}  // namespace

std::string format_trace(const Trace& t) {
  std::string out;
  header_text(out, t);
  out += fmt("decisions: %zu (seq cpu tid instructions start..end, how it ended)\n", t.decisions.size());
  for (size_t i = 0; i < t.decisions.size(); ++i) {
    const TraceDecision& d = t.decisions[i];
    size_t next_timer = 0;
    auto timers_up_to = [&](size_t wakes) {
      for (; next_timer < d.timers.size() && d.timers[next_timer].after_wakes <= wakes; ++next_timer) {
        const TraceTimerFire& f = d.timers[next_timer];
        out += fmt("  %6zu       timer %d of pid %d fires (%" PRIu64 " period%s)\n", i, f.timer,
                   f.pid, f.periods, f.periods == 1 ? "" : "s");
      }
    };
    for (size_t w = 0; w < d.wakes.size(); ++w) {
      timers_up_to(w);
      out += fmt("  %6zu       deadline wakes tid %d\n", i, d.wakes[w]);
    }
    timers_up_to(d.wakes.size());
    out += fmt("  %6zu cpu%u tid%-6d %" PRIu64 "..%" PRIu64 " %s\n", i, d.cpu, d.tid, d.start,
               d.end, d.preempted ? "preempted" : "ran until it blocked/exited/yielded");
  }
  out += fmt("time reads: %zu (tid cycles)\n", t.times.size());
  for (const TraceTime& x : t.times) out += fmt("  tid%-6d %" PRIu64 "\n", x.tid, x.cycles);
  size_t bytes = 0;
  for (const TraceStdin& s : t.stdin_reads) bytes += s.bytes.size();
  out += fmt("stdin reads: %zu (%zu bytes)\n", t.stdin_reads.size(), bytes);
  out += fmt("checkpoints: %zu (decision tid instructions pc sp registers [memory])\n", t.checkpoints.size());
  for (const TraceCheckpoint& c : t.checkpoints) {
    out += fmt("  %6" PRIu64 " tid%-6d %" PRIu64 " pc=%#" PRIx64 " sp=%#" PRIx64 " regs=%016" PRIx64,
               c.decision, c.tid, c.insns, c.pc, c.sp, c.regs);
    if (c.memory) out += fmt(" mem=%016" PRIx64, *c.memory);
    out += "\n";
  }
  return out;
}

}  // namespace probesim::emu
