// Cpu::add_call_site on a bare Cpu over an Mm: the function runs each time a block starts at
// the site (a jump target), sees and changes registers, costs no trap or exit, and a stop it
// requests ends the run without running the site twice (the guest kernel's
// optimized_callback, emu/kernel/kernel_boot.cc).
#include <doctest/doctest.h>
#include <sys/mman.h>

#include <memory>
#include <vector>

#include "cpu_rig.h"
#include "emu/arch_info.h"
#include "emu/cpu.h"
#include "emu/virtual_clock.h"
#include "mmu/mm.h"

using namespace probesim;
using namespace probesim::emu;

namespace {

constexpr uint64_t kCode = kRigCode;

struct StopAtSyscall : SyscallSink {
  int syscalls = 0;
  void on_syscall(Cpu& cpu) override {
    ++syscalls;
    cpu.request_stop();
  }
};

struct Rig : CpuRig<StopAtSyscall> {
  Rig(Arch arch, const std::vector<uint8_t>& code) : CpuRig(arch, code) { start(); }
};

// What the site function saw: calls, and the first argument register each time.
struct Seen {
  std::vector<uint64_t> arg0;
  bool stop = false;
};

void at_site(Cpu& cpu, void* ctx) {
  auto* seen = static_cast<Seen*>(ctx);
  const uint64_t a0 = cpu.reg(cpu.info().reg_args[0]);
  seen->arg0.push_back(a0);
  cpu.set_reg(cpu.info().reg_ret == cpu.info().reg_args[0] ? cpu.info().reg_args[1]
                                                            : cpu.info().reg_ret,
              a0 * 3);
  if (seen->stop) cpu.request_stop();
}

std::vector<uint8_t> words(std::initializer_list<uint32_t> w) {
  std::vector<uint8_t> out;
  for (uint32_t x : w)
    for (int i = 0; i < 4; ++i) out.push_back(static_cast<uint8_t>(x >> (8 * i)));
  return out;
}

// x86-64: mov edi, 5; jmp L; L: nopl 0(rax,rax) (the site); dec edi; jnz L; syscall.
const std::vector<uint8_t> kX86Loop = {0xbf, 5,    0,    0,    0,    0xeb, 0x00, 0x0f, 0x1f,
                                       0x44, 0x00, 0x00, 0xff, 0xcf, 0x75, 0xf7, 0x0f, 0x05};
constexpr uint64_t kX86Site = kCode + 7;
// arm64: movz x0, #5; b L; L: nop (the site); subs x0, x0, #1; b.ne L; svc #0.
const std::vector<uint8_t> kArm64Loop =
    words({0xd28000a0, 0x14000001, 0xd503201f, 0xf1000400, 0x54ffffc1, 0xd4000001});
constexpr uint64_t kArm64Site = kCode + 8;
constexpr uint32_t kSiteSize[] = {5, 4};  // x86_64, aarch64

}  // namespace

TEST_CASE("cpu call site: runs before each execution of its instruction, with the registers") {
  struct Case {
    Arch arch;
    const std::vector<uint8_t>& code;
    uint64_t site;
  };
  for (const Case& c : {Case{Arch::X86_64, kX86Loop, kX86Site}, Case{Arch::AArch64, kArm64Loop, kArm64Site}}) {
    CAPTURE(arch_name(c.arch));
    Rig r(c.arch, c.code);
    Seen seen;
    r.cpu->add_call_site(c.site, kSiteSize[c.arch == Arch::AArch64], &at_site, &seen);
    CpuStop s = r.run();
    CHECK(s.kind == StopKind::Requested);  // the syscall's stop: no trap on the way
    CHECK(r.sink.syscalls == 1);
    CHECK(seen.arg0 == std::vector<uint64_t>{5, 4, 3, 2, 1});
    const int out = r.cpu->info().reg_ret == r.cpu->info().reg_args[0] ? r.cpu->info().reg_args[1]
                                                                       : r.cpu->info().reg_ret;
    CHECK(r.cpu->reg(out) == 3);  // written by the last call (arg0 = 1), kept by the guest
  }
}

TEST_CASE("cpu call site: a stop it requests ends the run, and resuming does not call it again") {
  for (Arch arch : {Arch::X86_64, Arch::AArch64}) {
    CAPTURE(arch_name(arch));
    Rig r(arch, arch == Arch::X86_64 ? kX86Loop : kArm64Loop);
    Seen seen;
    seen.stop = true;
    r.cpu->add_call_site(arch == Arch::X86_64 ? kX86Site : kArm64Site,
                         kSiteSize[arch == Arch::AArch64], &at_site, &seen);
    CpuStop s = r.run();
    CHECK(s.kind == StopKind::Requested);
    CHECK(seen.arg0 == std::vector<uint64_t>{5});
    CHECK(r.sink.syscalls == 0);
    seen.stop = false;
    s = r.run();
    CHECK(r.sink.syscalls == 1);
    CHECK(seen.arg0 == std::vector<uint64_t>{5, 4, 3, 2, 1});  // each pass once
  }
}
