// kprobe_hammer: three threads each write one byte to /dev/null (dup'ed to fd 42) 200 times,
// so the guest kernel's ksys_write runs on several CPUs at once while the host arms and
// optimizes a kprobe on it (issues 16 and 17: text poking that races with CPUs executing the
// patched function). A handler that counts the writes to fd 42 must count exactly 600.
#include <fcntl.h>
#include <pthread.h>
#include <unistd.h>

#include "guest_util.h"

enum { kThreads = 3, kWrites = 200, kFd = 42 };

static void* hammer(void* unused) {
  (void)unused;
  for (int i = 0; i < kWrites; ++i) CHECK(write(kFd, "x", 1) == 1);
  return NULL;
}

int main(void) {
  int fd = open("/dev/null", O_WRONLY);
  CHECK(fd >= 0 && dup2(fd, kFd) == kFd);
  pthread_t t[kThreads];
  for (int i = 0; i < kThreads; ++i) CHECK(pthread_create(&t[i], NULL, hammer, NULL) == 0);
  for (int i = 0; i < kThreads; ++i) CHECK(pthread_join(t[i], NULL) == 0);
  printf("writes %d\n", kThreads * kWrites);
  printf("EXIT-SUCCESS\n");
  return 0;
}
