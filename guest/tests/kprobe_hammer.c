// kprobe_hammer [N]: three threads each write one byte to /dev/null (dup'ed to fd 42) N times
// (default 200), so the guest kernel's ksys_write runs on several CPUs at once while the host
// arms, optimizes and unoptimizes a kprobe on it (issues 16 and 17: text poking that races with
// CPUs executing the patched function). A handler that counts the writes to fd 42 must count
// exactly 3 N.
#include <fcntl.h>
#include <pthread.h>
#include <unistd.h>

#include "guest_util.h"

enum { kThreads = 3, kWrites = 200, kFd = 42 };

static int writes = kWrites;

static void* hammer(void* unused) {
  (void)unused;
  for (int i = 0; i < writes; ++i) CHECK(write(kFd, "x", 1) == 1);
  return NULL;
}

int main(int argc, char** argv) {
  if (argc > 1) writes = atoi(argv[1]);
  CHECK(writes > 0);
  int fd = open("/dev/null", O_WRONLY);
  CHECK(fd >= 0 && dup2(fd, kFd) == kFd);
  pthread_t t[kThreads];
  for (int i = 0; i < kThreads; ++i) CHECK(pthread_create(&t[i], NULL, hammer, NULL) == 0);
  for (int i = 0; i < kThreads; ++i) CHECK(pthread_join(t[i], NULL) == 0);
  printf("writes %d\n", kThreads * writes);
  printf("EXIT-SUCCESS\n");
  return 0;
}
