// TraceEvents' static tracepoints (trace_events.h): raw_syscalls and sched events recorded
// where the machine does what Linux's trace_sys_enter / trace_sched_switch / ... mark, with
// Linux 6.12's line bodies (the TP_printk of include/trace/events/{syscalls,sched}.h).
#include <cinttypes>
#include <cstdio>
#include <cstring>

#include "emu/machine_state.h"
#include "emu/tracefs/trace_events.h"
#include "probesim/hex.h"

namespace probesim::emu {

using trace_events::StaticEvent;
using trace_events::Tracepoint;

namespace {

// Every task is SCHED_NORMAL at nice 0 in the model: prio 120 (MAX_RT_PRIO + 20).
constexpr int kNormalPrio = 120;

// The sched events' flag columns: they fire with interrupts off (the rq lock held);
// syscall and process events in task context.
constexpr std::string_view kIrqsOffFlags = "d....";
constexpr std::string_view kTaskFlags = ".....";

std::string_view flags_of(Tracepoint tp) {
  return tp == Tracepoint::SchedSwitch || tp == Tracepoint::SchedWakeup ? kIrqsOffFlags
                                                                        : kTaskFlags;
}

std::string comm_of(const Task& t) {
  return t.proc().comm;
}

}  // namespace

const StaticEvent* TraceEvents::static_by_name(std::string_view group,
                                               std::string_view event) const {
  for (const StaticEvent& e : trace_events::static_events())
    if (e.group == group && e.name == event) return &e;
  return nullptr;
}

// Turning a sched event on hooks the scheduler (Scheduler::on_event); the CPUs' previous tasks
// are unknown until each CPU next picks one, so the first switch of each CPU is not recorded.
int TraceEvents::set_static_enabled(Tracepoint tp, bool on) {
  tp_on_[static_cast<size_t>(tp)] = on;
  const bool sched = tp_on(Tracepoint::SchedSwitch) || tp_on(Tracepoint::SchedWakeup);
  if (sched && !m_.sched().on_event) {
    on_cpu_.assign(static_cast<size_t>(m_.config().cpus), OnCpu{});
    m_.sched().on_event = [this](int cpu, Task* t, const char* reason) {
      sched_event(cpu, t, reason);
    };
  } else if (!sched) {
    m_.sched().on_event = nullptr;
  }
  if (!syscall_tps_on()) in_syscall_.clear();
  return 0;
}

void TraceEvents::emit_static(Tracepoint tp, std::string comm, int pid, int cpu,
                              std::vector<std::pair<std::string, std::string>> fields,
                              std::string body) {
  const StaticEvent& e = trace_events::static_event(tp);
  const std::string group(e.group), event(e.name);
  if (!triggers_.empty()) fire_triggers(group, event, nullptr);
  if (!tracing_on_) return;
  const bool discard = soft_disabled(group, event);
  if (discard && !has_conditional_trigger(group, event)) return;
  trace_events::TraceRecord r;
  r.cpu = cpu;
  r.ts_ns = m_.sched().clock(cpu).monotonic_ns();
  r.comm = std::move(comm);
  r.pid = pid;
  r.flags = std::string(flags_of(tp));
  r.group = std::string(e.group);
  r.event = std::string(e.name);
  r.fields = std::move(fields);
  r.body = std::move(body);
  const trace_events::StaticField& last = e.fields.back();
  uint64_t n = 4 + uint64_t{last.offset} + last.size;
  if (tp == Tracepoint::SchedProcessExec) n += r.fields.front().second.size() + 1;
  r.ring_bytes = static_cast<uint32_t>((n + 3) & ~uint64_t{3});
  if (!triggers_.empty()) fire_triggers(group, event, &r);
  if (!discard) push_record(std::move(r));
}

void TraceEvents::sys_enter(const Task& t, uint64_t nr, std::span<const uint64_t, 6> args) {
  if (!in_syscall_.emplace(t.tid(), nr).second) return;  // restarted: still inside
  if (!tp_on(Tracepoint::SysEnter)) return;
  std::string body = "NR " + std::to_string(static_cast<int64_t>(nr)) + " (";
  std::vector<std::pair<std::string, std::string>> fields{{"id", std::to_string(nr)}};
  for (size_t i = 0; i < args.size(); ++i) {
    body += (i ? ", " : "") + hex_digits(args[i]);
    fields.emplace_back("args[" + std::to_string(i) + "]", "0x" + hex_digits(args[i]));
  }
  emit_static(Tracepoint::SysEnter, comm_of(t), t.tid(), m_.hit_cpu(), std::move(fields), body + ")");
}

void TraceEvents::sys_exit(const Task& t, uint64_t nr, int64_t ret, bool returns) {
  if (!returns) {
    if (t.proc().exited()) in_syscall_.erase(t.tid());  // exit_group never returns
    return;
  }
  in_syscall_.erase(t.tid());
  if (!tp_on(Tracepoint::SysExit)) return;
  const std::string id = std::to_string(static_cast<int64_t>(nr));
  emit_static(Tracepoint::SysExit, comm_of(t), t.tid(), m_.hit_cpu(), {{"id", id}, {"ret", std::to_string(ret)}},
              "NR " + id + " = " + std::to_string(ret));
}

void TraceEvents::sched_process_fork(const Task& parent, const Task& child) {
  const std::string pc = comm_of(parent), cc = comm_of(child);
  const std::string pp = std::to_string(parent.tid()), cp = std::to_string(child.tid());
  emit_static(Tracepoint::SchedProcessFork, pc, parent.tid(), m_.hit_cpu(),
              {{"parent_comm", pc}, {"parent_pid", pp}, {"child_comm", cc}, {"child_pid", cp}},
              "comm=" + pc + " pid=" + pp + " child_comm=" + cc + " child_pid=" + cp);
}

// trace_sched_process_exec(current, old_pid, bprm): the task keeps its pid here (a non-leader
// thread's execve is not modelled as a pid change), so old_pid == pid.
void TraceEvents::sched_process_exec(const Task& t, int pid_of_exec, const std::string& fallback) {
  auto stashed = exec_filenames_.extract(pid_of_exec);
  const std::string filename = stashed ? stashed.mapped() : fallback;
  const std::string pid = std::to_string(t.tid());
  emit_static(Tracepoint::SchedProcessExec, comm_of(t), t.tid(), m_.hit_cpu(),
              {{"filename", filename}, {"pid", pid}, {"old_pid", pid}},
              "filename=" + filename + " pid=" + pid + " old_pid=" + pid);
}

void TraceEvents::sched_process_exit(const Task& t) {
  in_syscall_.erase(t.tid());
  for (OnCpu& c : on_cpu_)
    if (c.known && c.pid == t.tid()) c.state = "X";  // its last switch away: EXIT_DEAD
  if (!tp_on(Tracepoint::SchedProcessExit)) return;
  const std::string comm = comm_of(t), pid = std::to_string(t.tid());
  const std::string prio = std::to_string(kNormalPrio);
  emit_static(Tracepoint::SchedProcessExit, comm, t.tid(), m_.hit_cpu(),
              {{"comm", comm}, {"pid", pid}, {"prio", prio}},
              "comm=" + comm + " pid=" + pid + " prio=" + prio);
}

// The scheduler's log events: "pick" puts t on cpu (a sched_switch from whatever ran there
// before), "idle" leaves the CPU to swapper/N, "block" and "preempt" set the state the
// running task is switched out in, "wake" is sched_wakeup.
void TraceEvents::sched_event(int cpu, Task* t, const char* reason) {
  if (cpu < 0 || static_cast<size_t>(cpu) >= on_cpu_.size()) return;
  OnCpu& c = on_cpu_[static_cast<size_t>(cpu)];
  const std::string_view why = reason;
  if (why == "wake" && t) {
    if (!tp_on(Tracepoint::SchedWakeup)) return;
    const std::string comm = comm_of(*t), pid = std::to_string(t->tid());
    const std::string prio = std::to_string(kNormalPrio);
    char target[16];
    std::snprintf(target, sizeof target, "%03d", cpu);
    const Task* waker = m_.current_task();  // the context is the waker's
    emit_static(Tracepoint::SchedWakeup, waker ? comm_of(*waker) : "<idle>",
                waker ? waker->tid() : 0, cpu,
                {{"comm", comm}, {"pid", pid}, {"prio", prio}, {"target_cpu", target}},
                "comm=" + comm + " pid=" + pid + " prio=" + prio + " target_cpu=" + target);
    return;
  }
  if ((why == "block" || why == "preempt") && t && c.known && c.pid == t->tid()) {
    c.state = why == "block" ? "S" : "R+";
    return;
  }
  if (why != "pick" && why != "idle") return;
  OnCpu next;
  next.known = true;
  next.comm = t ? comm_of(*t) : "swapper/" + std::to_string(cpu);
  next.pid = t ? t->tid() : 0;
  if (c.known && c.pid != next.pid && tp_on(Tracepoint::SchedSwitch)) {
    const std::string prev_pid = std::to_string(c.pid), next_pid = std::to_string(next.pid);
    const std::string prio = std::to_string(kNormalPrio);
    // The line's context is the task switched out (swapper's is "<idle>").
    emit_static(Tracepoint::SchedSwitch, c.pid ? c.comm : "<idle>", c.pid, cpu,
                {{"prev_comm", c.comm},
                 {"prev_pid", prev_pid},
                 {"prev_prio", prio},
                 {"prev_state", c.state},
                 {"next_comm", next.comm},
                 {"next_pid", next_pid},
                 {"next_prio", prio}},
                "prev_comm=" + c.comm + " prev_pid=" + prev_pid + " prev_prio=" + prio +
                    " prev_state=" + c.state + " ==> next_comm=" + next.comm +
                    " next_pid=" + next_pid + " next_prio=" + prio);
  }
  if (c.pid != next.pid || !c.known) c = std::move(next);
  c.state = "R";
}

bool TraceEvents::flush_wakeups() {
  if (!wake_pending_) return false;
  wake_pending_ = false;
  m_.waitq().wake_all(&records_, m_.sched(), kEPOLLIN | kEPOLLRDNORM);
  return true;
}

}  // namespace probesim::emu
