// Differential tests, x86-64: every instruction kind kprobes emulates is run once by Unicorn
// (the reference CPU) and once by the engine's emulation, from many seeded random register,
// flag and stack states; registers and stack must agree exactly. Then out-of-line copies
// (RIP-relative ones rebased) run at the slot address and must match the original.
#include <doctest/doctest.h>

#include <cerrno>
#include <cstring>
#include <functional>
#include <random>
#include <vector>

#include "probes/arch/x86_64/x86_kprobes.h"
#include "raw_cpu.h"

using namespace probesim;
using namespace probesim::probes;
using namespace probesim::probes::test;

namespace {

constexpr uint64_t kCode = 0xffffffff81000000;  // code page; data window at +0x8000
constexpr uint64_t kData = kCode + 0x8000;
constexpr uint64_t kStack = 0xffffc90000000000;
constexpr uint64_t kSp = kStack + 0x1000;
constexpr uint64_t kSlot = 0xffffffffa0000000;  // the insn slot page (within 2 GiB)
constexpr int kStates = 64;
constexpr uint64_t kArithFlags = 0x8d5;  // CF PF AF ZF SF OF
constexpr uint64_t kIF = 0x200, kDF = 0x400;

using Gen = std::function<std::vector<uint8_t>(std::mt19937_64&)>;

struct Fixture {
  Fixture() : cpu(Arch::X86_64) {
    cpu.map(kCode, 0x10000);
    cpu.map(kStack, 0x2000);
    cpu.map(kSlot, 0x1000);
  }
  RawCpu cpu;
  x86::X86Kprobes arch;
};

void append32(std::vector<uint8_t>& v, uint32_t x) {
  for (int i = 0; i < 4; ++i) v.push_back(static_cast<uint8_t>(x >> (8 * i)));
}

Regs random_state(std::mt19937_64& rng, uint64_t ip) {
  Regs r(Arch::X86_64);
  for (unsigned i = 0; i < static_cast<unsigned>(X86Reg::kCount); ++i) {
    if (i == static_cast<unsigned>(X86Reg::orig_ax) || i == static_cast<unsigned>(X86Reg::cs) ||
        i == static_cast<unsigned>(X86Reg::ss)) {
      continue;
    }
    r.set(i, rng());
  }
  // Counters near the interesting edges for loop/jcxz: 0, 1, small, low 32 bits zero.
  switch (rng() % 4) {
    case 0: r.set(X86Reg::cx, rng() % 3); break;
    case 1: r.set(X86Reg::cx, (rng() << 32) | (rng() % 3)); break;
    default: break;
  }
  r.set_sp(kSp - 8 * (rng() % 16));
  r.set_flags(0x2 | (rng() & (kArithFlags | kIF | kDF)));
  r.set_ip(GuestAddr{ip});
  return r;
}

void randomize_stack(RawCpu& cpu, std::mt19937_64& rng) {
  std::vector<uint8_t> s(0x400);
  for (auto& b : s) b = static_cast<uint8_t>(rng());
  cpu.write(kSp - 0x200, s.data(), s.size());
}

std::vector<uint8_t> stack_bytes(RawCpu& cpu) {
  std::vector<uint8_t> s(0x400);
  cpu.read(kSp - 0x200, s.data(), s.size());
  return s;
}

std::vector<uint8_t> stack_bytes(const SparseMemory& m) {
  std::vector<uint8_t> s(0x400);
  REQUIRE(m.read(GuestAddr{kSp - 0x200}, s));
  return s;
}

// Reference step vs emulate(), kStates random states.
void diff(const char* what, const Gen& gen, uint64_t seed) {
  Fixture f;
  std::mt19937_64 rng(seed);
  for (int n = 0; n < kStates; ++n) {
    const auto insn = gen(rng);
    f.cpu.write(kCode, insn.data(), insn.size());
    randomize_stack(f.cpu, rng);
    SparseMemory mem;
    f.cpu.snapshot(mem);
    const Regs init = random_state(rng, kCode);
    Regs want = init;
    f.cpu.step(want);

    auto ai = f.arch.analyze(GuestAddr{kCode}, insn);
    REQUIRE_MESSAGE(ai.ok(), what);
    REQUIRE_MESSAGE(ai->step == StepKind::Emulate, what);
    Regs got = init;
    got.set_ip(GuestAddr{kCode + 1});  // as the int3 trap reports it
    const auto r = f.arch.emulate(*ai, GuestAddr{kCode}, got, mem);
    REQUIRE(r.ok);
    INFO(what, " state ", n, ":", regs_diff(want, got));
    CHECK(want == got);
    CHECK(stack_bytes(f.cpu) == stack_bytes(mem));
  }
}

Gen fixed(std::vector<uint8_t> bytes) {
  return [bytes](std::mt19937_64&) { return bytes; };
}

}  // namespace

TEST_CASE("x86 emulation matches Unicorn: jcc rel8, all 16 conditions") {
  for (uint8_t cc = 0; cc < 16; ++cc) {
    CAPTURE(int(cc));
    diff("jcc rel8", [cc](std::mt19937_64& rng) {
      return std::vector<uint8_t>{static_cast<uint8_t>(0x70 | cc), static_cast<uint8_t>(rng())};
    }, 100 + cc);
  }
}

TEST_CASE("x86 emulation matches Unicorn: jcc rel32 (0f 8x), all 16 conditions") {
  for (uint8_t cc = 0; cc < 16; ++cc) {
    CAPTURE(int(cc));
    diff("jcc rel32", [cc](std::mt19937_64& rng) {
      std::vector<uint8_t> v{0x0f, static_cast<uint8_t>(0x80 | cc)};
      append32(v, static_cast<uint32_t>(rng()));
      return v;
    }, 200 + cc);
  }
}

TEST_CASE("x86 emulation matches Unicorn: jmp rel8/rel32 and call rel32") {
  diff("jmp rel8", [](std::mt19937_64& rng) {
    return std::vector<uint8_t>{0xeb, static_cast<uint8_t>(rng())};
  }, 1);
  for (uint8_t op : {0xe9, 0xe8}) {
    diff(op == 0xe9 ? "jmp rel32" : "call rel32", [op](std::mt19937_64& rng) {
      std::vector<uint8_t> v{op};
      append32(v, static_cast<uint32_t>(rng()));
      return v;
    }, op);
  }
}

TEST_CASE("x86 emulation matches Unicorn: ret and ret imm16") {
  diff("ret", fixed({0xc3}), 2);
  diff("ret imm16", [](std::mt19937_64& rng) {
    const uint16_t imm = static_cast<uint16_t>(rng() % 0x100) & ~7u;  // stays in the stack window
    return std::vector<uint8_t>{0xc2, static_cast<uint8_t>(imm), static_cast<uint8_t>(imm >> 8)};
  }, 3);
}

TEST_CASE("x86 emulation matches Unicorn: loop, loope, loopne, jrcxz (64- and 32-bit counters)") {
  for (uint8_t op : {0xe0, 0xe1, 0xe2, 0xe3}) {
    for (bool addr32 : {false, true}) {
      CAPTURE(int(op));
      CAPTURE(addr32);
      diff("loop/jcxz", [op, addr32](std::mt19937_64& rng) {
        std::vector<uint8_t> v;
        if (addr32) v.push_back(0x67);
        v.push_back(op);
        v.push_back(static_cast<uint8_t>(rng()));
        return v;
      }, 300 + op + addr32);
    }
  }
}

TEST_CASE("x86 emulation matches Unicorn: call/jmp through each of the 16 registers") {
  for (uint8_t ext : {2, 4}) {
    for (uint8_t reg = 0; reg < 16; ++reg) {
      CAPTURE(int(ext));
      CAPTURE(int(reg));
      std::vector<uint8_t> v;
      if (reg >= 8) v.push_back(0x41);
      v.push_back(0xff);
      v.push_back(static_cast<uint8_t>(0xc0 | (ext << 3) | (reg & 7)));
      diff("call/jmp reg", fixed(v), 400 + ext * 16 + reg);
    }
  }
}

TEST_CASE("x86 emulation matches Unicorn: cli, sti, pushf, popf") {
  diff("cli", fixed({0xfa}), 5);
  diff("sti", fixed({0xfb}), 6);
  diff("pushf", fixed({0x9c}), 7);
  diff("popf", fixed({0x9d}), 8);
}

namespace {

// An instruction whose RIP-relative operand (if any) lands in the data window.
struct XolCase {
  const char* name;
  std::vector<uint8_t> prefix;  // bytes before disp32 (empty: not RIP-relative)
  std::vector<uint8_t> suffix;  // bytes after disp32 (immediates)
  std::vector<uint8_t> plain;   // a non-RIP-relative instruction (when prefix is empty)
};

std::vector<uint8_t> materialize(const XolCase& c, std::mt19937_64& rng) {
  if (c.prefix.empty()) return c.plain;
  std::vector<uint8_t> v = c.prefix;
  const uint64_t len = c.prefix.size() + 4 + c.suffix.size();
  const uint64_t target = kData + (rng() % 0x700);
  append32(v, static_cast<uint32_t>(target - (kCode + len)));
  v.insert(v.end(), c.suffix.begin(), c.suffix.end());
  return v;
}

const XolCase kXolCases[] = {
    {"mov rax,[rip+d]", {0x48, 0x8b, 0x05}, {}, {}},
    {"mov [rip+d],rcx", {0x48, 0x89, 0x0d}, {}, {}},
    {"lea rdx,[rip+d]", {0x48, 0x8d, 0x15}, {}, {}},
    {"cmp dword [rip+d],5", {0x83, 0x3d}, {0x05}, {}},
    {"mov dword [rip+d],imm32", {0xc7, 0x05}, {0x78, 0x56, 0x34, 0x12}, {}},
    {"add rax,[rip+d]", {0x48, 0x03, 0x05}, {}, {}},
    {"push qword [rip+d]", {0xff, 0x35}, {}, {}},
    {"movzx eax,byte [rip+d]", {0x0f, 0xb6, 0x05}, {}, {}},
    {"lock cmpxchg [rip+d],rcx", {0xf0, 0x48, 0x0f, 0xb1, 0x0d}, {}, {}},
    {"add rax,rcx", {}, {}, {0x48, 0x01, 0xc8}},
    {"imul rax,rbx", {}, {}, {0x48, 0x0f, 0xaf, 0xc3}},
    {"mul rcx", {}, {}, {0x48, 0xf7, 0xe1}},
    {"push rax", {}, {}, {0x50}},
    {"pop rbx", {}, {}, {0x5b}},
    {"add rsp,8", {}, {}, {0x48, 0x83, 0xc4, 0x08}},
    {"movabs rbp,imm64", {}, {}, {0x48, 0xbd, 1, 2, 3, 4, 5, 6, 7, 8}},
};

}  // namespace

TEST_CASE("x86 XOL: slot copies (RIP-relative rebased) compute what the original computes") {
  Fixture f;
  std::mt19937_64 rng(42);
  for (const auto& c : kXolCases) {
    for (bool boosted : {false, true}) {
      for (int n = 0; n < 16; ++n) {
        CAPTURE(c.name);
        CAPTURE(boosted);
        const auto insn = materialize(c, rng);
        auto ai = f.arch.analyze(GuestAddr{kCode}, insn);
        REQUIRE(ai.ok());
        REQUIRE(ai->step == StepKind::Slot);
        CHECK((ai->disp_offset != 0) == !c.prefix.empty());
        if (boosted && !ai->boostable) continue;
        auto slot = f.arch.slot_contents(*ai, GuestAddr{kCode}, GuestAddr{kSlot}, boosted);
        REQUIRE(slot.ok());
        CHECK(slot->size() == insn.size() + (boosted ? 5 : 1));
        // Same initial memory for both runs.
        f.cpu.write(kCode, insn.data(), insn.size());
        std::vector<uint8_t> data(0x800);
        for (auto& b : data) b = static_cast<uint8_t>(rng());
        randomize_stack(f.cpu, rng);
        const auto stack0 = stack_bytes(f.cpu);
        const Regs init = random_state(rng, kCode);
        f.cpu.write(kData, data.data(), data.size());
        Regs want = init;
        f.cpu.step(want);
        std::vector<uint8_t> data_want(0x800), data_got(0x800);
        f.cpu.read(kData, data_want.data(), data_want.size());
        const auto stack_want = stack_bytes(f.cpu);

        f.cpu.write(kData, data.data(), data.size());
        f.cpu.write(kSp - 0x200, stack0.data(), stack0.size());
        f.cpu.write(kSlot, slot->data(), slot->size());
        Regs got = init;
        got.set_ip(GuestAddr{kSlot});
        f.cpu.step(got, boosted ? 2 : 1);  // boosted: the insn, then the jmp back
        f.cpu.read(kData, data_got.data(), data_got.size());
        if (!boosted) got.set_ip(got.ip() - kSlot + kCode);  // what resume_singlestep does
        INFO(regs_diff(want, got));
        CHECK(want == got);
        CHECK(data_want == data_got);
        CHECK(stack_want == stack_bytes(f.cpu));
      }
    }
  }
}

TEST_CASE("x86 XOL: a RIP-relative copy whose slot is beyond 2 GiB is refused (-EINVAL)") {
  x86::X86Kprobes arch;
  std::vector<uint8_t> insn{0x48, 0x8b, 0x05, 0, 0, 0, 0};
  auto ai = arch.analyze(GuestAddr{kCode}, insn);
  REQUIRE(ai.ok());
  auto far = arch.slot_contents(*ai, GuestAddr{kCode}, GuestAddr{kCode - 0x90000000ull}, false);
  REQUIRE(!far.ok());
  CHECK(far.error().err == EINVAL);
}
