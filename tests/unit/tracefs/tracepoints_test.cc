// Static tracepoints in tracefs (emu/tracefs/tracepoints.cc, probes/trace_events/
// static_events.cc): raw_syscalls and sched events, their format files, and the lines a run
// records when they are enabled.
#include <cerrno>
#include <string>

#include "emu/tracefs/trace_events.h"
#include "kmachine/kmachine.h"

using namespace probesim;
using namespace probesim::kmachine;

namespace {

std::vector<std::string> lines_of(const emu::TraceEvents& t, const std::string& event) {
  std::vector<std::string> out;
  for (const trace_events::TraceRecord& r : t.records())
    if (r.event == event) out.push_back(format_trace_line(r));
  return out;
}

bool has(const std::vector<std::string>& lines, const std::string& part) {
  for (const std::string& l : lines)
    if (l.find(part) != std::string::npos) return true;
  return false;
}

}  // namespace

TEST_CASE("static events are listed, have Linux's format files, and their names are taken") {
  for (Arch a : kArches) {
    auto m = boot(a);
    emu::TraceEvents& t = m->state().trace_events();
    const std::string avail = t.tracefs_read("available_events");
    for (const char* e : {"raw_syscalls:sys_enter\n", "raw_syscalls:sys_exit\n",
                          "sched:sched_switch\n", "sched:sched_wakeup\n",
                          "sched:sched_process_fork\n", "sched:sched_process_exec\n",
                          "sched:sched_process_exit\n"})
      CHECK_MESSAGE(avail.find(e) != std::string::npos, e);
    CHECK(t.tracefs_read("events/sched/enable") == "0\n");
    CHECK(t.tracefs_read("events/sched/sched_switch/id") == "302\n");
    const std::string f = t.tracefs_read("events/sched/sched_switch/format");
    const std::string sign = a == Arch::X86_64 ? "1" : "0";  // plain char's sign
    CHECK(f.starts_with("name: sched_switch\nID: 302\nformat:\n"));
    CHECK(f.find("\tfield:char prev_comm[16];\toffset:8;\tsize:16;\tsigned:" + sign + ";\n") !=
          std::string::npos);
    CHECK(f.find("\tfield:int next_prio;\toffset:60;\tsize:4;\tsigned:1;\n") != std::string::npos);
    CHECK(f.find("print fmt: \"prev_comm=%s prev_pid=%d prev_prio=%d prev_state=%s%s ==> ") !=
          std::string::npos);
    CHECK(t.tracefs_read("events/raw_syscalls/sys_exit/format")
              .find("\tfield:long ret;\toffset:16;\tsize:8;\tsigned:1;\n\nprint fmt: \"NR %ld = "
                    "%ld\", REC->id, REC->ret\n") != std::string::npos);
    // A probe may not take a static event's name (EVENT_EXIST).
    CHECK(t.tracefs_write("kprobe_events", "p:sched/sched_switch kprobe_target\n") == -EEXIST);
  }
}

TEST_CASE("raw_syscalls: sys_enter and sys_exit of each syscall, once per syscall") {
  auto m = boot(Arch::X86_64);
  emu::TraceEvents& t = m->state().trace_events();
  CHECK(t.tracefs_write("events/raw_syscalls/enable", "1") == 1);
  REQUIRE(m->spawn({guest(Arch::X86_64, "hello")}, {}).ok());
  m->run();
  auto enters = lines_of(t, "sys_enter"), exits = lines_of(t, "sys_exit");
  CHECK(has(enters, "hello-"));
  CHECK(has(enters, " sys_enter: NR 1 (1, "));    // write(1, buf, n)
  CHECK(has(exits, " sys_exit: NR 1 = "));
  CHECK(has(enters, " sys_enter: NR 231 ("));  // exit_group: no sys_exit follows
  CHECK_FALSE(has(exits, "NR 231 ="));
  CHECK(enters.size() == exits.size() + 1);
  CHECK(t.tracefs_write("events/raw_syscalls/enable", "0") == 1);
  const size_t before = t.records().size();
  REQUIRE(m->spawn({guest(Arch::X86_64, "hello")}, {}).ok());
  m->run();
  CHECK(t.records().size() == before);
}

TEST_CASE("sched events: threads fork, block and switch, wake and exit") {
  for (Arch a : kArches) {
    auto m = boot(a);
    emu::TraceEvents& t = m->state().trace_events();
    REQUIRE(t.add_enabled("sched:sched_switch").ok());
    CHECK(t.tracefs_write("events/sched/enable", "1") == 1);
    CHECK(t.tracefs_read("events/enable") == "X\n");
    REQUIRE(m->spawn({guest(a, "pthreads")}, {}).ok());
    m->run();
    auto forks = lines_of(t, "sched_process_fork"), switches = lines_of(t, "sched_switch");
    CHECK(has(forks, ": sched_process_fork: comm=pthreads pid="));
    CHECK(has(switches, " prev_state=S ==> next_comm="));
    CHECK(has(switches, "prev_comm=pthreads prev_pid="));
    CHECK(has(lines_of(t, "sched_wakeup"), ": sched_wakeup: comm=pthreads pid="));
    CHECK(has(lines_of(t, "sched_process_exit"), ": sched_process_exit: comm=pthreads pid="));
    for (const trace_events::TraceRecord& r : t.records())
      if (r.event == "sched_switch") {
        CHECK(r.fields.at(1).second != r.fields.at(5).second);  // prev_pid != next_pid
        CHECK(r.flags == "d....");
      }
    CHECK(t.tracefs_write("events/sched/enable", "0") == 1);
    CHECK_FALSE(m->state().sched().on_event);
  }
}

TEST_CASE("events/GRP/EVENT/filter keeps only matching hits, a bad filter shows parse_error") {
  auto m = boot(Arch::X86_64);
  emu::TraceEvents& t = m->state().trace_events();
  REQUIRE(t.add_enabled("p:kt kprobe_target a=$arg1:u32 b=$arg2:s32").ok());
  CHECK(t.tracefs_read("events/kprobes/kt/filter") == "none\n");
  const std::string f = "a >= 10 && b != -1\n";
  CHECK(t.tracefs_write("events/kprobes/kt/filter", f) == static_cast<int64_t>(f.size()));
  CHECK(t.tracefs_read("events/kprobes/kt/filter") == "a >= 10 && b != -1\n");
  call(*m, "kprobe_target", {5, 0});
  call(*m, "kprobe_target", {10, static_cast<uint64_t>(-1)});
  call(*m, "kprobe_target", {11, 2});
  REQUIRE(t.records().size() == 1);
  CHECK(t.records()[0].fields.at(0).second == "11");
  CHECK(t.tracefs_read("kprobe_profile").find(" 3 ") != std::string::npos);  // hits counted
  CHECK(t.tracefs_write("events/kprobes/kt/filter", "c == 1") == -EINVAL);
  CHECK(t.tracefs_read("events/kprobes/kt/filter") ==
        "c == 1\n^\nparse_error: Field not found\n");
  call(*m, "kprobe_target", {1, 1});  // no filter in force after a refused one
  CHECK(t.records().size() == 2);
  CHECK(t.tracefs_write("events/kprobes/kt/filter", "common_pid == 99") == 16);
  call(*m, "kprobe_target", {1, 1});
  CHECK(t.records().size() == 2);
  CHECK(t.tracefs_write("events/kprobes/kt/filter", "0\n") == 2);
  CHECK(t.tracefs_read("events/kprobes/kt/filter") == "none\n");
  call(*m, "kprobe_target", {1, 1});
  CHECK(t.records().size() == 3);
}

TEST_CASE("a static event's filter: sys_exit of one syscall number only") {
  auto m = boot(Arch::AArch64);
  emu::TraceEvents& t = m->state().trace_events();
  CHECK(t.tracefs_write("events/raw_syscalls/sys_exit/filter", "id == 64 && ret > 0") == 19);
  REQUIRE(t.add_enabled("raw_syscalls:sys_exit").ok());
  REQUIRE(m->spawn({guest(Arch::AArch64, "hello")}, {}).ok());
  m->run();
  REQUIRE_FALSE(t.records().empty());
  for (const trace_events::TraceRecord& r : t.records())
    CHECK(format_trace_line(r).find(" sys_exit: NR 64 = ") != std::string::npos);
  const std::string glob = "prev_comm ~ \"hel*\"";
  CHECK(t.tracefs_write("events/sched/sched_switch/filter", glob) ==
        static_cast<int64_t>(glob.size()));
  CHECK(t.tracefs_write("events/sched/sched_switch/filter", "prev_comm < 3") == -EINVAL);
}

TEST_CASE("events/GRP/filter sets the filter of each event it parses for, the others keep theirs") {
  auto m = boot(Arch::X86_64);
  emu::TraceEvents& t = m->state().trace_events();
  CHECK(t.tracefs_read("events/sched/filter") == "none\n");
  CHECK(t.tracefs_write("events/sched/sched_wakeup/filter", "target_cpu == 0") == 15);
  CHECK(t.tracefs_write("events/sched/filter", "pid == 5") == 8);  // wakeup, exit have pid
  CHECK(t.tracefs_read("events/sched/filter") == "pid == 5\n");
  CHECK(t.tracefs_read("events/sched/sched_wakeup/filter") == "pid == 5\n");
  CHECK(t.tracefs_read("events/sched/sched_process_exit/filter") == "pid == 5\n");
  CHECK(t.tracefs_read("events/sched/sched_switch/filter") == "none\n");
  CHECK(t.tracefs_write("events/sched/filter", "nothing == 1") == -EINVAL);
  CHECK(t.tracefs_read("events/sched/filter").find("parse_error: Couldn't find or set field") !=
        std::string::npos);
  CHECK(t.tracefs_read("events/sched/sched_wakeup/filter") == "pid == 5\n");
  CHECK(t.tracefs_write("events/sched/filter", "0") == 1);
  CHECK(t.tracefs_read("events/sched/sched_wakeup/filter") == "none\n");
  CHECK(t.tracefs_read("events/sched/filter") == "none\n");
}
