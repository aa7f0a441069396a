// Command parser (dynevent_parser.h). Order of checks and caret offsets follow Linux 6.12;
// each function names the one it mirrors.
#include "probes/trace_events/dynevent_parser.h"

#include <cctype>
#include <cerrno>
#include <climits>
#include <cstdio>

#include "probes/trace_events/fetch_arg.h"
#include "probes/trace_events/kstrto.h"

namespace probesim::trace_events {

namespace {

constexpr size_t kWriteBufSize = 4096;  // WRITE_BUFSIZE (trace.c)

bool is_digit(char c) {
  return c >= '0' && c <= '9';
}

// __is_good_name: C identifiers; groups (is_good_system_name) may also contain '-'.
bool is_good_name(std::string_view s, bool hyphen_ok) {
  auto ok = [&](char c, bool first) {
    return std::isalpha(static_cast<unsigned char>(c)) || c == '_' || (hyphen_ok && c == '-') ||
           (!first && is_digit(c));
  };
  if (s.empty() || !ok(s[0], true)) return false;
  for (char c : s.substr(1))
    if (!ok(c, false)) return false;
  return true;
}

// A parse in progress: the words and the subsystem its errors are logged under.
struct Parse {
  const std::vector<std::string>& argv;
  std::string_view subsystem;
  size_t index = 0;  // trace_probe_log_set_index
  Command* out;
  bool fail(size_t offset, ProbeError code, int err = EINVAL) {
    out->err = err;
    out->log = make_probe_log(subsystem, argv, index, offset, code, err);
    return false;
  }
  bool fail_silently(int err) {
    out->err = err;
    return false;
  }
};

// traceprobe_parse_event_name: "[GRP/|GRP.]EVENT"; an empty EVENT after a group asks for the
// automatic name (*event cleared).
bool parse_event_name(std::string_view text, size_t offset, std::string* group, std::string* event,
                      Parse& p) {
  size_t slash = text.find('/');
  if (slash == std::string_view::npos) slash = text.find('.');
  if (slash != std::string_view::npos) {
    if (slash == 0) return p.fail(offset, ProbeError::NO_GROUP_NAME);
    if (slash + 1 > kMaxEventNameLen) return p.fail(offset, ProbeError::GROUP_TOO_LONG);
    if (!is_good_name(text.substr(0, slash), true))
      return p.fail(offset, ProbeError::BAD_GROUP_NAME);
    *group = std::string(text.substr(0, slash));
    offset += slash + 1;
    text = text.substr(slash + 1);
  }
  if (text.empty()) {
    if (slash != std::string_view::npos) return true;
    return p.fail(offset, ProbeError::NO_EVENT_NAME);
  }
  if (text.size() > kMaxEventNameLen) return p.fail(offset, ProbeError::EVENT_TOO_LONG);
  if (!is_good_name(text, false)) return p.fail(offset, ProbeError::BAD_EVENT_NAME);
  *event = std::string(text);
  return true;
}

// The argument words argv[2..] (trace_probe_log index i + 2).
bool parse_args(ProbeDefinition& def, const ArgFlags& flags, Arch arch, Parse& p) {
  if (p.argv.size() - 2 > kMaxTraceArgs) {
    p.index = 2;
    return p.fail(0, ProbeError::TOO_MANY_ARGS, E2BIG);
  }
  for (size_t i = 0; i + 2 < p.argv.size(); ++i) {
    p.index = i + 2;
    ProbeArg arg;
    if (auto e = parse_probe_arg(p.argv[i + 2], i, def.args, arch, flags, &arg))
      return p.fail(e->pos, e->code, e->err);
    def.args.push_back(std::move(arg));
  }
  return true;
}

// MAXACTIVE of "r<N>[:...]".
bool parse_maxactive(std::string_view head, bool is_return, unsigned* maxactive, Parse& p) {
  if (head.size() < 2 || !is_digit(head[1])) return true;
  if (!is_return) return p.fail(1, ProbeError::BAD_MAXACT_TYPE);
  std::string_view num = head.substr(1, head.find(':') - 1);
  if (num.size() > kMaxEventNameLen - 1) return p.fail(1, ProbeError::BAD_MAXACT);
  if (kstrtouint(num, 0, maxactive) || *maxactive == 0) return p.fail(1, ProbeError::BAD_MAXACT);
  if (*maxactive > kMaxActiveMax) return p.fail(1, ProbeError::MAXACT_TOO_BIG);
  return true;
}

// The probe point of a kprobe: MEMADDR, or SYM[+|-OFF][%return].
bool parse_kprobe_point(ProbeDefinition& def, ArgFlags& flags, const DynEventEnv& env, Parse& p) {
  const std::string& word = p.argv[1];
  if (kstrtoull(word, 0, &def.addr) == 0) return true;
  p.index = 1;
  std::string symbol = word;
  size_t pct = symbol.find('%');
  if (pct != std::string::npos) {
    if (symbol.substr(pct) != "%return") return p.fail(pct, ProbeError::BAD_ADDR_SUFFIX);
    symbol.resize(pct);
    def.is_return = true;
  }
  // traceprobe_split_symbol_offset, then offset < 0 || offset > UINT_MAX is rejected.
  size_t sign = symbol.find_first_of("+-");
  int64_t offset = 0;
  if (sign != std::string::npos) {
    if (kstrtol(std::string_view(symbol).substr(sign), 0, &offset))
      return p.fail(0, ProbeError::BAD_PROBE_ADDR);
    symbol.resize(sign);
  }
  if (offset < 0 || offset > UINT_MAX) return p.fail(0, ProbeError::BAD_PROBE_ADDR);
  // validate_probe_symbol: exactly one symbol of that name (no modules here).
  unsigned n = env.symbol_count(symbol);
  if (n > 1) return p.fail(0, ProbeError::NON_UNIQ_SYMBOL);
  if (n == 0) return p.fail(0, ProbeError::BAD_PROBE_ADDR);
  def.symbol = symbol;
  def.offset = static_cast<uint64_t>(offset);
  // kprobe_on_func_entry: without ftrace, the entry is offset 0 on both arches.
  flags.ret = def.is_return;
  flags.fentry = !def.is_return && def.offset == 0;
  if (def.is_return && def.offset != 0) return p.fail(0, ProbeError::BAD_RETPROBE);
  return true;
}

// sanitize_event_name: ':' and '.' after the first character become '_'.
std::string sanitize_event_name(std::string s) {
  for (size_t i = 1; i < s.size(); ++i)
    if (s[i] == ':' || s[i] == '.') s[i] = '_';
  return s;
}

// __trace_kprobe_create. Returns nullopt for "not a kprobe command" (-ECANCELED).
std::optional<bool> parse_kprobe(ProbeDefinition& def, const DynEventEnv& env, Parse& p) {
  const std::string& head = p.argv[0];
  if (head[0] != 'p' && head[0] != 'r') return std::nullopt;
  if (p.argv.size() < 2) return std::nullopt;
  const std::string& point = p.argv[1];
  if (point.find('/') != std::string::npos && point.find(':') != std::string::npos)
    return std::nullopt;  // a uprobe
  def.kind = ProbeKind::Kprobe;
  def.group = "kprobes";
  def.is_return = head[0] == 'r';
  size_t colon = head.find(':', 1);
  if (!parse_maxactive(head, def.is_return, &def.maxactive, p)) return false;
  ArgFlags flags{.kernel = true, .ret = def.is_return};
  if (!parse_kprobe_point(def, flags, env, p)) return false;
  p.index = 0;
  if (colon != std::string::npos && !parse_event_name(std::string_view(head).substr(colon + 1),
                                                      colon + 1, &def.group, &def.event, p))
    return false;
  if (def.event.empty()) {
    char buf[kMaxEventNameLen];
    if (!def.symbol.empty())
      std::snprintf(buf, sizeof buf, "%c_%s_%llu", def.is_return ? 'r' : 'p', def.symbol.c_str(),
                    static_cast<unsigned long long>(def.offset));
    else
      std::snprintf(buf, sizeof buf, "%c_0x%016llx", def.is_return ? 'r' : 'p',
                    static_cast<unsigned long long>(def.addr));
    def.event = sanitize_event_name(buf);
  }
  return parse_args(def, flags, env.arch(), p);
}

// PATH:OFFSET[%return][(REF_CTR_OFFSET)] of a uprobe (word 1). `colon` is the last ':'.
bool parse_uprobe_point(ProbeDefinition& def, size_t colon, const DynEventEnv& env, Parse& p) {
  const std::string& word = p.argv[1];
  p.index = 1;
  def.path = word.substr(0, colon);
  DynEventEnv::FileKind kind = env.file_kind(def.path);
  if (kind == DynEventEnv::FileKind::Missing) return p.fail(0, ProbeError::FILE_NOT_FOUND, ENOENT);
  if (kind != DynEventEnv::FileKind::Regular) return p.fail(0, ProbeError::NO_REGULAR_FILE);
  std::string arg = word.substr(colon + 1);
  size_t base = colon + 1;  // offset of arg in the word
  size_t lp = arg.find('(');
  if (lp != std::string::npos) {
    size_t rp = arg.find(')', lp);
    if (rp == std::string::npos) return p.fail(base + arg.size(), ProbeError::REFCNT_OPEN_BRACE);
    if (rp + 1 != arg.size()) return p.fail(base + rp + 1, ProbeError::BAD_REFCNT_SUFFIX);
    if (int r =
            kstrtoull(std::string_view(arg).substr(lp + 1, rp - lp - 1), 0, &def.ref_ctr_offset))
      return p.fail(base + lp + 1, ProbeError::BAD_REFCNT, -r);
    arg.resize(lp);
  }
  size_t pct = arg.find('%');
  if (pct != std::string::npos) {
    if (arg.substr(pct) != "%return") return p.fail(base + pct, ProbeError::BAD_ADDR_SUFFIX);
    arg.resize(pct);
    def.is_return = true;
  }
  if (int r = kstrtoull(arg, 0, &def.offset)) return p.fail(base, ProbeError::BAD_UPROBE_OFFS, -r);
  return true;
}

// __trace_uprobe_create. nullopt: not a uprobe command (-ECANCELED).
std::optional<bool> parse_uprobe(ProbeDefinition& def, const DynEventEnv& env, Parse& p) {
  const std::string& head = p.argv[0];
  if ((head[0] != 'p' && head[0] != 'r') || p.argv.size() < 2) return std::nullopt;
  const std::string& point = p.argv[1];
  size_t colon = point.rfind(':');
  if (point.find('/') == std::string::npos || colon == std::string::npos ||
      colon + 1 >= point.size() || !is_digit(point[colon + 1]))
    return std::nullopt;
  p.subsystem = "trace_uprobe";
  def.kind = ProbeKind::Uprobe;
  def.group = "uprobes";
  def.is_return = head[0] == 'r';
  if (!parse_uprobe_point(def, colon, env, p)) return false;
  p.index = 0;
  if (head.size() > 1 && head[1] == ':' &&
      !parse_event_name(std::string_view(head).substr(2), 2, &def.group, &def.event, p))
    return false;
  if (def.event.empty()) {
    std::string base = def.path.substr(def.path.rfind('/') + 1);
    base = base.substr(0, base.find_first_of(".-_"));
    char buf[kMaxEventNameLen];
    std::snprintf(buf, sizeof buf, "p_%s_0x%llx", base.c_str(),
                  static_cast<unsigned long long>(def.offset));
    def.event = buf;
  }
  ArgFlags flags{.kernel = false, .ret = def.is_return};
  return parse_args(def, flags, env.arch(), p);
}

// dyn_event_release's parse of "-:[GRP/]EVENT [POINT ARGS...]".
bool parse_removal(RemoveCommand& rm, Parse& p) {
  const std::string& head = p.argv[0];
  if (head.size() < 2 || head[1] != ':') return p.fail_silently(EINVAL);
  std::string_view ev = std::string_view(head).substr(2);
  size_t slash = ev.find('/');
  bool has_group = slash != std::string_view::npos;
  if (has_group) {
    rm.group = std::string(ev.substr(0, slash));
    ev = ev.substr(slash + 1);
  }
  if (!has_group && ev.empty()) return p.fail_silently(EINVAL);
  rm.event = std::string(ev);
  rm.match.assign(p.argv.begin() + 1, p.argv.end());
  return true;
}

}  // namespace

std::vector<std::string> argv_split(std::string_view line) {
  std::vector<std::string> out;
  size_t i = 0;
  while (i < line.size()) {
    while (i < line.size() && std::isspace(static_cast<unsigned char>(line[i]))) ++i;
    size_t start = i;
    while (i < line.size() && !std::isspace(static_cast<unsigned char>(line[i]))) ++i;
    if (i > start) out.emplace_back(line.substr(start, i - start));
  }
  return out;
}

ProbeLogError make_probe_log(std::string_view subsystem, const std::vector<std::string>& argv,
                             size_t index, size_t offset, ProbeError code, int err) {
  std::string command;
  size_t pos = 0, len = 0;
  for (size_t i = 0; i < argv.size(); ++i) {
    if (i == index) pos = len;
    len += argv[i].size() + 1;
    command += (i ? " " : "") + argv[i];
  }
  if (index >= argv.size()) {
    pos = len;
    offset = 0;
  }
  return ProbeLogError{code, err, std::string(subsystem), command, pos + offset};
}

Command parse_command(std::string_view line, EventsFile file, const DynEventEnv& env) {
  Command out;
  out.argv = argv_split(line);
  if (out.argv.empty()) return out;
  Parse p{out.argv, "trace_kprobe", 0, &out};
  if (out.argv[0][0] == '-') {
    RemoveCommand rm;
    if (parse_removal(rm, p)) out.what = std::move(rm);
    return out;
  }
  ProbeDefinition def;
  std::optional<bool> r;
  if (file != EventsFile::Uprobe) r = parse_kprobe(def, env, p);
  if (!r && file != EventsFile::Kprobe) {
    def = ProbeDefinition{};
    r = parse_uprobe(def, env, p);
  }
  if (!r) {
    p.fail_silently(EINVAL);  // -ECANCELED from every parser becomes -EINVAL
  } else if (*r) {
    out.what = std::move(def);
  }
  return out;
}

std::optional<std::vector<std::string>> split_commands(std::string_view buffer) {
  std::vector<std::string> lines;
  while (!buffer.empty()) {
    size_t nl = buffer.find('\n');
    std::string_view line = buffer.substr(0, nl);
    if (line.size() > kWriteBufSize - 2) return std::nullopt;
    line = line.substr(0, line.find('#'));
    lines.emplace_back(line);
    if (nl == std::string_view::npos) break;
    buffer.remove_prefix(nl + 1);
  }
  return lines;
}

}  // namespace probesim::trace_events
