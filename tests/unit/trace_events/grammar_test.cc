// Accept/reject tables of kprobe_args_syntax.tc, kretprobe_maxactive.tc, kprobe_eventname.tc,
// kprobe_multiprobe.tc and probepoint.tc (tools/testing/selftests/ftrace/test.d/kprobe/), and
// the grammar of probe points, names and listings (Documentation/trace/kprobetrace.rst,
// uprobetracer.rst).
#include <doctest/doctest.h>

#include <string>
#include <vector>

#include "trace_events/check_error.h"

using namespace probesim;
using namespace probesim::trace_events;
using namespace probesim::trace_events::test;

namespace {

// test_goodarg / test_badarg: "p vfs_read ARG" written with truncation.
bool arg_ok(std::string_view arg, Arch arch, std::string_view func = "vfs_read") {
  DynEventTable t;
  return accepts(t, "p " + std::string(func) + " " + std::string(arg), arch);
}

struct ArchRegs {
  Arch arch;
  std::string good, bad;
};

}  // namespace

TEST_CASE("kprobe_args_syntax.tc: accepted and rejected fetch args on both arches") {
  for (const ArchRegs& a :
       {ArchRegs{Arch::X86_64, "%ax", "%ex"}, ArchRegs{Arch::AArch64, "%x0", "%ax"}}) {
    const std::string& R = a.good;
    INFO("arch ", arch_name(a.arch));
    const std::vector<std::string> good = {
        R,  // register access
        "@_sdata",
        "@0xffffffff82000000",
        "@_sdata+10",
        "@_sdata-10",  // symbol access
        "$stack",
        "$stack0",
        "$stack1",  // stack access
        "$comm",    // comm access
        "+0(" + R + ")",
        "-0(" + R + ")",
        "+10($stack)",
        "+0($stack1)",
        "+10(@_sdata-10)",
        "+0(+10(+20($stack)))",  // indirect access
        "varname=" + R,          // name assignment
        R + ":x16",              // type syntax
        "$comm:string",
        "+0($stack):string",  // combinations
        // Linux cuts everything after the last ')' (parse_probe_arg's *tmp = '\0'), so this
        // selftest "bad" arg is accepted by the kernel; its `! echo` never checked it.
        "+0(" + R + ")+10",
    };
    const std::vector<std::string> bad = {
        a.bad,
        "@",
        "@deaqswdefr",
        "@_sdata*10",
        "@_sdata/10",
        "@_sdata%10",
        "@_sdata&10",
        "@_sdata|10",
        "$stackp",
        "$stack0+10",
        "$stack1-10",
        "+(" + R + ")",
        "(" + R + "+10)",
        "-(" + R + ")",
        "(" + R + ")",
        "+10($comm)",
        "varname=varname2=" + R,
        R + "::x16",
        R + ":y16",
        "x16:" + R,
        "$comm:x64",
        "$stack:string",
        R + ":string",
    };
    for (const std::string& g : good) CHECK_MESSAGE(arg_ok(g, a.arch), g);
    for (const std::string& b : bad) CHECK_MESSAGE(!arg_ok(b, a.arch), b);
    DynEventTable t;
    CHECK(accepts(t, "r vfs_read $retval", a.arch));
    CHECK_FALSE(accepts(t, "p vfs_read $retval", a.arch));
  }
}

TEST_CASE("kretprobe_maxactive.tc: MAXACTIVE only on r, numeric, at most 4096") {
  FakeEnv env;
  DynEventTable t;
  TableResult unknown = t.run_command("a:myprobeaccept inet_csk_accept", EventsFile::Kprobe, env);
  CHECK(unknown.err == EINVAL);  // not a probe command at all: -ECANCELED -> -EINVAL, no log
  CHECK_FALSE(unknown.log);
  CHECK_FALSE(accepts(t, "r1000000:myprobeaccept inet_csk_accept"));
  CHECK_FALSE(accepts(t, "r10fuzz:myprobeaccept inet_csk_accept"));
  CHECK(accepts(t, "r4096:big inet_csk_accept"));
  CHECK_FALSE(accepts(t, "r4097:big2 inet_csk_accept"));
  CHECK_FALSE(accepts(t, "r0:zero inet_csk_accept"));
  REQUIRE(accepts(t, "r:myprobeaccept inet_csk_accept"));
  CHECK(t.event("kprobes", "myprobeaccept").size() == 1);
  REQUIRE(accepts(t, "-:myprobeaccept"));
  REQUIRE(accepts(t, "r10:myprobeaccept inet_csk_accept"));
  CHECK(t.list(ProbeKind::Kprobe).find("r10:kprobes/myprobeaccept inet_csk_accept\n") !=
        std::string::npos);
  REQUIRE(accepts(t, "-:myprobeaccept"));
  REQUIRE(t.clear(ProbeKind::Kprobe) == 0);
  REQUIRE(accepts(t, "r inet_csk_accept"));
  CHECK(t.list(ProbeKind::Kprobe) == "r:kprobes/r_inet_csk_accept_0 inet_csk_accept\n");
  REQUIRE(t.clear(ProbeKind::Kprobe) == 0);
  REQUIRE(accepts(t, "r10 inet_csk_accept"));
  CHECK(t.list(ProbeKind::Kprobe) == "r10:kprobes/r_inet_csk_accept_0 inet_csk_accept\n");
}

TEST_CASE("kprobe_eventname.tc: automatic p_<sym>_<off> names, dots sanitized, groups") {
  DynEventTable t;
  REQUIRE(accepts(t, "p vfs_read"));
  CHECK(t.event("kprobes", "p_vfs_read_0").size() == 1);
  REQUIRE(accepts(t, "p:event1 vfs_read"));
  CHECK(t.event("kprobes", "event1").size() == 1);
  REQUIRE(accepts(t, "p:kprobes2/event2 vfs_read"));
  CHECK(t.event("kprobes2", "event2").size() == 1);
  REQUIRE(accepts(t, "p foo.isra.0"));
  CHECK(t.event("kprobes", "p_foo_isra_0_0").size() == 1);
  REQUIRE(accepts(t, "p vfs_read+16"));
  CHECK(t.event("kprobes", "p_vfs_read_16").size() == 1);
  REQUIRE(accepts(t, "p 0xffffffff81200010"));
  CHECK(t.event("kprobes", "p_0xffffffff81200010").size() == 1);
  REQUIRE(accepts(t, "p:mygrp/ vfs_read"));  // 6.12: GRP/ with no event name is auto-named
  CHECK(t.event("mygrp", "p_vfs_read_0").size() == 1);
  REQUIRE(accepts(t, "p:grp.ev vfs_read"));  // '.' separates group and event too
  CHECK(t.event("grp", "ev").size() == 1);
  REQUIRE(accepts(t, "p:my-grp/ev vfs_read"));  // group names may contain '-'
  REQUIRE(accepts(t, "p vfs_read%return"));
  CHECK(t.event("kprobes", "r_vfs_read_0").size() == 1);
  CHECK(t.event("kprobes", "r_vfs_read_0")[0]->is_return);
}

TEST_CASE("kprobe_multiprobe.tc: appending to an event, removing all or one, type mismatch") {
  const std::string def1 = "p:kprobes/testevent _do_fork", def2 = "p:kprobes/testevent do_exit";
  DynEventTable t;
  REQUIRE(accepts(t, def1));
  REQUIRE(accepts(t, def2));
  CHECK(t.list(ProbeKind::Kprobe) == def1 + "\n" + def2 + "\n");
  REQUIRE(accepts(t, "-:kprobes/testevent"));
  CHECK(t.list(ProbeKind::Kprobe).empty());
  REQUIRE(accepts(t, def1));
  REQUIRE(accepts(t, def2));
  REQUIRE(accepts(t, "-:kprobes/testevent _do_fork"));
  CHECK(t.list(ProbeKind::Kprobe) == def2 + "\n");
  CHECK_FALSE(accepts(t, def1 + " $stack"));
}

TEST_CASE("probepoint.tc: symbol, address and symbol+offset, negative and >UINT_MAX rejected") {
  DynEventTable t;
  CHECK(accepts(t, "p:testprobe tracefs_create_dir"));
  CHECK(t.clear(std::nullopt) == 0);
  CHECK(accepts(t, "p:testprobe 0xffffffff81200000"));
  CHECK(t.clear(std::nullopt) == 0);
  CHECK(accepts(t, "p:testprobe tracefs_create_dir+128"));
  CHECK(t.clear(std::nullopt) == 0);
  CHECK_FALSE(accepts(t, "p:testprobe tracefs_create_dir-64"));
  CHECK_FALSE(accepts(t, "p:testprobe tracefs_create_dir+0xffffffffffffffc0"));
  CHECK_FALSE(accepts(t, "p:testprobe tracefs_create_dir+0x100000000"));
  CHECK(accepts(t, "p:testprobe tracefs_create_dir+0xffffffff"));
}

TEST_CASE("kprobe_events listing: names, points, offsets and argument texts") {
  DynEventTable t;
  REQUIRE(accepts(t, "p:myprobe vfs_read+8 dfd=%di filename=+0(%si):string $stack"));
  REQUIRE(accepts(t, "r:myretprobe do_exit $retval"));
  REQUIRE(accepts(t, "p:testprobe kernel_clone arg1=$stack arg2=$stack0 arg3=+0($stack)"));
  CHECK(t.list(ProbeKind::Kprobe) ==
        "p:kprobes/myprobe vfs_read+8 dfd=%di filename=+0(%si):string arg3=$stack\n"
        "r:kprobes/myretprobe do_exit arg1=$retval\n"
        "p:kprobes/testprobe kernel_clone arg1=$stack arg2=$stack0 arg3=+0($stack)\n");
}

TEST_CASE("uprobe_events listing and automatic names p_<base>_0x<off>, always p_") {
  DynEventTable t;
  FakeEnv env;
  REQUIRE(t.run_command("p /usr/lib/libc.so.6:0x100", EventsFile::Uprobe, env).ok());
  REQUIRE(t.run_command("r /bin/sh:10 $retval", EventsFile::Uprobe, env).ok());
  REQUIRE(t.run_command("p:g/sem /bin/sh:0x20(0x40) x=%ax:u32", EventsFile::Uprobe, env).ok());
  REQUIRE(t.run_command("p /bin/sh:0x30%return", EventsFile::Uprobe, env).ok());
  CHECK(t.list(ProbeKind::Uprobe) ==
        "p:uprobes/p_libc_0x100 /usr/lib/libc.so.6:0x0000000000000100\n"
        "r:uprobes/p_sh_0xa /bin/sh:0x000000000000000a arg1=$retval\n"
        "p:g/sem /bin/sh:0x0000000000000020(0x40) x=%ax:u32\n"
        "r:uprobes/p_sh_0x30 /bin/sh:0x0000000000000030\n");
  CHECK(t.list(ProbeKind::Kprobe).empty());
  // A uprobe line written to kprobe_events is not a kprobe command (-ECANCELED -> EINVAL).
  TableResult k = t.run_command("p /bin/sh:0x40", EventsFile::Kprobe, env);
  CHECK(k.err == EINVAL);
  CHECK_FALSE(k.log);
  // A kprobe line written to uprobe_events likewise.
  CHECK(t.run_command("p vfs_read", EventsFile::Uprobe, env).err == EINVAL);
}

TEST_CASE("fetch args parse into Linux's fetch programs and types") {
  FakeEnv env;
  Command c = parse_command(
      "p:e vfs_read a=+8(+u16(%di)):s32 b=%si:b3@4/8 c=+0(%dx):u8[4] d=\\\"hi\" e=$comm "
      "f=+0(%si):ustring g=@_sdata:symbol h=\\-5:s16",
      EventsFile::Kprobe, env);
  REQUIRE(c.ok());
  const ProbeDefinition& d = *c.definition();
  REQUIRE(d.args.size() == 8);
  const ProbeArg& a = d.args[0];
  REQUIRE(a.code.size() == 3);
  CHECK(a.code[0].op == FetchOp::Reg);
  CHECK(a.code[1].op == FetchOp::UDeref);
  CHECK(a.code[1].offset == 16);
  CHECK(a.code[2].op == FetchOp::Deref);
  CHECK(a.code[2].offset == 8);
  CHECK(a.type->name == "s32");
  REQUIRE(d.args[1].bitfield);
  CHECK(d.args[1].bitfield->width == 3);
  CHECK(d.args[1].bitfield->offset == 4);
  CHECK(d.args[1].bitfield->container_bits == 8);
  CHECK(d.args[2].count == 4);
  CHECK(d.args[3].code[0].op == FetchOp::Data);
  CHECK(d.args[3].code[0].data == "hi");
  CHECK(d.args[4].type->name == "string");
  CHECK(d.args[5].type->kind == TypeKind::UString);
  CHECK(d.args[6].code[0].op == FetchOp::Symbol);
  CHECK(d.args[7].code[0].imm == static_cast<uint64_t>(-5));
}

TEST_CASE("empty lines and comments are no-ops, long lines fail the write") {
  FakeEnv env;
  DynEventTable t;
  CHECK(t.run_command("   ", EventsFile::Kprobe, env).ok());
  auto lines = split_commands("p:a vfs_read # comment\n\n# only a comment\np:b do_exit");
  REQUIRE(lines);
  REQUIRE(lines->size() == 4);
  CHECK((*lines)[0] == "p:a vfs_read ");
  CHECK((*lines)[2].empty());
  CHECK_FALSE(split_commands(std::string(5000, 'x')));
}
