#include <doctest/doctest.h>

#include <vector>

#include "emu/cycle_model.h"
#include "emu/insn_policy.h"
#include "emu/syscalls/dispatch.h"
#include "emu/syscalls/syscall_names.h"

using namespace probesim;
using namespace probesim::emu;

namespace {
uint32_t cost_of(Arch arch, InsnClass cls) {
  return class_costs(arch)[static_cast<size_t>(cls)].cycles;
}
}  // namespace

TEST_CASE("cycle model: a block costs the sum of its instruction classes (x86_64)") {
  CycleModel m(Arch::X86_64);
  // add rax, rcx ; imul rax, rbx ; mov rdx, [rsi] ; mov [rdi], rdx ; ret
  std::vector<uint8_t> code = {0x48, 0x01, 0xc8, 0x48, 0x0f, 0xaf, 0xc3, 0x48,
                               0x8b, 0x16, 0x48, 0x89, 0x17, 0xc3};
  const BlockCost& c = m.block(0x1000, code);
  CHECK(c.insns == 5);
  CHECK(c.cycles == cost_of(Arch::X86_64, InsnClass::Alu) + cost_of(Arch::X86_64, InsnClass::Mul) +
                        cost_of(Arch::X86_64, InsnClass::Load) +
                        cost_of(Arch::X86_64, InsnClass::Store) +
                        cost_of(Arch::X86_64, InsnClass::CallRet));
  CHECK(c.emulated.empty());
}

TEST_CASE("cycle model: arm64 classification by instruction id") {
  CycleModel m(Arch::AArch64);
  // add x0,x0,#1 ; mul x1,x1,x2 ; ldr x2,[x3] ; str x2,[x4] ; sdiv x5,x5,x6 ; ret
  std::vector<uint32_t> words = {0x91000400, 0x9b027c21, 0xf9400062, 0xf9000082, 0x9ac60ca5,
                                 0xd65f03c0};
  std::vector<uint8_t> code(reinterpret_cast<uint8_t*>(words.data()),
                            reinterpret_cast<uint8_t*>(words.data() + words.size()));
  const BlockCost& c = m.block(0x2000, code);
  CHECK(c.insns == 6);
  CHECK(c.cycles ==
        cost_of(Arch::AArch64, InsnClass::Alu) + cost_of(Arch::AArch64, InsnClass::Mul) +
            cost_of(Arch::AArch64, InsnClass::Load) + cost_of(Arch::AArch64, InsnClass::Store) +
            cost_of(Arch::AArch64, InsnClass::Div) + cost_of(Arch::AArch64, InsnClass::CallRet));
}

TEST_CASE("cycle model: rdtsc is marked for emulation (Unicorn would read the host TSC)") {
  CycleModel m(Arch::X86_64);
  std::vector<uint8_t> code = {0x90, 0x0f, 0x31, 0xc3};
  const BlockCost& c = m.block(0x3000, code);
  REQUIRE(c.emulated.size() == 1);
  CHECK(c.emulated[0].addr == 0x3001);
  CHECK(c.emulated[0].kind == EmulatedKind::Rdtsc);
}

TEST_CASE("cycle model: x86 FPU flag readers and x87 transcendentals are FPU sites") {
  CycleModel m(Arch::X86_64);
  // fnstsw ax; stmxcsr [rsp]; fyl2x; fprem; addsd xmm0, xmm1; ret
  std::vector<uint8_t> code = {0xdf, 0xe0, 0x0f, 0xae, 0x1c, 0x24, 0xd9, 0xf1,
                               0xd9, 0xf8, 0xf2, 0x0f, 0x58, 0xc1, 0xc3};
  const BlockCost& c = m.block(0x5000, code);
  REQUIRE(c.emulated.size() == 4);
  CHECK(c.emulated[0].addr == 0x5000);
  CHECK(c.emulated[0].kind == EmulatedKind::FpuFold);
  CHECK(c.emulated[1].addr == 0x5002);
  CHECK(c.emulated[1].kind == EmulatedKind::FpuFold);
  CHECK(c.emulated[2].addr == 0x5006);
  CHECK(c.emulated[2].kind == EmulatedKind::FpuHostX87);
  CHECK(c.emulated[3].addr == 0x5008);
  CHECK(c.emulated[3].kind == EmulatedKind::FpuHostX87);
}

TEST_CASE("cycle model: privileged instructions are trap sites in user code only") {
  CycleModel m(Arch::X86_64);
  std::vector<uint8_t> code = {0x90, 0xf4, 0xfa, 0xc3};  // nop ; hlt ; cli ; ret
  CHECK(m.block(0x3000, code).emulated ==
        std::vector<EmulatedSite>{{0x3001, EmulatedKind::UserTrap, kX86Gp},
                                  {0x3002, EmulatedKind::UserTrap, kX86Gp}});
  CHECK(m.block(0xffffffff81000000ull, code).emulated.empty());  // the guest kernel's own code
  CycleModel a(Arch::AArch64);
  // wfi ; msr sctlr_el1, x0 ; ret
  std::vector<uint8_t> a64 = {0x7f, 0x20, 0x03, 0xd5, 0x00, 0x10, 0x18, 0xd5, 0xc0, 0x03, 0x5f, 0xd6};
  CHECK(a.block(0x4000, a64).emulated ==
        std::vector<EmulatedSite>{{0x4000, EmulatedKind::UserNop, 0},
                                  {0x4004, EmulatedKind::UserTrap, kArm64Udef}});
}

TEST_CASE("cycle model: cached until invalidated") {
  CycleModel m(Arch::X86_64);
  std::vector<uint8_t> code = {0x90, 0x90, 0xc3};
  m.block(0x4000, code);
  CHECK(m.lookup(0x4000, 3) != nullptr);
  CHECK(m.lookup(0x4000, 2) == nullptr);  // same address, other block size: not a hit
  m.invalidate(0x4002, 1);
  CHECK(m.lookup(0x4000, 3) == nullptr);
  CHECK(m.cached_blocks() == 0);
}

TEST_CASE("syscall table: numbers per arch, names and unimplemented rows") {
  const SyscallTable& x86 = SyscallTable::get(Arch::X86_64);
  const SyscallTable& arm = SyscallTable::get(Arch::AArch64);
  REQUIRE(x86.find(1) != nullptr);
  CHECK(x86.find(1)->name == "write");
  CHECK(arm.find(64)->name == "write");
  CHECK(x86.find(231)->name == "exit_group");
  CHECK(arm.find(94)->name == "exit_group");
  CHECK(x86.find(158)->name == "arch_prctl");
  REQUIRE(arm.find(2) != nullptr);  // io_submit: named, not implemented
  CHECK(arm.find(2)->name == "io_submit");
  const bool io_submit_implemented = arm.find(2)->fn != nullptr;
  CHECK_FALSE(io_submit_implemented);
  CHECK(arm.find(244) == nullptr);  // asm-generic's arch-specific block: arm64 has none
  CHECK(x86.find(400) == nullptr);  // 336-423: reserved on x86_64
  CHECK(x86.find(520) == nullptr);  // x32's execve, not a 64-bit syscall
  REQUIRE(x86.find(425) != nullptr);
  CHECK(x86.find(425)->name == "io_uring_setup");
  bool implemented = x86.find(425)->fn != nullptr;
  CHECK_FALSE(implemented);  // known by name, not implemented yet
  REQUIRE(x86.find(37) != nullptr);
  CHECK(x86.find(37)->name == "alarm");
  const bool alarm_implemented = x86.find(37)->fn != nullptr;
  CHECK(alarm_implemented);
  CHECK(x86.find(100000) == nullptr);
}

TEST_CASE("syscall table: every Linux syscall has its name, and each row matches Linux's numbers") {
  for (Arch arch : {Arch::X86_64, Arch::AArch64}) {
    const SyscallTable& t = SyscallTable::get(arch);
    size_t named = 0;
    for (const SyscallName& s : linux_syscall_names(arch)) {
      const SyscallEntry* e = t.find(s.nr);
      REQUIRE(e != nullptr);
      CHECK_MESSAGE(e->name == s.name, "nr ", s.nr, ": table row ", e->name, ", Linux ", s.name);
      CHECK(e->args.size() <= 6);
      ++named;
    }
    CHECK(named > 320);
  }
  const SyscallTable& x86 = SyscallTable::get(Arch::X86_64);
  const SyscallTable& arm = SyscallTable::get(Arch::AArch64);
  CHECK(x86.find(68)->name == "msgget");
  CHECK(arm.find(186)->name == "msgget");
  CHECK(x86.find(29)->name == "shmget");
  CHECK(arm.find(194)->name == "shmget");
  CHECK(x86.find(471)->name == "rseq_slice_yield");
  CHECK(x86.find(246)->args == "xxxx");  // kexec_load: four arguments, printed in hex
}

TEST_CASE("cycle model: arm64 FP/SIMD registers make an FP instruction, X registers do not") {
  CycleModel m(Arch::AArch64);
  // fadd d0, d1, d2 ; add x0, x1, x2
  std::vector<uint32_t> words = {0x1e622820, 0x8b020020};
  std::vector<uint8_t> code(reinterpret_cast<uint8_t*>(words.data()),
                            reinterpret_cast<uint8_t*>(words.data() + words.size()));
  CHECK(m.block(0x5000, code).cycles ==
        cost_of(Arch::AArch64, InsnClass::FpSimd) + cost_of(Arch::AArch64, InsnClass::Alu));
}

// ---- Scheduling points (SyncKind): classified once per block, with each site's index.

namespace {
SyncKind one_x86(std::vector<uint8_t> code) {
  static uint64_t addr = 0x10000;
  CycleModel m(Arch::X86_64);
  const BlockCost& c = m.block(addr += 0x100, code);
  REQUIRE(c.insns == 1);
  return c.sync.empty() ? SyncKind::None : c.sync.front().kind;
}
SyncKind one_arm64(uint32_t word) {
  CycleModel m(Arch::AArch64);
  std::vector<uint8_t> code(reinterpret_cast<uint8_t*>(&word), reinterpret_cast<uint8_t*>(&word) + 4);
  const BlockCost& c = m.block(0x20000, code);
  REQUIRE(c.insns == 1);
  return c.sync.empty() ? SyncKind::None : c.sync.front().kind;
}
}  // namespace

TEST_CASE("sync points: x86 lock-prefixed, xchg with memory, cmpxchg* and syscall") {
  CHECK(one_x86({0xf0, 0x83, 0x07, 0x01}) == SyncKind::Atomic);  // lock addl $1,(%rdi)
  CHECK(one_x86({0x87, 0x07}) == SyncKind::Atomic);              // xchg %eax,(%rdi)
  CHECK(one_x86({0x0f, 0xb1, 0x0f}) == SyncKind::Atomic);        // cmpxchg %ecx,(%rdi)
  CHECK(one_x86({0xf0, 0x0f, 0xb1, 0x0f}) == SyncKind::Atomic);  // lock cmpxchg
  CHECK(one_x86({0xf0, 0x0f, 0xc1, 0x07}) == SyncKind::Atomic);  // lock xadd
  CHECK(one_x86({0x48, 0x0f, 0xc7, 0x0f}) == SyncKind::Atomic);  // cmpxchg16b (%rdi)
  CHECK(one_x86({0xf0, 0x48, 0xff, 0x07}) == SyncKind::Atomic);  // lock incq (%rdi)
  CHECK(one_x86({0x0f, 0x05}) == SyncKind::Syscall);             // syscall
  CHECK(one_x86({0x91}) == SyncKind::None);                      // xchg %eax,%ecx: registers
  CHECK(one_x86({0x83, 0x07, 0x01}) == SyncKind::None);          // addl $1,(%rdi): no lock
  CHECK(one_x86({0x8b, 0x07}) == SyncKind::None);                // mov (%rdi),%eax
}

TEST_CASE("sync points: arm64 load/store exclusive, LSE atomics and svc") {
  for (uint32_t w : {0xc85f7c20u,    // ldxr x0,[x1]
                     0x885ffc20u,    // ldaxr w0,[x1]
                     0xc8027c20u,    // stxr w2,x0,[x1]
                     0x8802fc20u,    // stlxr w2,w0,[x1]
                     0xc87f8c20u,    // ldaxp x0,x3,[x1]
                     0x085f7c20u,    // ldxrb w0,[x1]
                     0x88a07c22u,    // cas w0,w2,[x1]
                     0xc8e0fc22u,    // casal x0,x2,[x1]
                     0xb8200022u,    // ldadd w0,w2,[x1]
                     0xf8e00022u,    // ldaddal x0,x2,[x1]
                     0xb8208022u,    // swp w0,w2,[x1]
                     0xf8e08022u,    // swpal x0,x2,[x1]
                     0xb820003fu,    // stadd w0,[x1]
                     0xb8203022u}) { // ldset w0,w2,[x1]
    CAPTURE(w);
    CHECK(one_arm64(w) == SyncKind::Atomic);
  }
  CHECK(one_arm64(0xd4000001u) == SyncKind::Syscall);  // svc #0
  // Plain and acquire/release accesses are no atomics: ldr, ldar, stlr, ldapr, add.
  for (uint32_t w : {0xf9400020u, 0xc8dffc20u, 0xc89ffc20u, 0xf8bfc020u, 0x91000400u}) {
    CAPTURE(w);
    CHECK(one_arm64(w) == SyncKind::None);
  }
}

TEST_CASE("sync points: a block lists its sites in order with their instruction index") {
  CycleModel m(Arch::X86_64);
  // mov (%rdi),%eax ; lock xadd %eax,(%rdi) ; addl $1,(%rdi) ; xchg %eax,(%rdi) ; syscall
  std::vector<uint8_t> code = {0x8b, 0x07, 0xf0, 0x0f, 0xc1, 0x07, 0x83, 0x07,
                               0x01, 0x87, 0x07, 0x0f, 0x05};
  const BlockCost& c = m.block(0x401000, code);
  CHECK(c.insns == 5);
  CHECK(c.sync == std::vector<SyncSite>{{0x401002, 1, SyncKind::Atomic},
                                        {0x401009, 3, SyncKind::Atomic},
                                        {0x40100b, 4, SyncKind::Syscall}});
  // Kernel code has no scheduling points (the guest kernel is not preemptible).
  const BlockCost& k = m.block(0xffffffff81000000ull, code);
  CHECK(k.sync.empty());
}
