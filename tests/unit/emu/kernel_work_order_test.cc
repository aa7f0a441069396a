// The kworker's queue while an item runs its step (issue 16): work queued from inside a step
// (a completion that queues more, as the kprobe optimizer is kicked from kernel work) never
// goes ahead of the running item, even on that item's first step.
#include <doctest/doctest.h>

#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "emu/kthread/kernel_thread.h"
#include "emu/machine_state.h"
#include "probesim/machine.h"

using namespace probesim;
using namespace probesim::emu;

namespace {

// One step: logs its name, then runs `then` (which may queue more work).
class LoggingWork final : public KernelWork {
 public:
  LoggingWork(std::string name, uint64_t at, std::vector<std::string>& log,
              std::function<void()> then = {})
      : name_(std::move(name)), log_(log), then_(std::move(then)) {
    start_at = at;
  }
  Step step(MachineState&, Task&) override {
    log_.push_back(name_);
    if (then_) then_();
    return Step::Done;
  }
  std::string describe() const override { return name_; }
  std::string next_step() const override { return "log"; }

 private:
  std::string name_;
  std::vector<std::string>& log_;
  std::function<void()> then_;
};

}  // namespace

TEST_CASE("kworker: work queued during an item's only step runs after it, and the item once") {
  auto made = Machine::create(Options{.arch = Arch::X86_64, .seed = 1});
  REQUIRE(made.ok());
  Machine& m = *made.value();
  auto pid = m.spawn({std::string(PROBESIM_GUEST_DIR) + "/x86_64-glibc/uprobe_remap", "5"}, {});
  REQUIRE(pid.ok());
  MachineState& s = m.state();
  std::vector<std::string> log;
  s.queue_kernel_work(std::make_unique<LoggingWork>("first", 1000, log, [&] {
    s.queue_kernel_work(std::make_unique<LoggingWork>("queued-by-first", 0, log));
  }));
  CHECK(m.run());
  CHECK(m.exit_of(pid.value())->shell_status == 0);
  CHECK(log == std::vector<std::string>{"first", "queued-by-first"});
}
