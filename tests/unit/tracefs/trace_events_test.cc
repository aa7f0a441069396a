// tracefs dynamic events on the booted machine (emu/tracefs): definitions register real
// kprobes/kretprobes/uprobes, enabling arms them, hits become ftrace lines whose fetch args
// are evaluated against pt_regs and guest memory.
#include "emu/tracefs/trace_events.h"

#include <cerrno>
#include <string>

#include "kmachine/kmachine.h"
#include "probes/uprobes/uprobe_target.h"

using namespace probesim;
using namespace probesim::kmachine;
using trace_events::EventsFile;

namespace {

std::string only_line(const emu::TraceEvents& t) {
  REQUIRE(t.records().size() == 1);
  return format_trace_line(t.records()[0]);
}

// "<...>: <event>: (<location>) <fields>" after the context columns.
std::string body(const std::string& line) {
  return line.substr(line.find(": ") + 2);
}

std::string field(const trace_events::TraceRecord& r, const std::string& name) {
  for (const auto& [n, v] : r.fields)
    if (n == name) return v;
  FAIL("no field " << name);
  return {};
}

}  // namespace

TEST_CASE("a kprobe event records $argN and widths 8/16/32/64, signed, hex, char, bitfields") {
  for (Arch a : kArches) {
    auto m = boot(a);
    emu::TraceEvents t(m->state());
    auto ev = t.add_enabled(
        "p:kt kprobe_target x8=$arg1:x8 s8=$arg1:s8 u16=$arg1:u16 s32=$arg1:s32 x32=$arg1:x32 "
        "x64=$arg1 u64=$arg1:u64 s64=$arg1:s64 bf=$arg2:b4@4/8 ch=$arg2:char u8=$arg2:u8");
    REQUIRE_MESSAGE(ev.ok(), (ev.ok() ? "" : ev.error().message));
    call(*m, "kprobe_target", {static_cast<uint64_t>(-10), 0x41});
    std::string line = only_line(t);
    const probes::KernelSymbol& s = ksym(*m, "kprobe_target");
    char where[96];
    std::snprintf(where, sizeof where, "kt: (kprobe_target+0x0/0x%llx)",
                  static_cast<unsigned long long>(s.size));
    CHECK(body(line) == std::string(where) +
                            " x8=0xf6 s8=-10 u16=65526 s32=-10 x32=0xfffffff6"
                            " x64=0xfffffffffffffff6 u64=18446744073709551606 s64=-10 bf=4"
                            " ch='A' u8=65");
    CHECK(line.starts_with("          <idle>-0       [000] d.... "));
  }
}

TEST_CASE("a kretprobe event prints the return site <- function, $retval and entry $argN") {
  for (Arch a : kArches) {
    auto m = boot(a);
    emu::TraceEvents t(m->state());
    REQUIRE(t.add_enabled("r:kr kprobe_target ret=$retval:u64 a=$arg1:u32").ok());
    CHECK(call(*m, "kprobe_target", {3, 4}) == 11);
    std::string line = only_line(t);
    CHECK(line.find(" <- kprobe_target) ret=11 a=3") != std::string::npos);
    // $retval only on return probes: the kprobe form is RETVAL_ON_PROBE in error_log.
    auto bad = t.add_enabled("p:kp kprobe_target r=$retval");
    REQUIRE_FALSE(bad.ok());
    CHECK(bad.error().message.find("$retval is not available on probe") != std::string::npos);
    CHECK(t.error_log().find("trace_kprobe: error: $retval is not available on probe\n"
                             "  Command: p:kp kprobe_target r=$retval\n" +
                             std::string(11 + 21, ' ') + "^\n") != std::string::npos);
  }
}

TEST_CASE("string fetch args: kernel strings, (fault) on bad memory, $comm, immediates") {
  for (Arch a : kArches) {
    auto m = boot(a);
    emu::TraceEvents t(m->state());
    uint64_t str_addr = ksym(*m, "kprobe_target").addr.value;  // not a string, but readable
    REQUIRE(t.add_enabled("p:ks kprobe_target bad=+0($arg2):string null=+0($arg1):string "
                          "c=$comm imm=\\\"text\" n=\\42:s32 sym=$arg2:symbol "
                          "ss=$arg2:symstr")
                .ok());
    call(*m, "kprobe_target", {0, str_addr});
    const trace_events::TraceRecord& r = t.records().at(0);
    CHECK(field(r, "null") == "(fault)");
    CHECK(field(r, "bad").starts_with("\""));
    CHECK(field(r, "c") == "\"swapper\"");
    CHECK(field(r, "imm") == "\"text\"");
    CHECK(field(r, "n") == "42");
    CHECK(field(r, "sym") == "kprobe_target+0x0/0x" + [&] {
      char b[32];
      std::snprintf(b, sizeof b, "%llx",
                    static_cast<unsigned long long>(ksym(*m, "kprobe_target").size));
      return std::string(b);
    }());
    CHECK(field(r, "ss") == "\"" + field(r, "sym") + "\"");
  }
}

TEST_CASE("a program's write: $comm, ustring of the user buffer, the task's pid and cpu") {
  for (Arch a : kArches) {
    auto m = boot(a);
    emu::TraceEvents t(m->state());
    REQUIRE(t.add_enabled("p:w ksys_write fd=$arg1:s32 buf=+0($arg2):ustring n=$arg3:u64 "
                          "c=$comm kbuf=+0($arg2):string")
                .ok());
    auto p = m->spawn({guest(a, "hello")}, {});
    REQUIRE(p.ok());
    m->run();
    const trace_events::TraceRecord* out = nullptr;  // stderr's unbuffered write comes first
    for (const auto& rec : t.records())
      if (field(rec, "fd") == "1") out = &rec;
    REQUIRE(out != nullptr);
    const trace_events::TraceRecord& r = *out;
    CHECK(r.comm == "hello");
    CHECK(r.pid == p.value());
    CHECK(field(r, "c") == "\"hello\"");
    CHECK(field(r, "fd") == "1");
    CHECK(field(r, "buf").starts_with("\"hello from hello\n"));
    // A user pointer read as kernel memory faults (no kernel mapping there).
    CHECK(field(r, "kbuf") == "(fault)");
  }
}

TEST_CASE("uprobe and uretprobe events: registers, $retval, (0xaddr <- 0xfunc) locations") {
  for (Arch a : kArches) {
    auto m = boot(a);
    std::string prog = guest(a, "hello");
    auto inode = m->state().lookup_inode(prog);
    REQUIRE(inode.ok());
    auto spec = probes::parse_uprobe_spec(prog + ":probe_target");
    REQUIRE(spec.ok());
    auto off = m->state().uprobe_offset(*inode.value(), spec.value());
    m->state().inodes().iput(inode.value());
    REQUIRE(off.ok());
    char point[512];
    std::snprintf(point, sizeof point, "%s:0x%llx", prog.c_str(),
                  static_cast<unsigned long long>(off.value().value));
    std::string reg = a == Arch::X86_64 ? "%di" : "%x0";
    emu::TraceEvents t(m->state());
    REQUIRE(t.add_enabled(std::string("p:pt ") + point + " x=" + reg + ":s64").ok());
    REQUIRE(t.add_enabled(std::string("r:ptr ") + point + " ret=$retval:s64").ok());
    REQUIRE(m->spawn({prog}, {}).ok());
    m->run();
    REQUIRE(t.records().size() == 20);
    for (int i = 0; i < 10; ++i) {
      const trace_events::TraceRecord& in = t.records()[2 * i];
      const trace_events::TraceRecord& out = t.records()[2 * i + 1];
      CHECK(in.event == "pt");
      CHECK(field(in, "x") == std::to_string(i));
      CHECK(out.event == "ptr");
      CHECK(field(out, "ret") == std::to_string(3 * i + 1));
      CHECK(out.location.ends_with(" <- " + in.location));
      CHECK(in.flags == ".....");
    }
    CHECK(t.list(EventsFile::Uprobe).find("p:uprobes/pt " + prog + ":0x") == 0);
  }
}

TEST_CASE("enabled events are busy: removal and clearing fail with EBUSY until disabled") {
  auto m = boot(Arch::X86_64);
  emu::TraceEvents t(m->state());
  REQUIRE(t.write(EventsFile::Kprobe, "p:kt kprobe_target\n") == 0);
  CHECK(t.enabled("kprobes", "kt") == false);
  call(*m, "kprobe_target", {1, 2});
  CHECK(t.records().empty());  // defined but not enabled: registered disabled
  REQUIRE(t.set_enabled("kprobes", "kt", true) == 0);
  CHECK(t.write(EventsFile::Kprobe, "-:kt") == EBUSY);
  CHECK(t.truncate(EventsFile::Kprobe) == EBUSY);
  call(*m, "kprobe_target", {1, 2});
  CHECK(t.records().size() == 1);
  REQUIRE(t.set_enabled("kprobes", "kt", false) == 0);
  call(*m, "kprobe_target", {1, 2});
  CHECK(t.records().size() == 1);
  CHECK(t.write(EventsFile::Kprobe, "-:kt") == 0);
  CHECK(t.list(EventsFile::Kprobe).empty());
  CHECK(t.set_enabled("kprobes", "kt", true) == ENOENT);
}

TEST_CASE("registration errors come from the engine: mid-instruction is BAD_INSN_BNDRY") {
  auto m = boot(Arch::X86_64);
  emu::TraceEvents t(m->state());
  std::vector<GuestAddr> b = insn_boundaries(*m, "kprobe_target");
  REQUIRE(b.size() > 1);
  uint64_t mid = b[1].value - ksym(*m, "kprobe_target").addr.value;
  REQUIRE(mid > 1);
  std::string cmd = "p kprobe_target+" + std::to_string(mid - 1);
  CHECK(t.write(EventsFile::Kprobe, cmd) == EILSEQ);
  CHECK(t.error_log().find("trace_kprobe: error: Probe point is not an instruction boundary\n"
                           "  Command: " +
                           cmd + "\n             ^\n") != std::string::npos);
}

TEST_CASE("the trace is deterministic: the same run gives the same text, timestamps included") {
  auto run = [] {
    auto m = boot(Arch::AArch64);
    emu::TraceEvents t(m->state());
    REQUIRE(t.add_enabled("p:w ksys_write n=$arg3:u64 c=$comm").ok());
    REQUIRE(m->spawn({guest(Arch::AArch64, "hello")}, {}).ok());
    m->run();
    return t.trace_text(true);
  };
  std::string a = run(), b = run();
  CHECK(a == b);
  CHECK(a.starts_with("# tracer: nop\n"));
  CHECK(a.find("hello-") != std::string::npos);
}

TEST_CASE(
    "uprobe event paths: missing is FILE_NOT_FOUND, a directory NO_REGULAR_FILE, any "
    "regular file (executable or not) is accepted") {
  auto m = boot(Arch::X86_64);
  emu::TraceEvents t(m->state());
  std::string dir = fixture_dir("tracefs_paths");
  CHECK(t.write(EventsFile::Uprobe, "p " + dir + "/nothere:0x10") == ENOENT);
  CHECK(t.error_log().find("trace_uprobe: error: Failed to find the given file\n") !=
        std::string::npos);
  CHECK(t.write(EventsFile::Uprobe, "p " + dir + "/sub:0x10") == EINVAL);
  CHECK(t.error_log().find("trace_uprobe: error: Not a regular file\n") != std::string::npos);
  CHECK(t.write(EventsFile::Uprobe, "p:txt " + dir + "/hello.txt:0x0") == 0);
  CHECK(t.write(EventsFile::Uprobe, "p:lnk " + dir + "/link:0x0") == 0);  // symlinks followed
  CHECK(t.list(EventsFile::Uprobe).find("p:uprobes/txt " + dir + "/hello.txt:0x") == 0);
}

TEST_CASE("tracefs tree: control files, events/GRP/EVENT/enable, O_TRUNC and profile text") {
  auto m = boot(Arch::X86_64);
  emu::TraceEvents& t = m->state().trace_events();  // the one the guest's tracefs shows
  CHECK(t.tracefs_kind("") == std::optional<bool>(true));
  CHECK(t.tracefs_kind("kprobe_events") == std::optional<bool>(false));
  CHECK_FALSE(t.tracefs_kind("events/kprobes").has_value());
  std::string def = "p:kt kprobe_target a=$arg1\n";
  CHECK(t.tracefs_write("kprobe_events", def) == static_cast<int64_t>(def.size()));
  CHECK(t.tracefs_kind("events/kprobes/kt") == std::optional<bool>(true));
  CHECK(t.tracefs_list("events/kprobes/kt").at(0).name == "enable");
  CHECK(t.tracefs_read("events/kprobes/kt/enable") == "0\n");
  CHECK(t.tracefs_write("events/kprobes/kt/enable", "2\n") == -EINVAL);
  CHECK(t.tracefs_write("events/kprobes/kt/enable", "1\n") == 2);
  call(*m, "kprobe_target", {5, 6});
  char profile[128];
  std::snprintf(profile, sizeof profile, "  %-44s %15d %15d\n", "kt", 1, 0);
  CHECK(t.tracefs_read("kprobe_profile") == profile);
  CHECK(t.tracefs_read("trace").find(" kt: (kprobe_target+0x0/0x") != std::string::npos);
  CHECK(t.tracefs_truncate("kprobe_events") == EBUSY);
  CHECK(t.tracefs_write("kprobe_events", "p:kt kprobe_target a=$arg1:u8\n") == -EEXIST);
  CHECK(t.tracefs_read("error_log").find("Argument type or name is different") !=
        std::string::npos);
  CHECK(t.tracefs_truncate("error_log") == 0);
  CHECK(t.tracefs_read("error_log").empty());
  CHECK(t.tracefs_truncate("trace") == 0);
  CHECK(t.records().empty());
  CHECK(t.tracefs_write("events/kprobes/kt/enable", "0") == 1);
  CHECK(t.tracefs_truncate("kprobe_events") == 0);
  CHECK(t.tracefs_read("kprobe_events").empty());
}
