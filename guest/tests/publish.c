// publish: a race window that lies between two atomic instructions and nowhere else. The writer
// publishes each record in two atomic steps, state 1 (half written) then state 2 (done): two
// xchg in one basic block. The reader checks with an atomic read-modify-write (lock xadd of 0)
// and fails when it sees a half-written record. No basic-block boundary lies inside the window,
// so only a preemption in front of the writer's second xchg (a scheduling point at an atomic,
// emu/sched/README.md) exposes it. Prints "half-published record seen" and exits 1 then, else
// "records 50" and EXIT-SUCCESS. Found by explore (pct) and replayed; never diffed natively.
#include <pthread.h>
#include <stdatomic.h>

#include "guest_util.h"

enum { kRecords = 50 };
static atomic_int state;
static volatile long sink;
static int seen_half;

__attribute__((noinline)) static void work(void) {
  for (long i = 0; i < 1000; ++i) sink += i;
}

__attribute__((noinline)) static void publish(void) {
  atomic_exchange(&state, 1);  // half written ...
  atomic_exchange(&state, 2);  // ... published
}

static void* writer(void* unused) {
  (void)unused;
  for (int r = 0; r < kRecords; ++r) {
    work();
    publish();
  }
  return NULL;
}

static void* reader(void* unused) {
  (void)unused;
  for (int r = 0; r < kRecords; ++r) {
    work();
    if (atomic_fetch_add(&state, 0) == 1) seen_half = 1;
  }
  return NULL;
}

int main(void) {
  pthread_t w, r;
  CHECK(pthread_create(&w, NULL, writer, NULL) == 0);
  CHECK(pthread_create(&r, NULL, reader, NULL) == 0);
  CHECK(pthread_join(w, NULL) == 0);
  CHECK(pthread_join(r, NULL) == 0);
  if (seen_half) {
    printf("half-published record seen\n");
    return 1;
  }
  printf("records %d\nEXIT-SUCCESS\n", kRecords);
  return 0;
}
