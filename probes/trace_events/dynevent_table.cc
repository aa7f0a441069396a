// DynEventTable (dynevent_table.h): trace_kprobe.c / trace_uprobe.c registration rules.
#include "probes/trace_events/dynevent_table.h"

#include <algorithm>
#include <cerrno>

#include "probes/trace_events/kstrto.h"

namespace probesim::trace_events {

namespace {

std::string_view subsystem_of(ProbeKind k) {
  return k == ProbeKind::Kprobe ? "trace_kprobe" : "trace_uprobe";
}

TableResult fail(const ProbeDefinition& def, const std::vector<std::string>& argv, size_t index,
                 ProbeError code, int err) {
  return TableResult{err, make_probe_log(subsystem_of(def.kind), argv, index, 0, code, err)};
}

// trace_probe_compare_arg_type: 0, or the 1-based index of the first differing argument.
size_t compare_arg_type(const ProbeDefinition& a, const ProbeDefinition& b) {
  if (a.args.size() != b.args.size()) return std::min(a.args.size(), b.args.size()) + 1;
  for (size_t i = 0; i < a.args.size(); ++i) {
    const ProbeArg& x = a.args[i];
    const ProbeArg& y = b.args[i];
    if (x.type != y.type || x.count != y.count || x.name != y.name) return i + 1;
  }
  return 0;
}

// trace_kprobe_has_same_kprobe for one sibling: same symbol (address probes all compare as
// Linux's "unknown"), same offset, same argument texts.
bool same_kprobe(const ProbeDefinition& a, const ProbeDefinition& b) {
  if (a.symbol != b.symbol || a.offset != b.offset) return false;
  for (size_t i = 0; i < a.args.size(); ++i)
    if (a.args[i].comm != b.args[i].comm) return false;
  return true;
}

// traceprobe_update_arg: @SYM[+|-OFF] becomes the symbol's address. 0, -ENOENT or -EINVAL.
int resolve_symbols(ProbeDefinition& def, const DynEventEnv& env) {
  for (ProbeArg& arg : def.args) {
    for (size_t i = 0; i + 1 < arg.code.size(); ++i) {
      if (arg.code[i].op != FetchOp::Symbol) continue;
      std::string_view text = arg.code[i].data;
      size_t sign = text.find_first_of("+-");
      int64_t off = 0;
      if (sign != std::string_view::npos && kstrtol(text.substr(sign), 0, &off)) return -EINVAL;
      auto addr = env.symbol_address(text.substr(0, sign));
      if (!addr) return -ENOENT;
      arg.code[i + 1].imm = *addr + static_cast<uint64_t>(off);
    }
  }
  return 0;
}

// trace_kprobe_match / trace_uprobe_match with their command-head and argument checks.
bool matches(const ProbeDefinition& d, const RemoveCommand& rm) {
  if (!rm.event.empty() && rm.event != d.event) return false;
  if (!rm.group.empty() && rm.group != d.group) return false;
  if (rm.match.empty()) return true;
  if (rm.match[0] != d.point_text()) return false;
  if (rm.match.size() - 1 > d.args.size()) return false;
  for (size_t i = 1; i < rm.match.size(); ++i)
    if (rm.match[i] != d.args[i - 1].name + "=" + d.args[i - 1].comm) return false;
  return true;
}

}  // namespace

TableResult DynEventTable::run_command(std::string_view line, EventsFile file,
                                       const DynEventEnv& env) {
  Command cmd = parse_command(line, file, env);
  if (!cmd.ok()) return TableResult{cmd.err, cmd.log};
  if (const RemoveCommand* rm = cmd.removal()) {
    std::optional<ProbeKind> kind;
    if (file == EventsFile::Kprobe) kind = ProbeKind::Kprobe;
    if (file == EventsFile::Uprobe) kind = ProbeKind::Uprobe;
    return remove(*rm, kind);
  }
  if (const ProbeDefinition* def = cmd.definition()) return add(*def, cmd.argv, env);
  return {};
}

TableResult DynEventTable::check_append(const ProbeDefinition& def, const ProbeDefinition& existing,
                                        const std::vector<std::string>& argv) const {
  if (def.kind != existing.kind) return fail(def, argv, 0, ProbeError::EVENT_EXIST, EEXIST);
  if (def.is_return != existing.is_return)
    return fail(def, argv, 0, ProbeError::DIFF_PROBE_TYPE, EEXIST);
  if (size_t i = compare_arg_type(def, existing))
    return fail(def, argv, i + 1, ProbeError::DIFF_ARG_TYPE, EEXIST);
  if (def.kind == ProbeKind::Kprobe) {
    for (const ProbeDefinition* s : event(def.group, def.event))
      if (same_kprobe(*s, def)) return fail(def, argv, 0, ProbeError::SAME_PROBE, EEXIST);
  }
  return {};
}

TableResult DynEventTable::register_probe(ProbeDefinition& def,
                                          const std::vector<std::string>& argv,
                                          const DynEventEnv& env) {
  int r = resolve_symbols(def, env);
  if (r == 0 && register_) r = register_(def);
  if (r == 0) return {};
  // register_trace_uprobe logs nothing (e.g. validate_ref_ctr_offset's EINVAL: one reference
  // counter per (file, offset)); the file errors were logged by the parser.
  if (def.kind == ProbeKind::Uprobe) return TableResult{-r, std::nullopt};
  // __trace_kprobe_create's mapping of registration errors (word 1, the probe point).
  if (r == -EILSEQ) return fail(def, argv, 1, ProbeError::BAD_INSN_BNDRY, EILSEQ);
  if (r == -ENOENT) return fail(def, argv, 1, ProbeError::BAD_PROBE_ADDR, ENOENT);
  if (r == -ENOMEM || r == -EEXIST) return TableResult{-r, std::nullopt};
  return fail(def, argv, 1, ProbeError::FAIL_REG_PROBE, -r);
}

TableResult DynEventTable::add(ProbeDefinition def, const std::vector<std::string>& argv,
                               const DynEventEnv& env) {
  Key key{def.group, def.event};
  if (reserved_.count(key)) return fail(def, argv, 0, ProbeError::EVENT_EXIST, EEXIST);
  auto existing = event(def.group, def.event);
  if (!existing.empty()) {
    TableResult r = check_append(def, *existing.front(), argv);
    if (!r.ok()) return r;
  }
  def.id = next_id_++;
  TableResult r = register_probe(def, argv, env);
  if (!r.ok()) return r;
  enabled_.emplace(key, false);
  probes_.push_back(std::move(def));
  return {};
}

bool DynEventTable::has_sibling(const ProbeDefinition& def) const {
  return event(def.group, def.event).size() > 1;
}

TableResult DynEventTable::remove(const RemoveCommand& rm, std::optional<ProbeKind> kind) {
  TableResult result{ENOENT, std::nullopt};
  for (size_t i = 0; i < probes_.size();) {
    const ProbeDefinition& d = probes_[i];
    if ((kind && d.kind != *kind) || !matches(d, rm)) {
      ++i;
      continue;
    }
    // unregister_trace_kprobe: a sibling may always go; the last probe of an enabled event
    // may not.
    if (!has_sibling(d) && enabled(d.group, d.event)) return TableResult{EBUSY, std::nullopt};
    if (unregister_) unregister_(d);
    if (!has_sibling(d)) enabled_.erase(Key{d.group, d.event});
    probes_.erase(probes_.begin() + static_cast<ptrdiff_t>(i));
    result.err = 0;
  }
  return result;
}

int DynEventTable::clear(std::optional<ProbeKind> kind) {
  for (const ProbeDefinition& d : probes_)
    if ((!kind || d.kind == *kind) && enabled(d.group, d.event)) return EBUSY;
  RemoveCommand all;
  remove(all, kind);
  return 0;
}

std::string DynEventTable::list(std::optional<ProbeKind> kind) const {
  std::string s;
  for (const ProbeDefinition& d : probes_)
    if (!kind || d.kind == *kind) s += d.listing() + "\n";
  return s;
}

std::vector<const ProbeDefinition*> DynEventTable::event(std::string_view group,
                                                         std::string_view name) const {
  std::vector<const ProbeDefinition*> out;
  for (const ProbeDefinition& d : probes_)
    if (d.group == group && d.event == name) out.push_back(&d);
  return out;
}

bool DynEventTable::enabled(std::string_view group, std::string_view name) const {
  auto it = enabled_.find(Key{std::string(group), std::string(name)});
  return it != enabled_.end() && it->second;
}

bool DynEventTable::set_enabled(std::string_view group, std::string_view name, bool on) {
  auto it = enabled_.find(Key{std::string(group), std::string(name)});
  if (it == enabled_.end()) return false;
  it->second = on;
  return true;
}

void DynEventTable::reserve(std::string group, std::string name) {
  reserved_[Key{std::move(group), std::move(name)}] = true;
}

}  // namespace probesim::trace_events
