// An exec waits while the kworker holds its mm's mmap_lock (issue 16): Linux's exec_mmap takes
// the old mm's mmap_lock (read) before replacing it, and the kworker holds that lock across a
// scheduling point (between register_for_each_vma's mmap_write_lock and install_breakpoint
// steps). Without the wait the model's exec would free the mm the kworker is about to write.
#include <doctest/doctest.h>

#include <algorithm>
#include <string>

#include "emu/machine_state.h"
#include "emu/process.h"
#include "probesim/machine.h"

using namespace probesim;
using namespace probesim::emu;

TEST_CASE("kernel locks: an execve waits while another task holds the caller's mmap_lock") {
  auto made = Machine::create(Options{.arch = Arch::X86_64, .seed = 1});
  REQUIRE(made.ok());
  Machine& m = *made.value();
  const std::string hello = std::string(PROBESIM_GUEST_DIR) + "/x86_64-glibc/hello";
  auto pid = m.spawn({"/bin/busybox", "env", hello}, {}, Stdio::Capture);
  REQUIRE(pid.ok());
  MachineState& s = m.state();
  Process* p = s.process(pid.value());
  REQUIRE(p != nullptr);
  const mmu::Mm* before = &p->mm();
  const std::string exe = p->exe_path;  // busybox's, as /bin resolved
  // The holder stands for the kworker between its mmap_write_lock and install steps.
  Process holder_proc{900, 0, nullptr, false};
  Task& holder = holder_proc.main_task();
  RwSemaphore& lock = s.locks().mmap_lock(before, "pid " + std::to_string(pid.value()));
  REQUIRE(s.locks().down_write(lock, holder));
  m.run();  // busybox env runs until its execve, which blocks: nothing else can run
  CHECK(p->exe_path == exe);
  CHECK(&p->mm() == before);
  auto blocked = m.blocked_tids();
  CHECK(std::find(blocked.begin(), blocked.end(), pid.value()) != blocked.end());
  s.locks().up_write(lock, holder);
  m.run();
  CHECK(p->exe_path == hello);
  auto exit = m.exit_of(pid.value());
  REQUIRE(exit.has_value());
  CHECK(exit->shell_status == 1);  // hello exits with its argc
  CHECK(m.captured_stdout(pid.value()).starts_with("hello from hello\n"));
}
