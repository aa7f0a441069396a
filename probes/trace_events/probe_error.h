// ProbeError: the dynamic-event parser's error codes, named and worded exactly as Linux 6.12's
// kernel/trace/trace_probe.h ERRORS list (TP_ERR_<NAME>, texts including Linux's own typos),
// and ProbeLogError: one error_log entry (kernel/trace/trace_probe.c __trace_probe_log_err).
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

namespace probesim::trace_events {

// X(NAME, "text"): the order and texts of trace_probe.h ERRORS (Linux 6.12).
#define PROBESIM_TP_ERRORS(X)                                                  \
  X(FILE_NOT_FOUND, "Failed to find the given file")                           \
  X(NO_REGULAR_FILE, "Not a regular file")                                     \
  X(BAD_REFCNT, "Invalid reference counter offset")                            \
  X(REFCNT_OPEN_BRACE, "Reference counter brace is not closed")                \
  X(BAD_REFCNT_SUFFIX, "Reference counter has wrong suffix")                   \
  X(BAD_UPROBE_OFFS, "Invalid uprobe offset")                                  \
  X(BAD_MAXACT_TYPE, "Maxactive is only for function exit")                    \
  X(BAD_MAXACT, "Invalid maxactive number")                                    \
  X(MAXACT_TOO_BIG, "Maxactive is too big")                                    \
  X(BAD_PROBE_ADDR, "Invalid probed address or symbol")                        \
  X(NON_UNIQ_SYMBOL, "The symbol is not unique")                               \
  X(BAD_RETPROBE, "Retprobe address must be an function entry")                \
  X(NO_TRACEPOINT, "Tracepoint is not found")                                  \
  X(BAD_TP_NAME, "Invalid character in tracepoint name")                       \
  X(BAD_ADDR_SUFFIX, "Invalid probed address suffix")                          \
  X(NO_GROUP_NAME, "Group name is not specified")                              \
  X(GROUP_TOO_LONG, "Group name is too long")                                  \
  X(BAD_GROUP_NAME, "Group name must follow the same rules as C identifiers")  \
  X(NO_EVENT_NAME, "Event name is not specified")                              \
  X(EVENT_TOO_LONG, "Event name is too long")                                  \
  X(BAD_EVENT_NAME, "Event name must follow the same rules as C identifiers")  \
  X(EVENT_EXIST, "Given group/event name is already used by another event")    \
  X(RETVAL_ON_PROBE, "$retval is not available on probe")                      \
  X(NO_RETVAL, "This function returns 'void' type")                            \
  X(BAD_STACK_NUM, "Invalid stack number")                                     \
  X(BAD_ARG_NUM, "Invalid argument number")                                    \
  X(BAD_VAR, "Invalid $-valiable specified")                                   \
  X(BAD_REG_NAME, "Invalid register name")                                     \
  X(BAD_MEM_ADDR, "Invalid memory address")                                    \
  X(BAD_IMM, "Invalid immediate value")                                        \
  X(IMMSTR_NO_CLOSE, "String is not closed with '\"'")                         \
  X(FILE_ON_KPROBE, "File offset is not available with kprobe")                \
  X(BAD_FILE_OFFS, "Invalid file offset value")                                \
  X(SYM_ON_UPROBE, "Symbol is not available with uprobe")                      \
  X(TOO_MANY_OPS, "Dereference is too much nested")                            \
  X(DEREF_NEED_BRACE, "Dereference needs a brace")                             \
  X(BAD_DEREF_OFFS, "Invalid dereference offset")                              \
  X(DEREF_OPEN_BRACE, "Dereference brace is not closed")                       \
  X(COMM_CANT_DEREF, "$comm can not be dereferenced")                          \
  X(BAD_FETCH_ARG, "Invalid fetch argument")                                   \
  X(ARRAY_NO_CLOSE, "Array is not closed")                                     \
  X(BAD_ARRAY_SUFFIX, "Array has wrong suffix")                                \
  X(BAD_ARRAY_NUM, "Invalid array size")                                       \
  X(ARRAY_TOO_BIG, "Array number is too big")                                  \
  X(BAD_TYPE, "Unknown type is specified")                                     \
  X(BAD_STRING, "String accepts only memory argument")                         \
  X(BAD_SYMSTRING, "Symbol String doesn't accept data/userdata")               \
  X(BAD_BITFIELD, "Invalid bitfield")                                          \
  X(ARG_NAME_TOO_LONG, "Argument name is too long")                            \
  X(NO_ARG_NAME, "Argument name is not specified")                             \
  X(BAD_ARG_NAME, "Argument name must follow the same rules as C identifiers") \
  X(USED_ARG_NAME, "This argument name is already used")                       \
  X(ARG_TOO_LONG, "Argument expression is too long")                           \
  X(NO_ARG_BODY, "No argument expression")                                     \
  X(BAD_INSN_BNDRY, "Probe point is not an instruction boundary")              \
  X(FAIL_REG_PROBE, "Failed to register probe event")                          \
  X(DIFF_PROBE_TYPE, "Probe type is different from existing probe")            \
  X(DIFF_ARG_TYPE, "Argument type or name is different from existing probe")   \
  X(SAME_PROBE, "There is already the exact same probe event")                 \
  X(NO_EVENT_INFO, "This requires both group and event name to attach")        \
  X(BAD_ATTACH_EVENT, "Attached event does not exist")                         \
  X(BAD_ATTACH_ARG, "Attached event does not have this field")                 \
  X(NO_EP_FILTER, "No filter rule after 'if'")                                 \
  X(NOSUP_BTFARG, "BTF is not available or not supported")                     \
  X(NO_BTFARG, "This variable is not found at this probe point")               \
  X(NO_BTF_ENTRY, "No BTF entry for this probe point")                         \
  X(BAD_VAR_ARGS, "$arg* must be an independent parameter without name etc.")  \
  X(NOFENTRY_ARGS, "$arg* can be used only on function entry or exit")         \
  X(DOUBLE_ARGS, "$arg* can be used only once in the parameters")              \
  X(ARGS_2LONG, "$arg* failed because the argument list is too long")          \
  X(ARGIDX_2BIG, "$argN index is too big")                                     \
  X(NO_PTR_STRCT, "This is not a pointer to union/structure.")                 \
  X(NOSUP_DAT_ARG, "Non pointer structure/union argument is not supported.")   \
  X(BAD_HYPHEN, "Failed to parse single hyphen. Forgot '>'?")                  \
  X(NO_BTF_FIELD, "This field is not found.")                                  \
  X(BAD_BTF_TID, "Failed to get BTF type info.")                               \
  X(BAD_TYPE4STR, "This type does not fit for string.")                        \
  X(NEED_STRING_TYPE, "$comm and immediate-string only accepts string type")   \
  X(TOO_MANY_ARGS, "Too many arguments are specified")                         \
  X(TOO_MANY_EARGS, "Too many entry arguments specified")

// Enumerators keep Linux's spelling (TP_ERR_ without the prefix) so tests and messages read as
// the kernel's do.
enum class ProbeError : uint8_t {
#define PROBESIM_TP_ENUM(name, text) name,
  PROBESIM_TP_ERRORS(PROBESIM_TP_ENUM)
#undef PROBESIM_TP_ENUM
};

std::string_view probe_error_name(ProbeError e);  // "BAD_MAXACT_TYPE"
std::string_view probe_error_text(ProbeError e);  // "Maxactive is only for function exit"

// One failed command, as __trace_probe_log_err records it: the subsystem ("trace_kprobe" or
// "trace_uprobe"), the command rebuilt from its words joined by single spaces, and the caret
// position in that command. err is the positive errno the write(2) returns.
struct ProbeLogError {
  ProbeError code;
  int err;
  std::string subsystem;
  std::string command;
  size_t pos;
};

// error_log text of one entry (kernel/trace/trace.c tracing_err_log_seq_show):
// "[%5llu.%06lu] <subsystem>: error: <text>\n  Command: <command>\n" then the caret line
// (sizeof("  Command: ") - 1 + pos spaces, '^', '\n'). ts_ns is the virtual time of the write.
std::string format_error_log(const ProbeLogError& e, uint64_t ts_ns);

}  // namespace probesim::trace_events
