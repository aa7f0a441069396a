// Instructions Unicorn must not see or run as they are (emu/insn_policy.h), on a bare Cpu
// over an Mm: translator aborts become the guest's #UD before Unicorn translates them,
// privileged instructions trap as in Linux user mode, and guarded code still notices writes.
#include <doctest/doctest.h>
#include <sys/mman.h>

#include <memory>
#include <vector>

#include "cpu_rig.h"
#include "emu/arch_info.h"
#include "emu/cpu.h"
#include "emu/insn_policy.h"
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

// One page of code at kCode (prot as given) and a stack; the Cpu realizes the mm.
struct Rig : CpuRig<StopAtSyscall> {
  explicit Rig(Arch arch, const std::vector<uint8_t>& code, int prot = PROT_READ | PROT_EXEC)
      : CpuRig(arch, code, prot) {
    map(0x7000000);
    start().set_reg(cpu->info().reg_sp, 0x7000800);
  }
};

std::vector<uint8_t> words(std::initializer_list<uint32_t> w) {
  std::vector<uint8_t> out;
  for (uint32_t x : w)
    for (int i = 0; i < 4; ++i) out.push_back(static_cast<uint8_t>(x >> (8 * i)));
  return out;
}

void check_trap(const CpuStop& s, uint32_t intno, uint64_t pc) {
  CHECK(s.kind == StopKind::Interrupt);
  CHECK(s.intno == intno);
  CHECK(s.pc == pc);
}

}  // namespace

TEST_CASE("insn guard: far call/jmp through a register (ff d8-df, ff e8-ef) is #UD, no abort") {
  for (uint8_t modrm = 0xd8; modrm <= 0xef; ++modrm) {
    if (modrm >= 0xe0 && modrm < 0xe8) continue;  // jmp through a register: a valid jump
    Rig r(Arch::X86_64, {0x90, 0xff, modrm});
    CpuStop s = r.run();
    CHECK(s.kind == StopKind::InvalidInsn);
    CHECK(s.pc == kCode + 1);
  }
}

TEST_CASE("insn guard: LOCK bt* on a register stops before Unicorn translates it (SIGILL)") {
  // mov eax, 1 ; lock bts eax, eax: the mov runs, the stop is at the lock prefix.
  Rig r(Arch::X86_64, {0xb8, 1, 0, 0, 0, 0xf0, 0x0f, 0xab, 0xc0, 0x0f, 0x05});
  CpuStop s = r.run();
  CHECK(s.kind == StopKind::InvalidInsn);
  CHECK(s.pc == kCode + 5);
  CHECK(r.cpu->reg(UC_X86_REG_RAX) == 1);
  CHECK(r.cpu->pc() == kCode + 5);
  // Running again from there stops there again (the exit stays while the bytes do).
  CHECK(r.run().kind == StopKind::InvalidInsn);
  // At a block start, with an operand-size prefix before LOCK, and lock btc r64, imm8.
  for (std::vector<uint8_t> code : {std::vector<uint8_t>{0xf0, 0x0f, 0xbb, 0xc1},
                                    std::vector<uint8_t>{0x66, 0xf0, 0x0f, 0xb3, 0xd1},
                                    std::vector<uint8_t>{0xf0, 0x48, 0x0f, 0xba, 0xf8, 5}}) {
    Rig r2(Arch::X86_64, code);
    CpuStop s2 = r2.run();
    CHECK(s2.kind == StopKind::InvalidInsn);
    CHECK(s2.pc == kCode);
  }
}

TEST_CASE("insn guard: the abort pattern inside another instruction's bytes runs normally") {
  // mov eax, 0xc0ab0ff0 (the immediate is `lock bts eax, eax`) ; syscall
  Rig r(Arch::X86_64, {0xb8, 0xf0, 0x0f, 0xab, 0xc0, 0x0f, 0x05});
  CpuStop s = r.run();
  CHECK(s.kind == StopKind::Requested);
  CHECK(r.sink.syscalls == 1);
  CHECK(r.cpu->reg(UC_X86_REG_RAX) == 0xc0ab0ff0);
}

TEST_CASE("insn guard: x86 privileged instructions are #GP at user addresses, never run") {
  struct Case {
    std::vector<uint8_t> code;
    uint32_t intno;
  };
  const Case cases[] = {
      {{0xf4}, kX86Gp},                    // hlt
      {{0x0f, 0x34}, kX86Gp},              // sysenter
      {{0x0f, 0x07}, kX86Gp},              // sysret
      {{0xfa}, kX86Gp},                    // cli
      {{0xec}, kX86Gp},                    // in al, dx
      {{0x0f, 0x20, 0xc0}, kX86Gp},        // mov rax, cr0
      {{0x0f, 0x01, 0xf8}, kX86Gp},        // swapgs
      {{0xcd, 0xe9}, kX86Gp},              // int 0xe9 (the guest kernel's hypercall)
      {{0x0f, 0x01, 0xc8}, kX86Ud},        // monitor
  };
  for (const Case& c : cases) {
    std::vector<uint8_t> code = {0x90};
    code.insert(code.end(), c.code.begin(), c.code.end());
    Rig r(Arch::X86_64, code);
    check_trap(r.run(), c.intno, kCode + 1);
  }
  // wrmsr IA32_FS_BASE: the trap comes before Unicorn would have written the MSR.
  Rig r(Arch::X86_64, {0xb9, 0x00, 0x01, 0x00, 0xc0, 0xb8, 0x34, 0x12, 0, 0, 0x31, 0xd2,
                       0x0f, 0x30});
  check_trap(r.run(), kX86Gp, kCode + 12);
  CHECK(r.cpu->reg(UC_X86_REG_FS_BASE) == 0);
}

TEST_CASE("insn guard: arm64 EL1-only instructions are UNDEFINED at EL0, wfi/wfe continue") {
  const uint32_t kSvc = 0xd4000001, kNop = 0xd503201f;
  for (uint32_t insn : {0xd5181000u /* msr sctlr_el1, x0 */, 0xd5381000u /* mrs x0, sctlr_el1 */,
                        0xd50342dfu /* msr daifset, #2 */, 0xd508871fu /* tlbi vmalle1 */,
                        0xd4000002u /* hvc #0 */, 0xd4000003u /* smc #0 */,
                        0xd69f03e0u /* eret */, 0xd4400000u /* hlt #0 */}) {
    Rig r(Arch::AArch64, words({kNop, insn, kSvc}));
    check_trap(r.run(), kArm64Udef, kCode + 4);
  }
  // wfi, wfe, mrs tpidr_el0, mrs midr_el1 (Linux emulates ID registers), dc zva: all run on.
  for (uint32_t insn : {0xd503207fu, 0xd503205fu, 0xd53bd040u, 0xd5380000u}) {
    Rig r(Arch::AArch64, words({insn, kSvc}));
    CHECK(r.run().kind == StopKind::Requested);
    CHECK(r.sink.syscalls == 1);
    CHECK(r.cpu->pc() == kCode + 8);
  }
}

TEST_CASE("insn guard: writable code is translated again after a guest store (SMC)") {
  // 0x000: mov dword [0x400101], 2 ; jmp 0x400100      0x100: mov eax, 1 ; syscall
  std::vector<uint8_t> code(0x108, 0x90);
  const uint8_t store[] = {0xc7, 0x04, 0x25, 0x01, 0x01, 0x40, 0x00, 0x02, 0, 0, 0,
                           0xe9, 0xf0, 0x00, 0x00, 0x00};  // jmp rel32 to 0x100
  std::copy(std::begin(store), std::end(store), code.begin());
  const uint8_t target[] = {0xb8, 1, 0, 0, 0, 0x0f, 0x05};
  std::copy(std::begin(target), std::end(target), code.begin() + 0x100);
  Rig r(Arch::X86_64, code, PROT_READ | PROT_WRITE | PROT_EXEC);
  r.cpu->set_pc(kCode + 0x100);
  REQUIRE(r.run().kind == StopKind::Requested);
  CHECK(r.cpu->reg(UC_X86_REG_RAX) == 1);
  r.cpu->set_pc(kCode);
  REQUIRE(r.run().kind == StopKind::Requested);
  CHECK(r.cpu->reg(UC_X86_REG_RAX) == 2);  // not the stale translation
}

TEST_CASE("insn guard: an abort pattern written by the guest is stopped, a stale exit goes") {
  // 0x000: mov dword [0x400100], 0xc0ab0ff0 (lock bts eax, eax) ; jmp 0x400100
  // 0x020: mov dword [0x400100], 0x90909090 (nops)               ; jmp 0x400100
  // 0x100: nop x4 ; syscall
  std::vector<uint8_t> code(0x108, 0x90);
  const uint8_t poison[] = {0xc7, 0x04, 0x25, 0x00, 0x01, 0x40, 0x00, 0xf0, 0x0f, 0xab, 0xc0,
                            0xe9, 0xf0, 0x00, 0x00, 0x00};
  const uint8_t cure[] = {0xc7, 0x04, 0x25, 0x00, 0x01, 0x40, 0x00, 0x90, 0x90, 0x90, 0x90,
                          0xe9, 0xd0, 0x00, 0x00, 0x00};
  std::copy(std::begin(poison), std::end(poison), code.begin());
  std::copy(std::begin(cure), std::end(cure), code.begin() + 0x20);
  code[0x104] = 0x0f;
  code[0x105] = 0x05;
  code.push_back(0);
  Rig r(Arch::X86_64, code, PROT_READ | PROT_WRITE | PROT_EXEC);
  CpuStop s = r.run();
  CHECK(s.kind == StopKind::InvalidInsn);
  CHECK(s.pc == kCode + 0x100);
  r.cpu->set_pc(kCode + 0x20);
  CHECK(r.run().kind == StopKind::Requested);
  CHECK(r.sink.syscalls == 1);
}
