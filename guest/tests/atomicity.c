// atomicity: an atomicity violation on a check-then-act. Two threads each withdraw 100 from a
// balance of 100 when `balance >= 100`; the check and the act are separate steps (work between
// them), so a preemption between one thread's check and its act lets both withdraw. Prints
// "balance -100: overdrawn" and exits 1 then, else "balance 0" and EXIT-SUCCESS. Under probesim
// found by `explore` (pct, bounded) and replayed; never diffed against a native run.
#include <pthread.h>

#include "guest_util.h"

static volatile long balance = 100, sink;

__attribute__((noinline)) static void audit(void) {
  for (long i = 0; i < 5000; ++i) sink += i;
}

static void* withdraw(void* unused) {
  (void)unused;
  audit();
  if (balance >= 100) {  // check ...
    audit();
    balance -= 100;      // ... then act
  }
  return NULL;
}

int main(void) {
  pthread_t x, y;
  CHECK(pthread_create(&x, NULL, withdraw, NULL) == 0);
  CHECK(pthread_create(&y, NULL, withdraw, NULL) == 0);
  CHECK(pthread_join(x, NULL) == 0);
  CHECK(pthread_join(y, NULL) == 0);
  if (balance < 0) {
    printf("balance %ld: overdrawn\n", balance);
    return 1;
  }
  printf("balance %ld\nEXIT-SUCCESS\n", balance);
  return 0;
}
