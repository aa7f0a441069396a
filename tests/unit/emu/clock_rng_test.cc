#include <doctest/doctest.h>

#include <array>

#include "emu/deterministic_rng.h"
#include "emu/virtual_clock.h"

using namespace probesim;
using namespace probesim::emu;

TEST_CASE("virtual clock: time is cycles over the modelled frequency, from a fixed epoch") {
  VirtualClock c(2'000'000'000, 1704067200);
  CHECK(c.monotonic_ns() == 0);
  c.advance(Cycles{3'000'000'000});
  CHECK(c.monotonic_ns() == 1'500'000'000);
  CHECK(c.realtime().sec == 1704067201);
  CHECK(c.realtime().nsec == 500'000'000);
}

TEST_CASE("virtual clock: advance_to_ns never goes backwards") {
  VirtualClock c;
  c.advance_to_ns(1000);
  uint64_t t = c.monotonic_ns();
  CHECK(t >= 1000);
  c.advance_to_ns(10);
  CHECK(c.monotonic_ns() == t);
}

TEST_CASE("virtual clock: no overflow after hours of guest time") {
  VirtualClock c(3'000'000'000, 0);
  c.advance(Cycles{3'000'000'000ull * 3600 * 24});
  CHECK(c.monotonic().sec == 3600 * 24);
}

TEST_CASE("virtual clock: time arithmetic saturates instead of wrapping into the past") {
  VirtualClock c(2'000'000'000, 0);
  CHECK(c.cycles_for_ns(UINT64_MAX) == UINT64_MAX);  // 128-bit product, saturated to 64 bits
  CHECK(c.cycles_for_ns(kKtimeMax) == 2 * kKtimeMax);
  c.advance(Cycles{UINT64_MAX - 5});
  c.advance(Cycles{100});
  CHECK(c.cycles().value == UINT64_MAX);
  VirtualClock slow(1000, 0);  // 1 kHz: UINT64_MAX cycles are more ns than 64 bits hold
  slow.advance(Cycles{UINT64_MAX});
  CHECK(slow.monotonic_ns() == UINT64_MAX);
  CHECK(ktime_add_safe(kKtimeMax - 1, 5) == kKtimeMax);
  CHECK(ktime_add_safe(UINT64_MAX, 0) == kKtimeMax);
  CHECK(ktime_add_safe(1, 2) == 3);
}

TEST_CASE("rng: same seed gives the same stream, different seeds differ") {
  DeterministicRng a(1), b(1), c(2);
  for (int i = 0; i < 100; ++i) {
    uint64_t va = a.next_u64();
    CHECK(va == b.next_u64());
    CHECK(va != c.next_u64());
  }
}

TEST_CASE("rng: forked streams are independent of draws on the parent") {
  DeterministicRng a(5);
  DeterministicRng f1 = a.fork(1);
  a.next_u64();
  DeterministicRng f2 = a.fork(1);
  CHECK(f1.next_u64() == f2.next_u64());
  CHECK(a.fork(1).next_u64() != a.fork(2).next_u64());
}

TEST_CASE("rng: fill covers odd lengths deterministically") {
  std::array<uint8_t, 13> x{}, y{};
  DeterministicRng(9).fill(x);
  DeterministicRng(9).fill(y);
  CHECK(x == y);
}
