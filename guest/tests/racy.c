// racy: two threads do an unlocked read-modify-write on a shared counter. The final value
// depends on the interleaving: under probesim it varies with the seed of the random scheduling
// policy and repeats exactly for a fixed seed. Never diffed against a native run.
// probesim preempts at basic-block boundaries, so the load and the store are kept in different
// blocks (a call between them, as in most real races); a load+store inside one block is atomic
// under probesim today.
#include <pthread.h>

#include "guest_util.h"

enum { kIncrements = 200000 };
static volatile long counter;

__attribute__((noinline)) static long next_value(long v) {
  __asm__ volatile("" ::: "memory");
  return v + 1;
}

static void* bump(void* unused) {
  (void)unused;
  for (int i = 0; i < kIncrements; ++i) {
    long v = counter;         // load ...
    counter = next_value(v);  // ... store: a switch in between loses updates
  }
  return NULL;
}

int main(void) {
  pthread_t a, b;
  CHECK(pthread_create(&a, NULL, bump, NULL) == 0);
  CHECK(pthread_create(&b, NULL, bump, NULL) == 0);
  CHECK(pthread_join(a, NULL) == 0);
  CHECK(pthread_join(b, NULL) == 0);
  printf("counter %ld of %d\n", counter, 2 * kIncrements);
  CHECK(counter <= 2 * kIncrements);
  printf("EXIT-SUCCESS\n");
  return 0;
}
