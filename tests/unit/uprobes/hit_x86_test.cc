// The x86-64 hit path without a CPU: on_breakpoint is called with the registers a trap would
// give (ip after the int3), and the resulting ip, stack, memory and XOL slot are checked.
#include <doctest/doctest.h>

#include "probes/uprobes/x86_uprobes.h"
#include "uprobe_fixture.h"
#include "x86_code.h"

namespace probesim::probes::test {
namespace {

namespace xc = x86code;
using mmu::PageState;

struct HitEnv {
  HitEnv() : f(xc::page()), mgr(Arch::X86_64, host) {
    mm = f.exec_mm();
    REQUIRE(mm->mmap(GuestAddr{kText + kPg}, kPg, mmu::kProtRead, mmu::kMapPrivate | mmu::kMapFixed,
                     f.inode, FileOffset{kPg}, mmu::FileMode::ReadOnly) > 0);
    stack = map_stack(*mm);
    data = read_u64(*mm, kText + kPg);
  }
  // Registers a consumer at off that records the ip its handler sees.
  Uprobe* probe(uint64_t off) {
    c.handler = [this](UprobeConsumer&, Regs& r, uint64_t&) {
      seen_ip = r.ip().value;
      return 0;
    };
    auto u = mgr.uprobe_register(*f.inode, FileOffset{off}, c);
    REQUIRE(u.ok());
    return u.value();
  }
  // The registers of the int3 trap at off: ip after the breakpoint, a stack with room.
  Regs trap(uint64_t off) {
    Regs r(Arch::X86_64);
    r.set_ip(GuestAddr{kText + off + 1});
    r.set_sp(stack - 0x100);
    return r;
  }
  UprobeHitResult hit(Regs& r) { return mgr.on_breakpoint(ctx, *mm, r); }

  CodeFile f;
  RecordingHost host;
  UprobeManager mgr;
  std::unique_ptr<mmu::Mm> mm;
  uint64_t stack = 0, data = 0, seen_ip = 0;
  UprobeConsumer c;
  HitContext ctx{CpuId{0}, TaskId{7}};
};

TEST_CASE("x86 hit: handlers see ip = the probe, push is emulated") {
  HitEnv e;
  e.probe(xc::kPushRbp);
  Regs r = e.trap(xc::kPushRbp);
  r.set(X86Reg::bp, 0x1234);
  const uint64_t sp = r.sp();
  const auto res = e.hit(r);
  CHECK(res.disposition == UprobeDisposition::Handled);
  CHECK(res.kind == UprobeHitKind::Emulated);
  CHECK(e.seen_ip == kText + xc::kPushRbp);
  CHECK(r.ip().value == kText + 1);
  CHECK(r.sp() == sp - 8);
  CHECK(read_u64(*e.mm, sp - 8) == 0x1234);
  CHECK(res.cost.value == 620);  // 310 ns at 2 GHz
  CHECK(e.mgr.uprobes_of(*e.f.inode)[0].nhit == 1);
}

TEST_CASE("x86 hit: push r15, call, jcc, jmp, ret, ret imm16 and loop are emulated") {
  HitEnv e;
  e.probe(xc::kPushR15);
  Regs r = e.trap(xc::kPushR15);
  r.set(X86Reg::r15, 0xf15);
  e.hit(r);
  CHECK(read_u64(*e.mm, r.sp()) == 0xf15);
  CHECK(r.ip().value == kText + xc::kPushR15 + 2);

  HitEnv c;
  c.probe(xc::kCall);
  Regs rc = c.trap(xc::kCall);
  c.hit(rc);
  CHECK(rc.ip().value == kText + 0x20);
  CHECK(read_u64(*c.mm, rc.sp()) == kText + 0x10);

  HitEnv j;
  j.probe(xc::kJe);
  Regs taken = j.trap(xc::kJe), not_taken = j.trap(xc::kJe);
  taken.set_flags(0x246);  // ZF
  not_taken.set_flags(0x202);
  j.hit(taken);
  j.hit(not_taken);
  CHECK(taken.ip().value == kText + 0x17);
  CHECK(not_taken.ip().value == kText + 0x12);

  HitEnv rt;
  rt.probe(xc::kRetImm);
  Regs rr = rt.trap(xc::kRetImm);
  write_u64(*rt.mm, rr.sp(), 0x401234);
  const uint64_t sp = rr.sp();
  rt.hit(rr);
  CHECK(rr.ip().value == 0x401234);
  CHECK(rr.sp() == sp + 16);

  HitEnv l;
  l.probe(xc::kLoop);
  Regs rl = l.trap(xc::kLoop);
  rl.set(X86Reg::cx, 2);
  l.hit(rl);
  CHECK(rl.get(X86Reg::cx) == 1);
  CHECK(rl.ip().value == kText + xc::kLoop);  // taken: back to itself
}

TEST_CASE("x86 hit: indirect calls and jumps through registers and memory are emulated") {
  HitEnv e;
  e.probe(xc::kCallMem);  // call *0x401000(%rip)
  Regs r = e.trap(xc::kCallMem);
  e.hit(r);
  CHECK(r.ip().value == e.data);
  CHECK(read_u64(*e.mm, r.sp()) == kText + xc::kCallMem + 6);

  HitEnv g;
  g.probe(xc::kCallReg);
  Regs rg = g.trap(xc::kCallReg);
  rg.set(X86Reg::ax, 0x400abc);
  g.hit(rg);
  CHECK(rg.ip().value == 0x400abc);
  CHECK(read_u64(*g.mm, rg.sp()) == kText + xc::kCallReg + 2);

  HitEnv t;
  t.probe(xc::kJmpTable);  // jmp *0x401000(,%rax,8)
  Regs rt = t.trap(xc::kJmpTable);
  rt.set(X86Reg::ax, 1);
  const uint64_t sp = rt.sp();
  t.hit(rt);
  CHECK(rt.ip().value == read_u64(*t.mm, kText + kPg + 8));
  CHECK(rt.sp() == sp);
}

TEST_CASE("x86 hit: a RIP-relative load steps from a slot through the rsi scratch register") {
  HitEnv e;
  e.probe(xc::kMovRip);
  Regs r = e.trap(xc::kMovRip);
  r.set(X86Reg::si, 0x5151);
  const auto res = e.hit(r);
  CHECK(res.kind == UprobeHitKind::Stepped);
  const auto xol = e.mgr.xol_vaddr(*e.mm);
  REQUIRE(xol);
  const uint64_t slot = xol->value + 128;  // slot 0 is the trampoline
  CHECK(r.ip().value == slot);
  CHECK(e.mgr.xol_slot(e.ctx.task)->value == slot);
  // mov 0xff5(%rip),%rax became mov 0xff5(%rsi),%rax, followed by int3.
  CHECK(peek(*e.mm, slot, 8) ==
        std::vector<uint8_t>{0x48, 0x8b, 0x86, 0xf5, 0x0f, 0x00, 0x00, 0xcc});
  CHECK(r.get(X86Reg::si) == kText + xc::kMovRip + 7);  // the RIP base
  CHECK(e.host.invalidated(*e.mm, slot));
  // The copy runs (the CPU would load [rsi + 0xff5] = the data word), then traps.
  r.set(X86Reg::ax, read_u64(*e.mm, r.get(X86Reg::si) + 0xff5));
  r.set_ip(GuestAddr{slot + 8});
  const auto done = e.hit(r);
  CHECK(done.kind == UprobeHitKind::StepDone);
  CHECK(done.cost.value == 1176);  // 588 ns
  CHECK(r.ip().value == kText + xc::kMovRip + 7);
  CHECK(r.get(X86Reg::si) == 0x5151);  // restored
  CHECK(r.get(X86Reg::ax) == e.data);
  CHECK_FALSE(e.mgr.xol_slot(e.ctx.task));
  e.mgr.verify();
}

TEST_CASE("x86 XOL: the scratch register avoids the operands (rdi for rsi, rsi for VEX)") {
  HitEnv e;
  UprobeConsumer a, b, c, d;
  for (UprobeConsumer* x : {&a, &b, &c, &d})
    x->handler = [](UprobeConsumer&, Regs&, uint64_t&) { return 0; };
  auto slot_of = [&](uint64_t off, UprobeConsumer& k) {
    REQUIRE(e.mgr.uprobe_register(*e.f.inode, FileOffset{off}, k).ok());
    return e.mgr.uprobes_of(*e.f.inode);
  };
  slot_of(xc::kMovRsiRip, a);
  slot_of(xc::kLeaRbx, b);
  slot_of(xc::kVex, c);
  const auto info = slot_of(xc::kAdd, d);
  auto ixol = [&](uint64_t off) {
    for (const auto& i : info)
      if (i.offset.value == off) return i.ixol;
    return std::vector<uint8_t>{};
  };
  // mov %rsi,disp(%rip): reg is rsi, so rdi: modrm 10 110 111.
  CHECK(ixol(xc::kMovRsiRip) ==
        std::vector<uint8_t>{0x48, 0x89, 0xb7, 0xcd, 0x0f, 0x00, 0x00, 0xcc});
  CHECK(ixol(xc::kLeaRbx) == std::vector<uint8_t>{0x48, 0x8d, 0x9e, 0xb0, 0x0f, 0x00, 0x00, 0xcc});
  CHECK(ixol(xc::kVex) ==
        std::vector<uint8_t>{0xc5, 0xfa, 0x7f, 0x86, 0xa6, 0x0f, 0x00, 0x00, 0xcc});
  CHECK(ixol(xc::kAdd) == std::vector<uint8_t>{0x48, 0x83, 0xc0, 0x01, 0xcc});
  for (const auto& i : info) CHECK(i.emulated == i.ixol.empty());
}

TEST_CASE("x86 analyze: VEX instructions are checked by their opcode byte, as Linux does") {
  // Linux's decoder reports the byte after the VEX prefix as OPCODE1: vmovdqu load (6f)
  // collides with outs (6f, not in good_insns_64) and is refused; the store (7f) is fine.
  x86::X86Uprobes x;
  const uint8_t load[] = {0xc5, 0xfa, 0x6f, 0x05, 0, 0, 0, 0};
  const uint8_t store[] = {0xc5, 0xfa, 0x7f, 0x05, 0, 0, 0, 0};
  CHECK(x.analyze(load, GuestAddr{kText}).error().err == kEnotsupp);
  CHECK(x.analyze(store, GuestAddr{kText}).ok());
}

TEST_CASE("x86 XOL: the [uprobes] page is a VMA of the mm with the trampoline in slot 0") {
  HitEnv e;
  e.probe(xc::kAdd);
  Regs r = e.trap(xc::kAdd);
  e.hit(r);
  const auto xol = e.mgr.xol_vaddr(*e.mm);
  REQUIRE(xol);
  CHECK(*xol == mmu::test::kLayout.task_size - kPg);
  const mmu::Vma* v = e.mm->vma_at(*xol);
  REQUIRE(v);
  CHECK(v->name == "[uprobes]");
  CHECK(v->vm_flags == (mmu::VM_EXEC | mmu::VM_MAYEXEC | mmu::VM_DONTCOPY | mmu::VM_IO));
  CHECK(peek(*e.mm, xol->value, 1) == std::vector<uint8_t>{0xcc});
  e.mm->verify();
}

TEST_CASE("x86 hit: a fault in the XOL copy is reported at the probe address") {
  HitEnv e;
  e.probe(xc::kMovRip);
  Regs r = e.trap(xc::kMovRip);
  r.set(X86Reg::si, 0x77);
  e.hit(r);
  CHECK(e.mgr.on_fault(e.ctx, *e.mm, r));
  CHECK(r.ip().value == kText + xc::kMovRip);
  CHECK(r.get(X86Reg::si) == 0x77);
  CHECK_FALSE(e.mgr.xol_slot(e.ctx.task));
  CHECK_FALSE(e.mgr.on_fault(e.ctx, *e.mm, r));  // not stepping any more
  e.mgr.verify();
}

TEST_CASE("x86 hit: the program's own int3 is not ours, a vanished probe restarts") {
  HitEnv e;
  Uprobe* u = e.probe(xc::kNop);
  Regs own = e.trap(xc::kInt3);
  CHECK(e.hit(own).disposition == UprobeDisposition::NotOurs);
  e.mgr.uprobe_unregister(u, e.c);
  Regs stale = e.trap(xc::kNop);  // a trap raised just before the unregister
  const auto res = e.hit(stale);
  CHECK(res.kind == UprobeHitKind::Restarted);
  CHECK(stale.ip().value == kText + xc::kNop);
}

TEST_CASE("x86 hit: an emulated push that cannot write the stack is a fault at the probe") {
  HitEnv e;
  e.probe(xc::kPushRbp);
  Regs r = e.trap(xc::kPushRbp);
  r.set_sp(0x10000);
  const auto res = e.hit(r);
  CHECK(res.disposition == UprobeDisposition::Fault);
  CHECK(res.fault_addr.value == 0x10000 - 8);
  CHECK(r.ip().value == kText + xc::kPushRbp);
  CHECK(r.sp() == 0x10000);
}

TEST_CASE("x86 hit: UPROBE_HANDLER_REMOVE removes the breakpoint from this mm only") {
  HitEnv e;
  auto other = e.f.exec_mm();
  bool want_all = true;
  e.c.handler = [](UprobeConsumer&, Regs&, uint64_t&) { return UPROBE_HANDLER_REMOVE; };
  e.c.filter = [&](UprobeConsumer&, const mmu::Mm& mm) { return want_all || &mm == other.get(); };
  REQUIRE(e.mgr.uprobe_register(*e.f.inode, FileOffset{xc::kNop}, e.c).ok());
  CHECK(peek(*e.mm, kText + xc::kNop, 1) == std::vector<uint8_t>{0xcc});
  want_all = false;  // the consumer no longer wants e.mm; its next hit there asks for removal
  Regs r = e.trap(xc::kNop);
  CHECK(e.hit(r).disposition == UprobeDisposition::Handled);
  CHECK(e.mm->page_state(GuestAddr{kText}) == PageState::PageCache);
  CHECK(peek(*other, kText + xc::kNop, 1) == std::vector<uint8_t>{0xcc});
}

TEST_CASE("x86 hit: a handler that moves ip takes execution elsewhere (no step)") {
  HitEnv e;
  e.c.handler = [](UprobeConsumer&, Regs& r, uint64_t&) {
    r.set_ip(GuestAddr{0x400abc});
    return 0;
  };
  REQUIRE(e.mgr.uprobe_register(*e.f.inode, FileOffset{xc::kMovRip}, e.c).ok());
  Regs r = e.trap(xc::kMovRip);
  const auto res = e.hit(r);
  CHECK(res.kind == UprobeHitKind::Emulated);
  CHECK(r.ip().value == 0x400abc);
  CHECK_FALSE(e.mgr.xol_vaddr(*e.mm));  // no XOL area was needed
}

}  // namespace
}  // namespace probesim::probes::test
