// Fetch-argument parser (fetch_arg.h). Each step cites the Linux 6.12 function it follows in
// kernel/trace/trace_probe.c; offsets are computed the same way so carets land where Linux's do.
#include "probes/trace_events/fetch_arg.h"

#include <array>
#include <cctype>
#include <cerrno>
#include <string>

#include "probes/regs.h"
#include "probes/trace_events/kstrto.h"

namespace probesim::trace_events {

namespace {

using K = TypeKind;
constexpr std::string_view kDataLoc = "__data_loc char[]";

// probe_fetch_types[] (6.12): strings, then the basic types, then char and symbol.
constexpr std::array<FetchType, 17> kTypes = {{
    {"string", 4, K::String, kDataLoc},
    {"ustring", 4, K::UString, kDataLoc},
    {"symstr", 4, K::SymStr, kDataLoc},
    {"u8", 1, K::Unsigned, "u8"},
    {"u16", 2, K::Unsigned, "u16"},
    {"u32", 4, K::Unsigned, "u32"},
    {"u64", 8, K::Unsigned, "u64"},
    {"s8", 1, K::Signed, "s8"},
    {"s16", 2, K::Signed, "s16"},
    {"s32", 4, K::Signed, "s32"},
    {"s64", 8, K::Signed, "s64"},
    {"x8", 1, K::Hex, "u8"},
    {"x16", 2, K::Hex, "u16"},
    {"x32", 4, K::Hex, "u32"},
    {"x64", 8, K::Hex, "u64"},
    {"char", 1, K::Char, "u8"},
    {"symbol", 8, K::Symbol, "u64"},
}};

constexpr std::array<std::string_view, 8> kReservedFieldNames = {
    "common_type", "common_flags", "common_preempt_count", "common_pid",
    "common_tgid", "__probe_ip",   "__probe_ret_ip",       "__probe_func"};

const FetchType* by_name(std::string_view name) {
  for (const FetchType& t : kTypes)
    if (t.name == name) return &t;
  return nullptr;
}

// is_good_name (trace.h): a C identifier.
bool is_good_name(std::string_view s) {
  if (s.empty() || !(std::isalpha(static_cast<unsigned char>(s[0])) || s[0] == '_')) return false;
  for (char c : s.substr(1))
    if (!std::isalnum(static_cast<unsigned char>(c)) && c != '_') return false;
  return true;
}

// traceprobe_parse_context: flags and the current caret base; the first error wins.
struct Ctx {
  Arch arch;
  ArgFlags flags;
  size_t offset = 0;
  std::optional<ArgError> error;
  int fail(size_t pos, ProbeError code, int err = EINVAL) {
    if (!error) error = ArgError{code, pos, err};
    return -err;
  }
};

using Code = std::vector<FetchInsn>;

// "++code == end": the next slot is FETCH_INSN_MAX - 1, which holds FETCH_OP_END.
bool full(const Code& code) {
  return code.size() >= kFetchInsnMax - 1;
}

int parse_probe_arg(std::string arg, Code& code, Ctx& c);

// parse_probe_vars: $retval, $stack, $stackN, $comm/$COMM, $argN.
int parse_probe_vars(std::string_view arg, Code& code, Ctx& c) {
  std::string_view v = arg.substr(1);
  if (v.starts_with("retval")) {
    if (!c.flags.ret) return c.fail(c.offset, ProbeError::RETVAL_ON_PROBE);
    code.push_back({FetchOp::Retval});
    return 0;
  }
  if (v.starts_with("stack")) {
    std::string_view n = v.substr(5);
    if (n.empty()) {
      code.push_back({FetchOp::StackP});
      return 0;
    }
    uint64_t param = 0;
    if (!std::isdigit(static_cast<unsigned char>(n[0])) || kstrtoull(n, 10, &param))
      return c.fail(c.offset, ProbeError::BAD_VAR);
    if (c.flags.kernel && param > kParamMaxStack)
      return c.fail(c.offset, ProbeError::BAD_STACK_NUM);
    code.push_back({FetchOp::Stack, param});
    return 0;
  }
  if (v == "comm" || v == "COMM") {
    code.push_back({FetchOp::Comm});
    return 0;
  }
  if (v.starts_with("arg")) {  // CONFIG_HAVE_FUNCTION_ARG_ACCESS_API: x86_64 and arm64
    uint64_t param = 0;
    if (kstrtoull(v.substr(3), 10, &param)) return c.fail(c.offset, ProbeError::BAD_VAR);
    if (param == 0 || param > kParamMaxStack) return c.fail(c.offset, ProbeError::BAD_ARG_NUM);
    // Function entry, or a function exit reading entry data (6.12 __store_entry_arg).
    if (!c.flags.kernel || !(c.flags.fentry || c.flags.ret))
      return c.fail(c.offset, ProbeError::NOFENTRY_ARGS);
    code.push_back({FetchOp::Arg, param - 1});
    return 0;
  }
  return c.fail(c.offset, ProbeError::BAD_VAR);
}

// '@': @ADDR, @+FILE_OFFSET (uprobes), @SYM[+|-OFF] (kprobes); then a memory load.
int parse_memory(std::string_view arg, Code& code, Ctx& c) {
  if (arg.size() > 1 && std::isdigit(static_cast<unsigned char>(arg[1]))) {
    uint64_t addr = 0;
    if (kstrtoull(arg.substr(1), 0, &addr)) return c.fail(c.offset, ProbeError::BAD_MEM_ADDR);
    code.push_back({FetchOp::Imm, addr});
  } else if (arg.size() > 1 && arg[1] == '+') {
    if (c.flags.kernel) return c.fail(c.offset, ProbeError::FILE_ON_KPROBE);
    int64_t off = 0;
    if (kstrtol(arg.substr(2), 0, &off)) return c.fail(c.offset, ProbeError::BAD_FILE_OFFS);
    code.push_back({FetchOp::FileOffs, static_cast<uint64_t>(off)});
  } else {
    if (!c.flags.kernel) return c.fail(c.offset, ProbeError::SYM_ON_UPROBE);
    code.push_back({FetchOp::Symbol, 0, 0, std::string(arg.substr(1))});
    if (full(code)) return c.fail(c.offset, ProbeError::TOO_MANY_OPS);
    code.push_back({FetchOp::Imm, 0});  // resolved when the probe is registered
  }
  if (full(code)) return c.fail(c.offset, ProbeError::TOO_MANY_OPS);
  code.push_back({FetchOp::Deref, 0, 0});
  return 0;
}

// '+'/'-': [+|-][u]OFF(FETCHARG), offsets advanced exactly as Linux does (including the
// one-column shift its in-place 'u' removal causes).
int parse_deref(std::string arg, Code& code, Ctx& c) {
  FetchOp deref = FetchOp::Deref;
  if (arg.size() > 1 && arg[1] == 'u') {
    deref = FetchOp::UDeref;
    arg.erase(1, 1);  // arg[1] = arg[0]; arg++
  }
  if (arg[0] == '+') arg.erase(0, 1);
  size_t paren = arg.find('(');
  if (paren == std::string::npos) return c.fail(c.offset, ProbeError::DEREF_NEED_BRACE);
  int64_t off = 0;
  if (kstrtol(std::string_view(arg).substr(0, paren), 0, &off))
    return c.fail(c.offset, ProbeError::BAD_DEREF_OFFS);
  c.offset += paren + 1 + (arg[0] != '-' ? 1 : 0);
  std::string inner = arg.substr(paren + 1);
  size_t close = inner.rfind(')');
  if (close == std::string::npos)
    return c.fail(c.offset + inner.size(), ProbeError::DEREF_OPEN_BRACE);
  inner.resize(close);  // text after the last ')' is dropped, as Linux's *tmp = '\0'
  size_t cur = c.offset;
  if (int r = parse_probe_arg(inner, code, c)) return r;
  c.offset = cur;
  if (code.back().op == FetchOp::Comm || code.back().op == FetchOp::Data)
    return c.fail(c.offset, ProbeError::COMM_CANT_DEREF);
  if (full(code)) return c.fail(c.offset, ProbeError::TOO_MANY_OPS);
  code.push_back({deref, 0, off});
  return 0;
}

// '\': \IMM (str_to_immediate) or \"STR" (__parse_imm_string).
int parse_immediate(std::string_view arg, Code& code, Ctx& c) {
  if (arg.size() > 1 && arg[1] == '"') {
    std::string_view s = arg.substr(2);
    if (s.empty() || s.back() != '"')
      return c.fail(c.offset + 2 + s.size(), ProbeError::IMMSTR_NO_CLOSE);
    code.push_back({FetchOp::Data, 0, 0, std::string(s.substr(0, s.size() - 1))});
    return 0;
  }
  std::string_view s = arg.substr(1);
  uint64_t imm = 0;
  int r = -EINVAL;
  if (!s.empty() && std::isdigit(static_cast<unsigned char>(s[0]))) {
    r = kstrtoull(s, 0, &imm);
  } else if (!s.empty() && (s[0] == '-' || s[0] == '+')) {
    int64_t v = 0;
    r = kstrtol(s[0] == '+' ? s.substr(1) : s, 0, &v);
    imm = static_cast<uint64_t>(v);
  }
  if (r) return c.fail(c.offset + 1, ProbeError::BAD_IMM);
  code.push_back({FetchOp::Imm, imm});
  return 0;
}

// parse_probe_arg: dispatch on the first character.
int parse_probe_arg(std::string arg, Code& code, Ctx& c) {
  size_t before = code.size();
  int r = 0;
  char first = arg.empty() ? '\0' : arg[0];
  if (first == '$') {
    r = parse_probe_vars(arg, code, c);
  } else if (first == '%') {
    auto idx = probes::Regs::index_of(c.arch, std::string_view(arg).substr(1));
    if (!idx) return c.fail(c.offset, ProbeError::BAD_REG_NAME);
    code.push_back({FetchOp::Reg, *idx});
  } else if (first == '@') {
    r = parse_memory(arg, code, c);
  } else if (first == '+' || first == '-') {
    r = parse_deref(arg, code, c);
  } else if (first == '\\') {
    r = parse_immediate(arg, code, c);
  } else if (std::isalpha(static_cast<unsigned char>(first)) || first == '_') {
    // A BTF variable name: this kernel has no BTF (CONFIG_PROBE_EVENTS_BTF_ARGS off).
    if (!c.flags.kernel || !(c.flags.fentry || c.flags.ret))
      return c.fail(c.offset, ProbeError::NOSUP_BTFARG);
    return c.fail(c.offset, ProbeError::NOSUP_BTFARG, EOPNOTSUPP);
  }
  if (r == 0 && code.size() == before) return c.fail(c.offset, ProbeError::BAD_FETCH_ARG);
  return r;
}

// parse_probe_arg_type: ":TYPE[N]" split off arg; returns the type text (empty = default)
// and its offset in the body, or an error.
int parse_arg_type(std::string& arg, ProbeArg* parg, Ctx& c, std::string* type, size_t* type_offs) {
  size_t colon = arg.find(':');
  *type_offs = 0;
  type->clear();
  if (colon != std::string::npos) {
    *type = arg.substr(colon + 1);
    arg.resize(colon);
    *type_offs = colon + 1;
    size_t lb = type->find('[');
    if (lb != std::string::npos) {
      std::string num = type->substr(lb + 1);
      size_t t2 = *type_offs + lb + 1;  // offset of the array size in the body
      type->resize(lb);
      size_t rb = num.find(']');
      if (rb == std::string::npos)
        return c.fail(c.offset + t2 + num.size(), ProbeError::ARRAY_NO_CLOSE);
      if (rb + 1 != num.size()) return c.fail(c.offset + t2 + rb + 1, ProbeError::BAD_ARRAY_SUFFIX);
      num.resize(rb);
      if (kstrtouint(num, 0, &parg->count) || parg->count == 0)
        return c.fail(c.offset + t2, ProbeError::BAD_ARRAY_NUM);
      if (parg->count > kMaxArrayLen) return c.fail(c.offset + t2, ProbeError::ARRAY_TOO_BIG);
    }
  }
  bool has_type = colon != std::string::npos;
  if (arg == "$comm" || arg == "$COMM" || arg.starts_with("\\\"")) {
    if (parg->count || (has_type && *type != "string"))
      return c.fail(c.offset + *type_offs, ProbeError::NEED_STRING_TYPE);
    parg->type = by_name("string");
  } else {
    parg->type = has_type ? find_fetch_type(*type, c.flags) : default_fetch_type();
  }
  if (!parg->type) return c.fail(c.offset + *type_offs, ProbeError::BAD_TYPE);
  return 0;
}

// __parse_bitfield_probe_arg: b<width>@<offset>/<size>, width + offset within the container.
int parse_bitfield(std::string_view bf, ProbeArg* parg) {
  if (bf.empty() || bf[0] != 'b') return 0;
  size_t n = 0;
  uint64_t bw = simple_strtoul(bf.substr(1), 0, &n);
  std::string_view tail = bf.substr(1 + n);
  if (bw == 0 || tail.empty() || tail[0] != '@') return -EINVAL;
  std::string_view bo_text = tail.substr(1);
  uint64_t bo = simple_strtoul(bo_text, 0, &n);
  if (n == 0 || n >= bo_text.size() || bo_text[n] != '/') return -EINVAL;
  unsigned bits = parg->type->size * 8;
  if (bw + bo > bits) return -EINVAL;
  parg->bitfield =
      Bitfield{static_cast<uint8_t>(bw), static_cast<uint8_t>(bo), static_cast<uint8_t>(bits)};
  return 0;
}

// finalize_fetch_insn: which load may feed which store, and the op budget of the store,
// bitfield and array steps. `used` counts occupied slots like Linux's code pointer.
int finalize(ProbeArg* parg, const std::string& type, size_t type_offs, Ctx& c) {
  const Code& code = parg->code;
  FetchOp last = code.back().op;
  size_t used = code.size();
  auto take_slot = [&]() { return used < kFetchInsnMax - 1 ? (++used, true) : false; };
  if (parg->type->is_string()) {
    if (parg->type->kind == K::SymStr) {
      if (last != FetchOp::Reg && last != FetchOp::Stack && last != FetchOp::Retval &&
          last != FetchOp::Arg && last != FetchOp::Deref)
        return c.fail(c.offset + type_offs, ProbeError::BAD_SYMSTRING);
    } else if (last != FetchOp::Deref && last != FetchOp::UDeref && last != FetchOp::Imm &&
               last != FetchOp::Comm && last != FetchOp::Data) {
      return c.fail(c.offset + type_offs, ProbeError::BAD_STRING);
    }
    bool keeps_address = parg->type->kind == K::SymStr || last == FetchOp::Imm ||
                         last == FetchOp::Comm || last == FetchOp::Data || parg->count;
    if (keeps_address && !take_slot()) return c.fail(c.offset, ProbeError::TOO_MANY_OPS);
  } else if (last != FetchOp::Deref && last != FetchOp::UDeref && !take_slot()) {
    return c.fail(c.offset, ProbeError::TOO_MANY_OPS, E2BIG);
  }
  bool mem_store = last == FetchOp::Deref;  // FETCH_OP_ST_MEM (ST_UMEM cannot loop)
  if (!type.empty() && type[0] == 'b') {
    if (!take_slot() || parse_bitfield(type, parg))
      return c.fail(c.offset + type_offs, ProbeError::BAD_BITFIELD);
  }
  if (parg->count) {
    bool ok = parg->type->kind == K::String || parg->type->kind == K::UString ||
              (mem_store && !parg->type->is_string());
    if (!ok) return c.fail(c.offset + type_offs, ProbeError::BAD_STRING);
    if (!take_slot()) return c.fail(c.offset, ProbeError::TOO_MANY_OPS, E2BIG);
  }
  return 0;
}

// traceprobe_parse_probe_arg_body.
int parse_body(std::string_view body, ProbeArg* parg, Ctx& c) {
  if (body.size() > kMaxArgStrLen) return c.fail(c.offset, ProbeError::ARG_TOO_LONG);
  if (body.empty()) return c.fail(c.offset, ProbeError::NO_ARG_BODY);
  parg->comm = std::string(body);
  std::string arg(body), type;
  size_t type_offs = 0;
  if (int r = parse_arg_type(arg, parg, c, &type, &type_offs)) return r;
  if (int r = parse_probe_arg(arg, parg->code, c)) return r;
  return finalize(parg, type, type_offs, c);
}

}  // namespace

const FetchType* default_fetch_type() {
  return by_name("x64");
}

const FetchType* find_fetch_type(std::string_view name, const ArgFlags& flags) {
  if (!flags.kernel && (name == "symbol" || name == "symstr")) return nullptr;
  if (!name.empty() && name[0] == 'b') {
    size_t slash = name.find('/');
    uint64_t bits = 0;
    if (slash == std::string_view::npos || kstrtoull(name.substr(slash + 1), 0, &bits))
      return nullptr;
    if (bits == 8) return by_name("u8");
    if (bits == 16) return by_name("u16");
    if (bits == 32) return by_name("u32");
    if (bits == 64) return by_name("u64");
    return nullptr;
  }
  return by_name(name);
}

std::optional<ArgError> parse_probe_arg(std::string_view word, size_t i,
                                        const std::vector<ProbeArg>& prior, Arch arch,
                                        const ArgFlags& flags, ProbeArg* out) {
  Ctx c{arch, flags};
  std::string_view body = word;
  size_t eq = word.find('=');
  if (eq != std::string_view::npos) {
    if (eq > kMaxArgNameLen) return ArgError{ProbeError::ARG_NAME_TOO_LONG, 0, EINVAL};
    if (eq == 0) return ArgError{ProbeError::NO_ARG_NAME, 0, EINVAL};
    out->name = std::string(word.substr(0, eq));
    body = word.substr(eq + 1);
  } else {
    out->name = "arg" + std::to_string(i + 1);
  }
  if (!is_good_name(out->name)) return ArgError{ProbeError::BAD_ARG_NAME, 0, EINVAL};
  bool used = false;
  for (std::string_view r : kReservedFieldNames) used |= r == out->name;
  for (const ProbeArg& p : prior) used |= p.name == out->name;
  if (used) return ArgError{ProbeError::USED_ARG_NAME, 0, EINVAL};
  c.offset = body.data() - word.data();
  parse_body(body, out, c);
  return c.error;
}

}  // namespace probesim::trace_events
