// TraceEvents' event triggers (trace_events.h; kernel/trace/trace_events_trigger.c):
// events/GRP/EVENT/trigger takes "[!]CMD[:COUNT] [if FILTER]", CMD one of traceon, traceoff,
// or "enable_event:GRP:EVENT" / "disable_event:GRP:EVENT". A trigger without a filter runs when
// its event hits, before the event is recorded (so traceoff's own hit is not); one with a
// filter runs on the event's record. COUNT limits how often it may change something.
// Every trigger holds its own event in soft mode (soft_mode.cc: it fires, for its triggers,
// even while disabled), and enable_event/disable_event hold their target there too, so that
// firing them only flips the target's soft-disabled flag.
#include <algorithm>
#include <cerrno>
#include <cstdint>
#include <optional>

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

// In register_trigger_cmds order, as "# Available triggers:" lists them.
constexpr std::string_view kCommands[] = {"traceon", "traceoff", "enable_event", "disable_event"};

bool is_enable_cmd(std::string_view cmd) { return cmd == "enable_event" || cmd == "disable_event"; }

std::string_view next_field(std::string_view& rest) {  // strsep(&rest, ":")
  const size_t colon = rest.find(':');
  std::string_view f = rest.substr(0, colon);
  rest = colon == std::string_view::npos ? std::string_view{} : rest.substr(colon + 1);
  return f;
}

}  // namespace

std::string TraceEvents::read_trigger(const std::string& group, const std::string& event) const {
  auto it = triggers_.find({group, event});
  if (it == triggers_.end() || it->second.empty()) {
    std::string out = "# Available triggers:\n#";
    for (std::string_view c : kCommands) out += " " + std::string(c);
    return out + "\n";
  }
  std::string out;
  for (const Trigger& t : it->second) {  // event_trigger_print / event_enable_trigger_print
    out += t.cmd;
    if (is_enable_cmd(t.cmd)) out += ":" + t.target.first + ":" + t.target.second;
    out += t.count < 0 ? ":unlimited" : ":count=" + std::to_string(t.count);
    out += t.cond ? " if " + t.cond->text() + "\n" : "\n";
  }
  return out;
}

// trigger_process_regex + event_trigger_parse / event_enable_trigger_parse:
// "CMD[:GRP:EVENT][:COUNT] [if FILTER]"; '!' removes the trigger of that kind (and target).
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
  std::string_view rest = text;
  t.cmd = std::string(next_field(rest));
  if (std::find(std::begin(kCommands), std::end(kCommands), t.cmd) == std::end(kCommands))
    return -EINVAL;
  if (is_enable_cmd(t.cmd)) {
    t.target.first = std::string(next_field(rest));
    t.target.second = std::string(next_field(rest));
    if (!event_exists(t.target.first, t.target.second)) return -EINVAL;
  }
  if (!rest.empty()) {
    uint64_t n = 0;
    if (trace_events::kstrtoull(rest, 0, &n) || n > INT64_MAX) return -EINVAL;
    t.count = static_cast<int64_t>(n);
  }
  auto lit = triggers_.find({group, event});
  std::optional<size_t> same;
  for (size_t i = 0; lit != triggers_.end() && i < lit->second.size(); ++i)
    if (lit->second[i].cmd == t.cmd && lit->second[i].target == t.target) same = i;
  if (remove) {
    if (same) remove_trigger(group, event, *same);
    return static_cast<int64_t>(data.size());
  }
  if (same) return -EEXIST;
  if (!cond_text.empty()) {
    auto parsed = trace_events::EventFilter::parse(cond_text, filter_fields(group, event));
    if (!std::holds_alternative<trace_events::EventFilter>(parsed)) return -EINVAL;
    t.cond = std::move(std::get<trace_events::EventFilter>(parsed));
  }
  if (is_enable_cmd(t.cmd)) {
    if (int err = soft_enable(t.target.first, t.target.second)) return -err;
  }
  if (int err = soft_enable(group, event)) {
    if (is_enable_cmd(t.cmd)) soft_disable(t.target.first, t.target.second);
    return -err;
  }
  triggers_[{group, event}].push_back(std::move(t));
  return static_cast<int64_t>(data.size());
}

// The trigger leaves its list, then its events leave soft mode (unregister_trigger, then
// event_enable_unregister_trigger's trace_event_enable_disable(target, 0, 1)).
void TraceEvents::remove_trigger(const std::string& group, const std::string& event,
                                 size_t index) {
  std::vector<Trigger>& list = triggers_.at({group, event});
  Trigger t = std::move(list[index]);
  list.erase(list.begin() + static_cast<std::ptrdiff_t>(index));
  if (list.empty()) triggers_.erase({group, event});
  soft_disable(group, event);
  if (is_enable_cmd(t.cmd)) soft_disable(t.target.first, t.target.second);
}

// clear_event_triggers (open with O_TRUNC): every trigger of the event goes.
void TraceEvents::clear_triggers(const std::string& group, const std::string& event) {
  while (triggers_.contains({group, event})) remove_trigger(group, event, 0);
}

bool TraceEvents::has_conditional_trigger(const std::string& group,
                                          const std::string& event) const {
  auto it = triggers_.find({group, event});
  return it != triggers_.end() &&
         std::any_of(it->second.begin(), it->second.end(), [](const Trigger& t) { return t.cond.has_value(); });
}

// One trigger's action; true when it changed something (only then does a count go down:
// traceon_count_trigger and event_enable_count_trigger skip when already in that state).
bool TraceEvents::fire(Trigger& t) {
  if (is_enable_cmd(t.cmd)) {
    Soft& s = soft_.at(t.target);
    const bool disable = t.cmd == "disable_event";
    if (s.disabled == disable) return false;
    s.disabled = disable;
    return true;
  }
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
