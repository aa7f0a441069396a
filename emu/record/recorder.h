// Recorder: builds the Trace of a run while it happens (the Scheduler's ScheduleObserver and
// the machine's RunTap); MachineState owns it while recording, the caller saves the trace.
// Memory digests are taken every kMemoryCheckpointEvery checkpoints (and registers at every
// one), which keeps recording overhead low.
#pragma once

#include <memory>

#include "emu/record/run_tap.h"
#include "emu/scheduler.h"
#include "emu/vfs/console_file.h"

namespace probesim::emu {

class Recorder final : public RunTap, public ScheduleObserver {
 public:
  static constexpr uint64_t kMemoryCheckpointEvery = 16;

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
};

}  // namespace probesim::emu
