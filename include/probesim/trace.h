// Dynamic events' values (tracefs, Documentation/trace/kprobetrace.rst): an event's identity
// and one recorded hit, as trace-cmd reports it. Machine::add_event defines and enables one;
// Machine::trace returns the hits.
#pragma once

#include <cstdint>
#include <string>
#include <utility>
#include <vector>

namespace probesim {

struct EventId {
  std::string group;  // "kprobes", "uprobes" or the line's own GRP
  std::string name;
};

struct TraceEvent {
  std::string comm;    // current->comm ("swapper/N" with no task)
  int pid = 0;         // the thread id (current->pid)
  int cpu = 0;
  std::string flags;   // the five ftrace flag columns ("d....")
  uint64_t ts_ns = 0;  // the hit CPU's virtual monotonic time
  std::string group, event;
  std::string location;  // "vfs_read+0x0/0x40", "ret+0x5/0x10 <- func", "0x401000"
  std::vector<std::pair<std::string, std::string>> fields;  // fetch args: name, printed value
  std::string line;  // the ftrace line (trace_pipe's format, no newline)
};

}  // namespace probesim
