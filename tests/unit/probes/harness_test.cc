// Sanity of the test harness itself: the generated guest code runs unprobed on both arches.
#include <doctest/doctest.h>

#include "uc_machine.h"

using namespace probesim;
using namespace probesim::probes;
using namespace probesim::probes::test;

TEST_CASE("harness: guest functions compute the same on x86_64 and arm64") {
  uint64_t results[2][4];
  int i = 0;
  for (Arch arch : {Arch::X86_64, Arch::AArch64}) {
    UcMachine m(arch);
    m.load_guest_image();
    TestSymbols syms(arch);
    results[i][0] = m.call(syms.addr("leaf"), {5, 7}, nullptr);
    results[i][1] = m.call(syms.addr("fib"), {10}, nullptr);
    results[i][2] = m.call(syms.addr("compute"), {12345, 40}, nullptr);
    results[i][3] = m.call(syms.addr("outer"), {3}, nullptr);
    ++i;
  }
  CHECK(results[0][0] == 19);
  CHECK(results[0][1] == 55);
  CHECK(results[0][3] == (3 + 2 * 4) * 2 + 1);
  for (int k = 0; k < 4; ++k) CHECK(results[0][k] == results[1][k]);
}

TEST_CASE("harness: asm_mix runs unprobed on both arches") {
  for (Arch arch : {Arch::X86_64, Arch::AArch64}) {
    UcMachine m(arch);
    m.load_guest_image();
    TestSymbols syms(arch);
    RunOutcome o;
    const uint64_t r = m.call(syms.addr("asm_mix"), {9, 5}, nullptr, {}, 0, &o);
    CHECK_MESSAGE(o.ok, o.error);
    CHECK(r != 0);
  }
}
