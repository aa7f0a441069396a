// Differential tests, AArch64: every instruction kind kprobes simulates is run once by Unicorn
// and once by the engine's simulation, from many seeded random register and NZCV states, and
// must agree exactly (x0..x30, sp, pc, pstate). Then steppable instructions run from their
// [insn][BRK #6] slot and must match running at the original address.
#include <doctest/doctest.h>

#include <cerrno>
#include <cstring>
#include <functional>
#include <random>
#include <vector>

#include "probes/arch/arm64/arm64_insn.h"
#include "probes/arch/arm64/arm64_kprobes.h"
#include "raw_cpu.h"

using namespace probesim;
using namespace probesim::probes;
using namespace probesim::probes::test;

namespace {

constexpr uint64_t kCode = 0xffff800010000000;  // 1 MiB window: code at +512 KiB
constexpr uint64_t kWindow = kCode - 0x80000;
constexpr uint64_t kStack = 0xffff800020000000;
constexpr uint64_t kSlot = 0xffff800008000000;
constexpr int kStates = 64;

using Gen = std::function<uint32_t(std::mt19937_64&)>;

struct Fixture {
  Fixture() : cpu(Arch::AArch64) {
    cpu.map(kWindow, 0x100000);
    cpu.map(kStack, 0x2000);
    cpu.map(kSlot, 0x1000);
    // Random literal pool around the code (ldr literal reaches +-1 MiB; we keep +-256 KiB).
    std::mt19937_64 rng(7);
    std::vector<uint8_t> junk(0x100000);
    for (auto& b : junk) b = static_cast<uint8_t>(rng());
    cpu.write(kWindow, junk.data(), junk.size());
  }
  RawCpu cpu;
  arm64::Arm64Kprobes arch;
};

Regs random_state(std::mt19937_64& rng, uint64_t pc) {
  Regs r(Arch::AArch64);
  for (unsigned i = 0; i <= 30; ++i) {
    // Some zeros and single-bit patterns so cbz/tbz see both outcomes.
    const uint64_t v = rng();
    switch (rng() % 6) {
      case 0: r.set_x(i, 0); break;
      case 1: r.set_x(i, v & 0xffffffff00000000ull); break;
      case 2: r.set_x(i, uint64_t{1} << (v % 64)); break;
      default: r.set_x(i, v); break;
    }
  }
  r.set_sp(kStack + 0x1000);
  r.set_flags((rng() & 0xf0000000ull) | 0x3c5);
  r.set_ip(GuestAddr{pc});
  return r;
}

void diff(const char* what, const Gen& gen, uint64_t seed) {
  Fixture f;
  SparseMemory mem;  // simulation memory: the same window (simulation never writes memory)
  f.cpu.snapshot(mem);
  std::mt19937_64 rng(seed);
  for (int n = 0; n < kStates; ++n) {
    const uint32_t word = gen(rng);
    f.cpu.write(kCode, &word, 4);
    uint8_t wb[4];
    std::memcpy(wb, &word, 4);
    REQUIRE(mem.write(GuestAddr{kCode}, wb));
    const Regs init = random_state(rng, kCode);
    Regs want = init;
    f.cpu.step(want);
    uint8_t b[4];
    std::memcpy(b, &word, 4);
    auto ai = f.arch.analyze(GuestAddr{kCode}, b);
    INFO(what, " word ", word);
    REQUIRE(ai.ok());
    REQUIRE(ai->step == StepKind::Emulate);
    Regs got = init;
    const auto r = f.arch.emulate(*ai, GuestAddr{kCode}, got, mem);
    REQUIRE(r.ok);
    INFO("state ", n, ":", regs_diff(want, got));
    CHECK(want == got);
  }
}

uint32_t imm(std::mt19937_64& rng, unsigned bits) {
  return static_cast<uint32_t>(rng() & ((1u << bits) - 1));
}
uint32_t reg(std::mt19937_64& rng) { return static_cast<uint32_t>(rng() % 32); }
// A literal offset (imm19 words) within +-256 KiB of the code.
uint32_t near_imm19(std::mt19937_64& rng) {
  const int32_t words = static_cast<int32_t>(rng() % 0x20000) - 0x10000;
  return static_cast<uint32_t>(words) & 0x7ffff;
}

}  // namespace

TEST_CASE("arm64 simulation matches Unicorn: b.cond, all 16 conditions") {
  for (uint32_t cond = 0; cond < 16; ++cond) {
    CAPTURE(cond);
    diff("b.cond", [cond](std::mt19937_64& rng) {
      return 0x54000000u | imm(rng, 19) << 5 | cond;
    }, 100 + cond);
  }
}

TEST_CASE("arm64 simulation matches Unicorn: cbz/cbnz on W and X registers") {
  for (uint32_t sf : {0u, 1u}) {
    for (uint32_t nz : {0u, 1u}) {
      diff("cbz/cbnz", [sf, nz](std::mt19937_64& rng) {
        return sf << 31 | 0x34000000u | nz << 24 | imm(rng, 19) << 5 | reg(rng);
      }, 200 + sf * 2 + nz);
    }
  }
}

TEST_CASE("arm64 simulation matches Unicorn: tbz/tbnz on every bit") {
  for (uint32_t nz : {0u, 1u}) {
    diff("tbz/tbnz", [nz](std::mt19937_64& rng) {
      const uint32_t bit = static_cast<uint32_t>(rng() % 64);
      return (bit >> 5) << 31 | 0x36000000u | nz << 24 | (bit & 31) << 19 | imm(rng, 14) << 5 |
             reg(rng);
    }, 300 + nz);
  }
}

TEST_CASE("arm64 simulation matches Unicorn: adr and adrp") {
  for (uint32_t op : {0u, 1u}) {
    diff(op ? "adrp" : "adr", [op](std::mt19937_64& rng) {
      return op << 31 | imm(rng, 2) << 29 | 0x10000000u | imm(rng, 19) << 5 | reg(rng);
    }, 400 + op);
  }
}

TEST_CASE("arm64 simulation matches Unicorn: b and bl") {
  diff("b", [](std::mt19937_64& rng) { return 0x14000000u | imm(rng, 26); }, 500);
  diff("bl", [](std::mt19937_64& rng) { return 0x94000000u | imm(rng, 26); }, 501);
}

TEST_CASE("arm64 simulation matches Unicorn: br, blr (including blr x30), ret") {
  for (uint32_t base : {0xd61f0000u, 0xd63f0000u, 0xd65f0000u}) {
    for (uint32_t rn = 0; rn < 32; ++rn) {
      CAPTURE(base);
      CAPTURE(rn);
      diff("br/blr/ret", [base, rn](std::mt19937_64&) { return base | rn << 5; }, base + rn);
    }
  }
}

TEST_CASE("arm64 simulation matches Unicorn: ldr literal (X, W) and ldrsw literal") {
  diff("ldr x lit", [](std::mt19937_64& rng) {
    return 0x58000000u | near_imm19(rng) << 5 | reg(rng);
  }, 600);
  diff("ldr w lit", [](std::mt19937_64& rng) {
    return 0x18000000u | near_imm19(rng) << 5 | reg(rng);
  }, 601);
  diff("ldrsw lit", [](std::mt19937_64& rng) {
    return 0x98000000u | near_imm19(rng) << 5 | reg(rng);
  }, 602);
}

TEST_CASE("arm64 simulation matches Unicorn: nop") {
  diff("nop", [](std::mt19937_64&) { return arm64::kNop.value; }, 700);
}

TEST_CASE("arm64 XOL: [insn][BRK #6] slot copies compute what the original computes") {
  // add, madd, ldr/str/ldp/stp (sp-relative and writeback), mrs nzcv, csel, eor, lsl.
  const uint32_t kSteppable[] = {
      0x8b020020,  // add x0, x1, x2
      0x9b030c41,  // madd x1, x2, x3, x3
      0xf94007e4,  // ldr x4, [sp, #8]
      0xf90013e5,  // str x5, [sp, #32]
      0xa9bf7bfd,  // stp x29, x30, [sp, #-16]!
      0xa8c17bfd,  // ldp x29, x30, [sp], #16
      0xd53b4206,  // mrs x6, nzcv
      0x9a871107,  // csel x7, x8, x7, ne
      0xca090128,  // eor x8, x9, x9
      0xd37ef549,  // lsl x9, x10, #2
      0xb100055f,  // cmn x10, #1 (sets flags)
  };
  Fixture f;
  std::mt19937_64 rng(9);
  for (uint32_t word : kSteppable) {
    CAPTURE(word);
    uint8_t b[4];
    std::memcpy(b, &word, 4);
    auto ai = f.arch.analyze(GuestAddr{kCode}, b);
    REQUIRE(ai.ok());
    REQUIRE(ai->step == StepKind::Slot);
    auto slot = f.arch.slot_contents(*ai, GuestAddr{kCode}, GuestAddr{kSlot}, false);
    REQUIRE(slot.ok());
    uint32_t ss;
    std::memcpy(&ss, slot->data() + 4, 4);
    CHECK(ss == arm64::kBrkKprobesSs);
    for (int n = 0; n < 16; ++n) {
      std::vector<uint8_t> stack(0x2000);
      for (auto& x : stack) x = static_cast<uint8_t>(rng());
      const Regs init = random_state(rng, kCode);
      f.cpu.write(kCode, &word, 4);
      f.cpu.write(kStack, stack.data(), stack.size());
      Regs want = init;
      f.cpu.step(want);
      std::vector<uint8_t> stack_want(0x2000), stack_got(0x2000);
      f.cpu.read(kStack, stack_want.data(), stack_want.size());
      f.cpu.write(kStack, stack.data(), stack.size());
      f.cpu.write(kSlot, slot->data(), slot->size());
      Regs got = init;
      got.set_ip(GuestAddr{kSlot});
      f.cpu.step(got);
      f.cpu.read(kStack, stack_got.data(), stack_got.size());
      got.set_ip(got.ip() - kSlot + kCode);  // post_kprobe_handler: pc = restore
      INFO(regs_diff(want, got));
      CHECK(want == got);
      CHECK(stack_want == stack_got);
    }
  }
}

TEST_CASE("arm64 decoding: what is stepped, simulated and rejected") {
  arm64::Arm64Kprobes arch;
  auto kind = [&](uint32_t w) -> int {  // 0 slot, 1 simulated, -errno rejected
    uint8_t b[4];
    std::memcpy(b, &w, 4);
    auto r = arch.analyze(GuestAddr{kCode}, b);
    if (!r) return -r.error().err;
    return r->step == StepKind::Slot ? 0 : 1;
  };
  CHECK(kind(0x8b020020) == 0);   // add
  CHECK(kind(0xd503201f) == 1);   // nop (simulated, Linux 6.x)
  CHECK(kind(0xd503233f) == 0);   // paciasp: a steppable hint
  CHECK(kind(0xd503209f) == -EINVAL);  // sev: a hint not on the list
  CHECK(kind(0xd53b4220) == -EINVAL);  // mrs x0, daif (masked during the step)
  CHECK(kind(0xd53b4200) == 0);   // mrs x0, nzcv
  CHECK(kind(0xd50342df) == -EINVAL);  // msr daifset, #2
  CHECK(kind(0xd4000001) == -EINVAL);  // svc #0
  CHECK(kind(0xd4200080) == -EINVAL);  // brk #4
  CHECK(kind(0xd69f03e0) == -EINVAL);  // eret
  CHECK(kind(0xc85f7c20) == -EINVAL);  // ldxr x0, [x1]
  CHECK(kind(0xc8027c20) == -EINVAL);  // stxr w2, x0, [x1]
  CHECK(kind(0xd8000040) == -EINVAL);  // prfm literal
  CHECK(kind(0x5c000040) == -EINVAL);  // ldr d0, literal (FP): probesim refuses, Linux steps
  CHECK(kind(0xd65f0bff) == -EINVAL);  // retaa
  CHECK(kind(0x54000040) == 1);   // b.eq
  CHECK(kind(0xb4000040) == 1);   // cbz
  CHECK(kind(0x36000040) == 1);   // tbz
  CHECK(kind(0x90000000) == 1);   // adrp
  CHECK(kind(0x94000000) == 1);   // bl
  CHECK(kind(0xd63f0200) == 1);   // blr x16
  CHECK(kind(0x58000040) == 1);   // ldr x0, literal
  CHECK(kind(0x98000040) == 1);   // ldrsw literal
}
