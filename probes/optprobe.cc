#include "probes/optprobe.h"

#include <array>

#include "probesim/assert.h"

namespace probesim::probes {
namespace {

struct RefusalRow {
  OptRefusal refusal;
  std::string_view name;
  std::string_view text;
};

// One row per OptRefusal, in enum order (checked below).
constexpr RefusalRow kRefusals[] = {
    {OptRefusal::None, "none", "optimizable"},
    {OptRefusal::NoArchSupport, "no-arch-support",
     "this architecture has no optprobes; the probe stays a breakpoint"},
    {OptRefusal::NoCallback, "no-callback", "the kernel image has no optimized_callback"},
    {OptRefusal::NotInFunction, "not-in-function", "no kernel function contains the address"},
    {OptRefusal::CrossesFunctionEnd, "crosses-function-end",
     "the 5-byte jump would cross the end of the function"},
    {OptRefusal::Undecodable, "undecodable", "the function is not fully decodable"},
    {OptRefusal::IndirectJump, "indirect-jump",
     "the function contains an indirect jump (it could jump into the replaced bytes)"},
    {OptRefusal::JumpIntoRange, "jump-into-range",
     "a jump in the function targets the bytes the jump's rel32 replaces"},
    {OptRefusal::NotRelocatable, "not-relocatable",
     "an instruction in the replaced range cannot run from the detour buffer"},
    {OptRefusal::DetourOutOfRange, "detour-out-of-range",
     "the detour buffer is more than +-2 GiB from the probe (-ERANGE)"},
    {OptRefusal::NoDetourSlot, "no-detour-slot", "no detour buffer slot is free (-ENOMEM)"},
    {OptRefusal::SysctlOff, "sysctl-off", "debug.kprobes-optimization is 0"},
    {OptRefusal::PostHandler, "post-handler", "a probe at this address has a post handler"},
    {OptRefusal::ProbeInRange, "probe-in-range",
     "another kprobe is armed inside the bytes the jump would replace"},
    {OptRefusal::Disabled, "disabled", "the probe is disabled"},
    {OptRefusal::AllDisarmed, "all-disarmed", "kprobes are globally disarmed (kprobes/enabled 0)"},
    {OptRefusal::Gone, "gone", "the probed text went away"},
};

const RefusalRow& row(OptRefusal r) {
  const auto& x = kRefusals[static_cast<size_t>(r)];
  PROBESIM_ASSERT(x.refusal == r);
  return x;
}

}  // namespace

std::string_view opt_refusal_name(OptRefusal r) { return row(r).name; }
std::string_view opt_refusal_text(OptRefusal r) { return row(r).text; }

}  // namespace probesim::probes
