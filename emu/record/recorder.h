// Recorder: builds the Trace of a run while it happens (the Scheduler's ScheduleObserver and
// the machine's RunTap); MachineState owns it while recording, the caller saves the trace.
// Registers are digested at every checkpoint; memory at the first and then at the first
// checkpoint after every kMemoryDigestInsns user instructions retired machine-wide, so its cost
// follows the work done, not the number of scheduling decisions (a small quantum makes many).
#pragma once

#include <memory>
#include <unordered_map>

#include "emu/record/run_tap.h"
#include "emu/scheduler.h"
#include "emu/vfs/console_file.h"

namespace probesim::emu {

class Recorder final : public RunTap, public ScheduleObserver {
 public:
  static constexpr uint64_t kMemoryDigestInsns = uint64_t{1} << 18;

  explicit Recorder(TraceHeader header) { trace_.header = std::move(header); }
  Trace& trace() { return trace_; }
  const Trace& trace() const { return trace_; }
  // A guest path the guest opened for its data, with its host path (hashed once).
  void file_read(const std::string& guest_path, const std::string& host_path);
  // stdin that also lands in the trace.
  std::shared_ptr<InputSource> tee_stdin(std::shared_ptr<InputSource> inner);

  // ScheduleObserver
  void on_deadline_wake(const Task& t) override;
  void on_timer_fire(int pid, int timer, uint64_t periods) override;
  void on_pick(int cpu, const Task& t) override;
  // RunTap
  uint64_t time_read(const Task* t, uint64_t now) override;
  bool memory_digest_due() const override;
  void quantum_end(const Task& t, bool preempted, const std::optional<TraceCheckpoint>& cp) override;

 private:
  Trace trace_;
  std::vector<int32_t> pending_wakes_;
  std::vector<TraceTimerFire> pending_timers_;
  std::unordered_map<int, uint64_t> last_insns_;  // per tid: user instructions at its last end
  uint64_t insns_since_memory_ = 0;               // machine-wide, since the last memory digest
};

}  // namespace probesim::emu
