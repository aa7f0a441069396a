#include "emu/virtual_clock.h"

namespace probesim::emu {

namespace {

uint64_t saturate(unsigned __int128 v) {
  return v > UINT64_MAX ? UINT64_MAX : static_cast<uint64_t>(v);
}

}  // namespace

uint64_t VirtualClock::monotonic_ns() const {
  // 128-bit intermediate: cycles * 1e9 overflows 64 bits after ~18 s at 1 GHz.
  return saturate(static_cast<unsigned __int128>(cycles_.value) * 1'000'000'000u / hz_);
}

uint64_t VirtualClock::cycles_for_ns(uint64_t ns) const {
  return saturate((static_cast<unsigned __int128>(ns) * hz_ + 999'999'999u) / 1'000'000'000u);
}

void VirtualClock::advance_to_ns(uint64_t ns) {
  uint64_t target = cycles_for_ns(ns);
  if (target > cycles_.value) cycles_ = Cycles{target};
}

Timespec VirtualClock::monotonic() const {
  uint64_t ns = monotonic_ns();
  return Timespec{static_cast<int64_t>(ns / 1'000'000'000u), static_cast<int64_t>(ns % 1'000'000'000u)};
}

Timespec VirtualClock::realtime() const {
  Timespec t = monotonic();
  t.sec += epoch_sec_;
  return t;
}

}  // namespace probesim::emu
