// Event enable states (trace_events.h; Linux kernel/trace/trace_events.c
// __ftrace_event_enable_disable). An event is *armed* (EVENT_FILE_FL_ENABLED: its probes or
// tracepoint fire) when enabled by hand or when something holds it in *soft mode*: every
// trigger holds its own event (so it fires for its triggers even while disabled), and an
// enable_event/disable_event trigger holds its target. A soft-mode event may be *soft
// disabled*: it fires, its triggers run, its records are discarded; enable_event and
// disable_event flip only that flag, so no probe is ever armed from inside a hit.
#include <cerrno>

#include "emu/tracefs/trace_events.h"
#include "probesim/assert.h"

namespace probesim::emu {

// event_enable_write: 1 arms (if needed) and clears soft-disabled; 0 disarms, or, while in
// soft mode, only soft-disables (the event keeps firing for its holders).
int TraceEvents::set_enabled(std::string_view group, std::string_view event, bool on) {
  auto it = soft_.find({std::string(group), std::string(event)});
  if (on) {
    if (it != soft_.end()) it->second.disabled = false;
    return armed(group, event) ? 0 : set_armed(group, event, true);
  }
  if (it != soft_.end()) {
    it->second.disabled = true;
    return 0;
  }
  return set_armed(group, event, false);
}

bool TraceEvents::enabled(std::string_view group, std::string_view event) const {
  return armed(group, event) && !soft_disabled(group, event);
}

bool TraceEvents::soft_mode(std::string_view group, std::string_view event) const {
  return !soft_.empty() && soft_.contains({std::string(group), std::string(event)});
}

bool TraceEvents::soft_disabled(std::string_view group, std::string_view event) const {
  if (soft_.empty()) return false;
  auto it = soft_.find({std::string(group), std::string(event)});
  return it != soft_.end() && it->second.disabled;
}

// trace_event_enable_disable(file, 1, 1): the first holder arms a disarmed event, soft-disabled.
int TraceEvents::soft_enable(const std::string& group, const std::string& event) {
  Soft& s = soft_[{group, event}];
  if (s.holders++ > 0 || armed(group, event)) return 0;
  s.disabled = true;
  if (int err = set_armed(group, event, true)) {
    soft_.erase({group, event});
    return err;
  }
  return 0;
}

// trace_event_enable_disable(file, 0, 1): the last holder leaves soft mode; the event stays
// armed only if it was enabled by hand (not soft-disabled).
void TraceEvents::soft_disable(const std::string& group, const std::string& event) {
  auto it = soft_.find({group, event});
  PROBESIM_ASSERT_MSG(it != soft_.end(), "soft_disable of an event not in soft mode");
  if (--it->second.holders > 0) return;
  const bool disarm = it->second.disabled;
  soft_.erase(it);
  if (disarm && armed(group, event)) (void)set_armed(group, event, false);
}

}  // namespace probesim::emu
