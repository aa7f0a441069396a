#include "probes/trace_events/trace_record.h"

#include <cstdio>

namespace probesim::trace_events {

std::string format_trace_line(const TraceRecord& r) {
  char head[128];
  std::snprintf(head, sizeof head, "%16s-%-7d [%03d] %s %5llu.%06llu: ", r.comm.c_str(), r.pid,
                r.cpu, r.flags.c_str(), static_cast<unsigned long long>(r.ts_ns / 1000000000),
                static_cast<unsigned long long>(r.ts_ns % 1000000000 / 1000));
  if (!r.body.empty()) return head + r.event + ": " + r.body;
  std::string s = head + r.event + ": (" + r.location + ")";
  for (const auto& [name, value] : r.fields) s += " " + name + "=" + value;
  return s;
}

// print_trace_header / print_func_help_header_irq (trace.c), Linux 6.x layout.
std::string trace_header(size_t entries, size_t written, int cpus) {
  char counts[96];
  std::snprintf(counts, sizeof counts, "# entries-in-buffer/entries-written: %zu/%zu   #P:%d\n",
                entries, written, cpus);
  return std::string("# tracer: nop\n#\n") + counts +
         "#\n"
         "#                                _-----=> irqs-off/BH-disabled\n"
         "#                               / _----=> need-resched\n"
         "#                              | / _---=> hardirq/softirq\n"
         "#                              || / _--=> preempt-depth\n"
         "#                              ||| / _-=> migrate-disable\n"
         "#                              |||| /     delay\n"
         "#           TASK-PID     CPU#  |||||  TIMESTAMP  FUNCTION\n"
         "#              | |         |   |||||     |         |\n";
}

}  // namespace probesim::trace_events
