// kprobe_syntax_errors.tc and uprobe_syntax_errors.tc (tools/testing/selftests/ftrace/
// test.d/kprobe/) as tables: each command with '^' where Linux 6.12's error_log puts the caret.
#include <doctest/doctest.h>

#include <string>
#include <vector>

#include "trace_events/check_error.h"

using namespace probesim;
using namespace probesim::trace_events;
using namespace probesim::trace_events::test;
using E = ProbeError;

namespace {

struct Row {
  std::string cmd;
  ProbeError code;
};

const std::string k65(65, '1');  // one longer than MAX_EVENT_NAME_LEN

std::vector<Row> kprobe_rows() {
  return {
      {"p^100 vfs_read", E::BAD_MAXACT_TYPE},
      {"r^1a111 vfs_read", E::BAD_MAXACT},
      {"r^100000 vfs_read", E::MAXACT_TOO_BIG},
      {"p ^non_exist_func", E::BAD_PROBE_ADDR},
      {"p ^hoge-fuga", E::BAD_PROBE_ADDR},
      {"p ^hoge+1000-1000", E::BAD_PROBE_ADDR},
      {"r ^vfs_read+10", E::BAD_RETPROBE},
      {"p:^/bar vfs_read", E::NO_GROUP_NAME},
      {"p:^" + k65 + "/bar vfs_read", E::GROUP_TOO_LONG},
      {"p:^foo.1/bar vfs_read", E::BAD_GROUP_NAME},
      {"p:foo/^a" + k65 + " vfs_read", E::EVENT_TOO_LONG},
      {"p:foo/^bar.1 vfs_read", E::BAD_EVENT_NAME},
      {"p vfs_read ^$retval", E::RETVAL_ON_PROBE},
      {"p vfs_read ^$stack10000", E::BAD_STACK_NUM},
      {"p vfs_read ^$arg10000", E::BAD_ARG_NUM},
      {"p vfs_read ^$none_var", E::BAD_VAR},
      {"p vfs_read ^%none_reg", E::BAD_REG_NAME},
      {"p vfs_read ^@12345678abcde", E::BAD_MEM_ADDR},
      {"p vfs_read ^@+10", E::FILE_ON_KPROBE},
      {"p vfs_read arg1=\\^x", E::BAD_IMM},
      {"p vfs_read arg1=\\\"abcd^", E::IMMSTR_NO_CLOSE},
      {"p vfs_read ^+0@0)", E::DEREF_NEED_BRACE},
      {"p vfs_read ^+0ab1(@0)", E::BAD_DEREF_OFFS},
      {"p vfs_read +0(+0(@0^)", E::DEREF_OPEN_BRACE},
      {"p vfs_read +0(^$comm)", E::COMM_CANT_DEREF},
      {"p vfs_read ^&1", E::BAD_FETCH_ARG},
      {"p vfs_read +0(^+0(+0(+0(+0(+0(+0(+0(+0(+0(+0(+0(+0(+0(@0))))))))))))))", E::TOO_MANY_OPS},
      {"p vfs_read +0(@11):u8[10^", E::ARRAY_NO_CLOSE},
      {"p vfs_read +0(@11):u8[10]^a", E::BAD_ARRAY_SUFFIX},
      {"p vfs_read +0(@11):u8[^10a]", E::BAD_ARRAY_NUM},
      {"p vfs_read +0(@11):u8[^256]", E::ARRAY_TOO_BIG},
      {"p vfs_read @11:^unknown_type", E::BAD_TYPE},
      {"p vfs_read $stack0:^string", E::BAD_STRING},
      {"p vfs_read @11:^b10@a/16", E::BAD_BITFIELD},
      {"p vfs_read ^arg123456789012345678901234567890=@11", E::ARG_NAME_TOO_LONG},
      {"p vfs_read ^=@11", E::NO_ARG_NAME},
      {"p vfs_read ^var.1=@11", E::BAD_ARG_NAME},
      {"p vfs_read var1=@11 ^var1=@12", E::USED_ARG_NAME},
      {"p vfs_read ^+1234567(+1234567(+1234567(+1234567(+1234567(+1234567(@1234))))))",
       E::ARG_TOO_LONG},
      {"p vfs_read arg1=^", E::NO_ARG_BODY},
      // Not in the selftest, same rules.
      {"p vfs_read $comm:^x64", E::NEED_STRING_TYPE},
      {"p vfs_read^%foo", E::BAD_ADDR_SUFFIX},
      {"p ^dup_sym", E::NON_UNIQ_SYMBOL},
      {"p ^vfs_read @deaqswdefr", E::BAD_PROBE_ADDR},  // at registration,
      {"p vfs_read+4 ^$arg1", E::NOFENTRY_ARGS},
      {"p vfs_read ^counter", E::NOSUP_BTFARG},
      {"p vfs_read $stack:^symstr", E::BAD_SYMSTRING},
      {"p vfs_read $stack0:^b9@0/8", E::BAD_BITFIELD},
      // After a dereference ctx->offset keeps the prefix's advance ("+0(" = 3 columns): Linux
      // restores it only to the post-prefix value, so a type error's caret lands 3 columns in.
      {"p vfs_read +0($stack):b9@^0/8", E::BAD_BITFIELD},
  };
}

}  // namespace

TEST_CASE("kprobe_syntax_errors.tc: every error name and caret column, on both arches") {
  for (Arch arch : {Arch::X86_64, Arch::AArch64})
    for (const Row& row : kprobe_rows()) check_error(EventsFile::Kprobe, row.cmd, row.code, arch);
}

TEST_CASE("kprobe_syntax_errors.tc: register names are per arch (%di on x86_64, %x0 on arm64)") {
  DynEventTable t;
  CHECK(accepts(t, "p:a vfs_read %di", Arch::X86_64));
  CHECK(accepts(t, "p:b vfs_read %x0", Arch::AArch64));
  check_error(EventsFile::Kprobe, "p vfs_read ^%x0", E::BAD_REG_NAME, Arch::X86_64);
  check_error(EventsFile::Kprobe, "p vfs_read ^%di", E::BAD_REG_NAME, Arch::AArch64);
  check_error(EventsFile::Kprobe, "p vfs_read dfd=%di ^%x0", E::BAD_REG_NAME, Arch::X86_64);
  check_error(EventsFile::Kprobe, "p vfs_read fd=%x0 ^%di", E::BAD_REG_NAME, Arch::AArch64);
}

TEST_CASE("kprobe_syntax_errors.tc: multiprobe errors against an existing event") {
  for (Arch arch : {Arch::X86_64, Arch::AArch64}) {
    DynEventTable t;
    REQUIRE(accepts(t, "p:kprobes/testevent _do_fork", arch));
    check_error(t, EventsFile::Kprobe, "^r:kprobes/testevent do_exit", E::DIFF_PROBE_TYPE, arch);
    REQUIRE(t.clear(ProbeKind::Kprobe) == 0);
    REQUIRE(accepts(t, "p:kprobes/testevent _do_fork abcd=\\1", arch));
    check_error(t, EventsFile::Kprobe, "p:kprobes/testevent _do_fork ^bcd=\\1", E::DIFF_ARG_TYPE,
                arch);
    check_error(t, EventsFile::Kprobe, "p:kprobes/testevent _do_fork ^abcd=\\1:u8",
                E::DIFF_ARG_TYPE, arch);
    check_error(t, EventsFile::Kprobe, "p:kprobes/testevent _do_fork ^abcd=\\\"foo\"",
                E::DIFF_ARG_TYPE, arch);
    check_error(t, EventsFile::Kprobe, "^p:kprobes/testevent _do_fork abcd=\\1", E::SAME_PROBE,
                arch);
  }
}

TEST_CASE("a missing argument of a multiprobe puts the caret one column past the command") {
  DynEventTable t;
  REQUIRE(accepts(t, "p:kprobes/testevent _do_fork abcd=\\1"));
  FakeEnv env;
  TableResult r = t.run_command("p:kprobes/testevent do_exit", EventsFile::Kprobe, env);
  REQUIRE(r.log);
  CHECK(r.log->code == E::DIFF_ARG_TYPE);
  CHECK(r.log->pos == std::string("p:kprobes/testevent do_exit").size() + 1);
}

TEST_CASE("uprobe_syntax_errors.tc: every error name and caret column") {
  const std::vector<Row> rows = {
      {"p ^/non_exist_file:100", E::FILE_NOT_FOUND},
      {"p ^/sys:100", E::NO_REGULAR_FILE},
      {"p /bin/sh:^10a", E::BAD_UPROBE_OFFS},
      {"p /bin/sh:10(^1a)", E::BAD_REFCNT},
      {"p /bin/sh:10(10^", E::REFCNT_OPEN_BRACE},
      {"p /bin/sh:10(10)^a", E::BAD_REFCNT_SUFFIX},
      {"p /bin/sh:10 ^@+ab", E::BAD_FILE_OFFS},
      {"p /bin/sh:10 ^@symbol", E::SYM_ON_UPROBE},
      // Not in the selftest, same rules.
      {"p /bin/sh:10^%ret", E::BAD_ADDR_SUFFIX},
      {"p /bin/sh:10 ^$arg1", E::NOFENTRY_ARGS},
      {"p /bin/sh:10 %ax:^symbol", E::BAD_TYPE},
      {"p /bin/sh:10 ^$retval", E::RETVAL_ON_PROBE},
  };
  for (Arch arch : {Arch::X86_64, Arch::AArch64})
    for (const Row& row : rows) check_error(EventsFile::Uprobe, row.cmd, row.code, arch);
}

TEST_CASE("uprobe errors are logged under trace_uprobe, kprobe errors under trace_kprobe") {
  FakeEnv env;
  DynEventTable t;
  TableResult u = t.run_command("p /nope:1", EventsFile::Dynamic, env);
  REQUIRE(u.log);
  CHECK(u.log->subsystem == "trace_uprobe");
  CHECK(u.err == ENOENT);
  TableResult k = t.run_command("p nope", EventsFile::Dynamic, env);
  REQUIRE(k.log);
  CHECK(k.log->subsystem == "trace_kprobe");
  CHECK(k.err == EINVAL);
}

TEST_CASE("error_log entries have Linux's layout: stamp, message, command, caret line") {
  DynEventTable t;
  FakeEnv env;
  TableResult r = t.run_command("r1a111 vfs_read", EventsFile::Kprobe, env);
  REQUIRE(r.log);
  CHECK(format_error_log(*r.log, 1234567891234) ==
        "[ 1234.567891] trace_kprobe: error: Invalid maxactive number\n"
        "  Command: r1a111 vfs_read\n"
        "            ^\n");
}

TEST_CASE("the error table is trace_probe.h's, in order, with Linux's texts") {
  CHECK(static_cast<int>(E::FILE_NOT_FOUND) == 0);
  CHECK(probe_error_name(E::BAD_MAXACT_TYPE) == "BAD_MAXACT_TYPE");
  CHECK(probe_error_text(E::BAD_MAXACT_TYPE) == "Maxactive is only for function exit");
  CHECK(probe_error_text(E::BAD_VAR) == "Invalid $-valiable specified");
  CHECK(probe_error_text(E::TOO_MANY_EARGS) == "Too many entry arguments specified");
  CHECK(static_cast<int>(E::TOO_MANY_EARGS) == 79);
}
