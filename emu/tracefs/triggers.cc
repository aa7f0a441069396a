// TraceEvents' event triggers (trace_events.h; kernel/trace/trace_events_trigger.c):
// events/GRP/EVENT/trigger takes "[!]CMD[:COUNT] [if FILTER]" with CMD traceon or traceoff.
// A trigger without a filter runs when its event hits, before the event is recorded (so
// traceoff's own hit is not); one with a filter runs on the event's record. COUNT limits how
// often it may change something. (enable_event/disable_event are not offered: they would arm
// probes from inside a probe handler or the scheduler; Linux arms their targets in advance and
// flips a soft-disable flag.)
#include <algorithm>
#include <cerrno>
#include <cstdint>

#include "emu/tracefs/trace_events.h"
#include "probes/trace_events/kstrto.h"

namespace probesim::emu {
namespace {

std::string_view trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == '\n' || s.back() == ' ' || s.back() == '\t'))
    s.remove_suffix(1);
  return s;
}

constexpr std::string_view kCommands[] = {"traceon", "traceoff"};

}  // namespace

std::string TraceEvents::read_trigger(const std::string& group, const std::string& event) const {
  auto it = triggers_.find({group, event});
  if (it == triggers_.end() || it->second.empty())
    return "# Available triggers:\n# traceon traceoff\n";
  std::string out;
  for (const Trigger& t : it->second) {  // event_trigger_print / event_enable_trigger_print
    out += t.cmd;
    out += t.count < 0 ? ":unlimited" : ":count=" + std::to_string(t.count);
    out += t.cond ? " if " + t.cond->text() + "\n" : "\n";
  }
  return out;
}

// trigger_process_regex + event_trigger_parse: "CMD[:COUNT] [if FILTER]"; '!' removes.
int64_t TraceEvents::write_trigger(const std::string& group, const std::string& event,
                                   std::string_view data) {
  std::string_view text = trim(data);
  if (text.empty()) return static_cast<int64_t>(data.size());
  const bool remove = text.front() == '!';
  if (remove) text.remove_prefix(1);
  std::string_view cond_text;
  if (size_t at = text.find(" if "); at != std::string_view::npos) {
    cond_text = trim(text.substr(at + 4));
    text = trim(text.substr(0, at));
  }
  Trigger t;
  const size_t colon = text.find(':');
  t.cmd = std::string(text.substr(0, colon));
  std::string_view rest = colon == std::string_view::npos ? "" : text.substr(colon + 1);
  if (std::find(std::begin(kCommands), std::end(kCommands), t.cmd) == std::end(kCommands))
    return -EINVAL;
  if (!rest.empty()) {
    uint64_t n = 0;
    if (trace_events::kstrtoull(rest, 0, &n) || n > INT64_MAX) return -EINVAL;
    t.count = static_cast<int64_t>(n);
  }
  std::vector<Trigger>& list = triggers_[{group, event}];
  auto same = [&](const Trigger& x) { return x.cmd == t.cmd; };
  if (remove) {
    std::erase_if(list, same);
    return static_cast<int64_t>(data.size());
  }
  if (std::any_of(list.begin(), list.end(), same)) return -EEXIST;
  if (!cond_text.empty()) {
    auto parsed = trace_events::EventFilter::parse(cond_text, filter_fields(group, event));
    if (!std::holds_alternative<trace_events::EventFilter>(parsed)) return -EINVAL;
    t.cond = std::move(std::get<trace_events::EventFilter>(parsed));
  }
  list.push_back(std::move(t));
  return static_cast<int64_t>(data.size());
}

// One trigger's action; true when it changed something (only then does a count go down:
// traceon_count_trigger skips when tracing is already in that state).
bool TraceEvents::fire(Trigger& t) {
  const bool on = t.cmd == "traceon";
  if (tracing_on_ == on) return false;
  set_tracing_on(on);
  return true;
}

void TraceEvents::fire_triggers(const std::string& group, const std::string& event,
                                const trace_events::TraceRecord* r) {
  auto it = triggers_.find({group, event});
  if (it == triggers_.end()) return;
  for (Trigger& t : it->second) {
    if (t.count == 0 || t.cond.has_value() != (r != nullptr)) continue;
    if (r && !t.cond->matches(*r)) continue;
    if (fire(t) && t.count > 0) --t.count;
  }
}

}  // namespace probesim::emu
