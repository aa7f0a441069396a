#include "probes/trace_events/probe_error.h"

#include <array>
#include <cstdio>

namespace probesim::trace_events {

namespace {

struct ErrorRow {
  std::string_view name;
  std::string_view text;
};

constexpr ErrorRow kErrors[] = {
#define PROBESIM_TP_ROW(name, text) {#name, text},
    PROBESIM_TP_ERRORS(PROBESIM_TP_ROW)
#undef PROBESIM_TP_ROW
};

constexpr std::string_view kCmdPrefix = "  Command: ";  // CMD_PREFIX (trace.c)

}  // namespace

std::string_view probe_error_name(ProbeError e) {
  return kErrors[static_cast<size_t>(e)].name;
}
std::string_view probe_error_text(ProbeError e) {
  return kErrors[static_cast<size_t>(e)].text;
}

std::string format_error_log(const ProbeLogError& e, uint64_t ts_ns) {
  char stamp[48];
  std::snprintf(stamp, sizeof stamp, "[%5llu.%06llu] ",
                static_cast<unsigned long long>(ts_ns / 1000000000),
                static_cast<unsigned long long>(ts_ns % 1000000000 / 1000));
  std::string s = stamp + e.subsystem + ": error: " + std::string(probe_error_text(e.code)) + "\n";
  s += std::string(kCmdPrefix) + e.command + "\n";
  s += std::string(kCmdPrefix.size() + e.pos, ' ') + "^\n";
  return s;
}

}  // namespace probesim::trace_events
