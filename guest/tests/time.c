// time: clock_gettime, gettimeofday, time and nanosleep are callable and consistent. Prints
// only "ok" lines, never values: native time differs from probesim's virtual clock.
#define _GNU_SOURCE
#include <sys/time.h>
#include <time.h>

#include "guest_util.h"

static int64_t ns_of(const struct timespec* ts) {
  return (int64_t)ts->tv_sec * 1000000000 + ts->tv_nsec;
}

static int64_t now_ns(clockid_t clock) {
  struct timespec ts;
  CHECK(clock_gettime(clock, &ts) == 0);
  CHECK(ts.tv_nsec >= 0 && ts.tv_nsec < 1000000000);
  return ns_of(&ts);
}

static void test_monotonic(void) {
  int64_t last = now_ns(CLOCK_MONOTONIC);
  for (int i = 0; i < 1000; i++) {
    int64_t t = now_ns(CLOCK_MONOTONIC);
    CHECK(t >= last);
    last = t;
  }
  printf("ok CLOCK_MONOTONIC never goes backwards\n");
}

// CLOCK_REALTIME, gettimeofday and time() read one clock: they agree within a second.
static void test_realtime(void) {
  struct timeval tv;
  int64_t before = now_ns(CLOCK_REALTIME) / 1000000000;
  CHECK(gettimeofday(&tv, NULL) == 0);
  CHECK(tv.tv_usec >= 0 && tv.tv_usec < 1000000);
  time_t t = time(NULL);
  int64_t after = now_ns(CLOCK_REALTIME) / 1000000000;
  CHECK(t != (time_t)-1);
  CHECK(before <= tv.tv_sec && tv.tv_sec <= after + 1);
  // time() reads the coarse clock (the last tick's xtime, kernel/time/timekeeping.c): just past
  // a second boundary it may still show the previous second natively.
  CHECK(before - 1 <= t && t <= after + 1);
  printf("ok CLOCK_REALTIME, gettimeofday and time agree\n");
}

// nanosleep sleeps at least as long as asked, on the monotonic clock; bad requests fail.
static void test_nanosleep(void) {
  struct timespec req = {0, 2000000};
  int64_t start = now_ns(CLOCK_MONOTONIC);
  CHECK(nanosleep(&req, NULL) == 0);
  CHECK(now_ns(CLOCK_MONOTONIC) - start >= 2000000);
  printf("ok nanosleep(2 ms) lasts at least 2 ms\n");
  struct timespec bad = {0, 1000000000};
  CHECK_ERRNO("ok nanosleep with tv_nsec=1e9", nanosleep(&bad, NULL), EINVAL);
}

int main(void) {
  test_monotonic();
  test_realtime();
  test_nanosleep();
  exit_success_line();
  return 0;
}
