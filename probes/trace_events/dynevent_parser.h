// Parsing one dynamic-event command line as a write to kprobe_events, uprobe_events or
// dynamic_events does (Linux 6.12: trace_kprobe.c __trace_kprobe_create, trace_uprobe.c
// __trace_uprobe_create, trace_dynevent.c dyn_event_release). Failures carry the errno the
// write returns and, when Linux logs one, the error_log entry with its caret.
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

#include "probes/trace_events/dynevent.h"
#include "probes/trace_events/probe_error.h"

namespace probesim::trace_events {

enum class EventsFile : uint8_t { Kprobe, Uprobe, Dynamic };

// argv_split: words separated by whitespace.
std::vector<std::string> argv_split(std::string_view line);

// __trace_probe_log_err: the entry for an error at `offset` inside word `index` of argv
// (index >= argv.size() puts the caret one column past the command's end).
ProbeLogError make_probe_log(std::string_view subsystem, const std::vector<std::string>& argv,
                             size_t index, size_t offset, ProbeError code, int err);

struct Command {
  std::variant<std::monostate, ProbeDefinition, RemoveCommand> what;  // monostate: empty line
  std::vector<std::string> argv;  // the words, for errors logged after parsing
  int err = 0;                    // positive errno; 0 = parsed
  std::optional<ProbeLogError> log;
  bool ok() const { return err == 0; }
  const ProbeDefinition* definition() const { return std::get_if<ProbeDefinition>(&what); }
  const RemoveCommand* removal() const { return std::get_if<RemoveCommand>(&what); }
};

// One line (no '\n'; a '#' comment already cut by split_commands).
Command parse_command(std::string_view line, EventsFile file, const DynEventEnv& env);

// trace_parse_run_command: a write's buffer as command lines ('\n'-separated, text from '#'
// cut). Lines longer than WRITE_BUFSIZE - 2 make the whole write fail (nullopt: EINVAL).
std::optional<std::vector<std::string>> split_commands(std::string_view buffer);

}  // namespace probesim::trace_events
