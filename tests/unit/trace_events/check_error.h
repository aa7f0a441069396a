// The selftests' ftrace_errlog_check: a command with '^' at the expected error position is
// written (without the '^') and must fail with that error, logged at that column.
#pragma once

#include <doctest/doctest.h>

#include <string>

#include "probes/trace_events/dynevent_table.h"
#include "trace_events/fake_env.h"

namespace probesim::trace_events::test {

inline void check_error(DynEventTable& table, EventsFile file, std::string caret_cmd,
                        ProbeError code, Arch arch = Arch::X86_64) {
  size_t pos = caret_cmd.find('^');
  REQUIRE(pos != std::string::npos);
  std::string cmd = caret_cmd.substr(0, pos) + caret_cmd.substr(pos + 1);
  FakeEnv env(arch);
  TableResult r = table.run_command(cmd, file, env);
  INFO("command: ", cmd, " arch: ", arch_name(arch));
  REQUIRE_FALSE(r.ok());
  REQUIRE(r.log.has_value());
  CHECK(probe_error_name(r.log->code) == probe_error_name(code));
  CHECK(r.log->pos == pos);
  CHECK(r.log->command == cmd);
  CHECK(r.log->err == r.err);
}

inline void check_error(EventsFile file, std::string caret_cmd, ProbeError code,
                        Arch arch = Arch::X86_64) {
  DynEventTable table;
  check_error(table, file, std::move(caret_cmd), code, arch);
}

inline bool accepts(DynEventTable& table, std::string_view cmd, Arch arch = Arch::X86_64,
                    EventsFile file = EventsFile::Kprobe) {
  FakeEnv env(arch);
  return table.run_command(cmd, file, env).ok();
}

}  // namespace probesim::trace_events::test
