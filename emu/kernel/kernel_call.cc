// Guest kernel: kernel_call, a kernel function run in kernel mode with no task
// (docs/guest-kernel.md "The model's contract": probesim_kernel_call_trampoline calls the target and
// reports HC_KERNEL_CALL_DONE with its result).
#include <cerrno>
#include <utility>

#include "emu/kernel/guest_kernel.h"
#include "emu/virtual_clock.h"
#include "guest/kernel/include/entry_abi.h"
#include "guest/kernel/include/hypercall_abi.h"

namespace probesim::emu {
namespace {

constexpr uint64_t kKernelCallBudget = 100'000'000;
constexpr uint64_t kNestedStackStep = 2048;  // nested calls run lower on the call stack

}  // namespace

// RAII: one kernel_call in progress on logical CPU `cpu`; the machine sees `e` as its running
// engine (KernelHost::kernel_call_scope). Everything comes back when the call ends, also when
// a probe handler's exception unwinds through it.
class GuestKernel::CallScope {
 public:
  CallScope(GuestKernel& k, Cpu& e, VirtualClock& clock, int cpu)
      : k_(k), saved_cpu_(k.call_cpu_), host_scope_(k.host_.kernel_call_scope(e, clock)) {
    k_.call_cpu_ = cpu;
    ++k_.call_depth_;
    k_.call_result_.reset();
  }
  ~CallScope() {
    --k_.call_depth_;
    k_.call_cpu_ = saved_cpu_;
  }
  CallScope(const CallScope&) = delete;
  CallScope& operator=(const CallScope&) = delete;

 private:
  GuestKernel& k_;
  int saved_cpu_;
  std::unique_ptr<KernelHost::RunScope> host_scope_;
};

int GuestKernel::hit_cpu() const {
  return call_depth_ > 0 ? call_cpu_ : host_.running_cpu();
}

void GuestKernel::run_optimizer_if_due() {
  if (kprobes_) kprobes_->run_optimizer_if_due(host_.now_clock().cycles());
}

// The kernel engine for an outermost call; nested_engines_[depth - 1] for a call made while
// another runs (a Unicorn engine cannot re-enter itself).
Result<Cpu*> GuestKernel::call_engine() {
  if (call_depth_ == 0) return engine_.get();
  size_t d = static_cast<size_t>(call_depth_ - 1);
  if (nested_engines_.size() <= d) nested_engines_.resize(d + 1);
  if (!nested_engines_[d]) {
    nested_engines_[d] = PROBESIM_TRY(new_engine());
    nested_engines_[d]->set_step_scope(StepScope::Anywhere);
  }
  return nested_engines_[d].get();
}

Result<uint64_t> GuestKernel::call(std::string_view fn, std::span<const uint64_t> args) {
  if (args.size() > 6) return Error::make("kernel_call: at most six arguments", E2BIG);
  GuestAddr target = PROBESIM_TRY(space_->kallsyms().lookup_name(fn));
  bool nested = call_depth_ > 0 || host_.current() != nullptr;
  if (!nested) run_optimizer_if_due();
  int cpu_id = nested ? hit_cpu() : 0;
  Cpu& e = *PROBESIM_TRY(call_engine());
  // The outermost frame has no caller frame record, so a stack trace taken inside the call
  // ends at the trampoline; nested calls run lower on the call stack.
  arch_->set_call_registers(e, target, args, cpu_id);
  e.set_reg(e.info().reg_sp,
            call_stack_.value - static_cast<uint64_t>(call_depth_) * kNestedStackStep);
  e.set_pc(call_trampoline_.value);
  VirtualClock& clock = host_.cpu_clock(cpu_id);
  e.set_clock(clock);
  size_t oopses = oopses_.size();
  CpuStop stop;
  {
    CallScope scope(*this, e, clock, cpu_id);
    stop = e.run(InsnCount{kKernelCallBudget});
  }
  e.set_preemptible(true);
  std::optional<uint64_t> result = std::exchange(call_result_, std::nullopt);
  if (result) return *result;
  // Aborted (a fault, a runaway, stop_current): return probes hijacked on the way down will
  // never see their returns; recycle the kernel-call context's instances (task 0).
  if (!nested) kprobes_->flush_task(probes::TaskId{0});
  std::string why = !panic_.empty() ? "Kernel panic - not syncing: " + panic_
                    : oopses_.size() > oopses ? oopses_.back()
                    : stop.kind == StopKind::Budget
                        ? "did not return within " + std::to_string(kKernelCallBudget) + " instructions"
                        : std::string(stop.kind == StopKind::Fault ? "kernel fault" : "kernel trap") +
                              " at " + space_->kallsyms().format(GuestAddr{stop.pc});
  return Error::make("kernel_call(" + std::string(fn) + "): " + why, panic_.empty() ? EFAULT : EIO);
}

}  // namespace probesim::emu
