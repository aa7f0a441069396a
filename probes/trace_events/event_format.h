// The `format` file of a dynamic event (events/GRP/EVENT/format): the common fields, the
// probe's own fields (__probe_ip, or __probe_func and __probe_ret_ip for return probes) and
// one field per fetch arg at Linux's offsets, then the print fmt line, as Linux 6.12's
// trace_probe.c traceprobe_define_arg_fields / __set_print_fmt and trace_events.c f_show
// write them. Tools (trace-cmd, perf, libtraceevent) parse this text to decode raw records.
#pragma once

#include <string>

#include "probes/trace_events/dynevent.h"

namespace probesim::trace_events {

// The printf format of one value of `t` in the print fmt line (PRINT_TYPE_FMT_NAME):
// "%u", "%Ld", "0x%Lx", "'%c'", "%pS", "\\\"%s\\\"" (escaped quotes, as the file shows).
std::string print_type_fmt(const FetchType& t);

// The whole format file of event `def` (the first probe of GRP/EVENT) with type id `id`.
std::string event_format(const ProbeDefinition& def, int id);

}  // namespace probesim::trace_events
