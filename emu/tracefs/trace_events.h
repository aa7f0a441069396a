// TraceEvents: tracefs's dynamic events on one machine. The DynEventTable (probes/trace_events)
// bound to the machine's engines: defining a kprobe event registers a disabled kprobe or
// kretprobe (as register_trace_kprobe does), enabling arms it; a uprobe event registers its
// consumer when enabled (probe_event_enable). Hits evaluate the fetch args against the
// handler's pt_regs and guest memory and append TraceRecords stamped with virtual time.
// Who may touch it: the emulation thread, never from inside a probe handler (the handlers
// only append records). It must be destroyed before the machine.
#pragma once

#include <array>
#include <deque>
#include <functional>
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
#include "probes/trace_events/event_filter.h"
#include "probes/trace_events/static_events.h"
#include "probes/trace_events/trace_record.h"
#include "probesim/result.h"

namespace probesim::mmu {
class Inode;
}

namespace probesim::emu {

class KprobesDebugfs;
class MachineState;
class ProcKallsyms;
class Task;
class Vfs;

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
  // The ring buffer, oldest first (all CPUs, in the order the hits happened).
  const std::deque<trace_events::TraceRecord>& records() const { return records_; }
  // The `trace` file (header + lines) or, without header, the lines alone.
  std::string trace_text(bool header) const;
  void clear_trace();  // `echo > trace`: the buffer and its counts restart
  // trace_pipe: takes every buffered record, oldest first (a consuming read).
  std::deque<trace_events::TraceRecord> consume();
  // tracing_on: whether hits are written to the ring buffer (hit counts go on regardless).
  bool tracing_on() const { return tracing_on_; }
  void set_tracing_on(bool on) { tracing_on_ = on; }
  // buffer_size_kb: each CPU's ring buffer holds this many KiB of records (modelled sizes:
  // record_bytes); a full CPU buffer overwrites its oldest records (overwrite mode).
  uint64_t buffer_size_kb() const { return buffer_kb_; }
  void set_buffer_size_kb(uint64_t kb);
  // events/GRP/EVENT/id: the event's type id, assigned when the event is created (the
  // smallest free id from kFirstEventId, as register_trace_event reuses freed ones); 0 if none.
  int event_id(std::string_view group, std::string_view event) const;
  const trace_events::DynEventTable& table() const { return table_; }

  // kprobe_profile / uprobe_profile text (trace_kprobe.c probes_profile_seq_show, trace_uprobe.c
  // probes_profile_seq_show): one line per probe with its hits (and kprobes' misses).
  std::string profile(trace_events::ProbeKind kind) const;

  // TracefsHost: the guest's /sys/kernel/tracing (tracefs_files.cc: the root files of
  // root_files(), events/, trace_pipe).
  std::optional<bool> tracefs_kind(std::string_view rel) override;
  std::vector<Entry> tracefs_list(std::string_view rel) override;
  std::string tracefs_read(std::string_view rel) override;
  int tracefs_truncate(std::string_view rel) override;
  int64_t tracefs_write(std::string_view rel, std::string_view data) override;

  // Static tracepoints (tracepoints.cc): the machine calls these where Linux's trace_*() calls
  // are, after checking tp_on (nothing is done or paid while a tracepoint is off). sys_exit
  // with returns=false (the task blocked, or exit_group) records nothing; a restarted
  // syscall's second sys_enter is not recorded (the task never left the syscall on Linux).
  bool tp_on(trace_events::Tracepoint tp) const { return tp_on_[static_cast<size_t>(tp)]; }
  bool syscall_tps_on() const {
    return tp_on(trace_events::Tracepoint::SysEnter) || tp_on(trace_events::Tracepoint::SysExit);
  }
  void sys_enter(const Task& t, uint64_t nr, std::span<const uint64_t, 6> args);
  void sys_exit(const Task& t, uint64_t nr, int64_t ret, bool returns);
  void sched_process_fork(const Task& parent, const Task& child);
  // The execve path as the program gave it (bprm->filename), kept for sched_process_exec;
  // the exec of `pid` that completes then prints it (else `fallback`, the resolved path).
  void exec_filename(int pid, const std::string& path) { exec_filenames_[pid] = path; }
  void sched_process_exec(const Task& t, int pid, const std::string& fallback);
  void sched_process_exit(const Task& t);
  // Wakes the trace_pipe readers of records pushed since the last call (Linux defers these
  // wakeups to irq_work too: records are pushed from probe handlers and from inside the
  // scheduler). The machine calls it before each pick; true if a reader woke.
  bool flush_wakeups();

  // Mounts tracefs at /sys/kernel/tracing and /sys/kernel/debug/tracing, debugfs's
  // /sys/kernel/debug/kprobes and /proc/kallsyms in `vfs` (which must not outlive this).
  void mount(Vfs& vfs);
  bool tracefs_consuming(std::string_view rel) const override { return rel == "trace_pipe"; }
  std::string tracefs_consume(std::string_view rel) override;
  PollMask tracefs_poll(std::string_view rel) const override;
  const void* tracefs_wait_object() const override { return &records_; }

  // CLI `-e LINE` and Python `events.add`: define (dynamic_events syntax) and enable; or
  // enable a static tracepoint named GRP:EVENT ("sched:sched_switch"). Returns
  // (group, event); the error message is the error_log entry, or the errno's meaning.
  Result<std::pair<std::string, std::string>> add_enabled(std::string_view line);

 private:
  struct Armed;
  struct Access;
  struct RootFile;
  static const std::vector<RootFile>& root_files();
  static const RootFile* root_file(std::string_view rel);
  // events/ (enable), events/GRP/ (enable), events/GRP/EVENT/ (enable, format, id).
  std::string read_events_file(const std::vector<std::string>& p) const;
  int64_t write_events_file(const std::vector<std::string>& p, std::string_view data);
  // "0", "1" or "X" (mixed) over the events of `group` (every group when empty).
  char group_enabled(std::string_view group) const;
  std::string available_events() const;
  std::string available_functions() const;
  void assign_event_id(const std::string& group, const std::string& event);
  static constexpr int kFirstEventId = 1000;
  static constexpr int kFirstStaticEventId = 300;  // static events: 300 + Tracepoint index
  int set_group_enabled(std::string_view group, bool on);
  // Static events (tracepoints.cc).
  const trace_events::StaticEvent* static_by_name(std::string_view group,
                                                  std::string_view event) const;
  int set_static_enabled(trace_events::Tracepoint tp, bool on);
  void sched_event(int cpu, Task* t, const char* reason);
  void emit_static(trace_events::Tracepoint tp, std::string comm, int pid, int cpu,
                   std::vector<std::pair<std::string, std::string>> fields, std::string body);
  // Every event (static first, then dynamic in creation order) as (group, event), once each.
  std::vector<std::pair<std::string, std::string>> all_events() const;
  bool event_exists(std::string_view group, std::string_view event) const;
  // events/GRP/EVENT/filter: "0" clears; a filter that does not parse is refused (EINVAL)
  // and the file then shows Linux's parse_error text, with no filter in force.
  int64_t write_filter(const std::string& group, const std::string& event, std::string_view data);
  // events/GRP/filter: the filter goes to every event of GRP it parses for (the others keep
  // theirs); EINVAL if it parses for none. "0" clears them all.
  int64_t write_group_filter(const std::string& group, std::string_view data);
  std::vector<trace_events::FilterField> filter_fields(std::string_view group,
                                                       std::string_view event) const;
  int64_t write_trigger(const std::string& group, const std::string& event, std::string_view data);
  std::string read_trigger(const std::string& group, const std::string& event) const;
  // A hit of GRP/EVENT: runs its unconditional triggers (r null: before the record is made,
  // as trace_trigger_soft_disabled does) or its conditional ones on the record r.
  void fire_triggers(const std::string& group, const std::string& event,
                     const trace_events::TraceRecord* r);
  struct Trigger;
  bool fire(Trigger& t);
  bool has_conditional_trigger(const std::string& group, const std::string& event) const;
  void remove_trigger(const std::string& group, const std::string& event, size_t index);
  void clear_triggers(const std::string& group, const std::string& event);
  // Enable states (soft_mode.cc): armed = the engine fires; soft mode holds an event armed
  // for triggers; soft-disabled events fire but record nothing.
  int set_armed(std::string_view group, std::string_view event, bool on);
  bool armed(std::string_view group, std::string_view event) const;
  bool soft_mode(std::string_view group, std::string_view event) const;
  bool soft_disabled(std::string_view group, std::string_view event) const;
  int soft_enable(const std::string& group, const std::string& event);
  void soft_disable(const std::string& group, const std::string& event);
  static uint32_t event_bytes(const trace_events::ProbeDefinition& def,
                              const trace_events::TraceRecord& r);
  void push_record(trace_events::TraceRecord r);
  void trim_cpu(size_t cpu);

  // DynEventEnv
  Arch arch() const override;
  unsigned symbol_count(std::string_view name) const override;
  std::optional<uint64_t> symbol_address(std::string_view name) const override;
  FileKind file_kind(std::string_view path) const override;

  bool ref_ctr_offset_fits(const trace_events::ProbeDefinition& def, const mmu::Inode& inode) const;
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
  std::deque<trace_events::TraceRecord> records_;
  std::vector<uint64_t> cpu_bytes_;  // per CPU: record_bytes of its buffered records
  size_t written_ = 0;
  bool tracing_on_ = true;
  uint64_t buffer_kb_ = 1408;  // TRACE_BUF_SIZE_DEFAULT (1441792 bytes)
  std::map<std::pair<std::string, std::string>, int> event_ids_;
  std::string error_log_;
  bool wake_pending_ = false;
  struct Filter {
    std::optional<trace_events::EventFilter> filter;  // in force
    std::string shown;                                // the filter file's text
  };
  std::map<std::pair<std::string, std::string>, Filter> filters_;
  std::map<std::string, std::string> group_filters_;  // events/GRP/filter's text
  // events/GRP/EVENT/trigger (triggers.cc): "CMD[:COUNT] [if FILTER]", CMD traceon,
  // traceoff, stacktrace, or enable_event/disable_event:GRP:EVENT (target).
  struct Trigger {  // declared above
    std::string cmd;
    std::pair<std::string, std::string> target;  // enable_event / disable_event only
    int64_t count = -1;                          // -1: unlimited
    std::optional<trace_events::EventFilter> cond;
  };
  struct Soft {
    int holders = 0;        // Linux's sm_ref (one per trigger holding the event)
    bool disabled = false;  // EVENT_FILE_FL_SOFT_DISABLED
  };
  std::map<std::pair<std::string, std::string>, Soft> soft_;  // events in soft mode
  std::map<std::pair<std::string, std::string>, std::vector<Trigger>> triggers_;
  std::array<bool, trace_events::kTracepointCount> tp_on_{};
  struct OnCpu {  // what sched_switch knows of the task last put on a CPU
    bool known = false;
    std::string comm;
    int pid = 0;
    std::string state = "R";
  };
  std::vector<OnCpu> on_cpu_;
  std::map<int, uint64_t> in_syscall_;
  std::map<int, std::string> exec_filenames_;  // pid -> execve's path, until the exec completes  // tid -> nr, between a recorded sys_enter and its exit
  std::unique_ptr<KprobesDebugfs> kprobes_debugfs_;
  std::unique_ptr<ProcKallsyms> kallsyms_;
};

}  // namespace probesim::emu
