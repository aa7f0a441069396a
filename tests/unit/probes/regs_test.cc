// Regs: pt_regs-shaped register values with Linux names, argument/return accessors and a
// dirty mask telling the integrator which registers to write back.
#include <doctest/doctest.h>

#include "probes/regs.h"

using namespace probesim;
using namespace probesim::probes;

TEST_CASE("regs: Linux register names map to pt_regs slots on both arches") {
  CHECK(Regs::index_of(Arch::X86_64, "ax") == static_cast<unsigned>(X86Reg::ax));
  CHECK(Regs::index_of(Arch::X86_64, "ip") == static_cast<unsigned>(X86Reg::ip));
  CHECK(Regs::index_of(Arch::X86_64, "x0") == std::nullopt);
  CHECK(Regs::index_of(Arch::AArch64, "x30") == 30u);
  CHECK(Regs::index_of(Arch::AArch64, "pstate") == 33u);
  CHECK(Regs::name_of(Arch::X86_64, static_cast<unsigned>(X86Reg::di)) == "di");
  Regs r(Arch::X86_64);
  CHECK(r.set("si", 7));
  CHECK(!r.set("x1", 7));
  CHECK(r.get("si") == 7u);
  CHECK(r.kernel_argument(1) == 7u);  // x86 arguments: di si dx cx r8 r9
  CHECK(r.kernel_argument(6) == std::nullopt);
}

TEST_CASE("regs: ip, sp, flags, return value and the dirty mask") {
  Regs a(Arch::AArch64);
  CHECK(a.dirty() == 0);
  a.set_ip(GuestAddr{0x1000});
  a.set_x(0, 42);
  CHECK(a.return_value() == 42);
  CHECK(a.get("pc") == 0x1000u);
  CHECK(a.dirty() == ((uint64_t{1} << 32) | 1));
  a.clear_dirty();
  a.set_flags(0x3c0);
  CHECK(a.dirty() == uint64_t{1} << 33);
  Regs x(Arch::X86_64);
  x.set_sp(0x8000);
  CHECK(x.get(X86Reg::sp) == 0x8000u);
  x.set(X86Reg::ax, 5);
  CHECK(x.return_value() == 5u);
}
