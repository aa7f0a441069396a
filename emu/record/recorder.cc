#include "emu/record/recorder.h"

#include <algorithm>

#include "emu/record/sha256.h"
#include "emu/task.h"

namespace probesim::emu {
namespace {

class TeeSource final : public InputSource {
 public:
  TeeSource(std::shared_ptr<InputSource> inner, Trace& trace) : inner_(std::move(inner)), trace_(trace) {}
  int64_t read(std::span<uint8_t> out) override {
    int64_t n = inner_->read(out);
    TraceStdin r{n, {}};
    if (n > 0) r.bytes.assign(out.begin(), out.begin() + n);
    trace_.stdin_reads.push_back(std::move(r));
    return n;
  }

 private:
  std::shared_ptr<InputSource> inner_;
  Trace& trace_;
};

}  // namespace

void Recorder::file_read(const std::string& guest_path, const std::string& host_path) {
  for (const TraceFile& f : trace_.files)
    if (f.path == guest_path) return;
  trace_.files.push_back(TraceFile{guest_path, sha256_file_hex(host_path)});
}

std::shared_ptr<InputSource> Recorder::tee_stdin(std::shared_ptr<InputSource> inner) {
  return std::make_shared<TeeSource>(std::move(inner), trace_);
}

void Recorder::on_deadline_wake(const Task& t) { pending_wakes_.push_back(t.tid()); }

void Recorder::on_timer_fire(int pid, int timer, uint64_t periods) {
  pending_timers_.push_back(
      TraceTimerFire{pid, timer, periods, static_cast<uint32_t>(pending_wakes_.size())});
}

void Recorder::on_pick(int cpu, const Task& t) {
  TraceDecision d;
  d.cpu = static_cast<uint32_t>(cpu);
  d.tid = t.tid();
  d.start = d.end = t.user_insns.value;
  d.wakes = std::move(pending_wakes_);
  pending_wakes_.clear();
  d.timers = std::move(pending_timers_);
  pending_timers_.clear();
  trace_.decisions.push_back(std::move(d));
}

uint64_t Recorder::time_read(const Task* t, uint64_t now) {
  trace_.times.push_back(TraceTime{t ? t->tid() : -1, now});
  return now;
}

bool Recorder::memory_digest_due() const {
  return trace_.checkpoints.empty() || insns_since_memory_ >= kMemoryDigestInsns;
}

void Recorder::quantum_end(const Task& t, bool preempted, const std::optional<TraceCheckpoint>& cp) {
  uint64_t& last = last_insns_[t.tid()];
  insns_since_memory_ += t.user_insns.value - std::min(last, t.user_insns.value);
  last = t.user_insns.value;
  if (trace_.decisions.empty()) return;
  TraceDecision& d = trace_.decisions.back();
  d.end = t.user_insns.value;
  d.preempted = preempted;
  if (!cp) return;
  trace_.checkpoints.push_back(*cp);
  if (cp->memory) insns_since_memory_ = 0;
}

}  // namespace probesim::emu
