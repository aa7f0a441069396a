// One hit of a dynamic event as the ring buffer holds it, and its ftrace text: the default
// `trace` line (kernel/trace/trace_output.c trace_print_context + print_kprobe_event /
// print_kretprobe_event / print_uprobe_event) and the `trace` file header.
#pragma once

#include <cstdint>
#include <string>
#include <utility>
#include <vector>

namespace probesim::trace_events {

struct TraceRecord {
  std::string comm;  // current->comm ("swapper/N" with no task)
  int pid = 0;       // the thread id (current->pid)
  int cpu = 0;
  std::string flags;   // irqs-off, need-resched, hardirq/softirq, preempt-depth, migrate-disable
  uint64_t ts_ns = 0;  // the hit CPU's virtual monotonic time
  std::string group, event;
  std::string location;  // "vfs_read+0x0/0x40", "ret+0x5/0x10 <- func", "0x401000"
  std::vector<std::pair<std::string, std::string>> fields;  // name, printed value
  uint32_t ring_bytes = 0;  // the event's modelled size in its CPU's ring buffer
  // A static tracepoint's text after "<event>: " (its print fmt applied); empty for probe
  // events, whose line is "(<location>) name=value ...". `fields` holds its values too.
  std::string body;
};

// "%16s-%-7d [%03d] %s %5llu.%06llu: <event>: (<location>) name=value ..." (no newline), or
// "...: <event>: <body>" for a static tracepoint.
std::string format_trace_line(const TraceRecord& r);

// The `trace` file's header for `entries` records on `cpus` CPUs (tracer nop).
std::string trace_header(size_t entries, size_t written, int cpus);

}  // namespace probesim::trace_events
