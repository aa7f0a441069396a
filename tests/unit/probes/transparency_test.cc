// Transparency: kprobes on every instruction of the guest functions (boosting on and off, with
// kretprobes on every function too) change nothing the guest computes: return values, memory
// it writes, and callee-saved registers all match an unprobed run. Only Linux's documented
// rejections may refuse a probe.
#include <doctest/doctest.h>

#include <cerrno>
#include <cstring>
#include <memory>
#include <vector>

#include "probe_fixture.h"
#include "probes/arch/x86_64/x86_insn.h"

using namespace probesim;
using namespace probesim::probes;
using namespace probesim::probes::test;

namespace {

const char* const kFunctions[] = {"op_add", "op_xor", "op_mul", "mix",        "compute",
                                  "fib",    "leaf",   "outer",  "asm_mix",    "asm_helper",
                                  "asm_pop_ret"};

struct Call {
  const char* fn;
  std::initializer_list<uint64_t> args;
};
const Call kWorkload[] = {{"compute", {12345, 50}}, {"fib", {12}},  {"asm_mix", {9, 5}},
                          {"asm_mix", {3, 0}},      {"outer", {7}}, {"mix", {1, 2}},
                          {"compute", {7, 3}}};

// Instruction boundaries of a function (x86: decoded; arm64: every word).
std::vector<GuestAddr> boundaries(ProbeFixture& f, const FunctionSymbol& fn) {
  std::vector<GuestAddr> out;
  if (f.arch == Arch::AArch64) {
    for (uint64_t off = 0; off < fn.size; off += 4) out.push_back(fn.addr + off);
    return out;
  }
  x86::X86Decoder dec;
  for (uint64_t off = 0; off < fn.size;) {
    const auto bytes = f.original(fn.addr + off, 16);
    const auto in = dec.decode(fn.addr + off, bytes);
    REQUIRE(in.has_value());
    out.push_back(fn.addr + off);
    off += in->length;
  }
  return out;
}

struct Observed {
  std::vector<uint64_t> results;
  std::vector<uint64_t> preserved;  // callee-saved registers and sp after each call
  std::vector<uint8_t> data;        // the guest's data page
};

Observed run_workload(ProbeFixture& f, KprobeManager* mgr) {
  Observed o;
  const bool x86 = f.arch == Arch::X86_64;
  for (const auto& c : kWorkload) {
    Regs out(f.arch);
    RunOutcome outcome;
    o.results.push_back(f.m.call(f.fn(c.fn), c.args, mgr, {}, 0, &outcome, &out));
    INFO(c.fn, ": ", outcome.error);
    REQUIRE(outcome.ok);
    if (x86) {
      for (X86Reg r : {X86Reg::bx, X86Reg::bp, X86Reg::r12, X86Reg::r13, X86Reg::r14,
                       X86Reg::r15, X86Reg::sp}) {
        o.preserved.push_back(out.get(r));
      }
    } else {
      for (unsigned r = 19; r <= 29; ++r) o.preserved.push_back(out.x(r));
      o.preserved.push_back(out.sp());
      o.preserved.push_back(out.x(30));
    }
  }
  o.data = f.raw(f.m.layout().text + 0x1000, 0x200);
  return o;
}

void check_transparency(Arch arch, bool boost, bool post_handlers, bool kretprobes) {
  CAPTURE(arch_str(arch));
  CAPTURE(boost);
  CAPTURE(post_handlers);
  ProbeFixture plain(arch);
  const Observed want = run_workload(plain, nullptr);

  ProbeFixture f(arch, KprobeConfig{.ncpus = 1, .boost = boost});
  std::vector<std::unique_ptr<Kprobe>> probes;
  std::vector<std::unique_ptr<Kretprobe>> rps;
  uint64_t pre = 0, post = 0, returns = 0;
  std::vector<GuestAddr> rejected;
  for (const char* name : kFunctions) {
    const auto fn = f.syms.lookup(name);
    if (!fn) continue;  // asm_pop_ret is x86 only
    if (kretprobes) {
      auto rp = std::make_unique<Kretprobe>();
      rp->kp.symbol_name = name;
      rp->maxactive = 64;
      rp->handler = [&](KretprobeInstance&, Regs&) { ++returns; return 0; };
      REQUIRE(f.mgr.register_kretprobe(*rp).ok());
      rps.push_back(std::move(rp));
    }
    for (GuestAddr a : boundaries(f, *fn)) {
      auto kp = std::make_unique<Kprobe>();
      kp->addr = a;
      kp->pre_handler = [&](Kprobe&, Regs&) { ++pre; return 0; };
      if (post_handlers) kp->post_handler = [&](Kprobe&, Regs&, unsigned long) { ++post; };
      const auto r = f.mgr.register_kprobe(*kp);
      if (!r) {
        // x86: instructions Linux refuses (-EOPNOTSUPP); arm64: LL/SC and unsimulated (-EINVAL).
        CHECK(r.error().err == (arch == Arch::X86_64 ? EOPNOTSUPP : EINVAL));
        rejected.push_back(a);
        continue;
      }
      probes.push_back(std::move(kp));
    }
  }
  // arm64: exactly the ldxr, the add inside the sequence and the stxr are refused.
  if (arch == Arch::AArch64) CHECK(rejected.size() == 3);
  // x86: mix's switch compiles to `jmp *table(,%rax,8)`, an indirect jump through memory.
  if (arch == Arch::X86_64) {
    REQUIRE(rejected.size() == 1);
    const auto b = f.original(rejected[0], 2);
    CHECK(b[0] == 0xff);
    CHECK(((b[1] >> 3) & 7) == 4);
  }
  CHECK(probes.size() > 150);
  size_t boosted = 0, emulated = 0;
  for (const auto& kp : probes) {
    const auto info = f.mgr.info(kp->addr);
    boosted += info->boosted;
    emulated += info->step == StepKind::Emulate;
  }
  CHECK((boosted > 0) == (boost && !post_handlers && arch == Arch::X86_64));
  CHECK(emulated > 10);

  const Observed got = run_workload(f, &f.mgr);
  CHECK(got.results == want.results);
  CHECK(got.preserved == want.preserved);
  CHECK(got.data == want.data);
  CHECK(pre > 1000);
  if (post_handlers) CHECK(post == pre);
  if (kretprobes) CHECK(returns > 100);
  for (const auto& kp : probes) CHECK(kp->nmissed == 0);
  for (const auto& kp : probes) f.mgr.unregister_kprobe(*kp);
  for (const auto& rp : rps) f.mgr.unregister_kretprobe(*rp);
  // Everything unregistered: the text is byte-identical to the unprobed image again.
  CHECK(f.raw(f.m.layout().text, 0x1000) == plain.raw(plain.m.layout().text, 0x1000));
}

}  // namespace

TEST_CASE("transparency: every instruction probed, boosting on (x86_64)") {
  check_transparency(Arch::X86_64, true, false, false);
}

TEST_CASE("transparency: every instruction probed with post handlers, boosting off (x86_64)") {
  check_transparency(Arch::X86_64, false, true, false);
}

TEST_CASE("transparency: every instruction probed plus kretprobes on every function (x86_64)") {
  check_transparency(Arch::X86_64, true, false, true);
}

TEST_CASE("transparency: every instruction probed (arm64)") {
  check_transparency(Arch::AArch64, false, false, false);
}

TEST_CASE("transparency: every instruction probed with post handlers and kretprobes (arm64)") {
  check_transparency(Arch::AArch64, false, true, true);
}
