// The guest kernel's static tracepoints as tracefs shows them (events/GRP/EVENT/format and
// the ftrace line bodies): raw_syscalls/sys_enter and sys_exit (include/trace/events/
// syscalls.h), and sched/sched_switch, sched_wakeup, sched_process_fork, sched_process_exec,
// sched_process_exit (include/trace/events/sched.h), with Linux 6.12's fields, offsets and
// print fmts. Pure data and formatting; where they fire is the machine's (emu/tracefs).
#pragma once

#include <array>
#include <cstdint>
#include <span>
#include <string>
#include <string_view>

#include "probesim/types.h"

namespace probesim::trace_events {

enum class Tracepoint : uint8_t {
  SysEnter,
  SysExit,
  SchedSwitch,
  SchedWakeup,
  SchedProcessFork,
  SchedProcessExec,
  SchedProcessExit,
};
inline constexpr size_t kTracepointCount = 7;

struct StaticField {
  std::string_view type;  // as the format file spells it ("char", "pid_t", "unsigned long")
  std::string_view name;  // "prev_comm[16]", "args[6]"
  uint8_t offset, size;
  int is_signed;  // -1: the signedness of `char` on the arch (x86-64 signed, arm64 unsigned)
};

struct StaticEvent {
  Tracepoint tp;
  std::string_view group, name;
  std::span<const StaticField> fields;
  std::string_view print_fmt;  // after "print fmt: "
};

// Every static event, in Tracepoint order.
std::span<const StaticEvent> static_events();
const StaticEvent& static_event(Tracepoint tp);

// The format file of `e` with type id `id` (the `char` fields' sign follows `arch`).
std::string static_event_format(const StaticEvent& e, int id, Arch arch);

}  // namespace probesim::trace_events
