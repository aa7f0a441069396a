// Kprobe operations as the kworker runs them (kernel/kprobes.c), one step per lock operation,
// so CPUs executing the probed text run between them:
// - KprobeRegisterWork, register_kprobe:
//     mutex_lock(kprobe_mutex)
//     prepare_kprobe under text_mutex (decode, the insn slot, the table: no breakpoint yet)
//     arm_kprobe: text_poke of the breakpoint under text_mutex; try_to_optimize_kprobe;
//     mutex_unlock(text_mutex), mutex_unlock(kprobe_mutex)
// - KprobeUnregisterWork, unregister_kprobe (below)
// - KprobeOptimizerWork, the delayed kprobe_optimizer:
//     mutex_lock(kprobe_mutex), mutex_lock(text_mutex) and the batches (unoptimizing_list and
//     freeing_list, optimizing_list)
//     do_unoptimize_kprobes, per probe (UnoptimizeSteps): the int3 over the jump, the saved
//     tail, then arch_disarm_kprobe of a disabled probe (an unregistered one is freed)
//     do_optimize_kprobes, per probe text_poke_bp's three writes: the int3, the rel32 tail (after
//     synchronize_rcu_tasks: a probe some CPU is inside waits for the next round), the E9
//     mutex_unlock(text_mutex), mutex_unlock(kprobe_mutex)
// queue_kprobe_work queues either; from the first one on, the machine's optimizer runs as
// KprobeOptimizerWork (KprobeManager::set_optimizer_work) instead of between quanta. Runs that
// queue no kprobe work keep the in-place optimizer, so replays that add probes stay exact.
#pragma once

#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "emu/kthread/kernel_thread.h"
#include "probes/kprobe.h"
#include "probes/kprobe_manager.h"

namespace probesim::emu {

class KprobeRegisterWork final : public KernelWork {
 public:
  using Done = std::function<void(Result<void>)>;
  // kp: kept alive until the work is done (an aliasing pointer into its owner's record).
  KprobeRegisterWork(std::string what, std::shared_ptr<probes::Kprobe> kp, Done done);
  Step step(MachineState& m, Task& kworker) override;
  std::string describe() const override { return "register_kprobe(" + what_ + ")"; }
  std::string next_step() const override;

 private:
  enum class Phase { KprobeMutex, Prepare, Arm };
  Step prepare(MachineState& m, Task& kw);
  Step arm(MachineState& m, Task& kw);
  Step finish(MachineState& m, Task& kw, Result<void> r);

  std::string what_;
  std::shared_ptr<probes::Kprobe> kp_;
  Done done_;
  Phase phase_ = Phase::KprobeMutex;
  std::string where_;  // the probe's address in kernel terms, once resolved
};

// unregister_kprobe(kp) queued at N (unregister_kprobes with one probe):
//   mutex_lock(kprobe_mutex)
//   __unregister_kprobe_top under text_mutex: disable (the breakpoint's text_poke, or a
//     jump-optimized probe queued for the optimizer's delayed unoptimizing), unlink;
//     mutex_unlock(text_mutex), mutex_unlock(kprobe_mutex)
//   synchronize_rcu: waits (one step per turn) while a CPU is still stepping an unregistered
//     probe's copy; then __unregister_kprobe_bottom and done (the handle is unregistered).
// A probe not registered when the work runs (never was, or unregistered by the host) is left
// alone.
class KprobeUnregisterWork final : public KernelWork {
 public:
  using Done = std::function<void()>;
  KprobeUnregisterWork(std::string what, std::shared_ptr<probes::Kprobe> kp, Done done);
  Step step(MachineState& m, Task& kworker) override;
  std::string describe() const override { return "unregister_kprobe(" + what_ + ")"; }
  std::string next_step() const override;

 private:
  enum class Phase { KprobeMutex, Top, SynchronizeRcu };
  Step top(MachineState& m, Task& kw);

  std::string what_;
  std::shared_ptr<probes::Kprobe> kp_;
  Done done_;
  Phase phase_ = Phase::KprobeMutex;
  std::string where_;  // the probe's address in kernel terms, once resolved
};

// do_unoptimize_kprobes as steps over a batch (KprobeManager::unoptimizer_batch): per probe
// the steps unoptimize_next names (Int3, Tail, Disarm), one per call of run().
class UnoptimizeSteps {
 public:
  void start(std::vector<GuestAddr> batch, MachineState& m);
  bool done() const { return entry_ >= batch_.size(); }
  void run(probes::KprobeManager& k);
  std::string next_step() const;

 private:
  using UnpokeStep = probes::KprobeManager::UnpokeStep;
  void advance(const probes::KprobeManager& k);  // to the next probe with a step to run

  std::vector<GuestAddr> batch_;
  std::vector<std::string> names_;  // batch_ in kernel terms (step names)
  size_t entry_ = 0;
  UnpokeStep step_ = UnpokeStep::Int3;
};

class KprobeOptimizerWork final : public KernelWork {
 public:
  Step step(MachineState& m, Task& kworker) override;
  std::string describe() const override { return "kprobe_optimizer"; }
  std::string next_step() const override;

 private:
  enum class Phase { KprobeMutex, TextMutex, Unpoke, Poke, Unlock };
  using PokeStep = probes::KprobeManager::PokeStep;
  Step poke(MachineState& m);

  Phase phase_ = Phase::KprobeMutex;
  UnoptimizeSteps unopt_;
  std::vector<GuestAddr> batch_;
  std::vector<std::string> names_;  // batch_ in kernel terms (step names)
  size_t entry_ = 0;
  PokeStep poke_ = PokeStep::Int3;
};

// unoptimize_all_kprobes (sysctl debug.kprobes-optimization = 0) with Linux's delayed
// unoptimizing, done by the optimizer: mutex_lock(kprobe_mutex) and unoptimize_kprobe of every
// probe (the batch); mutex_lock(text_mutex); UnoptimizeSteps; mutex_unlock. The bug toggle
// kprobe_unoptimize_flag_early clears KPROBE_FLAG_OPTIMIZED at the batch (here and in the
// optimizer) instead of with the tail.
class KprobeUnoptimizeWork final : public KernelWork {
 public:
  Step step(MachineState& m, Task& kworker) override;
  std::string describe() const override { return "unoptimize_all_kprobes"; }
  std::string next_step() const override;

 private:
  enum class Phase { KprobeMutex, TextMutex, Poke, Unlock };

  Phase phase_ = Phase::KprobeMutex;
  UnoptimizeSteps unopt_;
};

// Queues w on the machine's kworker (the machine has a guest kernel) and hands the machine's
// optimizer to the kworker from now on.
void queue_kprobe_work(MachineState& m, std::unique_ptr<KernelWork> w);

}  // namespace probesim::emu
