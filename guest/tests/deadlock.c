// deadlock: the main thread locks a default mutex twice and blocks forever on its futex.
// Natively this hangs; probesim sees every task blocked with nothing left to wake it and
// reports a deadlock (never diffed against a native run).
#include <pthread.h>

#include "guest_util.h"

static pthread_mutex_t m = PTHREAD_MUTEX_INITIALIZER;

int main(void) {
  printf("locking twice\n");
  fflush(stdout);
  pthread_mutex_lock(&m);
  pthread_mutex_lock(&m);
  printf("unreachable\n");
  return 1;
}
