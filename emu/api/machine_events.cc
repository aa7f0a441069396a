// Machine's lifecycle observer, request_stop and current_task (include/probesim/machine.h).
#include "emu/api/machine_impl.h"

namespace probesim {

void Machine::set_lifecycle_observer(LifecycleObserver* observer) {
  impl_->lifecycle.to = observer;
  impl_->state.set_lifecycle(observer ? &impl_->lifecycle : nullptr);
}

void Machine::request_stop() { impl_->state.stop_current(); }

std::optional<Machine::CurrentTask> Machine::current_task() const {
  const emu::Task* t = impl_->state.current_task();
  if (!t) return std::nullopt;
  return CurrentTask{t->proc().pid(), t->tid()};
}

}  // namespace probesim
