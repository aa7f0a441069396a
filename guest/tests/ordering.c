// ordering: a 3-thread ordering bug of depth 2 (Burckhardt et al., ASPLOS'10: two ordering
// constraints must both hold). Thread 3 publishes `a`; thread 2, seeing `a`, publishes `b`;
// thread 1, seeing `b`, "uses freed state". The bug needs store(a) before thread 2's check AND
// store(b) before thread 1's check, the reverse of the threads' creation order, so the
// non-preemptive schedule (and a native run, almost always) is safe. Prints "ordering bug hit"
// and exits 1 when both orderings happened, else EXIT-SUCCESS. Under probesim found by
// `explore --strategy pct:2` and `bounded:2`; never diffed against a native run.
#include <pthread.h>

#include "guest_util.h"

enum { kWork = 20000 };
static volatile long a, b, sink;

// Some work before each thread's one shared access, in its own function (its own blocks).
__attribute__((noinline)) static void work(long salt) {
  for (long i = 0; i < kWork; ++i) sink += i ^ salt;
}

static void* thread1(void* unused) {
  (void)unused;
  work(1);
  return (void*)(long)(b == 1);  // the use: bad when thread 2 already published b
}

static void* thread2(void* unused) {
  (void)unused;
  work(2);
  if (a == 1) b = 1;
  return NULL;
}

static void* thread3(void* unused) {
  (void)unused;
  work(3);
  a = 1;
  return NULL;
}

int main(void) {
  pthread_t t1, t2, t3;
  void* bad = NULL;
  CHECK(pthread_create(&t1, NULL, thread1, NULL) == 0);
  CHECK(pthread_create(&t2, NULL, thread2, NULL) == 0);
  CHECK(pthread_create(&t3, NULL, thread3, NULL) == 0);
  CHECK(pthread_join(t1, &bad) == 0);
  CHECK(pthread_join(t2, NULL) == 0);
  CHECK(pthread_join(t3, NULL) == 0);
  if (bad) {
    printf("ordering bug hit: a=%ld b=%ld\n", a, b);
    return 1;
  }
  printf("a=%ld b=%ld\nEXIT-SUCCESS\n", a, b);
  return 0;
}
