// Fetch-argument evaluation at a hit: Linux 6.12's process_fetch_insn (trace_kprobe.c,
// trace_uprobe.c, trace_probe_tmpl.h) over a probe's pt_regs and guest memory, and the
// printing of the stored values (print_type_*, print_probe_args in trace_probe.c).
#pragma once

#include <cstdint>
#include <optional>
#include <span>
#include <string>

#include "probes/regs.h"
#include "probes/trace_events/dynevent.h"

namespace probesim::trace_events {

// What a fetch may read at the hit. Reads never fault the guest: false = "-EFAULT".
class FetchAccess {
 public:
  virtual ~FetchAccess() = default;
  virtual bool read_kernel(uint64_t addr, void* out, size_t n) = 0;  // copy_from_kernel_nofault
  virtual bool read_user(uint64_t addr, void* out, size_t n) = 0;    // copy_from_user_nofault
  virtual std::string comm() = 0;                                    // current->comm
  virtual std::string symbolize(uint64_t addr) = 0;                  // %pS: "sym+0x4/0x20"
  // uprobes' @+OFFSET: the address the probed file's offset is mapped at (translate_user_vaddr).
  virtual std::optional<uint64_t> file_offset_address(uint64_t offset) = 0;
};

struct FetchSite {
  const probes::Regs& regs;
  ProbeKind kind;                        // uprobes read the task's memory and stack
  std::span<const uint64_t> entry_args;  // kretprobes: $argN saved at function entry
};

// The printed value of one argument ("0x3", "-1", "\"str\"", "(fault)", "{1,2}", "'c'").
// Faulting numeric loads print 0 (Linux leaves the slot as the ring buffer had it).
std::string evaluate_arg(const ProbeArg& arg, const FetchSite& site, FetchAccess& access);

// The $argN values a kretprobe saves at entry (indices are N-1), for FetchSite::entry_args.
std::vector<uint64_t> entry_arg_values(const ProbeDefinition& def, const probes::Regs& regs);

}  // namespace probesim::trace_events
