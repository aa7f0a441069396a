#include "probes/trace_events/kstrto.h"

#include <cerrno>
#include <climits>

namespace probesim::trace_events {

namespace {

int digit_value(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return 99;
}

bool is_xdigit(char c) {
  return digit_value(c) < 16;
}

// _parse_integer_fixup_radix: picks the base and skips a "0x" prefix.
size_t fixup_radix(std::string_view s, unsigned* base) {
  if (*base == 0) {
    if (!s.empty() && s[0] == '0') {
      *base = (s.size() > 2 && (s[1] | 0x20) == 'x' && is_xdigit(s[2])) ? 16 : 8;
    } else {
      *base = 10;
    }
  }
  if (*base == 16 && s.size() >= 2 && s[0] == '0' && (s[1] | 0x20) == 'x') return 2;
  return 0;
}

// _parse_integer: digits used (0 = none) and whether the value overflowed 64 bits.
size_t parse_integer(std::string_view s, unsigned base, uint64_t* v, bool* overflow) {
  size_t i = 0;
  *v = 0;
  *overflow = false;
  for (; i < s.size(); ++i) {
    int d = digit_value(s[i]);
    if (d >= static_cast<int>(base)) break;
    if (*v > (UINT64_MAX - d) / base) *overflow = true;
    *v = *v * base + d;
  }
  return i;
}

}  // namespace

int kstrtoull(std::string_view s, unsigned base, uint64_t* out) {
  if (!s.empty() && s[0] == '+') s.remove_prefix(1);
  s.remove_prefix(fixup_radix(s, &base));
  bool overflow = false;
  uint64_t v = 0;
  size_t n = parse_integer(s, base, &v, &overflow);
  if (n == 0) return -EINVAL;
  if (overflow) return -ERANGE;
  s.remove_prefix(n);
  if (!s.empty() && s[0] == '\n') s.remove_prefix(1);
  if (!s.empty()) return -EINVAL;
  *out = v;
  return 0;
}

int kstrtol(std::string_view s, unsigned base, int64_t* out) {
  uint64_t v = 0;
  if (!s.empty() && s[0] == '-') {
    int r = kstrtoull(s.substr(1), base, &v);
    if (r) return r;
    if (v > uint64_t{1} << 63) return -ERANGE;
    *out = static_cast<int64_t>(0 - v);
    return 0;
  }
  int r = kstrtoull(s, base, &v);
  if (r) return r;
  if (v > static_cast<uint64_t>(INT64_MAX)) return -ERANGE;
  *out = static_cast<int64_t>(v);
  return 0;
}

int kstrtouint(std::string_view s, unsigned base, unsigned* out) {
  uint64_t v = 0;
  int r = kstrtoull(s, base, &v);
  if (r) return r;
  if (v > UINT_MAX) return -ERANGE;
  *out = static_cast<unsigned>(v);
  return 0;
}

uint64_t simple_strtoul(std::string_view s, unsigned base, size_t* consumed) {
  size_t skip = fixup_radix(s, &base);
  bool overflow = false;
  uint64_t v = 0;
  size_t n = parse_integer(s.substr(skip), base, &v, &overflow);
  *consumed = n ? skip + n : 0;
  return v;
}

}  // namespace probesim::trace_events
