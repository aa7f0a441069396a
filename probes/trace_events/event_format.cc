// event_format.h: the format file of a kprobe / kretprobe / uprobe / uretprobe event.
#include "probes/trace_events/event_format.h"

#include <cstdio>

namespace probesim::trace_events {
namespace {

// struct trace_entry (include/linux/trace_events.h): every event starts with it.
struct Field {
  const char* type;
  const char* name;
  unsigned size;
  bool is_signed;
};
constexpr Field kCommonFields[] = {
    {"unsigned short", "common_type", 2, false},
    {"unsigned char", "common_flags", 1, false},
    {"unsigned char", "common_preempt_count", 1, false},
    {"int", "common_pid", 4, true},
};
constexpr unsigned kCommonSize = 8;

std::string field_line(const std::string& type, const std::string& name, unsigned offset,
                       unsigned size, bool is_signed) {
  char buf[256];
  std::snprintf(buf, sizeof buf, "\tfield:%s %s;\toffset:%u;\tsize:%u;\tsigned:%d;\n",
                type.c_str(), name.c_str(), offset, size, is_signed ? 1 : 0);
  return buf;
}

// is_signed of probe_fetch_types[]: the s* types and the __data_loc strings.
bool type_signed(const FetchType& t) {
  return t.kind == TypeKind::Signed || t.is_string();
}

// The fields of the probe itself (kprobe_event_define_fields, kretprobe_event_define_fields,
// uprobe_event_define_fields): the entry probes' ip, the return probes' function and return
// address, each an unsigned long.
std::vector<const char*> probe_fields(const ProbeDefinition& def) {
  if (def.is_return) return {"__probe_func", "__probe_ret_ip"};
  return {"__probe_ip"};
}

}  // namespace

std::string print_type_fmt(const FetchType& t) {
  const bool wide = t.size == 8;
  switch (t.kind) {
    case TypeKind::Unsigned: return wide ? "%Lu" : "%u";
    case TypeKind::Signed: return wide ? "%Ld" : "%d";
    case TypeKind::Hex: return wide ? "0x%Lx" : "0x%x";
    case TypeKind::Char: return "'%c'";
    case TypeKind::Symbol: return "%pS";
    case TypeKind::String:
    case TypeKind::UString:
    case TypeKind::SymStr: return "\\\"%s\\\"";
  }
  return "%u";
}

std::string event_format(const ProbeDefinition& def, int id) {
  std::string out = "name: " + def.event + "\nID: " + std::to_string(id) + "\nformat:\n";
  unsigned offset = 0;
  for (const Field& f : kCommonFields) {
    out += field_line(f.type, f.name, offset, f.size, f.is_signed);
    offset += f.size;
  }
  out += "\n";
  offset = kCommonSize;
  std::string fmt = def.is_return ? "(%lx <- %lx)" : "(%lx)";
  std::string args;
  for (const char* name : probe_fields(def)) {
    out += field_line("unsigned long", name, offset, 8, false);
    offset += 8;
    args += std::string(", REC->") + name;
  }
  // traceprobe_define_arg_fields: each arg at the running offset, no padding
  // (traceprobe_parse_probe_arg: parg->offset = *size; *size += type size * count).
  for (const ProbeArg& a : def.args) {
    const FetchType& t = *a.type;
    const unsigned n = a.count ? a.count : 1;
    const std::string name = a.count ? a.name + "[" + std::to_string(a.count) + "]" : a.name;
    out += field_line(std::string(t.fmttype), name, offset, t.size * n, type_signed(t));
    offset += t.size * n;
    const std::string one = print_type_fmt(t);
    fmt += " " + a.name + "=";
    if (!a.count) {
      fmt += one;
      args += t.is_string() ? ", __get_str(" + a.name + ")" : ", REC->" + a.name;
      continue;
    }
    fmt += "{";
    for (unsigned j = 0; j < a.count; ++j) {
      fmt += (j ? "," : "") + one;
      const std::string elem = a.name + "[" + std::to_string(j) + "]";
      args += t.is_string() ? ", __get_str(" + elem + ")" : ", REC->" + elem;
    }
    fmt += "}";
  }
  out += "\nprint fmt: \"" + fmt + "\"" + args + "\n";
  return out;
}

}  // namespace probesim::trace_events
