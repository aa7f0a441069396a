// Linux's number parsers as the probe parser uses them (lib/kstrtox.c, lib/vsprintf.c):
// kstrtoull/kstrtoul/kstrtol/kstrtouint are strict (whole string, one optional trailing '\n',
// -EINVAL on junk, -ERANGE on overflow); simple_strtoul stops at the first non-digit.
// Base 0 means "0x" + hex digit -> 16, leading "0" -> 8, else 10 (_parse_integer_fixup_radix).
#pragma once

#include <cstdint>
#include <string_view>

namespace probesim::trace_events {

int kstrtoull(std::string_view s, unsigned base, uint64_t* out);  // 0 or -errno
int kstrtol(std::string_view s, unsigned base, int64_t* out);
int kstrtouint(std::string_view s, unsigned base, unsigned* out);
// Returns the value of the longest digit prefix; *consumed = characters used (prefix included).
uint64_t simple_strtoul(std::string_view s, unsigned base, size_t* consumed);

}  // namespace probesim::trace_events
