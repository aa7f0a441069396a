// uretprobes without a CPU: return-address hijack, the trampoline in slot 0, chained probes
// on one frame, recursion, longjmp cleanup (at the next call and at the trampoline), the
// depth limit, fork with pending instances, and arm64's x30.
#include <doctest/doctest.h>

#include "uprobe_fixture.h"
#include "x86_code.h"

namespace probesim::probes::test {
namespace {

namespace xc = x86code;

struct RetEnv {
  explicit RetEnv(uint64_t off = xc::kNop) : f(xc::page()), mgr(Arch::X86_64, host) {
    mm = f.exec_mm();
    stack = map_stack(*mm);
    c.ret_handler = [this](UprobeConsumer&, GuestAddr func, Regs& r, uint64_t& cookie) {
      returns.push_back({func.value, r.ip().value, r.return_value(), cookie});
    };
    c.handler = [](UprobeConsumer&, Regs& r, uint64_t& cookie) {
      cookie = r.sp();
      return 0;
    };
    u = mgr.uprobe_register(*f.inode, FileOffset{off}, c).value();
  }
  // Function entry at the probe: sp = frame, [sp] = ret.
  void enter(uint64_t off, uint64_t sp, uint64_t ret) {
    write_u64(*mm, sp, ret);
    Regs r(Arch::X86_64);
    r.set_ip(GuestAddr{kText + off + 1});
    r.set_sp(sp);
    REQUIRE(mgr.on_breakpoint(ctx, *mm, r).disposition == UprobeDisposition::Handled);
  }
  // The function's `ret` popped the trampoline: ip after its int3, sp above the slot.
  UprobeHitResult leave(uint64_t sp_after, uint64_t retval, uint64_t* ip = nullptr) {
    Regs r(Arch::X86_64);
    r.set_ip(tramp() + 1);
    r.set_sp(sp_after);
    r.set(X86Reg::ax, retval);
    const auto res = mgr.on_breakpoint(ctx, *mm, r);
    if (ip) *ip = r.ip().value;
    return res;
  }
  GuestAddr tramp() const { return *mgr.xol_vaddr(*mm); }
  size_t depth() const { return mgr.return_instances(ctx.task).size(); }

  struct Ret {
    uint64_t func, ip, value, cookie;
  };
  CodeFile f;
  RecordingHost host;
  UprobeManager mgr;
  std::unique_ptr<mmu::Mm> mm;
  uint64_t stack = 0;
  UprobeConsumer c;
  Uprobe* u = nullptr;
  std::vector<Ret> returns;
  HitContext ctx{CpuId{0}, TaskId{3}};
};

TEST_CASE("uretprobe: the return address is hijacked and ret_handler sees the real return") {
  RetEnv e;
  const uint64_t sp = e.stack - 0x100;
  e.enter(xc::kNop, sp, 0x401234);
  CHECK(read_u64(*e.mm, sp) == e.tramp().value);  // [sp] = the trampoline (slot 0)
  REQUIRE(e.depth() == 1);
  CHECK(e.mgr.return_instances(e.ctx.task)[0].orig_ret_vaddr.value == 0x401234);
  uint64_t ip = 0;
  const auto res = e.leave(sp + 8, 42, &ip);
  CHECK(res.kind == UprobeHitKind::UretprobeReturn);
  CHECK(res.cost.value == 602);  // 301 ns
  CHECK(ip == 0x401234);
  REQUIRE(e.returns.size() == 1);
  CHECK(e.returns[0].func == kText + xc::kNop);
  CHECK(e.returns[0].ip == 0x401234);
  CHECK(e.returns[0].value == 42);
  CHECK(e.returns[0].cookie == sp);  // the session cookie from the entry handler
  CHECK(e.depth() == 0);
  e.mgr.verify();
}

TEST_CASE("uretprobe: two probes on one frame chain, both handlers run on one return") {
  RetEnv e(xc::kNop);
  UprobeConsumer second;
  std::vector<uint64_t> order;
  second.ret_handler = [&](UprobeConsumer&, GuestAddr f, Regs&, uint64_t&) {
    order.push_back(f.value);
  };
  e.c.ret_handler = [&](UprobeConsumer&, GuestAddr f, Regs&, uint64_t&) {
    order.push_back(f.value);
  };
  REQUIRE(e.mgr.uprobe_register(*e.f.inode, FileOffset{xc::kNop2}, second).ok());
  const uint64_t sp = e.stack - 0x100;
  e.enter(xc::kNop, sp, 0x401234);
  e.enter(xc::kNop2, sp, e.tramp().value);  // [sp] is already the trampoline: chained
  const auto ris = e.mgr.return_instances(e.ctx.task);
  REQUIRE(ris.size() == 2);
  CHECK(ris[0].chained);
  CHECK(ris[0].orig_ret_vaddr.value == 0x401234);  // inherited, never the trampoline
  uint64_t ip = 0;
  e.leave(sp + 8, 0, &ip);
  CHECK(ip == 0x401234);
  CHECK(order == std::vector<uint64_t>{kText + xc::kNop2, kText + xc::kNop});  // newest first
  CHECK(e.depth() == 0);
  e.mgr.verify();
}

TEST_CASE("uretprobe: recursion returns through the trampoline once per frame, innermost first") {
  RetEnv e;
  const uint64_t top = e.stack - 0x100;
  for (int i = 0; i < 3; ++i) e.enter(xc::kNop, top - 0x40 * i, 0x401000 + i);
  CHECK(e.depth() == 3);
  for (int i = 2; i >= 0; --i) {
    uint64_t ip = 0;
    e.leave(top - 0x40 * i + 8, static_cast<uint64_t>(i), &ip);
    CHECK(ip == 0x401000 + static_cast<uint64_t>(i));
  }
  REQUIRE(e.returns.size() == 3);
  CHECK(e.returns[0].value == 2);
  CHECK(e.returns[2].value == 0);
}

TEST_CASE("uretprobe: frames abandoned by longjmp are dropped at the next call") {
  RetEnv e;
  const uint64_t s1 = e.stack - 0x200, s2 = s1 - 0x80;
  e.enter(xc::kNop, s1, 0x401001);
  e.enter(xc::kNop, s2, 0x401002);
  CHECK(e.depth() == 2);
  e.enter(xc::kNop, s1 + 0x40, 0x401003);  // longjmp above both frames, then a new call
  REQUIRE(e.depth() == 1);
  uint64_t ip = 0;
  e.leave(s1 + 0x48, 7, &ip);
  CHECK(ip == 0x401003);
  REQUIRE(e.returns.size() == 1);  // the abandoned frames never report a return
  e.mgr.verify();
}

TEST_CASE("uretprobe: at the trampoline, an abandoned inner frame is skipped without handlers") {
  RetEnv e;
  const uint64_t s1 = e.stack - 0x200, s2 = s1 - 0x80;
  e.enter(xc::kNop, s1, 0x401001);
  e.enter(xc::kNop, s2, 0x401002);
  uint64_t ip = 0;
  e.leave(s1 + 8, 5, &ip);  // longjmp out of s2's frame, then s1's function returns
  CHECK(ip == 0x401001);
  REQUIRE(e.returns.size() == 1);
  CHECK(e.returns[0].ip == 0x401001);
  CHECK(e.depth() == 0);
}

TEST_CASE("uretprobe: the depth limit is 64 and a bare trampoline hit is SIGILL") {
  RetEnv e;
  const uint64_t top = e.stack - 0x100;
  for (unsigned i = 0; i < 65; ++i) e.enter(xc::kNop, top - 0x20 * i, 0x401000 + i);
  CHECK(e.depth() == UprobeManager::kMaxUretprobeDepth);
  CHECK(e.mgr.stats().depth_skipped == 1);
  CHECK(read_u64(*e.mm, top - 0x20 * 64) == 0x401000 + 64);  // not hijacked
  e.mgr.uprobe_free_utask(e.ctx.task);
  CHECK(e.leave(top, 0).disposition == UprobeDisposition::Sigill);
  e.mgr.verify();
}

TEST_CASE(
    "uretprobe: a forked child gets the pending instances and an XOL page at the same address") {
  RetEnv e;
  const uint64_t sp = e.stack - 0x100;
  e.enter(xc::kNop, sp, 0x401234);
  auto child = std::move(e.mm->dup().value());
  e.mgr.uprobe_dup_mmap(*e.mm, *child);
  CHECK_FALSE(child->vma_at(e.tramp()));  // VM_DONTCOPY
  const TaskId ct{4};
  REQUIRE(e.mgr.uprobe_copy_process(e.ctx.task, ct, *child, false).ok());
  CHECK(e.mgr.xol_vaddr(*child) == e.tramp());
  CHECK(e.mgr.return_instances(ct).size() == 1);
  CHECK(peek(*child, e.tramp().value, 1) == std::vector<uint8_t>{0xcc});
  e.mgr.verify();
  Regs r(Arch::X86_64);
  r.set_ip(e.tramp() + 1);
  r.set_sp(sp + 8);
  CHECK(e.mgr.on_breakpoint({CpuId{0}, ct}, *child, r).kind == UprobeHitKind::UretprobeReturn);
  CHECK(r.ip().value == 0x401234);
  REQUIRE(e.mgr.uprobe_copy_process(e.ctx.task, TaskId{5}, *e.mm, true).ok());  // a thread
  CHECK(e.mgr.return_instances(TaskId{5}).empty());
}

TEST_CASE("uretprobe: an unregistered uprobe lives until its pending returns are gone") {
  RetEnv e;
  const uint64_t sp = e.stack - 0x100;
  e.enter(xc::kNop, sp, 0x401234);
  e.mgr.uprobe_unregister(e.u, e.c);
  CHECK(e.mgr.count() == 0);
  e.mgr.verify();  // retired, ref held by the return instance
  uint64_t ip = 0;
  e.leave(sp + 8, 1, &ip);
  CHECK(ip == 0x401234);
  CHECK(e.returns.empty());  // its consumer is gone
  e.mgr.verify();
}

TEST_CASE("uretprobe: arm64 hijacks x30 and returns through BRK #5 in slot 0") {
  const std::vector<uint8_t> code = {0x1f, 0x20, 0x03, 0xd5};  // nop
  CodeFile f(code);
  RecordingHost host;
  UprobeManager mgr(Arch::AArch64, host);
  auto mm = f.exec_mm();
  const uint64_t stack = map_stack(*mm);
  uint64_t got = 0;
  UprobeConsumer c;
  c.ret_handler = [&](UprobeConsumer&, GuestAddr, Regs& r, uint64_t&) { got = r.x(0); };
  REQUIRE(mgr.uprobe_register(*f.inode, FileOffset{0}, c).ok());
  Regs r(Arch::AArch64);
  r.set_ip(GuestAddr{kText});
  r.set_sp(stack - 0x100);
  r.set_x(30, 0x400800);
  mgr.on_breakpoint({}, *mm, r);
  const GuestAddr tramp = *mgr.xol_vaddr(*mm);
  CHECK(r.x(30) == tramp.value);
  CHECK(peek(*mm, tramp.value, 4) == std::vector<uint8_t>{0xa0, 0x00, 0x20, 0xd4});
  r.set_ip(tramp);  // `ret` went to x30
  r.set_x(0, 99);
  CHECK(mgr.on_breakpoint({}, *mm, r).kind == UprobeHitKind::UretprobeReturn);
  CHECK(r.ip().value == 0x400800);
  CHECK(got == 99);
}

}  // namespace
}  // namespace probesim::probes::test
