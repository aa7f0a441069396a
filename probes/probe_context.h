// Who is trapping: the CPU (per-CPU kprobe state, Linux's kprobe_ctlblk) and the task (per-task
// kretprobe instance list, Linux's current->kretprobe_instances). The integrator passes both
// with every hit; the engine never guesses them.
#pragma once

#include <cstdint>
#include <functional>

namespace probesim::probes {

struct CpuId {
  uint32_t value = 0;
  constexpr auto operator<=>(const CpuId&) const = default;
};

struct TaskId {
  uint64_t value = 0;
  constexpr auto operator<=>(const TaskId&) const = default;
};

struct HitContext {
  CpuId cpu;
  TaskId task;
};

}  // namespace probesim::probes

template <>
struct std::hash<probesim::probes::TaskId> {
  size_t operator()(const probesim::probes::TaskId& t) const noexcept {
    return std::hash<uint64_t>{}(t.value);
  }
};
