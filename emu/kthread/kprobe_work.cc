#include "emu/kthread/kprobe_work.h"

#include <cstdio>

#include "emu/kernel/kernel_space.h"
#include "emu/machine_state.h"

namespace probesim::emu {
namespace {

std::string hex(GuestAddr a) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "0x%llx", static_cast<unsigned long long>(a.value));
  return buf;
}

// "0x.. <ksys_write+0x0/0x21>": an address in kernel terms (%pS), so that a race report that
// names a kworker step names the probe.
std::string where(MachineState& m, GuestAddr a) {
  GuestKernel* k = m.kernel();
  return hex(a) + (k ? " <" + k->space().kallsyms().format(a) + ">" : "");
}

std::vector<std::string> where(MachineState& m, const std::vector<GuestAddr>& as) {
  std::vector<std::string> out;
  for (GuestAddr a : as) out.push_back(where(m, a));
  return out;
}

}  // namespace

KprobeRegisterWork::KprobeRegisterWork(std::string what, std::shared_ptr<probes::Kprobe> kp,
                                       Done done)
    : what_(std::move(what)), kp_(std::move(kp)), done_(std::move(done)) {}

std::string KprobeRegisterWork::next_step() const {
  switch (phase_) {
    case Phase::KprobeMutex: return "mutex_lock(kprobe_mutex)";
    case Phase::Prepare: return "prepare_kprobe";
    case Phase::Arm: return "arm_kprobe at " + where_;
  }
  return "?";
}

KernelWork::Step KprobeRegisterWork::step(MachineState& m, Task& kw) {
  switch (phase_) {
    case Phase::KprobeMutex:
      if (!m.locks().down_write(m.locks().kprobe_mutex(), kw)) return Step::Blocked;
      phase_ = Phase::Prepare;
      return Step::More;
    case Phase::Prepare: return prepare(m, kw);
    case Phase::Arm: return arm(m, kw);
  }
  return Step::Done;
}

// Under text_mutex as Linux's prepare_kprobe (arch_prepare_kprobe writes the slot).
KernelWork::Step KprobeRegisterWork::prepare(MachineState& m, Task& kw) {
  KernelLocks& locks = m.locks();
  if (!locks.down_write(locks.text_mutex(), kw)) return Step::Blocked;
  Result<void> r = m.kprobes()->register_kprobe_prepare(*kp_);
  locks.up_write(locks.text_mutex(), kw);
  if (!r) return finish(m, kw, std::move(r));
  where_ = where(m, kp_->addr);
  phase_ = Phase::Arm;
  return Step::More;
}

KernelWork::Step KprobeRegisterWork::arm(MachineState& m, Task& kw) {
  KernelLocks& locks = m.locks();
  if (!locks.down_write(locks.text_mutex(), kw)) return Step::Blocked;
  Result<void> r = m.kprobes()->register_kprobe_arm(*kp_);
  locks.up_write(locks.text_mutex(), kw);
  return finish(m, kw, std::move(r));
}

KernelWork::Step KprobeRegisterWork::finish(MachineState& m, Task& kw, Result<void> r) {
  m.locks().up_write(m.locks().kprobe_mutex(), kw);
  if (!r) error_ = r.error().message;
  done_(std::move(r));
  return Step::Done;
}

KprobeUnregisterWork::KprobeUnregisterWork(std::string what, std::shared_ptr<probes::Kprobe> kp,
                                           Done done)
    : what_(std::move(what)), kp_(std::move(kp)), done_(std::move(done)) {}

std::string KprobeUnregisterWork::next_step() const {
  switch (phase_) {
    case Phase::KprobeMutex: return "mutex_lock(kprobe_mutex)";
    case Phase::Top: return "__unregister_kprobe_top at " + where_;
    case Phase::SynchronizeRcu: return "synchronize_rcu";
  }
  return "?";
}

KernelWork::Step KprobeUnregisterWork::step(MachineState& m, Task& kw) {
  switch (phase_) {
    case Phase::KprobeMutex:
      if (!m.locks().down_write(m.locks().kprobe_mutex(), kw)) return Step::Blocked;
      where_ = where(m, kp_->addr);
      phase_ = Phase::Top;
      return Step::More;
    case Phase::Top: return top(m, kw);
    case Phase::SynchronizeRcu:
      if (m.kprobes()->stepping_unregistered()) return Step::More;
      done_();
      return Step::Done;
  }
  return Step::Done;
}

KernelWork::Step KprobeUnregisterWork::top(MachineState& m, Task& kw) {
  KernelLocks& locks = m.locks();
  if (!locks.down_write(locks.text_mutex(), kw)) return Step::Blocked;
  if (kp_->registered()) m.kprobes()->unregister_kprobe(*kp_);
  locks.up_write(locks.text_mutex(), kw);
  locks.up_write(locks.kprobe_mutex(), kw);
  phase_ = Phase::SynchronizeRcu;
  return Step::More;
}

void UnoptimizeSteps::start(std::vector<GuestAddr> batch, MachineState& m) {
  batch_ = std::move(batch);
  names_ = where(m, batch_);
  entry_ = 0;
  advance(*m.kprobes());
}

void UnoptimizeSteps::advance(const probes::KprobeManager& k) {
  for (; entry_ < batch_.size(); ++entry_) {
    if (auto next = k.unoptimize_next(batch_[entry_])) {
      step_ = *next;
      return;
    }
  }
}

// The probe's state may have moved meanwhile (host calls between runs): the step runs only if
// it is still the one the probe waits for.
void UnoptimizeSteps::run(probes::KprobeManager& k) {
  advance(k);
  if (done()) return;
  k.unoptimize_poke(batch_[entry_], step_);
  if (!k.unoptimize_next(batch_[entry_])) ++entry_;
  advance(k);
}

std::string UnoptimizeSteps::next_step() const {
  if (done()) return "nothing";
  static constexpr const char* kWrites[] = {"text_poke breakpoint over the jump",
                                            "text_poke original tail", "arch_disarm_kprobe"};
  return std::string(kWrites[static_cast<int>(step_)]) + " at " + names_[entry_];
}

std::string KprobeOptimizerWork::next_step() const {
  switch (phase_) {
    case Phase::KprobeMutex: return "mutex_lock(kprobe_mutex)";
    case Phase::TextMutex: return "mutex_lock(text_mutex)";
    case Phase::Unpoke: return unopt_.next_step();
    case Phase::Poke: {
      static constexpr const char* kWrites[] = {"breakpoint", "jump tail", "jump opcode"};
      return "text_poke_bp " + std::string(kWrites[static_cast<int>(poke_)]) + " at " +
             names_[entry_];
    }
    case Phase::Unlock: return "mutex_unlock(text_mutex)";
  }
  return "?";
}

KernelWork::Step KprobeOptimizerWork::step(MachineState& m, Task& kw) {
  KernelLocks& locks = m.locks();
  probes::KprobeManager& k = *m.kprobes();
  switch (phase_) {
    case Phase::KprobeMutex:
      if (!locks.down_write(locks.kprobe_mutex(), kw)) return Step::Blocked;
      phase_ = Phase::TextMutex;
      return Step::More;
    case Phase::TextMutex:
      if (!locks.down_write(locks.text_mutex(), kw)) return Step::Blocked;
      unopt_.start(k.unoptimizer_batch(m.bug("kprobe_unoptimize_flag_early")), m);
      batch_ = k.optimizer_batch();
      names_ = where(m, batch_);
      phase_ = !unopt_.done() ? Phase::Unpoke : batch_.empty() ? Phase::Unlock : Phase::Poke;
      return Step::More;
    case Phase::Unpoke:
      unopt_.run(k);
      if (unopt_.done()) phase_ = batch_.empty() ? Phase::Unlock : Phase::Poke;
      return Step::More;
    case Phase::Poke: return poke(m);
    case Phase::Unlock:
      locks.up_write(locks.text_mutex(), kw);
      locks.up_write(locks.kprobe_mutex(), kw);
      return Step::Done;
  }
  return Step::Done;
}
// One write; a probe that no longer waits for it (or must wait for a CPU) ends its sequence.
KernelWork::Step KprobeOptimizerWork::poke(MachineState& m) {
  const bool ok = m.kprobes()->optimizer_poke(batch_[entry_], poke_);
  if (ok && poke_ != PokeStep::Opcode) {
    poke_ = static_cast<PokeStep>(static_cast<int>(poke_) + 1);
    return Step::More;
  }
  poke_ = PokeStep::Int3;
  if (++entry_ == batch_.size()) phase_ = Phase::Unlock;
  return Step::More;
}

std::string KprobeUnoptimizeWork::next_step() const {
  switch (phase_) {
    case Phase::KprobeMutex: return "mutex_lock(kprobe_mutex) and unoptimize_kprobe";
    case Phase::TextMutex: return "mutex_lock(text_mutex)";
    case Phase::Poke: return unopt_.next_step();
    case Phase::Unlock: return "mutex_unlock(text_mutex)";
  }
  return "?";
}

KernelWork::Step KprobeUnoptimizeWork::step(MachineState& m, Task& kw) {
  KernelLocks& locks = m.locks();
  switch (phase_) {
    case Phase::KprobeMutex:
      if (!locks.down_write(locks.kprobe_mutex(), kw)) return Step::Blocked;
      unopt_.start(m.kprobes()->unoptimize_all_batch(m.bug("kprobe_unoptimize_flag_early")), m);
      phase_ = Phase::TextMutex;
      return Step::More;
    case Phase::TextMutex:
      if (!locks.down_write(locks.text_mutex(), kw)) return Step::Blocked;
      phase_ = unopt_.done() ? Phase::Unlock : Phase::Poke;
      return Step::More;
    case Phase::Poke:
      unopt_.run(*m.kprobes());
      if (unopt_.done()) phase_ = Phase::Unlock;
      return Step::More;
    case Phase::Unlock:
      locks.up_write(locks.text_mutex(), kw);
      locks.up_write(locks.kprobe_mutex(), kw);
      return Step::Done;
  }
  return Step::Done;
}

void queue_kprobe_work(MachineState& m, std::unique_ptr<KernelWork> w) {
  probes::KprobeManager& k = *m.kprobes();
  if (!k.optimizer_as_work())
    k.set_optimizer_work([&m] { m.queue_kernel_work(std::make_unique<KprobeOptimizerWork>()); });
  m.queue_kernel_work(std::move(w));
}

}  // namespace probesim::emu
