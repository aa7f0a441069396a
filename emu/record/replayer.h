// Replayer: drives a machine from a Trace (the Scheduler's ScheduleSource and the machine's
// RunTap): the recorded decisions in order, the recorded time values and stdin bytes fed back,
// every checkpoint compared. The first mismatch is kept as the Divergence and the replay stops
// there (the Scheduler gets no more decisions).
#pragma once

#include <memory>
#include <optional>

#include "emu/record/run_tap.h"
#include "emu/scheduler.h"
#include "emu/vfs/console_file.h"

namespace probesim::emu {

class Replayer final : public RunTap, public ScheduleSource {
 public:
  explicit Replayer(Trace trace) : trace_(std::move(trace)) {}
  const Trace& trace() const { return trace_; }
  // The guest's stdin: the recorded reads, in order.
  std::shared_ptr<InputSource> stdin_source();
  // After the machine stopped: a trace with decisions left, or tasks left runnable after the
  // last decision, is a divergence too.
  void end_of_run(bool tasks_left_runnable);
  size_t decisions_done() const { return next_decision_; }

  // ScheduleSource
  std::optional<ReplayDecision> next_decision() override;
  void diverged(const Task* t, std::string what) override;
  // RunTap
  uint64_t time_read(const Task* t, uint64_t now) override;
  bool memory_digest_due() const override;
  void quantum_end(const Task& t, bool preempted, const std::optional<TraceCheckpoint>& cp) override;
  const Divergence* divergence() const override { return div_ ? &*div_ : nullptr; }

 private:
  friend class ReplaySource;
  void diverge(Divergence d);
  const TraceCheckpoint* checkpoint_here() const;
  void compare(const TraceCheckpoint& want, const TraceCheckpoint& got);

  Trace trace_;
  size_t next_decision_ = 0, next_time_ = 0, next_stdin_ = 0, next_checkpoint_ = 0;
  std::optional<Divergence> div_;
};

}  // namespace probesim::emu
