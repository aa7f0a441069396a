// TraceEvents as the guest's tracefs (trace_events.h, TracefsHost): the root control files
// (kernel/trace/trace.c, trace_events.c, trace_dynevent.c, trace_kprobe.c, trace_uprobe.c)
// and the events/ directory. Writes follow the Linux handlers they cite: a command's errno,
// or the whole write consumed.
#include <algorithm>
#include <cerrno>
#include <cstring>

#include "emu/machine_state.h"
#include "emu/tracefs/debug_files.h"
#include "emu/tracefs/trace_events.h"
#include "emu/vfs/vfs.h"
#include "probes/trace_events/event_format.h"
#include "probes/trace_events/kstrto.h"

namespace probesim::emu {

using trace_events::EventsFile;
using trace_events::ProbeDefinition;
using trace_events::ProbeKind;

namespace {

// The mini-HOWTO (trace.c readme_msg), limited to what this tracefs implements: tools and
// Linux's ftrace selftests grep it ("requires: ...:README") to learn what is supported.
constexpr std::string_view kReadme =
    "tracing mini-HOWTO:\n\n"
    "# echo 0 > tracing_on : quick way to disable tracing\n"
    "# echo 1 > tracing_on : quick way to re-enable tracing\n\n"
    " Important files:\n"
    "  trace\t\t\t- The static contents of the buffer\n"
    "\t\t\t  To clear the buffer write into this file: echo > trace\n"
    "  trace_pipe\t\t- A consuming read to see the contents of the buffer\n"
    "  error_log\t- error log for failed commands (that support it)\n"
    "  buffer_size_kb\t- view and modify size of per cpu buffer\n"
    "  buffer_total_size_kb  - view total size of all cpu buffers\n\n"
    "  tracing_on\t\t- Enable or disable writing to the ring buffer\n"
    "  available_events\t- list of all the events that can be enabled\n"
    "  available_filter_functions - list of functions that can be probed\n"
    "  dynamic_events\t\t- Create/append/remove/show the generic dynamic events\n"
    "\t\t\t  Write into this file to define/undefine new trace events.\n"
    "  kprobe_events\t\t- Create/append/remove/show the kernel dynamic events\n"
    "\t\t\t  Write into this file to define/undefine new trace events.\n"
    "  uprobe_events\t\t- Create/append/remove/show the userspace dynamic events\n"
    "\t\t\t  Write into this file to define/undefine new trace events.\n"
    "\t  accepts: event-definitions (one definition per line)\n"
    "\t   Format: p[:[<group>/][<event>]] <place> [<args>]\n"
    "\t           r[maxactive][:[<group>/][<event>]] <place> [<args>]\n"
    "\t           -:[<group>/][<event>]\n"
    "\t    place: [<module>:]<symbol>[+<offset>]|<memaddr>\n"
    "place (kretprobe): [<module>:]<symbol>[+<offset>]%return|<memaddr>\n"
    "   place (uprobe): <path>:<offset>[%return]\n"
    "\t     args: <name>=fetcharg[:type]\n"
    "\t fetcharg: (%<register>|$<efield>), @<address>, @<symbol>[+|-<offset>],\n"
    "\t           $stack<index>, $stack, $retval, $comm, $arg<N>,\n"
    "\t           +|-[u]<offset>(<fetcharg>), \\imm-value, \\\"imm-string\"\n"
    "\t     kernel return probes support: $retval, $arg<N>, $comm\n"
    "\t     type: s8/16/32/64, u8/16/32/64, x8/16/32/64, char, string, symbol,\n"
    "\t           b<bit-width>@<bit-offset>/<container-size>, ustring,\n"
    "\t           symstr, <type>\\[<array-size>\\]\n"
    "  events/\t\t- Directory containing all trace event subsystems:\n"
    "      enable\t\t- Write 0/1 to enable/disable tracing of all events\n"
    "  events/<system>/\t- Directory containing all trace events for <system>:\n"
    "      enable\t\t- Write 0/1 to enable/disable tracing of all <system>\n"
    "\t\t\t  events\n"
    "  events/<system>/<event>/\t- Directory containing control files for\n"
    "\t\t\t  <event>:\n"
    "      enable\t\t- Write 0/1 to enable/disable tracing of <event>\n"
    "      format\t\t- The fields of <event> and how they print\n"
    "      id\t\t- The type id of <event>\n";

// kstrtoul_from_user(.., 10, ..): the value, or -errno.
int64_t parse_ulong(std::string_view data, uint64_t* out) {
  return trace_events::kstrtoull(data, 10, out);
}

// A control file's value without the newline echo adds (and trailing blanks).
std::string_view trim_value(std::string_view data) {
  while (!data.empty() && (data.back() == '\n' || data.back() == ' ')) data.remove_suffix(1);
  return data;
}

int64_t consumed(std::string_view data) {
  return static_cast<int64_t>(data.size());
}

std::vector<std::string> split_rel(std::string_view rel) {
  std::vector<std::string> parts;
  size_t start = 0;
  while (start <= rel.size()) {
    size_t slash = rel.find('/', start);
    if (slash == std::string_view::npos) slash = rel.size();
    parts.emplace_back(rel.substr(start, slash - start));
    start = slash + 1;
  }
  return parts;
}

constexpr std::string_view kEventFiles[] = {"enable", "filter", "format", "id", "trigger"};

}  // namespace

// One control file at the tracefs root: what reading gives, what a write and an O_TRUNC do.
struct TraceEvents::RootFile {
  std::string_view name;
  std::function<std::string(TraceEvents&)> read;
  std::function<int64_t(TraceEvents&, std::string_view)> write;  // null: EINVAL
  std::function<int(TraceEvents&)> truncate;                      // null: nothing
};

const std::vector<TraceEvents::RootFile>& TraceEvents::root_files() {
  using T = TraceEvents;
  auto events_file = [](EventsFile f) {
    return RootFile{{},
                    [f](T& t) { return t.list(f); },
                    [f](T& t, std::string_view d) -> int64_t {
                      int err = t.write(f, d);
                      return err ? -err : consumed(d);
                    },
                    [f](T& t) { return t.truncate(f); }};
  };
  auto named = [](std::string_view name, RootFile f) {
    f.name = name;
    return f;
  };
  auto ignore_write = [](T&, std::string_view d) { return consumed(d); };
  static const std::vector<RootFile> files = {
      {"README", [](T&) { return std::string(kReadme); }, nullptr, nullptr},
      {"available_events", [](T& t) { return t.available_events(); }, nullptr, nullptr},
      {"available_filter_functions", [](T& t) { return t.available_functions(); }, nullptr,
       nullptr},
      {"buffer_size_kb", [](T& t) { return std::to_string(t.buffer_kb_) + "\n"; },
       [](T& t, std::string_view d) -> int64_t {  // tracing_entries_write
         uint64_t kb = 0;
         if (int64_t err = parse_ulong(d, &kb)) return err;
         if (kb == 0) return -EINVAL;
         t.set_buffer_size_kb(kb);
         return consumed(d);
       },
       nullptr},
      {"buffer_total_size_kb",
       [](T& t) {
         return std::to_string(t.buffer_kb_ * static_cast<uint64_t>(t.m_.config().cpus)) + "\n";
       },
       nullptr, nullptr},
      named("dynamic_events", events_file(EventsFile::Dynamic)),
      {"error_log", [](T& t) { return t.error_log_; }, ignore_write,
       [](T& t) {
         t.clear_error_log();
         return 0;
       }},
      named("kprobe_events", events_file(EventsFile::Kprobe)),
      {"kprobe_profile", [](T& t) { return t.profile(ProbeKind::Kprobe); }, nullptr, nullptr},
      {"trace", [](T& t) { return t.trace_text(true); }, ignore_write,
       [](T& t) {
         t.clear_trace();
         return 0;
       }},
      {"trace_pipe", [](T&) { return std::string(); }, nullptr, nullptr},
      {"tracing_on", [](T& t) { return std::string(t.tracing_on_ ? "1\n" : "0\n"); },
       [](T& t, std::string_view d) -> int64_t {  // rb_simple_write: any non-zero is on
         uint64_t v = 0;
         if (int64_t err = parse_ulong(d, &v)) return err;
         t.set_tracing_on(v != 0);
         return consumed(d);
       },
       nullptr},
      named("uprobe_events", events_file(EventsFile::Uprobe)),
      {"uprobe_profile", [](T& t) { return t.profile(ProbeKind::Uprobe); }, nullptr, nullptr},
  };
  return files;
}

const TraceEvents::RootFile* TraceEvents::root_file(std::string_view rel) {
  for (const RootFile& f : root_files())
    if (f.name == rel) return &f;
  return nullptr;
}

void TraceEvents::mount(Vfs& vfs) {
  vfs.mount_provider("/sys/kernel/tracing", *this);
  vfs.mount_provider("/sys/kernel/debug/tracing", *this);
  if (!kprobes_debugfs_) kprobes_debugfs_ = std::make_unique<KprobesDebugfs>(m_);
  if (!kallsyms_) kallsyms_ = std::make_unique<ProcKallsyms>(m_);
  vfs.mount_provider("/sys/kernel/debug/kprobes", *kprobes_debugfs_);
  vfs.mount_provider("/proc/kallsyms", *kallsyms_);
}

// available_events: "GRP:EVENT" per event (t_show of trace_events.c).
std::string TraceEvents::available_events() const {
  std::string out;
  for (const auto& [group, event] : all_events()) out += group + ":" + event + "\n";
  return out;
}

std::vector<std::pair<std::string, std::string>> TraceEvents::all_events() const {
  std::vector<std::pair<std::string, std::string>> out;
  for (const trace_events::StaticEvent& e : trace_events::static_events())
    out.emplace_back(e.group, e.name);
  for (const ProbeDefinition& d : table_.probes()) {
    std::pair<std::string, std::string> key{d.group, d.event};
    if (std::find(out.begin(), out.end(), key) == out.end()) out.push_back(std::move(key));
  }
  return out;
}

bool TraceEvents::event_exists(std::string_view group, std::string_view event) const {
  return static_by_name(group, event) || !table_.event(group, event).empty();
}

// available_filter_functions: the kernel functions a kprobe may be put on.
std::string TraceEvents::available_functions() const {
  std::string out;
  if (const GuestKernel* k = m_.kernel())
    for (const std::string& name : k->space().kallsyms().probeable_functions()) out += name + "\n";
  return out;
}

std::vector<TracefsHost::Entry> TraceEvents::tracefs_list(std::string_view rel) {
  std::vector<Entry> out;
  std::vector<std::string> p = split_rel(rel);
  if (rel.empty()) {
    for (const RootFile& f : root_files()) out.push_back({std::string(f.name), false});
    out.push_back({"events", true});
  } else if (p.size() == 1 && p[0] == "events") {
    for (const auto& [group, event] : all_events()) out.push_back({group, true});
    out.push_back({"enable", false});
  } else if (p.size() == 2 && p[0] == "events" && group_enabled(p[1]) != '?') {
    for (const auto& [group, event] : all_events())
      if (group == p[1]) out.push_back({event, true});
    out.push_back({"enable", false});
    out.push_back({"filter", false});
  } else if (p.size() == 3 && p[0] == "events" && event_exists(p[1], p[2])) {
    for (std::string_view f : kEventFiles) out.push_back({std::string(f), false});
  }
  std::sort(out.begin(), out.end(), [](const Entry& a, const Entry& b) { return a.name < b.name; });
  out.erase(std::unique(out.begin(), out.end(),
                        [](const Entry& a, const Entry& b) { return a.name == b.name; }),
            out.end());
  return out;
}

std::optional<bool> TraceEvents::tracefs_kind(std::string_view rel) {
  if (rel.empty()) return true;
  size_t slash = rel.rfind('/');
  std::string_view parent = slash == std::string_view::npos ? "" : rel.substr(0, slash);
  std::string_view name = slash == std::string_view::npos ? rel : rel.substr(slash + 1);
  for (const Entry& e : tracefs_list(parent))
    if (e.name == name) return e.dir;
  return std::nullopt;
}

std::string TraceEvents::tracefs_read(std::string_view rel) {
  if (const RootFile* f = root_file(rel)) return f->read(*this);
  std::vector<std::string> p = split_rel(rel);
  if (p.empty() || p[0] != "events") return {};
  return read_events_file(p);
}

int TraceEvents::tracefs_truncate(std::string_view rel) {
  std::vector<std::string> p = split_rel(rel);
  if (p.size() == 4 && p[0] == "events" && p[3] == "trigger") {  // clear_event_triggers
    clear_triggers(p[1], p[2]);
    return 0;
  }
  const RootFile* f = root_file(rel);
  return f && f->truncate ? f->truncate(*this) : 0;
}

int64_t TraceEvents::tracefs_write(std::string_view rel, std::string_view data) {
  if (const RootFile* f = root_file(rel)) return f->write ? f->write(*this, data) : -EINVAL;
  std::vector<std::string> p = split_rel(rel);
  if (p.empty() || p[0] != "events") return -EINVAL;
  return write_events_file(p, data);
}

std::string TraceEvents::tracefs_consume(std::string_view rel) {
  if (rel != "trace_pipe") return {};
  std::string out;
  for (const trace_events::TraceRecord& r : consume()) out += format_trace_line(r) + "\n";
  return out;
}

PollMask TraceEvents::tracefs_poll(std::string_view rel) const {
  if (rel != "trace_pipe") return kDefaultPollMask;
  return records_.empty() ? PollMask{0} : (kEPOLLIN | kEPOLLRDNORM);
}

// system_enable_read: '?' no event, '0' none enabled, '1' all, 'X' mixed.
char TraceEvents::group_enabled(std::string_view group) const {
  unsigned set = 0;
  for (const auto& [g, e] : all_events())
    if (group.empty() || g == group) set |= 1u << (enabled(g, e) ? 1 : 0);
  return "?01X"[set];
}

// __ftrace_set_clr_event over a group (every group when empty): EINVAL if it has no event,
// else the last failure (the others are still changed).
int TraceEvents::set_group_enabled(std::string_view group, bool on) {
  std::vector<std::pair<std::string, std::string>> events = all_events();
  std::erase_if(events, [&](const auto& ge) { return !group.empty() && ge.first != group; });
  if (events.empty()) return EINVAL;
  int err = 0;
  for (const auto& [g, e] : events)
    if (int r = set_enabled(g, e, on)) err = r;
  return err;
}

std::string TraceEvents::read_events_file(const std::vector<std::string>& p) const {
  const std::string& leaf = p.back();
  if (p.size() == 2 && leaf == "enable") return std::string(1, group_enabled("")) + "\n";
  if (p.size() == 3 && leaf == "enable") return std::string(1, group_enabled(p[1])) + "\n";
  if (p.size() == 3 && leaf == "filter") {
    auto it = group_filters_.find(p[1]);
    return it == group_filters_.end() ? "none\n" : it->second;
  }
  if (p.size() != 4 || !event_exists(p[1], p[2])) return {};
  if (leaf == "enable")  // event_enable_read: '*' while in soft mode
    return std::string(enabled(p[1], p[2]) ? "1" : "0") + (soft_mode(p[1], p[2]) ? "*\n" : "\n");
  if (leaf == "id") return std::to_string(event_id(p[1], p[2])) + "\n";
  if (leaf == "trigger") return read_trigger(p[1], p[2]);
  if (leaf == "filter") {
    auto it = filters_.find({p[1], p[2]});
    return it == filters_.end() ? "none\n" : it->second.shown;
  }
  if (leaf != "format") return {};
  if (const trace_events::StaticEvent* e = static_by_name(p[1], p[2]))
    return trace_events::static_event_format(*e, event_id(p[1], p[2]), m_.arch());
  return trace_events::event_format(*table_.event(p[1], p[2]).front(), event_id(p[1], p[2]));
}

// event_enable_write / system_enable_write: kstrtoul, then only 0 or 1.
int64_t TraceEvents::write_events_file(const std::vector<std::string>& p, std::string_view data) {
  if (p.size() == 4 && p[3] == "filter" && event_exists(p[1], p[2]))
    return write_filter(p[1], p[2], data);
  if (p.size() == 4 && p[3] == "trigger" && event_exists(p[1], p[2]))
    return write_trigger(p[1], p[2], data);
  if (p.size() == 3 && p[2] == "filter" && group_enabled(p[1]) != '?')
    return write_group_filter(p[1], data);
  if (p.back() != "enable" || p.size() < 2 || p.size() > 4) return -EINVAL;
  uint64_t v = 0;
  if (int64_t err = parse_ulong(data, &v)) return err;
  if (v > 1) return -EINVAL;
  int err = 0;
  if (p.size() == 4) {
    err = set_enabled(p[1], p[2], v == 1);
  } else {
    err = set_group_enabled(p.size() == 3 ? p[1] : "", v == 1);
  }
  return err ? -err : consumed(data);
}

std::vector<trace_events::FilterField> TraceEvents::filter_fields(std::string_view group,
                                                                 std::string_view event) const {
  std::vector<trace_events::FilterField> out;
  if (const trace_events::StaticEvent* e = static_by_name(group, event)) {
    for (const trace_events::StaticField& f : e->fields)
      out.push_back({std::string(f.name.substr(0, f.name.find('['))),
                     f.type.find("char") != std::string_view::npos});
    return out;
  }
  std::vector<const ProbeDefinition*> defs = table_.event(group, event);
  if (defs.empty()) return out;
  for (const trace_events::ProbeArg& a : defs.front()->args)
    if (!a.count) out.push_back({a.name, a.type->is_string()});  // arrays cannot be filtered
  return out;
}

// apply_event_filter: "0" removes the filter; otherwise the new one replaces it, or the write
// fails with EINVAL, no filter stays in force and the file shows the parse error.
int64_t TraceEvents::write_filter(const std::string& group, const std::string& event,
                                  std::string_view data) {
  const std::string_view text = trim_value(data);
  const std::pair<std::string, std::string> key{group, event};
  if (text == "0") {
    filters_.erase(key);
    return consumed(data);
  }
  const std::vector<trace_events::FilterField> fields = filter_fields(group, event);
  auto parsed = trace_events::EventFilter::parse(text, fields);
  if (auto* err = std::get_if<trace_events::FilterError>(&parsed)) {
    filters_[key] = Filter{std::nullopt, err->file_text(text)};
    return -EINVAL;
  }
  auto& f = std::get<trace_events::EventFilter>(parsed);
  std::string shown = f.text() + "\n";
  filters_[key] = Filter{std::move(f), std::move(shown)};
  return consumed(data);
}

int64_t TraceEvents::write_group_filter(const std::string& group, std::string_view data) {
  const std::string_view text = trim_value(data);
  bool any = false;
  for (const auto& [g, e] : all_events()) {
    if (g != group) continue;
    if (text == "0") {
      filters_.erase({g, e});
      continue;
    }
    // apply_subsystem_event_filter: an event the filter does not parse for keeps its own.
    auto parsed = trace_events::EventFilter::parse(text, filter_fields(g, e));
    if (auto* f = std::get_if<trace_events::EventFilter>(&parsed)) {
      std::string shown = f->text() + "\n";
      filters_[{g, e}] = Filter{std::move(*f), std::move(shown)};
      any = true;
    }
  }
  if (text == "0") {
    group_filters_.erase(group);
    return consumed(data);
  }
  if (!any) {
    group_filters_[group] = std::string(text) +
                            "\n^\nparse_error: Couldn't find or set field in one of a "
                            "subsystem's events\n";
    return -EINVAL;
  }
  group_filters_[group] = std::string(text) + "\n";
  return consumed(data);
}

int TraceEvents::event_id(std::string_view group, std::string_view event) const {
  if (const trace_events::StaticEvent* e = static_by_name(group, event))
    return kFirstStaticEventId + static_cast<int>(e->tp);
  auto it = event_ids_.find({std::string(group), std::string(event)});
  return it == event_ids_.end() ? 0 : it->second;
}

// register_trace_event's id: the smallest id from kFirstEventId that no live event holds.
void TraceEvents::assign_event_id(const std::string& group, const std::string& event) {
  std::erase_if(event_ids_, [&](const auto& kv) {
    return table_.event(kv.first.first, kv.first.second).empty();
  });
  if (event_ids_.contains({group, event})) return;
  std::vector<int> used;
  for (const auto& [key, id] : event_ids_) used.push_back(id);
  std::sort(used.begin(), used.end());
  int id = kFirstEventId;
  for (int u : used)
    if (u == id) ++id;
  event_ids_[{group, event}] = id;
}

}  // namespace probesim::emu
