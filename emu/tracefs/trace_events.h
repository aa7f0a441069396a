// TraceEvents: tracefs's dynamic events on one machine. The DynEventTable (probes/trace_events)
// bound to the machine's engines: defining a kprobe event registers a disabled kprobe or
// kretprobe (as register_trace_kprobe does), enabling arms it; a uprobe event registers its
// consumer when enabled (probe_event_enable). Hits evaluate the fetch args against the
// handler's pt_regs and guest memory and append TraceRecords stamped with virtual time.
// Who may touch it: the emulation thread, never from inside a probe handler (the handlers
// only append records). It must be destroyed before the machine.
#pragma once

#include <map>
#include <memory>
#include <span>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "emu/vfs/tracefs_host.h"
#include "probes/regs.h"
#include "probes/trace_events/dynevent_table.h"
#include "probes/trace_events/trace_record.h"
#include "probesim/result.h"

namespace probesim::emu {

class MachineState;

class TraceEvents final : private trace_events::DynEventEnv, public TracefsHost {
 public:
  explicit TraceEvents(MachineState& m);
  ~TraceEvents() override;
  TraceEvents(const TraceEvents&) = delete;
  TraceEvents& operator=(const TraceEvents&) = delete;

  // A write(2) of `text` to kprobe_events / uprobe_events / dynamic_events (appending): each
  // command line in turn; the first failure stops and is returned (positive errno), with its
  // error_log entry appended when Linux logs one. 0 on success.
  int write(trace_events::EventsFile file, std::string_view text);
  // open(O_TRUNC) of the file: removes its events; EBUSY (nothing removed) if one is enabled.
  int truncate(trace_events::EventsFile file);
  // events/GRP/EVENT/enable: 0, ENOENT (no such event) or the engine's errno.
  int set_enabled(std::string_view group, std::string_view event, bool on);
  bool enabled(std::string_view group, std::string_view event) const;

  std::string list(trace_events::EventsFile file) const;
  std::string error_log() const { return error_log_; }
  void clear_error_log() { error_log_.clear(); }
  const std::vector<trace_events::TraceRecord>& records() const { return records_; }
  // The `trace` file (header + lines) or, without header, the lines alone.
  std::string trace_text(bool header) const;
  void clear_trace() { records_.clear(); }
  const trace_events::DynEventTable& table() const { return table_; }

  // kprobe_profile / uprobe_profile text (trace_kprobe.c probes_profile_seq_show, trace_uprobe.c
  // probes_profile_seq_show): one line per probe with its hits (and kprobes' misses).
  std::string profile(trace_events::ProbeKind kind) const;

  // TracefsHost: the guest's /sys/kernel/tracing (kprobe_events, uprobe_events,
  // dynamic_events, trace, error_log, kprobe_profile, uprobe_profile, events/GRP/EVENT/enable).
  std::optional<bool> tracefs_kind(std::string_view rel) override;
  std::vector<Entry> tracefs_list(std::string_view rel) override;
  std::string tracefs_read(std::string_view rel) override;
  int tracefs_truncate(std::string_view rel) override;
  int64_t tracefs_write(std::string_view rel, std::string_view data) override;

  // CLI `-e LINE` and Python `events.add`: define (dynamic_events syntax) and enable. Returns
  // (group, event); the error message is the error_log entry, or the errno's meaning.
  Result<std::pair<std::string, std::string>> add_enabled(std::string_view line);

 private:
  struct Armed;
  struct Access;

  // DynEventEnv
  Arch arch() const override;
  unsigned symbol_count(std::string_view name) const override;
  std::optional<uint64_t> symbol_address(std::string_view name) const override;
  FileKind file_kind(std::string_view path) const override;

  int register_probe(const trace_events::ProbeDefinition& def);
  void unregister_probe(const trace_events::ProbeDefinition& def);
  int arm(Armed& a, bool on);
  void set_kprobe_handlers(Armed& a);
  void set_uprobe_handlers(Armed& a);
  void record(Armed& a, const probes::Regs& regs, std::string location,
              std::span<const uint64_t> entry_args, std::string flags);
  void log_error(const trace_events::ProbeLogError& e);

  MachineState& m_;
  trace_events::DynEventTable table_;
  std::map<uint64_t, std::unique_ptr<Armed>> armed_;  // by ProbeDefinition::id
  std::vector<trace_events::TraceRecord> records_;
  size_t written_ = 0;
  std::string error_log_;
};

}  // namespace probesim::emu
