// Fetch-argument parsing: `[NAME=]FETCHARG[:TYPE]` into a ProbeArg, as Linux 6.12's
// traceprobe_parse_probe_arg / parse_probe_arg / finalize_fetch_insn (kernel/trace/
// trace_probe.c) do it, with the same error codes and caret offsets (relative to the word).
#pragma once

#include <optional>
#include <string_view>
#include <vector>

#include "probes/trace_events/dynevent.h"
#include "probes/trace_events/probe_error.h"

namespace probesim::trace_events {

// TPARG_FL_*: where the argument is fetched.
struct ArgFlags {
  bool kernel = true;   // TPARG_FL_KERNEL (kprobe) vs TPARG_FL_USER (uprobe)
  bool ret = false;     // TPARG_FL_RETURN
  bool fentry = false;  // TPARG_FL_FENTRY: a kprobe on a function entry
};

struct ArgError {
  ProbeError code;
  size_t pos;  // offset in the word
  int err;     // positive errno
};

// The fetch types (probe_fetch_types[]); nullptr for an unknown name. "b<w>@<o>/<size>"
// resolves to u<size>. uprobes reject symbol/symstr (find_fetch_type with TPARG_FL_USER).
const FetchType* find_fetch_type(std::string_view name, const ArgFlags& flags);
const FetchType* default_fetch_type();  // x64 (BITS_PER_LONG 64 on both arches)

// Parses argument word i (0-based) given the arguments before it (for USED_ARG_NAME).
std::optional<ArgError> parse_probe_arg(std::string_view word, size_t i,
                                        const std::vector<ProbeArg>& prior, Arch arch,
                                        const ArgFlags& flags, ProbeArg* out);

}  // namespace probesim::trace_events
