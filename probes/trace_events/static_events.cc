// static_events.h: the tables of Linux 6.12's syscall and sched tracepoints.
#include "probes/trace_events/static_events.h"

#include <cstdio>

#include "probesim/assert.h"

namespace probesim::trace_events {
namespace {

constexpr int kCharSign = -1;

// struct trace_event_raw_sys_enter / sys_exit (include/trace/events/syscalls.h).
constexpr StaticField kSysEnter[] = {
    {"long", "id", 8, 8, 1},
    {"unsigned long", "args[6]", 16, 48, 0},
};
constexpr StaticField kSysExit[] = {
    {"long", "id", 8, 8, 1},
    {"long", "ret", 16, 8, 1},
};
// include/trace/events/sched.h, 6.12.
constexpr StaticField kSchedSwitch[] = {
    {"char", "prev_comm[16]", 8, 16, kCharSign}, {"pid_t", "prev_pid", 24, 4, 1},
    {"int", "prev_prio", 28, 4, 1},              {"long", "prev_state", 32, 8, 1},
    {"char", "next_comm[16]", 40, 16, kCharSign}, {"pid_t", "next_pid", 56, 4, 1},
    {"int", "next_prio", 60, 4, 1},
};
constexpr StaticField kSchedWakeup[] = {
    {"char", "comm[16]", 8, 16, kCharSign},
    {"pid_t", "pid", 24, 4, 1},
    {"int", "prio", 28, 4, 1},
    {"int", "target_cpu", 32, 4, 1},
};
constexpr StaticField kSchedFork[] = {
    {"char", "parent_comm[16]", 8, 16, kCharSign},
    {"pid_t", "parent_pid", 24, 4, 1},
    {"char", "child_comm[16]", 28, 16, kCharSign},
    {"pid_t", "child_pid", 44, 4, 1},
};
constexpr StaticField kSchedExec[] = {
    {"__data_loc char[]", "filename", 8, 4, 0},
    {"pid_t", "pid", 12, 4, 1},
    {"pid_t", "old_pid", 16, 4, 1},
};
constexpr StaticField kSchedExit[] = {
    {"char", "comm[16]", 8, 16, kCharSign},
    {"pid_t", "pid", 24, 4, 1},
    {"int", "prio", 28, 4, 1},
};

// TASK_REPORT states of sched_switch's prev_state (__trace_sched_switch_state).
#define PROBESIM_TASK_REPORT                                                              \
  "((((0x00000000 | 0x00000001 | 0x00000002 | 0x00000004 | 0x00000008 | 0x00000010 | " \
  "0x00000020 | 0x00000040) + 1) << 1) - 1)"

constexpr StaticEvent kEvents[] = {
    {Tracepoint::SysEnter, "raw_syscalls", "sys_enter", kSysEnter,
     "\"NR %ld (%lx, %lx, %lx, %lx, %lx, %lx)\", REC->id, REC->args[0], REC->args[1], "
     "REC->args[2], REC->args[3], REC->args[4], REC->args[5]"},
    {Tracepoint::SysExit, "raw_syscalls", "sys_exit", kSysExit,
     "\"NR %ld = %ld\", REC->id, REC->ret"},
    {Tracepoint::SchedSwitch, "sched", "sched_switch", kSchedSwitch,
     "\"prev_comm=%s prev_pid=%d prev_prio=%d prev_state=%s%s ==> next_comm=%s next_pid=%d "
     "next_prio=%d\", REC->prev_comm, REC->prev_pid, REC->prev_prio, (REC->prev_state & "
     PROBESIM_TASK_REPORT ") ? __print_flags(REC->prev_state & " PROBESIM_TASK_REPORT
     ", \"|\", { 0x00000001, \"S\" }, { 0x00000002, \"D\" }, { 0x00000004, \"T\" }, "
     "{ 0x00000008, \"t\" }, { 0x00000010, \"X\" }, { 0x00000020, \"Z\" }, "
     "{ 0x00000040, \"P\" }, { 0x00000080, \"I\" }) : \"R\", REC->prev_state & "
     PROBESIM_TASK_REPORT " ? \"+\" : \"\", REC->next_comm, REC->next_pid, REC->next_prio"},
    {Tracepoint::SchedWakeup, "sched", "sched_wakeup", kSchedWakeup,
     "\"comm=%s pid=%d prio=%d target_cpu=%03d\", REC->comm, REC->pid, REC->prio, "
     "REC->target_cpu"},
    {Tracepoint::SchedProcessFork, "sched", "sched_process_fork", kSchedFork,
     "\"comm=%s pid=%d child_comm=%s child_pid=%d\", REC->parent_comm, REC->parent_pid, "
     "REC->child_comm, REC->child_pid"},
    {Tracepoint::SchedProcessExec, "sched", "sched_process_exec", kSchedExec,
     "\"filename=%s pid=%d old_pid=%d\", __get_str(filename), REC->pid, REC->old_pid"},
    {Tracepoint::SchedProcessExit, "sched", "sched_process_exit", kSchedExit,
     "\"comm=%s pid=%d prio=%d\", REC->comm, REC->pid, REC->prio"},
};
#undef PROBESIM_TASK_REPORT
static_assert(std::size(kEvents) == kTracepointCount);

}  // namespace

std::span<const StaticEvent> static_events() {
  return kEvents;
}

const StaticEvent& static_event(Tracepoint tp) {
  const StaticEvent& e = kEvents[static_cast<size_t>(tp)];
  PROBESIM_ASSERT(e.tp == tp);
  return e;
}

std::string static_event_format(const StaticEvent& e, int id, Arch arch) {
  std::string out = std::string("name: ") + std::string(e.name) + "\nID: " + std::to_string(id) +
                    "\nformat:\n"
                    "\tfield:unsigned short common_type;\toffset:0;\tsize:2;\tsigned:0;\n"
                    "\tfield:unsigned char common_flags;\toffset:2;\tsize:1;\tsigned:0;\n"
                    "\tfield:unsigned char common_preempt_count;\toffset:3;\tsize:1;\tsigned:0;\n"
                    "\tfield:int common_pid;\toffset:4;\tsize:4;\tsigned:1;\n\n";
  char line[160];
  for (const StaticField& f : e.fields) {
    const int sign = f.is_signed >= 0 ? f.is_signed : (arch == Arch::X86_64 ? 1 : 0);
    std::snprintf(line, sizeof line, "\tfield:%.*s %.*s;\toffset:%u;\tsize:%u;\tsigned:%d;\n",
                  static_cast<int>(f.type.size()), f.type.data(), static_cast<int>(f.name.size()),
                  f.name.data(), unsigned{f.offset}, unsigned{f.size}, sign);
    out += line;
  }
  out += "\nprint fmt: " + std::string(e.print_fmt) + "\n";
  return out;
}

}  // namespace probesim::trace_events
