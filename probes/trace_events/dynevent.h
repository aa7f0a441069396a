// The parsed form of a dynamic-event command (kprobe_events / uprobe_events / dynamic_events):
// a probe definition with its fetch programs, or a removal. Mirrors Linux 6.12's struct
// trace_probe / probe_arg / fetch_insn (kernel/trace/trace_probe.h) as plain values.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "probesim/types.h"

namespace probesim::trace_events {

// Linux limits (trace_probe.h, trace.h, kprobes.h).
constexpr size_t kMaxTraceArgs = 128;           // MAX_TRACE_ARGS
constexpr size_t kMaxArgStrLen = 63;            // MAX_ARGSTR_LEN
constexpr size_t kMaxArrayLen = 64;             // MAX_ARRAY_LEN
constexpr size_t kMaxArgNameLen = 32;           // MAX_ARG_NAME_LEN
constexpr size_t kMaxEventNameLen = 64;         // MAX_EVENT_NAME_LEN
constexpr size_t kFetchInsnMax = 16;            // FETCH_INSN_MAX
constexpr unsigned kMaxActiveMax = 4096;        // KRETPROBE_MAXACTIVE_MAX
constexpr uint64_t kParamMaxStack = 16384 / 8;  // THREAD_SIZE / sizeof(long), both arches
constexpr size_t kMaxStringSize = 4096;         // MAX_STRING_SIZE = PATH_MAX

// Stage-1 loads and stage-2 dereferences of a fetch program (enum fetch_op).
enum class FetchOp : uint8_t {
  Reg,       // param = pt_regs index (probes::Regs)
  Stack,     // param = N of $stackN
  StackP,    // $stack
  Retval,    // $retval
  Comm,      // $comm
  Arg,       // param = N-1 of $argN
  Imm,       // imm = value (\IMM, @ADDR, and @SYM once resolved)
  Data,      // data = immediate string \"STR"
  FileOffs,  // imm = @+OFFSET (uprobes: file offset in the probed file)
  Symbol,    // data = SYM[+|-OFF] of @SYM: resolved into the Imm that follows
  Deref,     // offset: load from (value + offset) in kernel memory (uprobes: user memory)
  UDeref,    // offset: load from (value + offset) in user memory (+uOFF(...))
};

struct FetchInsn {
  FetchOp op;
  uint64_t imm = 0;    // Reg/Stack/Arg index, Imm/FileOffs value
  int64_t offset = 0;  // Deref/UDeref
  std::string data;    // Data string, Symbol text
};

// How a value prints (print_type_* in trace_probe.c).
enum class TypeKind : uint8_t { Unsigned, Signed, Hex, Char, String, UString, Symbol, SymStr };

struct FetchType {
  std::string_view name;  // "u8", "x64", "string", ...
  uint8_t size;           // bytes stored in the entry (strings: the u32 __data_loc)
  TypeKind kind;
  std::string_view fmttype;  // the type in the event's format file
  bool is_string() const {
    return kind == TypeKind::String || kind == TypeKind::UString || kind == TypeKind::SymStr;
  }
};

// b<width>@<offset>/<container>: the value is shifted and masked to width bits
// (lshift = container_bits - (width + offset), rshift = container_bits - width).
struct Bitfield {
  uint8_t width;
  uint8_t offset;
  uint8_t container_bits;
};

struct ProbeArg {
  std::string name;             // NAME= or "arg<N>"
  std::string comm;             // the fetch-arg text after NAME= (listed back verbatim)
  std::vector<FetchInsn> code;  // one load, then Deref/UDeref steps in order
  const FetchType* type = nullptr;
  std::optional<Bitfield> bitfield;
  unsigned count = 0;  // array length; 0 = scalar
};

enum class ProbeKind : uint8_t { Kprobe, Uprobe };

struct ProbeDefinition {
  uint64_t id = 0;  // set by DynEventTable::add: unique for the table's lifetime
  ProbeKind kind = ProbeKind::Kprobe;
  bool is_return = false;
  unsigned maxactive = 0;  // kretprobes; 0 = default
  std::string group;
  std::string event;
  // kprobe: symbol + offset, or addr when symbol is empty. uprobe: path, offset, ref_ctr.
  std::string symbol;
  uint64_t offset = 0;
  uint64_t addr = 0;
  std::string path;
  uint64_t ref_ctr_offset = 0;
  std::vector<ProbeArg> args;

  // The kprobe_events / uprobe_events line (trace_kprobe_show / trace_uprobe_show).
  std::string listing() const;
  // The probe point as `-:GRP/EVENT <point> ...` matches it (trace_kprobe_match_command_head).
  std::string point_text() const;
};

// -:[GRP/]EVENT [POINT [ARGS...]]: group empty = any group; event empty = every event of group.
struct RemoveCommand {
  std::string group;
  std::string event;
  std::vector<std::string> match;  // POINT then NAME=FETCHARG words
};

// What the parser asks of the machine (validate_probe_symbol, kallsyms_lookup_name, kern_path).
class DynEventEnv {
 public:
  enum class FileKind : uint8_t { Missing, Regular, Other };
  virtual ~DynEventEnv() = default;
  virtual Arch arch() const = 0;
  // Number of kernel text symbols with this exact name.
  virtual unsigned symbol_count(std::string_view name) const = 0;
  // kallsyms_lookup_name: any kernel symbol's address.
  virtual std::optional<uint64_t> symbol_address(std::string_view name) const = 0;
  // The guest path (resolved from the guest's root, following symlinks).
  virtual FileKind file_kind(std::string_view path) const = 0;
};

}  // namespace probesim::trace_events
