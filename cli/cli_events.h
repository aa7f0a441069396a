// The CLI's dynamic events (-e/--event LINE, --trace FILE): each line is written to the
// machine's dynamic_events and its event enabled before the run; afterwards the hits, as
// ftrace lines (trace_pipe's text), go to FILE or to stderr.
#pragma once

#include <cstdio>
#include <memory>
#include <string>

#include "cli/run_options.h"
#include "probesim/machine.h"
#include "probesim/result.h"

namespace probesim::cli {

class CliEvents {
 public:
  // Null when no -e was given. Errors name the line and carry Linux's error_log entry.
  static Result<std::unique_ptr<CliEvents>> attach(Machine& m, const RunOptions& o);
  ~CliEvents();
  CliEvents(const CliEvents&) = delete;
  CliEvents& operator=(const CliEvents&) = delete;
  // The trace so far, to --trace FILE (or stderr).
  void emit() const;

 private:
  explicit CliEvents(Machine& m) : m_(m) {}
  Machine& m_;  // its events are shared with the guest's tracefs
  FILE* file_ = nullptr;
};

// `probesim events --list [--arch x86_64|aarch64]`: the guest kernel's probe-able functions
// (text symbols outside the kprobe blacklist, address order, as available_filter_functions),
// one per line on stdout. Returns the exit status.
int events_command(int argc, char** argv);

}  // namespace probesim::cli
