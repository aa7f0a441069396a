// DynEventTable: removal, clearing and busy events (trace_kprobe.c unregister_trace_kprobe,
// trace_dynevent.c dyn_event_release / dyn_events_release_all).
#include <doctest/doctest.h>

#include "trace_events/check_error.h"

using namespace probesim;
using namespace probesim::trace_events;
using namespace probesim::trace_events::test;

TEST_CASE("an enabled event cannot be removed or cleared (EBUSY), a sibling can go") {
  FakeEnv env;
  DynEventTable t;
  REQUIRE(accepts(t, "p:grp/ev vfs_read"));
  REQUIRE(accepts(t, "p:grp/ev do_exit"));
  REQUIRE(t.set_enabled("grp", "ev", true));
  CHECK(t.clear(ProbeKind::Kprobe) == EBUSY);
  CHECK(t.probes().size() == 2);
  CHECK(t.run_command("-:grp/ev vfs_read", EventsFile::Kprobe, env).ok());  // has a sibling
  CHECK(t.run_command("-:grp/ev", EventsFile::Kprobe, env).err == EBUSY);
  CHECK(t.probes().size() == 1);
  REQUIRE(t.set_enabled("grp", "ev", false));
  CHECK(t.run_command("-:grp/ev", EventsFile::Kprobe, env).ok());
  CHECK(t.probes().empty());
}

TEST_CASE("removal: unknown events are ENOENT, -:GRP/ removes a group, -: alone is EINVAL") {
  FakeEnv env;
  DynEventTable t;
  CHECK(t.run_command("-:nothere", EventsFile::Kprobe, env).err == ENOENT);
  CHECK(t.run_command("-:", EventsFile::Kprobe, env).err == EINVAL);
  CHECK(t.run_command("-x", EventsFile::Kprobe, env).err == EINVAL);
  REQUIRE(accepts(t, "p:g1/a vfs_read"));
  REQUIRE(accepts(t, "p:g1/b vfs_read"));
  REQUIRE(accepts(t, "p:g2/a vfs_read"));
  CHECK(t.run_command("-:g1/", EventsFile::Kprobe, env).ok());
  CHECK(t.list(std::nullopt) == "p:g2/a vfs_read\n");
  // kprobe_events removes only kprobes; dynamic_events any kind.
  REQUIRE(t.run_command("p:g2/u /bin/sh:1", EventsFile::Uprobe, env).ok());
  CHECK(t.run_command("-:g2/u", EventsFile::Kprobe, env).err == ENOENT);
  CHECK(t.run_command("-:g2/u", EventsFile::Dynamic, env).ok());
}

TEST_CASE("removal matches the probe point and the leading arguments") {
  FakeEnv env;
  DynEventTable t;
  REQUIRE(accepts(t, "p:e vfs_read+4 x=%ax y=%bx"));
  REQUIRE(accepts(t, "p:e do_exit x=%ax y=%bx"));
  CHECK(t.run_command("-:e vfs_read x=%ax", EventsFile::Kprobe, env).err == ENOENT);
  CHECK(t.run_command("-:e vfs_read+4 x=%bx", EventsFile::Kprobe, env).err == ENOENT);
  CHECK(t.run_command("-:e vfs_read+4 x=%ax", EventsFile::Kprobe, env).ok());
  CHECK(t.list(std::nullopt) == "p:kprobes/e do_exit x=%ax y=%bx\n");
}

TEST_CASE("a name used by another kind of event or a tracepoint is EVENT_EXIST") {
  DynEventTable t;
  FakeEnv env;
  REQUIRE(t.run_command("p:g/e /bin/sh:1", EventsFile::Uprobe, env).ok());
  check_error(t, EventsFile::Kprobe, "^p:g/e vfs_read", ProbeError::EVENT_EXIST);
  t.reserve("sched", "sched_switch");
  check_error(t, EventsFile::Kprobe, "^p:sched/sched_switch vfs_read", ProbeError::EVENT_EXIST);
}

TEST_CASE("registration errors map as __trace_kprobe_create maps them, caret on the point") {
  DynEventTable t;
  t.set_register(
      [](const ProbeDefinition& d) {
        return d.offset == 3 ? -EILSEQ : d.offset == 5 ? -EINVAL : 0;
      },
      [](const ProbeDefinition&) {});
  check_error(t, EventsFile::Kprobe, "p ^vfs_read+3", ProbeError::BAD_INSN_BNDRY);
  check_error(t, EventsFile::Kprobe, "p ^vfs_read+5", ProbeError::FAIL_REG_PROBE);
  CHECK(accepts(t, "p vfs_read+6"));
}

TEST_CASE("@SYM args resolve to the symbol's address plus offset at registration") {
  DynEventTable t;
  REQUIRE(accepts(t, "p:e vfs_read x=@_sdata+0x10 y=@do_exit-8"));
  const ProbeDefinition* d = t.event("kprobes", "e")[0];
  CHECK(d->args[0].code[1].imm == 0xffffffff82000010);
  CHECK(d->args[1].code[1].imm == 0xffffffff810ffff8);
}
