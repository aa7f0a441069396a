// Sources (x86-64, Linux BPF selftests `benchs/run_bench_uprobes.sh`, one thread hitting a
// uprobe with a counting BPF program, i.e. a trivial handler):
// [1] Jiri Olsa, "uprobes/x86: Add support to optimize uprobes" (2025), Intel, "current"
//     column: uprobe-nop 3.229 M/s, uprobe-push 3.086 M/s, uprobe-ret 1.114 M/s.
// [2] Jiri Olsa, "uprobe: Add uretprobe syscall to speed up return probe" (2024), Intel
//     i7-1165G7: uretprobe-nop 1.498 M/s with the int3 trampoline, 1.969 M/s with the syscall
//     (int3 is 1.31x slower).
// Derived per path:
//   Trap            = 1 / 3.229 M/s                     = 310 ns (nop: emulated, one trap)
//   SingleStep      = 1 / 1.114 M/s - Trap             = 588 ns (ret is stepped out of line)
//   UretprobeReturn = 1 / 2.145 M/s [1] * 1.31 [2] - Trap = 301 ns (uretprobe-nop with an
//                     int3 trampoline, minus its entry trap)
// The task brief's "x86 uprobe ~ 316 ns" is the same measurement (3.16 M/s after [1]).
// arm64: no published uprobe figures; the x86-64 ones are used (assumption).
#include "probes/uprobes/uprobe_costs.h"

#include "probesim/assert.h"

namespace probesim::probes {
namespace {

constexpr UprobePathCost kX86Costs[] = {
    {UprobePath::Trap, 310, "uprobe-trap"},
    {UprobePath::SingleStep, 588, "uprobe-single-step"},
    {UprobePath::UretprobeReturn, 301, "uretprobe-return"},
};
constexpr UprobePathCost kArm64Costs[] = {
    {UprobePath::Trap, 310, "uprobe-trap"},
    {UprobePath::SingleStep, 588, "uprobe-single-step"},
    {UprobePath::UretprobeReturn, 301, "uretprobe-return"},
};
static_assert(std::size(kX86Costs) == static_cast<size_t>(UprobePath::kCount));
static_assert(std::size(kArm64Costs) == static_cast<size_t>(UprobePath::kCount));

}  // namespace

std::span<const UprobePathCost> uprobe_path_costs(Arch arch) {
  if (arch == Arch::X86_64) return kX86Costs;
  return kArm64Costs;
}

Cycles uprobe_path_cycles(Arch arch, UprobePath path, uint64_t clock_hz) {
  const auto& row = uprobe_path_costs(arch)[static_cast<size_t>(path)];
  PROBESIM_ASSERT(row.path == path);
  return Cycles{row.nanoseconds * (clock_hz / 1'000'000) / 1'000};
}

}  // namespace probesim::probes
