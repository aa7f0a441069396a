// Fetch evaluation (fetch_eval.h), following process_fetch_insn's stages: load, dereference,
// store (raw / memory / string / symbol string), bitfield, array loop.
#include "probes/trace_events/fetch_eval.h"

#include <cinttypes>
#include <cstdio>
#include <cstring>

namespace probesim::trace_events {

namespace {

constexpr uint64_t kWord = 8;

struct Reader {
  const FetchSite& site;
  FetchAccess& access;
  // Kernel reads for kprobes' plain dereferences; user reads for +u, ustring and uprobes.
  bool read(uint64_t addr, void* out, size_t n, bool user) {
    if (user || site.kind == ProbeKind::Uprobe) return access.read_user(addr, out, n);
    return access.read_kernel(addr, out, n);
  }
  // fetch_store_strlen + fetch_store_string: up to MAX_STRING_SIZE - 1 bytes; a fault before
  // the NUL is "(fault)".
  std::optional<std::string> read_string(uint64_t addr, bool user) {
    std::string s;
    for (size_t i = 0; i + 1 < kMaxStringSize; ++i) {
      char c = 0;
      if (!read(addr + i, &c, 1, user)) return std::nullopt;
      if (c == 0) return s;
      s += c;
    }
    return s;
  }
};

// regs_get_kernel_stack_nth / get_user_stack_nth: 0 when unreadable.
uint64_t stack_nth(const FetchSite& site, Reader& r, uint64_t n) {
  uint64_t v = 0;
  if (!r.read(site.regs.sp() + n * kWord, &v, kWord, false)) return 0;
  return v;
}

// Stage 1: the value a load op produces.
uint64_t load(const FetchInsn& op, const FetchSite& site, Reader& r) {
  switch (op.op) {
    case FetchOp::Reg:
      return site.regs.get(static_cast<unsigned>(op.imm));
    case FetchOp::Stack:
      return stack_nth(site, r, op.imm);
    case FetchOp::StackP:
      return site.regs.sp();
    case FetchOp::Retval:
      return site.regs.return_value();
    case FetchOp::Arg:
      if (op.imm < site.entry_args.size()) return site.entry_args[op.imm];
      return site.regs.kernel_argument(static_cast<unsigned>(op.imm)).value_or(0);
    case FetchOp::Imm:
      return op.imm;
    case FetchOp::FileOffs:
      return r.access.file_offset_address(op.imm).value_or(0);
    default:
      return 0;
  }
}

std::string print_scalar(const FetchType& t, uint64_t raw) {
  char buf[48];
  uint64_t mask = t.size == 8 ? ~uint64_t{0} : (uint64_t{1} << (t.size * 8)) - 1;
  uint64_t v = raw & mask;
  switch (t.kind) {
    case TypeKind::Unsigned:
      std::snprintf(buf, sizeof buf, "%" PRIu64, v);
      break;
    case TypeKind::Hex:
      std::snprintf(buf, sizeof buf, "0x%" PRIx64, v);
      break;
    case TypeKind::Char:
      std::snprintf(buf, sizeof buf, "'%c'", static_cast<char>(v));
      break;
    case TypeKind::Signed: {
      int shift = 64 - t.size * 8;
      int64_t s = static_cast<int64_t>(v << shift) >> shift;
      std::snprintf(buf, sizeof buf, "%" PRId64, s);
      break;
    }
    default:
      std::snprintf(buf, sizeof buf, "0x%" PRIx64, v);
      break;
  }
  return buf;
}

std::string print_value(const ProbeArg& a, uint64_t raw, FetchAccess& access) {
  if (a.type->kind == TypeKind::Symbol) return access.symbolize(raw);
  if (a.bitfield) {
    const Bitfield& b = *a.bitfield;
    raw = (raw >> b.offset) & (b.width == 64 ? ~uint64_t{0} : (uint64_t{1} << b.width) - 1);
  }
  return print_scalar(*a.type, raw);
}

std::string quoted(const std::optional<std::string>& s) {
  return s ? "\"" + *s + "\"" : "(fault)";
}

// Strings: the source address (or $comm / immediate text) and where each element is.
std::string eval_string(const ProbeArg& a, uint64_t val, size_t first_deref, Reader& r) {
  const std::vector<FetchInsn>& code = a.code;
  bool user = a.type->kind == TypeKind::UString;
  if (code[0].op == FetchOp::Comm) return quoted(r.access.comm());
  if (code[0].op == FetchOp::Data) return quoted(code[0].data);
  if (first_deref == code.size()) return quoted(r.read_string(val, user));  // @ADDR/\IMM
  // Dereferences before the last are pointer loads; the last gives the string's address
  // (or, for string arrays, the first pointer's address).
  for (size_t i = first_deref; i + 1 < code.size(); ++i) {
    if (!r.read(val + code[i].offset, &val, kWord, code[i].op == FetchOp::UDeref)) return "(fault)";
  }
  const FetchInsn& last = code.back();
  user |= last.op == FetchOp::UDeref;
  uint64_t addr = val + last.offset;
  if (!a.count) return quoted(r.read_string(addr, user));
  std::string out = "{";
  for (unsigned i = 0; i < a.count; ++i) {
    uint64_t p = 0;
    bool ok = r.read(addr + i * kWord, &p, kWord, last.op == FetchOp::UDeref);
    out += (i ? "," : "") + (ok ? quoted(r.read_string(p, user)) : std::string("(fault)"));
  }
  return out + "}";
}

}  // namespace

std::string evaluate_arg(const ProbeArg& a, const FetchSite& site, FetchAccess& access) {
  Reader r{site, access};
  const std::vector<FetchInsn>& code = a.code;
  size_t i = code[0].op == FetchOp::Symbol ? 1 : 0;
  uint64_t val = load(code[i], site, r);
  size_t first_deref = i + 1;
  if (a.type->kind == TypeKind::String || a.type->kind == TypeKind::UString)
    return eval_string(a, val, first_deref, r);
  bool mem_store = code.size() > first_deref && a.type->kind != TypeKind::SymStr;
  size_t loads_end = mem_store ? code.size() - 1 : code.size();
  for (size_t k = first_deref; k < loads_end; ++k) {
    if (!r.read(val + code[k].offset, &val, kWord, code[k].op == FetchOp::UDeref))
      return a.type->kind == TypeKind::SymStr ? "(fault)" : print_value(a, 0, access);
  }
  if (a.type->kind == TypeKind::SymStr) return "\"" + access.symbolize(val) + "\"";
  if (!mem_store) return print_value(a, val, access);
  const FetchInsn& last = code.back();
  uint64_t addr = val + last.offset;
  unsigned n = a.count ? a.count : 1;
  std::string out = a.count ? "{" : "";
  for (unsigned e = 0; e < n; ++e) {
    uint64_t raw = 0;
    if (!r.read(addr + e * a.type->size, &raw, a.type->size, last.op == FetchOp::UDeref)) raw = 0;
    out += (e ? "," : "") + print_value(a, raw, access);
  }
  return a.count ? out + "}" : out;
}

std::vector<uint64_t> entry_arg_values(const ProbeDefinition& def, const probes::Regs& regs) {
  std::vector<uint64_t> out;
  for (const ProbeArg& a : def.args)
    for (const FetchInsn& op : a.code)
      if (op.op == FetchOp::Arg) {
        if (out.size() <= op.imm) out.resize(op.imm + 1);
        out[op.imm] = regs.kernel_argument(static_cast<unsigned>(op.imm)).value_or(0);
      }
  return out;
}

}  // namespace probesim::trace_events
