#include "probes/trace_events/dynevent.h"

#include "probesim/hex.h"

namespace probesim::trace_events {

// trace_kprobe_match_command_head / trace_uprobe's "%s:0x%0*lx" point.
std::string ProbeDefinition::point_text() const {
  if (kind == ProbeKind::Uprobe) {
    std::string s = path + ":" + hex(offset, 16);
    if (ref_ctr_offset) s += "(" + hex(ref_ctr_offset, 0) + ")";
    return s;
  }
  if (symbol.empty()) return hex(addr, 16);  // " 0x%p" with pointer hashing off
  return offset ? symbol + "+" + std::to_string(offset) : symbol;
}

// trace_kprobe_show / trace_uprobe_show.
std::string ProbeDefinition::listing() const {
  std::string s(1, is_return ? 'r' : 'p');
  if (kind == ProbeKind::Kprobe && is_return && maxactive) s += std::to_string(maxactive);
  s += ":" + group + "/" + event + " " + point_text();
  for (const ProbeArg& a : args) s += " " + a.name + "=" + a.comm;
  return s;
}

}  // namespace probesim::trace_events
