// The arm64 hit path without a CPU: BRK #5 at the probe (pc = the probe), simulation of
// PC-relative and branch instructions, [insn][BRK #6] slots ended by on_ss_trap.
#include <doctest/doctest.h>

#include <cstring>

#include "uprobe_fixture.h"

namespace probesim::probes::test {
namespace {

constexpr uint32_t kWords[] = {
    0xb0000000,  // 00 adrp x0, 0x401000
    0x58007fe1,  // 04 ldr x1, 0x401000
    0xb4000042,  // 08 cbz x2, +8
    0x36080043,  // 0c tbz w3, #1, +8
    0x94000004,  // 10 bl +0x10
    0x54000041,  // 14 b.ne +8
    0xd63f0080,  // 18 blr x4
    0xd65f03c0,  // 1c ret
    0x91000400,  // 20 add x0, x0, #1   (steppable)
    0xd42000a0,  // 24 brk #5           (a trap is already there)
    0xd4000001,  // 28 svc #0           (rejected)
    0xf94000c5,  // 2c ldr x5, [x6]     (steppable)
    0xd503201f,  // 30 nop
    0x98007e67,  // 34 ldrsw x7, 0x401000
};

std::vector<uint8_t> code() {
  std::vector<uint8_t> out(sizeof kWords);
  std::memcpy(out.data(), kWords, sizeof kWords);
  return out;
}

struct Arm64Env {
  Arm64Env() : f(code()), mgr(Arch::AArch64, host) {
    mm = f.exec_mm();
    REQUIRE(mm->mmap(GuestAddr{kText + kPg}, kPg, mmu::kProtRead, mmu::kMapPrivate | mmu::kMapFixed,
                     f.inode, FileOffset{kPg}, mmu::FileMode::ReadOnly) > 0);
    stack = map_stack(*mm);
  }
  Result<Uprobe*> probe(uint64_t off) {
    c.handler = [](UprobeConsumer&, Regs&, uint64_t&) { return 0; };
    return mgr.uprobe_register(*f.inode, FileOffset{off}, c);
  }
  Regs trap(uint64_t off) {
    Regs r(Arch::AArch64);
    r.set_ip(GuestAddr{kText + off});  // BRK does not advance pc
    r.set_sp(stack - 0x100);
    return r;
  }
  Regs run(uint64_t off, const std::function<void(Regs&)>& setup = {}) {
    REQUIRE(probe(off).ok());
    Regs r = trap(off);
    if (setup) setup(r);
    const auto res = mgr.on_breakpoint({}, *mm, r);
    CHECK(res.disposition == UprobeDisposition::Handled);
    CHECK(res.kind == UprobeHitKind::Emulated);
    return r;
  }
  CodeFile f;
  RecordingHost host;
  UprobeManager mgr;
  std::unique_ptr<mmu::Mm> mm;
  uint64_t stack = 0;
  UprobeConsumer c;
};

TEST_CASE("arm64 register: misaligned, BRK #5 already there, rejected instructions") {
  Arm64Env e;
  CHECK(e.probe(2).error().err == EINVAL);
  CHECK(e.probe(0x24).error().err == kEnotsupp);
  CHECK(e.probe(0x28).error().err == EINVAL);  // INSN_REJECTED
  REQUIRE(e.probe(0x00).ok());
  CHECK(peek(*e.mm, kText, 4) == std::vector<uint8_t>{0xa0, 0x00, 0x20, 0xd4});  // BRK #5
}

TEST_CASE("arm64 hit: adrp, ldr/ldrsw literal are simulated at the original pc") {
  const uint64_t data = [] {
    Arm64Env e;
    return read_u64(*e.mm, kText + kPg);
  }();
  CHECK(Arm64Env().run(0x00).x(0) == kText + kPg);
  Regs r = Arm64Env().run(0x04);
  CHECK(r.x(1) == data);
  CHECK(r.ip().value == kText + 0x08);
  Regs s = Arm64Env().run(0x34);
  CHECK(s.x(7) == static_cast<uint64_t>(static_cast<int64_t>(static_cast<int32_t>(data))));
}

TEST_CASE("arm64 hit: cbz, tbz, b.cond, bl, blr, ret and nop are simulated") {
  CHECK(Arm64Env().run(0x08, [](Regs& r) { r.set_x(2, 0); }).ip().value == kText + 0x10);
  CHECK(Arm64Env().run(0x08, [](Regs& r) { r.set_x(2, 5); }).ip().value == kText + 0x0c);
  CHECK(Arm64Env().run(0x0c, [](Regs& r) { r.set_x(3, 0); }).ip().value == kText + 0x14);
  CHECK(Arm64Env().run(0x0c, [](Regs& r) { r.set_x(3, 2); }).ip().value == kText + 0x10);
  CHECK(Arm64Env().run(0x14, [](Regs& r) { r.set_flags(0); }).ip().value == kText + 0x1c);
  CHECK(Arm64Env().run(0x14, [](Regs& r) { r.set_flags(1u << 30); }).ip().value == kText + 0x18);
  Regs bl = Arm64Env().run(0x10);
  CHECK(bl.ip().value == kText + 0x20);
  CHECK(bl.x(30) == kText + 0x14);
  Regs blr = Arm64Env().run(0x18, [](Regs& r) { r.set_x(4, 0x400abc); });
  CHECK(blr.ip().value == 0x400abc);
  CHECK(blr.x(30) == kText + 0x1c);
  CHECK(Arm64Env().run(0x1c, [](Regs& r) { r.set_x(30, 0x400100); }).ip().value == 0x400100);
  CHECK(Arm64Env().run(0x30).ip().value == kText + 0x34);
}

TEST_CASE("arm64 XOL: a steppable instruction runs as [insn][BRK #6], ended by on_ss_trap") {
  Arm64Env e;
  REQUIRE(e.probe(0x20).ok());
  Regs r = e.trap(0x20);
  const auto res = e.mgr.on_breakpoint({}, *e.mm, r);
  CHECK(res.kind == UprobeHitKind::Stepped);
  const uint64_t xol = e.mgr.xol_vaddr(*e.mm)->value;
  CHECK(r.ip().value == xol + 8);  // 8-byte slots; slot 0 is the trampoline
  CHECK(peek(*e.mm, xol, 4) == std::vector<uint8_t>{0xa0, 0x00, 0x20, 0xd4});
  CHECK(peek(*e.mm, xol + 8, 8) ==
        std::vector<uint8_t>{0x00, 0x04, 0x00, 0x91, 0xc0, 0x00, 0x20, 0xd4});
  r.set_ip(GuestAddr{xol + 12});  // the copy ran; BRK #6 traps with pc at it
  const auto done = e.mgr.on_ss_trap({}, *e.mm, r);
  CHECK(done.kind == UprobeHitKind::StepDone);
  CHECK(r.ip().value == kText + 0x24);
  CHECK(e.mgr.on_ss_trap({}, *e.mm, r).disposition == UprobeDisposition::NotOurs);
  e.mgr.verify();
}

}  // namespace
}  // namespace probesim::probes::test
