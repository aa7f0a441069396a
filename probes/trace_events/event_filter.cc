// event_filter.h: a recursive-descent parser of Linux's filter expressions and their
// evaluation over a record's printed fields.
#include "probes/trace_events/event_filter.h"

#include <cctype>
#include <cerrno>
#include <cstdlib>
#include <optional>

#include "probes/trace_events/trace_record.h"

namespace probesim::trace_events {

enum class Op : uint8_t { Eq, Ne, Lt, Le, Gt, Ge, BitAnd, Glob };

struct EventFilter::Node {
  enum class Kind : uint8_t { And, Or, Not, Pred } kind;
  std::unique_ptr<Node> a, b;
  // Pred
  std::string field;
  bool is_string = false;
  Op op = Op::Eq;
  std::string str;  // string operand
  bool neg = false;  // numeric operand: negative
  uint64_t num = 0;  // numeric operand (its magnitude when neg)
};

namespace {

using Node = EventFilter::Node;

struct OpRow {
  std::string_view text;
  Op op;
  bool numeric, string;  // allowed on numeric / string fields
};
// Longest first, so "<=" wins over "<".
constexpr OpRow kOps[] = {
    {"==", Op::Eq, true, true}, {"!=", Op::Ne, true, true},     {"<=", Op::Le, true, false},
    {">=", Op::Ge, true, false}, {"<", Op::Lt, true, false},     {">", Op::Gt, true, false},
    {"&", Op::BitAnd, true, false}, {"~", Op::Glob, false, true},
};

// The common fields every event has (trace_events.c: common fields, COMM, CPU).
const FilterField kCommon[] = {{"common_pid", false}, {"COMM", true}, {"comm", true},
                               {"CPU", false},        {"cpu", false}};

class Parser {
 public:
  Parser(std::string_view s, std::span<const FilterField> fields) : s_(s), fields_(fields) {}

  std::variant<std::unique_ptr<Node>, FilterError> run() {
    auto n = parse_or();
    if (err_) return *err_;
    skip();
    if (pos_ < s_.size()) {
      if (s_[pos_] == ')') return FilterError{"Too few '('", pos_};
      return FilterError{"Meaningless filter expression", pos_};
    }
    return n;
  }

 private:
  void skip() {
    while (pos_ < s_.size() && std::isspace(static_cast<unsigned char>(s_[pos_]))) ++pos_;
  }
  bool eat(std::string_view t) {
    skip();
    if (s_.substr(pos_, t.size()) != t) return false;
    pos_ += t.size();
    return true;
  }
  std::unique_ptr<Node> fail(std::string msg, size_t at) {
    if (!err_) err_ = FilterError{std::move(msg), at};
    return nullptr;
  }
  std::unique_ptr<Node> join(Node::Kind k, std::unique_ptr<Node> a, std::unique_ptr<Node> b) {
    auto n = std::make_unique<Node>();
    n->kind = k;
    n->a = std::move(a);
    n->b = std::move(b);
    return n;
  }
  std::unique_ptr<Node> parse_or() {
    auto left = parse_and();
    while (!err_ && eat("||")) left = join(Node::Kind::Or, std::move(left), parse_and());
    return left;
  }
  std::unique_ptr<Node> parse_and() {
    auto left = parse_unary();
    while (!err_ && eat("&&")) left = join(Node::Kind::And, std::move(left), parse_unary());
    return left;
  }
  std::unique_ptr<Node> parse_unary() {
    if (err_) return nullptr;
    skip();
    const size_t at = pos_;
    if (pos_ < s_.size() && s_[pos_] == '!' && s_.substr(pos_, 2) != "!=") {
      ++pos_;
      return join(Node::Kind::Not, parse_unary(), nullptr);
    }
    if (eat("(")) {
      auto inner = parse_or();
      if (!err_ && !eat(")")) return fail("Too many '('", at);
      return inner;
    }
    return parse_pred();
  }
  std::string word() {
    skip();
    const size_t start = pos_;
    while (pos_ < s_.size()) {
      const char c = s_[pos_];
      if (std::isspace(static_cast<unsigned char>(c)) || c == '(' || c == ')' || c == '!' ||
          c == '=' || c == '<' || c == '>' || c == '&' || c == '~' || c == '|')
        break;
      ++pos_;
    }
    return std::string(s_.substr(start, pos_ - start));
  }
  const FilterField* field(std::string_view name) const {
    for (const FilterField& f : fields_)
      if (f.name == name) return &f;
    for (const FilterField& f : kCommon)
      if (f.name == name) return &f;
    return nullptr;
  }
  std::unique_ptr<Node> parse_pred() {
    skip();
    const size_t field_at = pos_;
    std::string name = word();
    if (name.empty()) return fail("Meaningless filter expression", field_at);
    const FilterField* f = field(name);
    if (!f) return fail("Field not found", field_at);
    skip();
    const size_t op_at = pos_;
    const OpRow* op = nullptr;
    for (const OpRow& r : kOps)
      if (s_.substr(pos_, r.text.size()) == r.text) {
        op = &r;
        break;
      }
    if (!op) return fail("Invalid operator", op_at);
    pos_ += op->text.size();
    if (!(f->is_string ? op->string : op->numeric)) return fail("Illegal operation for field type", op_at);
    auto n = std::make_unique<Node>();
    n->kind = Node::Kind::Pred;
    n->field = name;
    n->is_string = f->is_string;
    n->op = op->op;
    skip();
    const size_t val_at = pos_;
    if (f->is_string) return string_operand(std::move(n), val_at);
    std::string v = word();
    if (v.empty() || !(std::isdigit(static_cast<unsigned char>(v[0])) || v[0] == '-'))
      return fail("Invalid value (did you forget quotes)?", val_at);
    n->neg = v[0] == '-';
    const std::string digits = n->neg ? v.substr(1) : v;
    char* end = nullptr;
    errno = 0;
    n->num = std::strtoull(digits.c_str(), &end, 0);
    if (digits.empty() || *end || errno) return fail("Illegal integer value", val_at);
    return n;
  }
  std::unique_ptr<Node> string_operand(std::unique_ptr<Node> n, size_t at) {
    if (pos_ < s_.size() && (s_[pos_] == '"' || s_[pos_] == '\'')) {
      const char q = s_[pos_];
      const size_t close = s_.find(q, pos_ + 1);
      if (close == std::string_view::npos) return fail("Missing matching quote", at);
      n->str = std::string(s_.substr(pos_ + 1, close - pos_ - 1));
      pos_ = close + 1;
      return n;
    }
    n->str = word();
    if (n->str.empty()) return fail("Meaningless filter expression", at);
    return n;
  }

  std::string_view s_;
  std::span<const FilterField> fields_;
  size_t pos_ = 0;
  std::optional<FilterError> err_;
};

// glob_match's subset: '*' any run, '?' any one character.
bool glob(std::string_view pat, std::string_view s) {
  if (pat.empty()) return s.empty();
  if (pat[0] == '*') {
    for (size_t i = 0; i <= s.size(); ++i)
      if (glob(pat.substr(1), s.substr(i))) return true;
    return false;
  }
  if (s.empty()) return false;
  return (pat[0] == '?' || pat[0] == s[0]) && glob(pat.substr(1), s.substr(1));
}

// A printed value read back: strings lose their quotes; numbers parse as printed (decimal,
// 0x hex, negative).
std::optional<std::string> value_of(const TraceRecord& r, std::string_view name) {
  if (name == "common_pid") return std::to_string(r.pid);
  if (name == "COMM" || name == "comm") {
    for (const auto& [n, v] : r.fields)  // an event's own comm field wins (sched_wakeup)
      if (n == name) return v;
    return r.comm;
  }
  if (name == "CPU" || name == "cpu") return std::to_string(r.cpu);
  for (const auto& [n, v] : r.fields)
    if (n == name) {
      if (v.size() >= 2 && v.front() == '"' && v.back() == '"') return v.substr(1, v.size() - 2);
      return v;
    }
  return std::nullopt;
}

bool compare_num(const Node& n, std::string_view printed) {
  const std::string s(printed);
  const bool neg = !s.empty() && s[0] == '-';
  char* end = nullptr;
  const uint64_t mag = std::strtoull(neg ? s.c_str() + 1 : s.c_str(), &end, 0);
  if (end == s.c_str() + (neg ? 1 : 0)) return false;  // not a number ("(fault)")
  if (n.op == Op::BitAnd) return ((neg ? 0 - mag : mag) & (n.neg ? 0 - n.num : n.num)) != 0;
  // Compare as signed when either side is negative, else unsigned.
  int cmp;
  if (neg || n.neg) {
    // Two's complement without overflow: the negation happens in uint64_t (modular).
    const int64_t a = static_cast<int64_t>(neg ? 0 - mag : mag);
    const int64_t b = static_cast<int64_t>(n.neg ? 0 - n.num : n.num);
    cmp = a < b ? -1 : a > b;
  } else {
    cmp = mag < n.num ? -1 : mag > n.num;
  }
  switch (n.op) {
    case Op::Eq: return cmp == 0;
    case Op::Ne: return cmp != 0;
    case Op::Lt: return cmp < 0;
    case Op::Le: return cmp <= 0;
    case Op::Gt: return cmp > 0;
    case Op::Ge: return cmp >= 0;
    default: return false;
  }
}

bool eval(const Node& n, const TraceRecord& r) {
  switch (n.kind) {
    case Node::Kind::And: return eval(*n.a, r) && eval(*n.b, r);
    case Node::Kind::Or: return eval(*n.a, r) || eval(*n.b, r);
    case Node::Kind::Not: return !eval(*n.a, r);
    case Node::Kind::Pred: break;
  }
  std::optional<std::string> v = value_of(r, n.field);
  if (!v) return false;
  if (!n.is_string) return compare_num(n, *v);
  if (n.op == Op::Glob) return glob(n.str, *v);
  return (*v == n.str) == (n.op == Op::Eq);
}

}  // namespace

std::string FilterError::file_text(std::string_view filter) const {
  return std::string(filter) + "\n" + std::string(pos, ' ') + "^\nparse_error: " + message + "\n";
}

std::variant<EventFilter, FilterError> EventFilter::parse(std::string_view text,
                                                          std::span<const FilterField> fields) {
  while (!text.empty() && (text.back() == '\n' || text.back() == ' ')) text.remove_suffix(1);
  auto r = Parser(text, fields).run();
  if (auto* e = std::get_if<FilterError>(&r)) return *e;
  EventFilter f;
  f.text_ = std::string(text);
  f.root_ = std::move(std::get<std::unique_ptr<Node>>(r));
  return f;
}

bool EventFilter::matches(const TraceRecord& r) const {
  return !root_ || eval(*root_, r);
}

EventFilter::EventFilter(EventFilter&&) noexcept = default;
EventFilter& EventFilter::operator=(EventFilter&&) noexcept = default;
EventFilter::~EventFilter() = default;

}  // namespace probesim::trace_events
