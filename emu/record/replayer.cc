#include "emu/record/replayer.h"

#include <cstring>

#include "emu/task.h"

namespace probesim::emu {
namespace {

std::string hex(uint64_t v) {
  char buf[24];
  std::snprintf(buf, sizeof buf, "%#llx", static_cast<unsigned long long>(v));
  return buf;
}

std::string describe(const TraceCheckpoint& c) {
  std::string s = "task " + std::to_string(c.tid) + " at " + std::to_string(c.insns) +
                  " instructions, pc " + hex(c.pc) + ", sp " + hex(c.sp) + ", registers " +
                  hex(c.regs);
  if (c.memory) s += ", memory " + hex(*c.memory);
  return s;
}

}  // namespace

class ReplaySource final : public InputSource {
 public:
  explicit ReplaySource(Replayer& r) : r_(r) {}
  int64_t read(std::span<uint8_t> out) override {
    if (r_.next_stdin_ >= r_.trace_.stdin_reads.size()) {
      r_.diverged(nullptr, "the guest reads stdin more often than the recorded run did");
      return 0;
    }
    const TraceStdin& s = r_.trace_.stdin_reads[r_.next_stdin_++];
    if (s.result > 0 && s.bytes.size() > out.size()) {
      r_.diverged(nullptr, "the guest reads stdin into a smaller buffer than the recorded run did");
      return 0;
    }
    if (s.result > 0) std::memcpy(out.data(), s.bytes.data(), s.bytes.size());
    return s.result;
  }

 private:
  Replayer& r_;
};

std::shared_ptr<InputSource> Replayer::stdin_source() { return std::make_shared<ReplaySource>(*this); }

void Replayer::diverge(Divergence d) {
  if (div_) return;
  d.decision = next_decision_ ? next_decision_ - 1 : 0;
  div_ = std::move(d);
}

void Replayer::diverged(const Task* t, std::string what) {
  Divergence d;
  if (t) d.tid = t->tid(), d.insns = t->user_insns.value;
  d.what = std::move(what);
  diverge(std::move(d));
}

std::optional<ReplayDecision> Replayer::next_decision() {
  if (div_ || next_decision_ >= trace_.decisions.size()) return std::nullopt;
  const TraceDecision& t = trace_.decisions[next_decision_++];
  ReplayDecision d;
  d.cpu = static_cast<int>(t.cpu);
  d.tid = t.tid;
  d.start_insns = t.start;
  if (t.preempted) d.end_insns = t.end;
  d.deadline_wakes.assign(t.wakes.begin(), t.wakes.end());
  for (const TraceTimerFire& f : t.timers)
    d.timer_fires.push_back(TimerFire{f.pid, f.timer, f.periods, f.after_wakes});
  return d;
}

uint64_t Replayer::time_read(const Task* t, uint64_t now) {
  int tid = t ? t->tid() : -1;
  if (next_time_ >= trace_.times.size() || trace_.times[next_time_].tid != tid) {
    diverged(t, next_time_ >= trace_.times.size()
                    ? "the guest reads the time more often than the recorded run did"
                    : "task " + std::to_string(tid) + " reads the time where the trace has task " +
                          std::to_string(trace_.times[next_time_].tid) + " read it");
    return now;
  }
  return trace_.times[next_time_++].cycles;
}

const TraceCheckpoint* Replayer::checkpoint_here() const {
  if (next_checkpoint_ >= trace_.checkpoints.size() || next_decision_ == 0) return nullptr;
  const TraceCheckpoint& c = trace_.checkpoints[next_checkpoint_];
  return c.decision == next_decision_ - 1 ? &c : nullptr;
}

bool Replayer::memory_digest_due() const {
  const TraceCheckpoint* c = checkpoint_here();
  return c && c->memory.has_value();
}

void Replayer::compare(const TraceCheckpoint& want, const TraceCheckpoint& got) {
  const char* what = nullptr;
  if (want.tid != got.tid || want.insns != got.insns) what = "a checkpoint is at another task or instruction count";
  else if (want.pc != got.pc) what = "the program counter differs at a checkpoint";
  else if (want.regs != got.regs || want.sp != got.sp) what = "registers differ at a checkpoint";
  else if (want.memory != got.memory) what = "memory differs at a checkpoint";
  if (!what) return;
  Divergence d;
  d.tid = got.tid, d.insns = got.insns, d.pc = got.pc;
  d.what = what;
  d.expected = describe(want);
  d.actual = describe(got);
  diverge(std::move(d));
}

void Replayer::quantum_end(const Task& t, bool preempted, const std::optional<TraceCheckpoint>& cp) {
  if (div_ || next_decision_ == 0) return;
  const TraceDecision& d = trace_.decisions[next_decision_ - 1];
  const TraceCheckpoint* want = checkpoint_here();
  if (want) ++next_checkpoint_;
  if (cp && want) compare(*want, *cp);
  if (div_) return;
  if (t.user_insns.value != d.end || preempted != d.preempted || cp.has_value() != (want != nullptr)) {
    Divergence v;
    v.tid = t.tid(), v.insns = t.user_insns.value;
    if (cp) v.pc = cp->pc;
    v.what = "the quantum ends differently";
    v.expected = std::string(d.preempted ? "preempted" : "ended by the task") + " at " +
                 std::to_string(d.end) + " instructions" + (want ? "" : ", task gone");
    v.actual = std::string(preempted ? "preempted" : "ended by the task") + " at " +
               std::to_string(t.user_insns.value) + " instructions" + (cp ? "" : ", task gone");
    diverge(std::move(v));
  }
}

void Replayer::end_of_run(bool tasks_left_runnable) {
  if (div_) return;
  if (next_decision_ < trace_.decisions.size())
    diverged(nullptr, "the run ended after " + std::to_string(next_decision_) + " of " +
                          std::to_string(trace_.decisions.size()) + " recorded decisions");
  else if (tasks_left_runnable)
    diverged(nullptr, "the trace ends while tasks can still run");
}

}  // namespace probesim::emu
