// cycles: the architectural cycle counter (x86_64 rdtsc, aarch64 cntvct_el0) and the clocks.
// Under probesim all of these derive from the modelled cycle counter, so two runs print the
// same values (e2e determinism mode); natively they differ, so this program is never diffed.
// It checks that the counter is monotonic and advances across a busy loop.
#include <time.h>

#include "guest_util.h"

static uint64_t counter(void) {
#if defined(__x86_64__)
  uint32_t lo, hi;
  __asm__ volatile("rdtsc" : "=a"(lo), "=d"(hi));
  return ((uint64_t)hi << 32) | lo;
#elif defined(__aarch64__)
  uint64_t v;
  __asm__ volatile("isb; mrs %0, cntvct_el0" : "=r"(v));
  return v;
#endif
}

static volatile uint64_t sink;

int main(void) {
  uint64_t a = counter();
  for (int i = 0; i < 100000; ++i) sink += (uint64_t)i * 3;
  uint64_t b = counter();
  struct timespec t0, t1;
  CHECK(clock_gettime(CLOCK_MONOTONIC, &t0) == 0);
  for (int i = 0; i < 100000; ++i) sink += (uint64_t)i * 5;
  CHECK(clock_gettime(CLOCK_MONOTONIC, &t1) == 0);
  CHECK(b > a);
  CHECK(t1.tv_sec > t0.tv_sec || (t1.tv_sec == t0.tv_sec && t1.tv_nsec > t0.tv_nsec));
  printf("counter %llu -> %llu\n", (unsigned long long)a, (unsigned long long)b);
  printf("monotonic %lld.%09ld -> %lld.%09ld\n", (long long)t0.tv_sec, t0.tv_nsec,
         (long long)t1.tv_sec, t1.tv_nsec);
  printf("EXIT-SUCCESS\n");
  return 0;
}
