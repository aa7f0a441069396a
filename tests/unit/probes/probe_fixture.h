// A kprobes engine over the Unicorn test machine with the generated guest image loaded and the
// kretprobe trampoline installed; helpers to emulate "return v" from a pre handler.
#pragma once

#include <doctest/doctest.h>

#include <cstring>
#include <string>

#include "uc_machine.h"

namespace probesim::probes::test {

inline std::string arch_str(Arch a) { return std::string(arch_name(a)); }

struct ProbeFixture {
  explicit ProbeFixture(Arch a, KprobeConfig cfg = {}, int engines = 2)
      : arch(a), m(a, engines), syms(a), mgr(a, m, syms, cfg) {
    m.load_guest_image();
    syms.blacklist("__kretprobe_trampoline");
    REQUIRE(mgr.set_kretprobe_trampoline(syms.addr("__kretprobe_trampoline")).ok());
  }

  GuestAddr fn(std::string_view name) const { return syms.addr(name); }
  uint64_t call(std::string_view name, std::initializer_list<uint64_t> args, HitContext ctx = {},
                int engine = 0) {
    return m.call(fn(name), args, &mgr, ctx, engine);
  }
  // The pre-handler view of the probed address (x86 reports ip after the int3).
  GuestAddr handler_ip(GuestAddr probe) const {
    return arch == Arch::X86_64 ? probe + 1 : probe;
  }
  // From a pre handler at a function's entry: return `value` to the caller (the handler then
  // returns non-zero so the probed instruction is skipped).
  void return_from_entry(Regs& regs, uint64_t value) {
    if (arch == Arch::X86_64) {
      uint8_t b[8];
      REQUIRE(m.read(GuestAddr{regs.sp()}, b));
      uint64_t ret;
      std::memcpy(&ret, b, 8);
      regs.set(X86Reg::ax, value);
      regs.set_sp(regs.sp() + 8);
      regs.set_ip(GuestAddr{ret});
    } else {
      regs.set_x(0, value);
      regs.set_ip(GuestAddr{regs.x(30)});
    }
  }
  std::vector<uint8_t> raw(GuestAddr a, size_t n) {
    std::vector<uint8_t> v(n);
    REQUIRE(m.read(a, v));
    return v;
  }
  std::vector<uint8_t> original(GuestAddr a, size_t n) {
    std::vector<uint8_t> v(n);
    REQUIRE(mgr.read_original(a, v));
    return v;
  }
  bool breakpoint_at(GuestAddr a) {
    const auto bp = mgr.arch().breakpoint();
    auto v = raw(a, bp.size());
    return std::equal(bp.begin(), bp.end(), v.begin());
  }

  Arch arch;
  UcMachine m;
  TestSymbols syms;
  KprobeManager mgr;
};

inline constexpr Arch kArches[] = {Arch::X86_64, Arch::AArch64};

}  // namespace probesim::probes::test
