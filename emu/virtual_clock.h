// The virtual clock: the only source of time a guest can observe. It is a pure function of
// the machine's cycle counter (plus time spent idle/sleeping, also counted in cycles), the
// modelled CPU frequency and a fixed, configurable epoch. Nothing here reads the host clock.
#pragma once

#include <algorithm>
#include <cstdint>

#include "probesim/types.h"

namespace probesim::emu {

struct Timespec {
  int64_t sec = 0;
  int64_t nsec = 0;
};

// Linux's KTIME_MAX (include/linux/time64.h): the largest time a ktime_t holds, about 292
// years. Durations saturate to it (timespec64_to_ktime; ktime_add_safe in
// kernel/time/hrtimer.c) and no clock reaches it: a deadline at or past it is "never".
inline constexpr uint64_t kKtimeMax = static_cast<uint64_t>(INT64_MAX);

// a + b nanoseconds, saturating at kKtimeMax (ktime_add_safe).
inline uint64_t ktime_add_safe(uint64_t a, uint64_t b) {
  return a >= kKtimeMax || b >= kKtimeMax - a ? kKtimeMax : a + b;
}

// Time arithmetic saturates (cycles at UINT64_MAX, nanoseconds at UINT64_MAX): a clock that
// cannot move any further stays where it is, it never wraps back to the past.
class VirtualClock {
 public:
  // Defaults: 2.0 GHz modelled CPU, epoch 2024-01-01T00:00:00Z (1704067200).
  static constexpr uint64_t kDefaultHz = 2'000'000'000;
  static constexpr int64_t kDefaultEpoch = 1704067200;

  VirtualClock(uint64_t hz = kDefaultHz, int64_t epoch_sec = kDefaultEpoch)
      : hz_(hz), epoch_sec_(epoch_sec) {}

  uint64_t hz() const { return hz_; }
  int64_t epoch_sec() const { return epoch_sec_; }
  Cycles cycles() const { return cycles_; }
  void advance(Cycles c) {
    cycles_.value = c.value > UINT64_MAX - cycles_.value ? UINT64_MAX : cycles_.value + c.value;
  }
  // Take back cycles charged in advance for work that did not run (the rest of a block whose
  // quantum ended in front of a scheduling point inside it), never below `floor`: a value the
  // guest has read stays in the past.
  void give_back(Cycles c, Cycles floor) {
    cycles_.value = std::max(c.value > cycles_.value ? 0 : cycles_.value - c.value, floor.value);
  }
  // Advance to at least `ns` nanoseconds of monotonic time (sleeps, idle CPUs).
  void advance_to_ns(uint64_t ns);

  uint64_t monotonic_ns() const;  // cycles converted to ns since boot
  Timespec monotonic() const;
  Timespec realtime() const;      // epoch + monotonic
  uint64_t cycles_for_ns(uint64_t ns) const;  // rounded up; UINT64_MAX if more

 private:
  uint64_t hz_;
  int64_t epoch_sec_;
  Cycles cycles_{0};
};

}  // namespace probesim::emu
