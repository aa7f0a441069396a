// Errors of the Cpu (docs/conventions.md §6): uc_emu_start's error is recorded in every CpuStop,
// an unhooked error becomes the guest's outcome or an assert that names it, and an assert
// while the engine runs prints where the guest was (assert context).
#include <doctest/doctest.h>
#include <sys/mman.h>

#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "cpu_rig.h"
#include "emu/arch_info.h"
#include "emu/cpu.h"
#include "emu/virtual_clock.h"
#include "mmu/mm.h"
#include "probesim/assert.h"
#include "support/death_test.h"

using namespace probesim;
using namespace probesim::emu;
using probesim::testing::run_in_child;

namespace {

constexpr uint64_t kCode = kRigCode;

struct Sink : SyscallSink {
  int syscalls = 0;
  std::function<void(int)> on_nth;  // called with the syscall's ordinal (1-based)
  void on_syscall(Cpu&) override {
    ++syscalls;
    if (on_nth) on_nth(syscalls);
  }
};

// x86-64 code: `n` times `mov eax, nr; syscall`, then a load from 0x10 (unmapped).
std::vector<uint8_t> syscalls_then_fault(int n, uint8_t nr) {
  std::vector<uint8_t> code;
  for (int i = 0; i < n; ++i)
    code.insert(code.end(), {0xb8, nr, 0x00, 0x00, 0x00, 0x0f, 0x05});
  code.insert(code.end(), {0x48, 0x8b, 0x04, 0x25, 0x10, 0x00, 0x00, 0x00});
  return code;
}

struct Rig : CpuRig<Sink> {
  explicit Rig(const std::vector<uint8_t>& code) : CpuRig(Arch::X86_64, code) { start(); }
};

bool has(const std::string& s, const std::string& part) { return s.find(part) != std::string::npos; }

}  // namespace

TEST_CASE("cpu: a fault stop carries uc_emu_start's error (UC_ERR_READ_UNMAPPED)") {
  Rig r(syscalls_then_fault(1, 39));
  CpuStop s = r.cpu->run(InsnCount{1000});
  CHECK(s.kind == StopKind::Fault);
  CHECK(s.addr == 0x10);
  CHECK(s.uc_error == UC_ERR_READ_UNMAPPED);
  CHECK(has(engine_error_text(s.uc_error), "UC_ERR_READ_UNMAPPED"));
}

TEST_CASE("cpu: a stop a sink requested carries UC_ERR_OK") {
  Rig r(syscalls_then_fault(2, 39));
  r.sink.on_nth = [&](int) { r.cpu->request_stop(); };
  CpuStop s = r.cpu->run(InsnCount{1000});
  CHECK(s.kind == StopKind::Requested);
  CHECK(s.uc_error == UC_ERR_OK);
}

TEST_CASE("cpu: unhooked engine errors: the guest's SIGILL where the instruction is at fault, "
          "else probesim's bug") {
  for (uc_err e : {UC_ERR_OK, UC_ERR_INSN_INVALID, UC_ERR_EXCEPTION})
    CHECK(unhooked_stop_kind(e) == StopKind::InvalidInsn);
  for (uc_err e : {UC_ERR_NOMEM, UC_ERR_ARG, UC_ERR_MAP, UC_ERR_HOOK, UC_ERR_READ_UNMAPPED,
                   UC_ERR_FETCH_PROT, UC_ERR_RESOURCE})
    CHECK_FALSE(unhooked_stop_kind(e).has_value());
  CHECK(has(engine_error_text(UC_ERR_NOMEM), "UC_ERR_NOMEM"));
}

TEST_CASE("cpu: an assert inside run() prints tid, pc, registers, the last syscalls and "
          "scheduler events") {
  auto out = run_in_child([] {
    Rig r(syscalls_then_fault(3, 39));
    r.cpu->set_assert_info(42, [] { return std::string("SCHED-EVENTS-HERE"); });
    r.sink.on_nth = [](int n) { PROBESIM_ASSERT_MSG(n < 3, "third syscall"); };
    (void)r.cpu->run(InsnCount{1000});
  });
  CHECK(out.aborted);
  CHECK(has(out.err, "third syscall"));
  CHECK(has(out.err, "guest: tid 42, x86_64 engine, pc 0x400015"));  // after the 3rd syscall
  CHECK(has(out.err, "ax     0x0000000000000027"));
  CHECK(has(out.err, "ip     0x0000000000400015"));
  CHECK(has(out.err, "tid 42 nr 39 at pc 0x400007"));
  CHECK(has(out.err, "tid 42 nr 39 at pc 0x400015"));
  CHECK(has(out.err, "SCHED-EVENTS-HERE"));
}

TEST_CASE("cpu: the assert context keeps the last 16 syscalls and ends with run()") {
  Rig r(syscalls_then_fault(20, 60));
  CHECK(r.cpu->run(InsnCount{1000}).kind == StopKind::Fault);
  CHECK(r.sink.syscalls == 20);
  std::string d = r.cpu->describe_guest();
  size_t lines = 0;
  for (size_t at = 0; (at = d.find(" nr 60 at pc ", at)) != std::string::npos; ++at) ++lines;
  CHECK(lines == Cpu::kSyscallTrail);
  CHECK_FALSE(has(d, "at pc 0x400007\n"));  // the 1st..4th are gone
  CHECK(has(d, "at pc 0x40008c"));          // the 20th: 20 * 7 bytes in
  CHECK_FALSE(set_assert_context(nullptr));  // run() put the previous (empty) context back
}
