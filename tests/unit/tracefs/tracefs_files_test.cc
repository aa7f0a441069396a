// The tracefs control files beyond the event definitions (emu/tracefs/tracefs_files.cc):
// tracing_on, events/enable and events/GRP/enable, format and id, available_events,
// available_filter_functions, buffer_size_kb, trace_pipe; and the kernel's other synthetic
// files (emu/tracefs/debug_files.cc): debugfs's kprobes/{list,enabled,blacklist},
// /proc/kallsyms.
#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <string>

#include "emu/tracefs/debug_files.h"
#include "emu/tracefs/trace_events.h"
#include "kmachine/kmachine.h"

using namespace probesim;
using namespace probesim::kmachine;

namespace {

size_t count_lines(const std::string& s) {
  return static_cast<size_t>(std::count(s.begin(), s.end(), '\n'));
}

}  // namespace

TEST_CASE("tracing_on 0 keeps hits out of the ring buffer, kprobe_profile still counts them") {
  auto m = boot(Arch::X86_64);
  emu::TraceEvents& t = m->state().trace_events();
  REQUIRE(t.add_enabled("p:kt kprobe_target").ok());
  CHECK(t.tracefs_read("tracing_on") == "1\n");
  CHECK(t.tracefs_write("tracing_on", "0\n") == 2);
  CHECK(t.tracefs_read("tracing_on") == "0\n");
  call(*m, "kprobe_target", {1, 2});
  CHECK(t.records().empty());
  CHECK(t.tracefs_read("kprobe_profile").find(" 1 ") != std::string::npos);
  CHECK(t.tracefs_write("tracing_on", "x") == -EINVAL);
  CHECK(t.tracefs_write("tracing_on", "7") == 1);  // rb_simple_write: any non-zero is on
  call(*m, "kprobe_target", {1, 2});
  CHECK(t.records().size() == 1);
}

TEST_CASE("events/enable and events/GRP/enable read ?, 0, 1 or X and switch whole groups") {
  auto m = boot(Arch::AArch64);
  emu::TraceEvents& t = m->state().trace_events();
  CHECK(t.tracefs_read("events/enable") == "0\n");  // the static events, all off
  CHECK(t.tracefs_write("events/nogroup/enable", "1") == -EINVAL);
  REQUIRE(t.tracefs_write("kprobe_events", "p:a kprobe_target\np:b kprobe_target2\n") > 0);
  REQUIRE(t.tracefs_write("kprobe_events", "p:other/c kprobe_target\n") > 0);
  CHECK(t.tracefs_read("events/kprobes/enable") == "0\n");
  CHECK(t.tracefs_write("events/kprobes/a/enable", "1") == 1);
  CHECK(t.tracefs_read("events/kprobes/enable") == "X\n");
  CHECK(t.tracefs_write("events/kprobes/enable", "2") == -EINVAL);
  CHECK(t.tracefs_write("events/kprobes/enable", "1\n") == 2);
  CHECK(t.tracefs_read("events/kprobes/enable") == "1\n");
  CHECK(t.enabled("kprobes", "b"));
  CHECK_FALSE(t.enabled("other", "c"));
  CHECK(t.tracefs_read("events/enable") == "X\n");
  CHECK(t.tracefs_write("events/enable", "1") == 1);
  CHECK(t.enabled("other", "c"));
  CHECK(t.tracefs_write("events/enable", "0") == 1);
  CHECK(t.tracefs_read("events/enable") == "0\n");
  CHECK(t.tracefs_kind("events/other/enable") == std::optional<bool>(false));
  CHECK_FALSE(t.tracefs_kind("events/nogroup/enable").has_value());
}

TEST_CASE("format and id: common fields, the probe's ip fields, args at Linux's offsets") {
  auto m = boot(Arch::X86_64);
  emu::TraceEvents& t = m->state().trace_events();
  REQUIRE(t.tracefs_write("kprobe_events",
                          "p:kt kprobe_target a=$arg1:s32 b=%si:x8 s=+0(%di):string "
                          "arr=+0(%sp):u16[2]\n") > 0);
  CHECK(t.tracefs_read("events/kprobes/kt/id") == "1000\n");
  CHECK(t.tracefs_read("events/kprobes/kt/format") ==
        "name: kt\nID: 1000\nformat:\n"
        "\tfield:unsigned short common_type;\toffset:0;\tsize:2;\tsigned:0;\n"
        "\tfield:unsigned char common_flags;\toffset:2;\tsize:1;\tsigned:0;\n"
        "\tfield:unsigned char common_preempt_count;\toffset:3;\tsize:1;\tsigned:0;\n"
        "\tfield:int common_pid;\toffset:4;\tsize:4;\tsigned:1;\n\n"
        "\tfield:unsigned long __probe_ip;\toffset:8;\tsize:8;\tsigned:0;\n"
        "\tfield:s32 a;\toffset:16;\tsize:4;\tsigned:1;\n"
        "\tfield:u8 b;\toffset:20;\tsize:1;\tsigned:0;\n"
        "\tfield:__data_loc char[] s;\toffset:21;\tsize:4;\tsigned:1;\n"
        "\tfield:u16 arr[2];\toffset:25;\tsize:4;\tsigned:0;\n\n"
        "print fmt: \"(%lx) a=%d b=0x%x s=\\\"%s\\\" arr={%u,%u}\", REC->__probe_ip, REC->a, "
        "REC->b, __get_str(s), REC->arr[0], REC->arr[1]\n");
  REQUIRE(t.tracefs_write("kprobe_events", "r:kr kprobe_target r=$retval\n") > 0);
  CHECK(t.tracefs_read("events/kprobes/kr/id") == "1001\n");
  const std::string rf = t.tracefs_read("events/kprobes/kr/format");
  CHECK(rf.find("\tfield:unsigned long __probe_func;\toffset:8;\tsize:8;\tsigned:0;\n"
                "\tfield:unsigned long __probe_ret_ip;\toffset:16;\tsize:8;\tsigned:0;\n"
                "\tfield:u64 r;\toffset:24;\tsize:8;\tsigned:0;\n") != std::string::npos);
  CHECK(rf.find("print fmt: \"(%lx <- %lx) r=0x%Lx\", REC->__probe_func, REC->__probe_ret_ip, "
                "REC->r\n") != std::string::npos);
  // A removed event's id is free again (register_trace_event takes the first free one).
  REQUIRE(t.tracefs_write("kprobe_events", "-:kt\n") > 0);
  REQUIRE(t.tracefs_write("kprobe_events", "p:again kprobe_target\n") > 0);
  CHECK(t.tracefs_read("events/kprobes/again/id") == "1000\n");
  CHECK(t.event_id("kprobes", "kt") == 0);
}

TEST_CASE("available_events lists GRP:EVENT, available_filter_functions the probe-able ones") {
  auto m = boot(Arch::X86_64);
  emu::TraceEvents& t = m->state().trace_events();
  REQUIRE(t.tracefs_write("kprobe_events", "p:x kprobe_target\np:g/y kprobe_target\n") > 0);
  REQUIRE(t.tracefs_write("kprobe_events", "p:x kprobe_target2\n") > 0);  // a second probe
  const std::string avail = t.tracefs_read("available_events");
  CHECK(avail.starts_with("raw_syscalls:sys_enter\n"));  // static events first
  CHECK(avail.ends_with("sched:sched_process_exit\nkprobes:x\ng:y\n"));
  const std::string fns = "\n" + t.tracefs_read("available_filter_functions");
  CHECK(fns.find("\nkprobe_target\n") != std::string::npos);
  CHECK(fns.find("\nksys_write\n") != std::string::npos);
  CHECK(fns.find("\nkprobe_nokprobe_target\n") == std::string::npos);  // NOKPROBE_SYMBOL
  const std::string readme = t.tracefs_read("README");
  for (const char* feature : {"x8/16/32/64", "b<bit-width>@<bit-offset>/<container-size>",
                              "$stack<index>", "\\imm-value", "ustring", "symstr",
                              "<type>\\[<array-size>\\]", "%return", "$arg<N>", "$comm"})
    CHECK_MESSAGE(readme.find(feature) != std::string::npos, feature);
}

TEST_CASE("buffer_size_kb bounds each CPU's buffer: the oldest events are overwritten") {
  auto m = boot(Arch::X86_64);
  emu::TraceEvents& t = m->state().trace_events();
  CHECK(t.tracefs_read("buffer_size_kb") == "1408\n");
  CHECK(t.tracefs_read("buffer_total_size_kb") == "1408\n");  // one CPU
  CHECK(t.tracefs_write("buffer_size_kb", "0") == -EINVAL);
  CHECK(t.tracefs_write("buffer_size_kb", "1\n") == 2);
  REQUIRE(t.add_enabled("p:kt kprobe_target a=$arg1").ok());
  for (uint64_t i = 0; i < 200; ++i) call(*m, "kprobe_target", {i, 0});
  // Each event: 4 (rb header) + 8 (trace_entry) + 8 (__probe_ip) + 8 (a) = 28 bytes.
  REQUIRE(t.records().size() == 1024 / 28);
  CHECK(t.records().front().fields.at(0).second == "0x" + [] {
    char b[8];
    std::snprintf(b, sizeof b, "%x", 200 - 1024 / 28);
    return std::string(b);
  }());
  CHECK(t.tracefs_read("trace").find("# entries-in-buffer/entries-written: 36/200   #P:1\n") !=
        std::string::npos);
  CHECK(t.tracefs_truncate("trace") == 0);
  CHECK(t.tracefs_read("trace").find("entries-written: 0/0 ") != std::string::npos);
}

TEST_CASE("trace_pipe consumes: what it returns leaves the buffer, trace then shows the rest") {
  auto m = boot(Arch::AArch64);
  emu::TraceEvents& t = m->state().trace_events();
  REQUIRE(t.add_enabled("p:kt kprobe_target a=$arg1:u8").ok());
  CHECK(t.tracefs_consuming("trace_pipe"));
  CHECK(t.tracefs_poll("trace_pipe") == 0);
  call(*m, "kprobe_target", {7, 0});
  call(*m, "kprobe_target", {8, 0});
  CHECK((t.tracefs_poll("trace_pipe") & emu::kEPOLLIN) != 0);
  const std::string piped = t.tracefs_consume("trace_pipe");
  CHECK(count_lines(piped) == 2);
  CHECK(piped.find(" kt: (kprobe_target+0x0/0x") != std::string::npos);
  CHECK(piped.find("a=7\n") != std::string::npos);
  CHECK(t.records().empty());
  CHECK(t.tracefs_consume("trace_pipe").empty());
  CHECK(t.tracefs_read("trace").find("entries-in-buffer/entries-written: 0/2 ") !=
        std::string::npos);
}

TEST_CASE("debugfs kprobes: list shows registered kprobes, enabled arms and disarms them all") {
  auto m = boot(Arch::X86_64);
  emu::KprobesDebugfs dbg(m->state());
  emu::TraceEvents& t = m->state().trace_events();
  REQUIRE(t.add_enabled("p:kt kprobe_target").ok());
  REQUIRE(t.tracefs_write("kprobe_events", "r:kr kprobe_target2\n") > 0);  // disabled
  const std::string list = dbg.tracefs_read("list");
  CHECK(list.find("  k  kprobe_target+0x0    ") != std::string::npos);
  CHECK(list.find("  r  kprobe_target2+0x0    [DISABLED]\n") != std::string::npos);
  CHECK(dbg.tracefs_read("enabled") == "1\n");
  CHECK(dbg.tracefs_write("enabled", "0\n") == 2);
  CHECK(dbg.tracefs_read("enabled") == "0\n");
  call(*m, "kprobe_target", {1, 2});
  CHECK(t.records().empty());
  CHECK(dbg.tracefs_write("enabled", "maybe") == -EINVAL);
  CHECK(dbg.tracefs_write("enabled", "Y") == 1);
  call(*m, "kprobe_target", {1, 2});
  CHECK(t.records().size() == 1);
  CHECK(dbg.tracefs_read("blacklist").find("\tkprobe_nokprobe_target\n") != std::string::npos);
  CHECK(dbg.tracefs_kind("") == std::optional<bool>(true));
  CHECK_FALSE(dbg.tracefs_kind("nope").has_value());
}

TEST_CASE("/proc/kallsyms: every symbol as '%px %c %s', ascending, read-only") {
  for (Arch a : kArches) {
    auto m = boot(a);
    emu::ProcKallsyms ks(m->state());
    const std::string text = ks.tracefs_read("");
    const probes::KernelSymbol& s = ksym(*m, "kprobe_target");
    char want[96];
    std::snprintf(want, sizeof want, "%016llx %c kprobe_target\n",
                  static_cast<unsigned long long>(s.addr.value), s.type);
    CHECK(text.find(want) != std::string::npos);
    CHECK(count_lines(text) == m->state().kernel()->space().kallsyms().symbols().size());
    CHECK(ks.tracefs_write("", "x") == -EIO);
    CHECK(ks.tracefs_kind("") == std::optional<bool>(false));
  }
}

TEST_CASE("trigger: traceoff[:N] and traceon, with an optional if-filter, '!' removes") {
  auto m = boot(Arch::X86_64);
  emu::TraceEvents& t = m->state().trace_events();
  REQUIRE(t.add_enabled("p:a kprobe_target x=$arg1:u32").ok());
  REQUIRE(t.add_enabled("p:b kprobe_target2 y=$arg1:u32").ok());
  CHECK(t.tracefs_read("events/kprobes/a/trigger") ==
        "# Available triggers:\n# traceon traceoff enable_event disable_event\n");
  CHECK(t.tracefs_write("events/kprobes/a/trigger", "traceoff if x == 3\n") == 19);
  CHECK(t.tracefs_write("events/kprobes/a/trigger", "traceoff") == -EEXIST);
  CHECK(t.tracefs_write("events/kprobes/a/trigger", "snapshot") == -EINVAL);
  CHECK(t.tracefs_write("events/kprobes/b/trigger", "traceon:1") == 9);
  CHECK(t.tracefs_read("events/kprobes/a/trigger") == "traceoff:unlimited if x == 3\n");
  call(*m, "kprobe_target", {1, 0});
  call(*m, "kprobe_target", {3, 0});  // recorded, then tracing goes off
  call(*m, "kprobe_target", {4, 0});
  CHECK(t.records().size() == 2);
  CHECK(t.tracefs_read("tracing_on") == "0\n");
  call(*m, "kprobe_target2", {7, 0});  // traceon runs first: its own hit is recorded
  CHECK(t.records().size() == 3);
  CHECK(t.tracefs_read("events/kprobes/b/trigger") == "traceon:count=0\n");
  CHECK(t.tracefs_write("events/kprobes/a/trigger", "!traceoff") == 9);
  call(*m, "kprobe_target", {3, 0});
  CHECK(t.tracefs_read("tracing_on") == "1\n");
  CHECK(t.records().size() == 4);
  CHECK(t.tracefs_truncate("events/kprobes/b/trigger") == 0);
  CHECK(t.tracefs_read("events/kprobes/b/trigger").starts_with("# Available triggers:"));
}

TEST_CASE("trigger: a trigger holds its own event armed, soft-disabled: it fires, records nothing") {
  auto m = boot(Arch::X86_64);
  emu::TraceEvents& t = m->state().trace_events();
  REQUIRE(t.write(trace_events::EventsFile::Kprobe, "p:a kprobe_target") == 0);
  CHECK(t.tracefs_write("events/kprobes/a/trigger", "traceoff") == 8);
  CHECK(t.tracefs_read("events/kprobes/a/enable") == "0*\n");  // soft mode, soft-disabled
  call(*m, "kprobe_target", {1, 0});
  CHECK(t.records().empty());
  CHECK(t.tracefs_read("tracing_on") == "0\n");  // the disabled event's trigger ran
  CHECK(t.tracefs_write("kprobe_events", "-:a") == -EBUSY);  // armed for its trigger
  CHECK(t.tracefs_write("events/kprobes/a/enable", "1") == 1);
  CHECK(t.tracefs_read("events/kprobes/a/enable") == "1*\n");
  CHECK(t.tracefs_write("events/kprobes/a/trigger", "!traceoff") == 9);
  CHECK(t.tracefs_read("events/kprobes/a/enable") == "1\n");  // enabled by hand: stays on
  CHECK(t.tracefs_write("events/kprobes/a/enable", "0") == 1);
  CHECK(t.tracefs_write("kprobe_events", "-:a") == 3);
}

TEST_CASE("trigger: enable_event/disable_event flip their target's soft-disabled flag") {
  for (Arch a : kArches) {
    auto m = boot(a);
    emu::TraceEvents& t = m->state().trace_events();
    REQUIRE(t.write(trace_events::EventsFile::Kprobe,
                    "p:on kprobe_target2\np:off kprobe_target x=$arg1:u32\np:b kprobe_target") == 0);
    // b is recorded only between a hit of `on` and the next x == 9 hit of `off`.
    CHECK(t.tracefs_write("events/kprobes/on/trigger", "enable_event:kprobes:b") == 22);
    CHECK(t.tracefs_write("events/kprobes/off/trigger", "disable_event:kprobes:b:1 if x == 9") ==
          35);
    CHECK(t.tracefs_write("events/kprobes/on/trigger", "enable_event:kprobes:b") == -EEXIST);
    CHECK(t.tracefs_write("events/kprobes/on/trigger", "enable_event:kprobes:nosuch") == -EINVAL);
    CHECK(t.tracefs_write("events/kprobes/on/trigger", "enable_event:kprobes") == -EINVAL);
    CHECK(t.tracefs_read("events/kprobes/on/trigger") == "enable_event:kprobes:b:unlimited\n");
    CHECK(t.tracefs_read("events/kprobes/off/trigger") ==
          "disable_event:kprobes:b:count=1 if x == 9\n");
    CHECK(t.tracefs_read("events/kprobes/b/enable") == "0*\n");
    call(*m, "kprobe_target", {1, 0});  // b soft-disabled: nothing
    CHECK(t.records().empty());
    call(*m, "kprobe_target2", {0, 0});  // on: b enabled
    CHECK(t.tracefs_read("events/kprobes/b/enable") == "1*\n");
    call(*m, "kprobe_target", {2, 0});  // off (x != 9) and b hit; only b records
    // b's handler runs before off's (add_new_kprobe puts the newer probe at the head of the
    // aggregate's list): this hit of b is recorded, then off turns b off.
    call(*m, "kprobe_target", {9, 0});
    REQUIRE(t.records().size() == 2);
    CHECK(t.records()[1].event == "b");
    call(*m, "kprobe_target", {3, 0});
    CHECK(t.records().size() == 2);
    CHECK(t.tracefs_read("events/kprobes/b/enable") == "0*\n");
    CHECK(t.tracefs_read("events/kprobes/off/trigger") ==
          "disable_event:kprobes:b:count=0 if x == 9\n");
    // The trigger's target and its own event cannot go while held.
    CHECK(t.tracefs_write("kprobe_events", "-:b") == -EBUSY);
    CHECK(t.tracefs_truncate("events/kprobes/on/trigger") == 0);
    CHECK(t.tracefs_write("events/kprobes/off/trigger", "!disable_event:kprobes:b") == 24);
    CHECK(t.tracefs_read("events/kprobes/b/enable") == "0\n");
    CHECK(t.tracefs_write("kprobe_events", "-:b") == 3);
    call(*m, "kprobe_target", {1, 0});
    CHECK(t.records().size() == 2);  // nothing armed any more
  }
}
