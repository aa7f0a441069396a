#include "emu/itimers.h"

#include <algorithm>

#include "emu/virtual_clock.h"

namespace probesim::emu {

uint64_t IntervalTimer::expire(uint64_t now_ns) {
  const uint64_t periods = interval_ns == 0 ? 1 : (now_ns - expires_ns) / interval_ns + 1;
  advance(periods);
  return periods;
}

void IntervalTimer::advance(uint64_t periods) {
  if (interval_ns == 0) {
    expires_ns = 0;
    return;
  }
  const uint64_t step = periods > kKtimeMax / interval_ns ? kKtimeMax : periods * interval_ns;
  expires_ns = ktime_add_safe(expires_ns, step);
}

uint64_t ProcessTimers::next_expiry() const {
  uint64_t best = 0;
  auto consider = [&best](const IntervalTimer& t) {
    if (t.armed() && (!best || t.expires_ns < best)) best = t.expires_ns;
  };
  consider(itimers[kReal]);
  for (const auto& [id, t] : posix)
    if (t.base == TimerBase::Monotonic) consider(t.timer);
  return best;
}

bool ProcessTimers::cpu_timer_armed() const {
  if (itimers[kVirtual].armed() || itimers[kProf].armed()) return true;
  return std::any_of(posix.begin(), posix.end(), [](const auto& e) {
    return e.second.base != TimerBase::Monotonic && e.second.timer.armed();
  });
}

}  // namespace probesim::emu
