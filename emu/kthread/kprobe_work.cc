#include "emu/kthread/kprobe_work.h"

#include <cstdio>

#include "emu/machine_state.h"

namespace probesim::emu {
namespace {

std::string hex(GuestAddr a) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "0x%llx", static_cast<unsigned long long>(a.value));
  return buf;
}

}  // namespace

KprobeRegisterWork::KprobeRegisterWork(std::string what, std::shared_ptr<probes::Kprobe> kp,
                                       Done done)
    : what_(std::move(what)), kp_(std::move(kp)), done_(std::move(done)) {}

std::string KprobeRegisterWork::next_step() const {
  switch (phase_) {
    case Phase::KprobeMutex: return "mutex_lock(kprobe_mutex)";
    case Phase::Prepare: return "prepare_kprobe";
    case Phase::Arm: return "arm_kprobe at " + hex(kp_->addr);
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

std::string KprobeOptimizerWork::next_step() const {
  switch (phase_) {
    case Phase::KprobeMutex: return "mutex_lock(kprobe_mutex)";
    case Phase::TextMutex: return "mutex_lock(text_mutex)";
    case Phase::Poke: {
      static constexpr const char* kWrites[] = {"breakpoint", "jump tail", "jump opcode"};
      return "text_poke_bp " + std::string(kWrites[static_cast<int>(poke_)]) + " at " +
             hex(batch_[entry_]);
    }
    case Phase::Unlock: return "mutex_unlock(text_mutex)";
  }
  return "?";
}

KernelWork::Step KprobeOptimizerWork::step(MachineState& m, Task& kw) {
  KernelLocks& locks = m.locks();
  switch (phase_) {
    case Phase::KprobeMutex:
      if (!locks.down_write(locks.kprobe_mutex(), kw)) return Step::Blocked;
      phase_ = Phase::TextMutex;
      return Step::More;
    case Phase::TextMutex:
      if (!locks.down_write(locks.text_mutex(), kw)) return Step::Blocked;
      batch_ = m.kprobes()->optimizer_batch();
      phase_ = batch_.empty() ? Phase::Unlock : Phase::Poke;
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
    case Phase::Poke:
      return std::string(poke_ == UnpokeStep::Int3 ? "text_poke breakpoint over the jump"
                                                   : "text_poke original tail") +
             " at " + hex(batch_[entry_]);
    case Phase::Unlock: return "mutex_unlock(text_mutex)";
  }
  return "?";
}

KernelWork::Step KprobeUnoptimizeWork::step(MachineState& m, Task& kw) {
  KernelLocks& locks = m.locks();
  switch (phase_) {
    case Phase::KprobeMutex:
      if (!locks.down_write(locks.kprobe_mutex(), kw)) return Step::Blocked;
      batch_ = m.kprobes()->unoptimize_all_batch(m.bug("kprobe_unoptimize_flag_early"));
      phase_ = Phase::TextMutex;
      return Step::More;
    case Phase::TextMutex:
      if (!locks.down_write(locks.text_mutex(), kw)) return Step::Blocked;
      phase_ = batch_.empty() ? Phase::Unlock : Phase::Poke;
      return Step::More;
    case Phase::Poke:
      if (m.kprobes()->unoptimize_poke(batch_[entry_], poke_) && poke_ == UnpokeStep::Int3) {
        poke_ = UnpokeStep::Tail;
        return Step::More;
      }
      poke_ = UnpokeStep::Int3;
      if (++entry_ == batch_.size()) phase_ = Phase::Unlock;
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
