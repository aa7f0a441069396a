// Scheduling points inside a block (Cpu::run, emu/sched/README.md) on a bare Cpu over an Mm:
// a quantum that ends in front of an atomic or a syscall inside a block is charged only the
// instructions that ran (the rest of the block is charged once, when it runs), and a uprobe's
// breakpoint over an atomic is that atomic's scheduling point, at the same retired count.
#include <doctest/doctest.h>
#include <sys/mman.h>

#include <cstring>
#include <memory>
#include <span>
#include <vector>

#include "cpu_rig.h"
#include "emu/arch_info.h"
#include "emu/cpu.h"
#include "emu/cycle_model.h"
#include "emu/virtual_clock.h"
#include "mmu/mm.h"

using namespace probesim;
using namespace probesim::emu;

namespace {

constexpr uint64_t kCode = kRigCode, kData = 0x500000;

// One block of 7 instructions: two before an atomic on [kData], two after it, then a syscall.
// `atomic` is the atomic's byte offset, `syscall` the syscall's.
struct Program {
  Arch arch;
  std::vector<uint8_t> code;
  uint64_t atomic, syscall;
  std::vector<uint8_t> breakpoint;  // a uprobe's (x86 int3, arm64 BRK #5)
  uint32_t trap;                    // its Unicorn intno
  int data_reg;                     // holds kData
};

std::vector<uint8_t> words(std::initializer_list<uint32_t> w) {
  std::vector<uint8_t> out;
  for (uint32_t x : w)
    for (int i = 0; i < 4; ++i) out.push_back(static_cast<uint8_t>(x >> (8 * i)));
  return out;
}

const Program kX86{Arch::X86_64,
                   {0xb8, 1, 0, 0, 0,        // mov eax, 1
                    0x48, 0x01, 0xc3,        // add rbx, rax
                    0xf0, 0x0f, 0xc1, 0x07,  // lock xadd [rdi], eax
                    0x48, 0x01, 0xc3,        // add rbx, rax
                    0x48, 0x01, 0xc3,        // add rbx, rax
                    0xb8, 39, 0, 0, 0,       // mov eax, 39
                    0x0f, 0x05},             // syscall
                   8, 23, {0xcc}, 3, UC_X86_REG_RDI};
const Program kArm64{Arch::AArch64,
                     words({0x52800020,    // mov w0, #1
                            0x8b000021,    // add x1, x1, x0
                            0x885ffc62,    // ldaxr w2, [x3]
                            0x8b000021,    // add x1, x1, x0
                            0x8b000021,    // add x1, x1, x0
                            0xd28004e8,    // mov x8, #39
                            0xd4000001}),  // svc #0
                     8, 24, words({0xd42000a0}), 7, UC_ARM64_REG_X3};

// The program's bytes, whatever the engine's memory holds (a uprobe's read_original).
struct Original : OriginalCode {
  const Program* prog = nullptr;
  bool original_code(uint64_t addr, std::span<uint8_t> out) override {
    std::memset(out.data(), 0, out.size());
    if (addr < kCode || addr >= kCode + prog->code.size()) return false;
    const size_t at = addr - kCode;
    std::memcpy(out.data(), prog->code.data() + at, std::min(out.size(), prog->code.size() - at));
    return true;
  }
  bool probe_code(uint64_t) override { return false; }
};

// Stops at the syscall. With a breakpoint: the trap is first offered as a scheduling point;
// otherwise it is a hit, and the "probe" skips the instruction under it.
struct Sink : SyscallSink {
  Original original;
  int hits = 0;
  void on_syscall(Cpu& cpu) override { cpu.request_stop(); }
  bool on_trap(Cpu& cpu, uint32_t intno) override {
    if (intno != original.prog->trap) return false;
    const bool x86 = cpu.arch() == Arch::X86_64;
    const GuestAddr bp{x86 ? cpu.pc() - 1 : cpu.pc()};
    if (cpu.breakpoint_sync_point(bp, original)) return true;
    ++hits;
    cpu.set_pc(bp.value + 4);  // both atomics are 4 bytes
    return true;
  }
};

std::vector<uint8_t> code_of(const Program& p, bool with_breakpoint) {
  std::vector<uint8_t> code = p.code;
  if (with_breakpoint) std::copy(p.breakpoint.begin(), p.breakpoint.end(), code.begin() + p.atomic);
  return code;
}

struct Rig : CpuRig<Sink> {
  explicit Rig(const Program& p, bool with_breakpoint = false) : CpuRig(p.arch, code_of(p, with_breakpoint)) {
    map(kData);
    sink.original.prog = &p;
    start().set_sync_points(true);
    cpu->set_reg(p.data_reg, kData);
  }
};

// The modelled cycles of the program's instructions in [from, to) (byte offsets).
uint64_t cycles(const Program& p, uint64_t from, uint64_t to) {
  CycleModel model(p.arch);
  return model.original_cycles(kCode + from, std::span(p.code).subspan(from), uint32_t(to - from));
}

}  // namespace

TEST_CASE("cpu: a quantum ended in front of an atomic or a syscall inside a block is charged "
          "only the instructions that ran, and the rest once, when it runs") {
  for (const Program* p : {&kX86, &kArm64}) {
    CAPTURE(p->arch);
    const uint64_t all = cycles(*p, 0, p->code.size());
    Rig plain(*p);
    CHECK(plain.cpu->run(InsnCount{1000}).kind == StopKind::Requested);
    CHECK(plain.cpu->user_insns().value == 7);
    CHECK(plain.clock.cycles().value == all);
    CHECK(plain.cpu->sync_ops() == 2);
    struct Stop {
      uint64_t budget, offset;
    };
    for (Stop s : {Stop{2, p->atomic}, Stop{6, p->syscall}}) {
      CAPTURE(s.budget);
      Rig r(*p);
      CpuStop first = r.cpu->run(InsnCount{s.budget});
      CHECK(first.kind == StopKind::Budget);
      CHECK(first.sync_point);
      CHECK(r.cpu->pc() == kCode + s.offset);
      CHECK(r.cpu->user_insns().value == s.budget);
      CHECK(r.clock.cycles().value == cycles(*p, 0, s.offset));
      CHECK(r.cpu->run(InsnCount{1000}).kind == StopKind::Requested);
      CHECK(r.cpu->user_insns().value == 7);
      CHECK(r.clock.cycles().value == all);  // as if no quantum had ended inside the block
    }
  }
}

TEST_CASE("cpu: a uprobe's breakpoint over an atomic is the atomic's scheduling point, at the "
          "same retired count, and the probe is hit when the task runs on") {
  for (const Program* p : {&kX86, &kArm64}) {
    CAPTURE(p->arch);
    Rig r(*p, true);
    CpuStop first = r.cpu->run(InsnCount{2});
    CHECK(first.kind == StopKind::Budget);
    CHECK(first.sync_point);
    CHECK(r.cpu->pc() == kCode + p->atomic);  // in front of the breakpoint, not past it
    CHECK(r.cpu->user_insns().value == 2);
    CHECK(r.sink.hits == 0);
    CHECK(r.clock.cycles().value == cycles(*p, 0, p->atomic));
    CHECK(r.cpu->sync_ops() == 0);
    // The next quantum starts at the breakpoint: never a stop in front of its first
    // instruction, so the probe is hit; the breakpoint counts as the atomic's point (2 points,
    // it and the syscall, as the unprobed program has).
    CHECK(r.cpu->run(InsnCount{1000}).kind == StopKind::Requested);
    CHECK(r.sink.hits == 1);
    CHECK(r.cpu->user_insns().value == 7);
    CHECK(r.cpu->sync_ops() == 2);
  }
}
