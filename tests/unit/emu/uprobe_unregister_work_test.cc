// uprobe_unregister as kernel work (issue 16): the kworker registers a uprobe on uprobe_remap's
// remap_target and unregisters it later, both as steps, while the guest maps and unmaps the
// probed page of its own file and of a copy in a loop. Over random schedules no invariant
// breaks (no breakpoint left in a page once the uprobe is gone, none in the copy's page, every
// mapping of the probed offset armed while registered) and the lock checker reports nothing.
#include <doctest/doctest.h>

#include <memory>
#include <string>

#include "emu/kthread/uprobe_register_work.h"
#include "emu/kthread/uprobe_unregister_work.h"
#include "emu/machine_state.h"
#include "mmu/inode_cache.h"
#include "probes/uprobes/uprobe_target.h"
#include "probesim/machine.h"

using namespace probesim;
using namespace probesim::emu;

namespace {

struct Flavour {
  Arch arch;
  const char* dir;
};
constexpr Flavour kFlavours[] = {{Arch::X86_64, "x86_64-glibc"}, {Arch::AArch64, "aarch64-glibc"}};

constexpr uint64_t kRegisterAt = 60'000, kUnregisterAt = 140'000;  // inside the remap loop

struct Outcome {
  std::vector<std::string> violations;
  bool registered = false, unregistered = false;
  int status = -1;
};

Outcome come_and_go(const Flavour& f, uint64_t run) {
  auto made = Machine::create(
      Options{.arch = f.arch, .seed = 1, .quantum = 8000, .strategy = "random", .run_index = run});
  REQUIRE(made.ok());
  Machine& m = *made.value();
  const std::string prog = std::string(PROBESIM_GUEST_DIR) + "/" + f.dir + "/uprobe_remap";
  auto pid = m.spawn({prog}, {});
  REQUIRE(pid.ok());
  MachineState& s = m.state();
  mmu::Inode* inode = s.lookup_inode(prog).value();
  auto spec = probes::parse_uprobe_spec(prog + ":remap_target");
  REQUIRE(spec.ok());
  auto off = s.uprobe_offset(*inode, spec.value());
  REQUIRE(off.ok());
  probes::UprobeConsumer uc;
  uc.handler = [](probes::UprobeConsumer&, probes::Regs&, uint64_t&) { return 0; };
  Outcome o;
  auto registered = [&](Result<probes::Uprobe*> r) {  // in a kworker step: no REQUIRE here
    CHECK(r.ok());
    if (!r) return;
    o.registered = true;
    auto w = std::make_unique<UprobeUnregisterWork>(prog + ":remap_target", uc,
                                                    [&] { o.unregistered = true; });
    w->start_at = kUnregisterAt;
    s.queue_kernel_work(std::move(w));
  };
  auto w = std::make_unique<UprobeRegisterWork>(prog + ":remap_target", *inode, off.value(), uc,
                                                registered);  // takes the lookup's reference
  w->start_at = kRegisterAt;
  s.queue_kernel_work(std::move(w));
  m.run();
  o.violations = m.invariant_violations();
  if (auto e = m.exit_of(pid.value())) o.status = e->shell_status;
  CHECK(uc.uprobe == nullptr);
  return o;
}

}  // namespace

TEST_CASE("uprobe_unregister as kernel work: registrations come and go while the guest remaps the probed page, no invariant breaks") {
  for (const Flavour& f : kFlavours)
    for (uint64_t run = 0; run < 10; ++run) {
      CAPTURE(f.dir);
      CAPTURE(run);
      Outcome o = come_and_go(f, run);
      CHECK(o.registered);
      CHECK(o.unregistered);
      CHECK(o.status == 0);
      CHECK(o.violations == std::vector<std::string>{});
    }
}
