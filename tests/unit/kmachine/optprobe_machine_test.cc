// Optprobes on the booted machine (x86_64, and arm64 beyond mainline: B imm26): the delayed
// optimizer writes a real `E9 rel32` into guest text, hits go through the detour buffer and
// optimized_callback with Linux's regs->ip = addr + 1, counts equal the int3 path, and every
// transition back to int3 (post handler, disable, disarm, sysctl, unregister, a probe in range).
#include <cstring>

#include "kmachine.h"

using namespace probesim;
using namespace probesim::kmachine;
using probes::Kprobe;
using probes::OptRefusal;
using probes::Regs;

namespace {

int32_t rel32_at(const std::vector<uint8_t>& v) {
  int32_t r;
  std::memcpy(&r, &v[1], 4);
  return r;
}

// A counting probe with only a pre handler (optimizable).
struct Counter {
  Kprobe kp;
  uint64_t ip = 0;
  explicit Counter(GuestAddr a) {
    kp.addr = a;
    kp.pre_handler = [this](Kprobe&, Regs& r) {
      ip = r.ip().value;
      return 0;
    };
  }
};

}  // namespace

TEST_CASE("optprobe: queued with int3 in place, then the optimizer writes E9 rel32 to the detour") {
  auto m = boot(Arch::X86_64);
  GuestAddr at = ksym(*m, "kprobe_target").addr;
  const std::vector<uint8_t> orig = text(*m, at, 5);
  Counter c(at);
  REQUIRE(kprobes(*m).register_kprobe(c.kp).ok());
  auto i = info_of(*m, at);
  CHECK(i.optimized);  // KPROBE_FLAG_OPTIMIZED is set when queued, as in Linux
  CHECK_FALSE(i.jumped);
  CHECK(text(*m, at, 1)[0] == 0xcc);
  CHECK(kprobes(*m).list().find("[OPTIMIZED]") != std::string::npos);
  // Before the optimizer ran: the int3 hit runs the detour's copy (setup_detour_execution).
  CHECK(call(*m, "kprobe_target", {3, 4}) == 11);
  CHECK(c.kp.nhit == 1);
  CHECK(c.ip == at.value + 1);
  kprobes(*m).wait_for_optimizer();
  i = info_of(*m, at);
  CHECK(i.jumped);
  REQUIRE(i.detour.value != 0);
  const auto now = text(*m, at, 5);
  CHECK(now[0] == 0xe9);
  CHECK(static_cast<int64_t>(rel32_at(now)) ==
        static_cast<int64_t>(i.detour.value - (at.value + 5)));
  std::vector<uint8_t> recovered(5);
  REQUIRE(kprobes(*m).read_original(at, recovered));
  CHECK(recovered == orig);
  // The detour: template, the copied instructions, jmp back to addr + size.
  REQUIRE(i.detour_bytes.size() >= i.opt_size + 5u);
  const size_t copy_at = kprobes(*m).arch().detour_copy_offset();
  CHECK(std::equal(orig.begin(), orig.begin() + i.opt_size, i.detour_bytes.begin() + copy_at));
  CHECK(i.detour_bytes[copy_at + i.opt_size] == 0xe9);
  // Hits through the jump: handlers see ip = addr + 1, the result is unchanged.
  c.ip = 0;
  CHECK(call(*m, "kprobe_target", {5, 6}) == 17);
  CHECK(c.kp.nhit == 2);
  CHECK(c.ip == at.value + 1);
  kprobes(*m).unregister_kprobe(c.kp);
  CHECK(text(*m, at, 5) == orig);
  CHECK(call(*m, "kprobe_target", {5, 6}) == 17);
  CHECK(c.kp.nhit == 2);
}

TEST_CASE("optprobe: hits through the jump equal the int3 path's, results unchanged") {
  uint64_t hits[2] = {}, results[2] = {};
  for (int optimize = 0; optimize < 2; ++optimize) {
    auto m = boot(Arch::X86_64);
    kprobes(*m).set_optimization(optimize == 1);
    Counter c(ksym(*m, "kprobe_target").addr);
    REQUIRE(kprobes(*m).register_kprobe(c.kp).ok());
    kprobes(*m).wait_for_optimizer();
    CHECK(info_of(*m, c.kp.addr).jumped == (optimize == 1));
    results[optimize] = call(*m, "kprobe_loop_target", {1000});
    hits[optimize] = c.kp.nhit;
    CHECK(c.kp.nmissed == 0);
    kprobes(*m).unregister_kprobe(c.kp);
  }
  CHECK(hits[0] == 1000);
  CHECK(hits[1] == hits[0]);
  CHECK(results[1] == results[0]);
  CHECK(results[0] == 1000 * 999 / 2 + 2 * 1000);
}

TEST_CASE("optprobe: register changes made by a pre handler are restored by the detour") {
  auto m = boot(Arch::X86_64);
  Kprobe kp;
  kp.symbol_name = "kprobe_target";
  kp.pre_handler = [](Kprobe&, Regs& r) {
    r.set(probes::X86Reg::di, 10);  // a = 10
    r.set_ip(GuestAddr{1});         // ignored: an optimized probe cannot redirect
    return 1;                       // ignored too (opt_pre_handler)
  };
  REQUIRE(kprobes(*m).register_kprobe(kp).ok());
  kprobes(*m).wait_for_optimizer();
  REQUIRE(info_of(*m, kp.addr).jumped);
  CHECK(call(*m, "kprobe_target", {3, 4}) == 18);
  kprobes(*m).unregister_kprobe(kp);
}

TEST_CASE("optprobe: the optimizer runs after OPTIMIZE_DELAY of virtual time, not before") {
  auto m = boot(Arch::X86_64);
  Counter c(ksym(*m, "kprobe_target").addr);
  REQUIRE(kprobes(*m).register_kprobe(c.kp).ok());
  auto due = kprobes(*m).optimizer_due();
  REQUIRE(due.has_value());
  call(*m, "kprobe_target", {1, 1});  // the next kernel_call starts before the due time
  CHECK_FALSE(info_of(*m, c.kp.addr).jumped);
  // kprobe_loop_target runs the int3 path until virtual time passes the due time...
  while (m->state().sched().clock(0).cycles() < *due) call(*m, "kprobe_loop_target", {20000});
  // ...and the kernel work runs at the next opportunity.
  call(*m, "kprobe_target", {1, 1});
  CHECK(info_of(*m, c.kp.addr).jumped);
  CHECK_FALSE(kprobes(*m).optimizer_due().has_value());
  kprobes(*m).unregister_kprobe(c.kp);
}

TEST_CASE("optprobe: a post handler joining unoptimizes, leaving re-optimizes") {
  auto m = boot(Arch::X86_64);
  GuestAddr at = ksym(*m, "kprobe_target").addr;
  Counter a(at);
  REQUIRE(kprobes(*m).register_kprobe(a.kp).ok());
  kprobes(*m).wait_for_optimizer();
  REQUIRE(info_of(*m, at).jumped);
  Kprobe post;
  post.addr = at;
  int posts = 0;
  post.post_handler = [&](Kprobe&, Regs&, unsigned long) { ++posts; };
  REQUIRE(kprobes(*m).register_kprobe(post).ok());
  auto i = info_of(*m, at);
  CHECK_FALSE(i.optimized);
  CHECK(i.opt_refusal == OptRefusal::PostHandler);
  CHECK(text(*m, at, 1)[0] == 0xcc);
  CHECK(call(*m, "kprobe_target", {3, 4}) == 11);
  CHECK(posts == 1);
  CHECK(a.kp.nhit == 1);
  kprobes(*m).unregister_kprobe(post);
  CHECK(info_of(*m, at).optimized);
  kprobes(*m).wait_for_optimizer();
  CHECK(text(*m, at, 1)[0] == 0xe9);
  CHECK(call(*m, "kprobe_target", {3, 4}) == 11);
  CHECK(a.kp.nhit == 2);
  kprobes(*m).unregister_kprobe(a.kp);
}

TEST_CASE("optprobe: disable/enable and disarm_all/arm_all take the jump out and queue it again") {
  auto m = boot(Arch::X86_64);
  GuestAddr at = ksym(*m, "kprobe_target").addr;
  const auto orig = text(*m, at, 5);
  Counter c(at);
  REQUIRE(kprobes(*m).register_kprobe(c.kp).ok());
  kprobes(*m).wait_for_optimizer();
  REQUIRE(kprobes(*m).disable_kprobe(c.kp).ok());
  CHECK(text(*m, at, 5) == orig);
  CHECK(info_of(*m, at).opt_refusal == OptRefusal::Disabled);
  CHECK(call(*m, "kprobe_target", {3, 4}) == 11);
  CHECK(c.kp.nhit == 0);
  REQUIRE(kprobes(*m).enable_kprobe(c.kp).ok());
  CHECK(info_of(*m, at).optimized);
  CHECK(text(*m, at, 1)[0] == 0xcc);
  kprobes(*m).wait_for_optimizer();
  CHECK(text(*m, at, 1)[0] == 0xe9);
  REQUIRE(kprobes(*m).disarm_all_kprobes().ok());
  CHECK(text(*m, at, 5) == orig);
  CHECK(info_of(*m, at).opt_refusal == OptRefusal::AllDisarmed);
  REQUIRE(kprobes(*m).arm_all_kprobes().ok());
  kprobes(*m).wait_for_optimizer();
  CHECK(text(*m, at, 1)[0] == 0xe9);
  CHECK(call(*m, "kprobe_target", {3, 4}) == 11);
  CHECK(c.kp.nhit == 1);
  kprobes(*m).unregister_kprobe(c.kp);
  CHECK(text(*m, at, 5) == orig);
}

TEST_CASE("optprobe: debug.kprobes-optimization off unoptimizes everything, on queues again") {
  auto m = boot(Arch::X86_64);
  GuestAddr at = ksym(*m, "kprobe_target").addr;
  Counter c(at);
  REQUIRE(kprobes(*m).register_kprobe(c.kp).ok());
  kprobes(*m).wait_for_optimizer();
  kprobes(*m).set_optimization(false);
  CHECK_FALSE(kprobes(*m).optimization());
  CHECK(text(*m, at, 1)[0] == 0xcc);
  CHECK(info_of(*m, at).opt_refusal == OptRefusal::SysctlOff);
  CHECK(kprobes(*m).list().find("[OPTIMIZED]") == std::string::npos);
  kprobes(*m).set_optimization(true);
  kprobes(*m).wait_for_optimizer();
  CHECK(text(*m, at, 1)[0] == 0xe9);
  kprobes(*m).unregister_kprobe(c.kp);
}

TEST_CASE("optprobe: a probe armed inside the jump's range blocks it, removing it re-optimizes") {
  auto m = boot(Arch::X86_64);
  GuestAddr at = ksym(*m, "kprobe_loop_target").addr;  // push %rbp; mov %rsp,%rbp; ...
  auto b = insn_boundaries(*m, "kprobe_loop_target");
  GuestAddr inner = b[1];
  Counter outer(at), in(inner);
  REQUIRE(kprobes(*m).register_kprobe(outer.kp).ok());
  kprobes(*m).wait_for_optimizer();
  REQUIRE(info_of(*m, at).jumped);
  REQUIRE(info_of(*m, at).opt_size > inner - at);
  REQUIRE(kprobes(*m).register_kprobe(in.kp).ok());  // __arm_kprobe unoptimizes the cover
  CHECK(text(*m, at, 1)[0] == 0xcc);
  CHECK(info_of(*m, at).opt_refusal == OptRefusal::ProbeInRange);
  CHECK(call(*m, "kprobe_loop_target", {3}) == 3 + 6);
  CHECK(outer.kp.nhit == 1);
  CHECK(in.kp.nhit == 1);
  kprobes(*m).unregister_kprobe(in.kp);  // __disarm_kprobe re-optimizes it
  CHECK(info_of(*m, at).optimized);
  kprobes(*m).wait_for_optimizer();
  CHECK(text(*m, at, 1)[0] == 0xe9);
  CHECK(call(*m, "kprobe_loop_target", {3}) == 3 + 6);
  CHECK(outer.kp.nhit == 2);
  kprobes(*m).unregister_kprobe(outer.kp);
}

TEST_CASE("optprobe: each refusal reason leaves the probe an int3 kprobe that still works") {
  auto m = boot(Arch::X86_64);
  struct Case {
    std::string fn;
    int opcode;  // the first instruction starting with this byte; -1: the last instruction
    OptRefusal why;
  };
  const Case cases[] = {
      {"kprobe_target", -1, OptRefusal::CrossesFunctionEnd},    // the ret
      {"kprobe_loop_target", 0xe8, OptRefusal::NotRelocatable}, // call kprobe_target
      {"kprobe_switch_target", 0x48, OptRefusal::IndirectJump}, // cmp: a jump table follows
  };
  for (const Case& k : cases) {
    CAPTURE(k.fn);
    auto b = insn_boundaries(*m, k.fn);
    GuestAddr at = b.back();
    for (GuestAddr x : b)
      if (k.opcode >= 0 && text(*m, x, 1)[0] == k.opcode) {
        at = x;
        break;
      }
    Counter c(at);
    REQUIRE(kprobes(*m).register_kprobe(c.kp).ok());
    kprobes(*m).wait_for_optimizer();
    auto i = info_of(*m, at);
    CHECK_FALSE(i.optimized);
    CHECK(i.opt_refusal == k.why);
    CHECK(text(*m, at, 1)[0] == 0xcc);
    kprobes(*m).unregister_kprobe(c.kp);
  }
}

TEST_CASE("optprobe arm64 (beyond mainline): B imm26 to the detour, handlers see pc = the probe") {
  auto m = boot(Arch::AArch64);
  GuestAddr at = ksym(*m, "kprobe_target").addr;  // stp x29, x30, [sp, #-16]!
  const auto orig = text(*m, at, 4);
  Counter c(at);
  REQUIRE(kprobes(*m).register_kprobe(c.kp).ok());
  CHECK(info_of(*m, at).optimized);
  CHECK(call(*m, "kprobe_target", {3, 4}) == 11);  // BRK still there: the detour's copy runs
  CHECK(c.kp.nhit == 1);
  kprobes(*m).wait_for_optimizer();
  auto i = info_of(*m, at);
  REQUIRE(i.jumped);
  uint32_t b;
  std::memcpy(&b, text(*m, at, 4).data(), 4);
  CHECK((b & 0xfc000000u) == 0x14000000u);
  const int64_t off = static_cast<int64_t>(static_cast<int32_t>(b << 6) >> 6) * 4;
  CHECK(at.value + off == i.detour.value);
  std::vector<uint8_t> recovered(4);
  REQUIRE(kprobes(*m).read_original(at, recovered));
  CHECK(recovered == orig);
  c.ip = 0;
  CHECK(call(*m, "kprobe_target", {5, 6}) == 17);
  CHECK(c.kp.nhit == 2);
  CHECK(c.ip == at.value);  // as at the BRK
  CHECK(call(*m, "kprobe_loop_target", {100}) == 100 * 99 / 2 + 200);
  CHECK(c.kp.nhit == 102);
  kprobes(*m).unregister_kprobe(c.kp);
  CHECK(text(*m, at, 4) == orig);
}

TEST_CASE("optprobe arm64: a pre handler's x0 change is restored by the detour") {
  auto m = boot(Arch::AArch64);
  Kprobe kp;
  kp.symbol_name = "kprobe_target";
  kp.offset = 4;  // add x0, x0, x1, lsl #1
  kp.pre_handler = [](Kprobe&, Regs& r) {
    r.set_x(0, 10);
    return 0;
  };
  REQUIRE(kprobes(*m).register_kprobe(kp).ok());
  kprobes(*m).wait_for_optimizer();
  REQUIRE(info_of(*m, kp.addr).jumped);
  CHECK(call(*m, "kprobe_target", {3, 4}) == 18);
  kprobes(*m).unregister_kprobe(kp);
}

TEST_CASE("optprobe arm64: simulated instructions (adrp, ret, b) stay BRK as not-relocatable") {
  auto m = boot(Arch::AArch64);
  GuestAddr adrp = ksym(*m, "kprobe_riprel_target").addr + 4;
  Counter c(adrp);
  REQUIRE(kprobes(*m).register_kprobe(c.kp).ok());
  kprobes(*m).wait_for_optimizer();
  auto i = info_of(*m, adrp);
  CHECK_FALSE(i.optimized);
  CHECK(i.opt_refusal == OptRefusal::NotRelocatable);
  uint32_t w;
  std::memcpy(&w, text(*m, adrp, 4).data(), 4);
  CHECK(w == 0xd4200080u);  // BRK #4
  CHECK(call(*m, "kprobe_riprel_target", {6}) == 2);  // counter 6, / 3
  CHECK(c.kp.nhit == 1);
  kprobes(*m).unregister_kprobe(c.kp);
}
