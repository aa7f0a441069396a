// DynEventTable: the defined dynamic events (Linux's dyn_event_list of trace_kprobe /
// trace_uprobe), with multi-probe events (siblings sharing GRP/EVENT), removal, clearing and
// listing as kprobe_events / uprobe_events show them. Pure bookkeeping: arming probes is the
// caller's, through the Register hook and the enabled flag.
// Who may touch it: the machine's tracefs writer, never from inside a probe handler.
#pragma once

#include <functional>
#include <map>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "probes/trace_events/dynevent_parser.h"

namespace probesim::trace_events {

struct TableResult {
  int err = 0;  // positive errno; 0 = done
  std::optional<ProbeLogError> log;
  bool ok() const { return err == 0; }
};

class DynEventTable {
 public:
  // Registers the probe with the engines (register_kprobe / uprobe_register); 0 or -errno.
  // -EILSEQ logs BAD_INSN_BNDRY, -ENOENT BAD_PROBE_ADDR, others FAIL_REG_PROBE.
  using Register = std::function<int(const ProbeDefinition&)>;
  using Unregister = std::function<void(const ProbeDefinition&)>;

  // A whole write of one command line to `file` (parse + add/remove).
  TableResult run_command(std::string_view line, EventsFile file, const DynEventEnv& env);
  // register_trace_kprobe / register_trace_uprobe: a new event or a sibling of one.
  TableResult add(ProbeDefinition def, const std::vector<std::string>& argv,
                  const DynEventEnv& env);
  // dyn_event_release: every matching probe of `kind` (nullopt: any). -ENOENT if none
  // matched; -EBUSY if the last probe of an enabled event would go (stops there).
  TableResult remove(const RemoveCommand& rm, std::optional<ProbeKind> kind);
  // dyn_events_release_all: O_TRUNC of kprobe_events / uprobe_events. -EBUSY (nothing removed)
  // if any event of that kind is enabled.
  int clear(std::optional<ProbeKind> kind);

  // The file's text: one listing() line per probe, in creation order.
  std::string list(std::optional<ProbeKind> kind) const;
  const std::vector<ProbeDefinition>& probes() const { return probes_; }
  // The probes of GRP/EVENT, in creation order (empty if no such event).
  std::vector<const ProbeDefinition*> event(std::string_view group, std::string_view name) const;
  bool enabled(std::string_view group, std::string_view name) const;
  // events/GRP/EVENT/enable. Returns false for an unknown event.
  bool set_enabled(std::string_view group, std::string_view name, bool on);
  // Names that belong to other events (static tracepoints): adding them is EVENT_EXIST.
  void reserve(std::string group, std::string name);

  void set_register(Register r, Unregister u) {
    register_ = std::move(r);
    unregister_ = std::move(u);
  }

 private:
  using Key = std::pair<std::string, std::string>;
  TableResult check_append(const ProbeDefinition& def, const ProbeDefinition& existing,
                           const std::vector<std::string>& argv) const;
  TableResult register_probe(ProbeDefinition& def, const std::vector<std::string>& argv,
                             const DynEventEnv& env);
  bool has_sibling(const ProbeDefinition& def) const;

  std::vector<ProbeDefinition> probes_;  // dyn_event_list order
  std::map<Key, bool> enabled_;          // per event
  std::map<Key, bool> reserved_;
  uint64_t next_id_ = 1;
  Register register_;
  Unregister unregister_;
};

}  // namespace probesim::trace_events
