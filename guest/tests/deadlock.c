// deadlock [MODE]: every task ends up blocked forever. Natively this hangs; probesim sees every
// task blocked with nothing left to wake it and reports it (never diffed against a native run).
//   (none)  the main thread locks a default mutex twice and blocks on its futex ("mutex":
//           the same, printing the mode as the others do)
//   pipe    reads a pipe whose write end it keeps open (a wait queue)
//   full    fills a pipe it never reads, and blocks in write
//   wait    a child blocks reading a pipe; the parent blocks in wait4 for it
//   sleep   nanosleep of INT64_MAX seconds (busybox `sleep infinity`): a deadline no clock
//           reaches
//   abba    an AB-BA mutex deadlock that needs a preemption: main locks A then B, a thread
//           locks B then A, with work between the two locks; without a preemption between
//           them it prints "abba: no deadlock" and exits 0 (found by `explore --until-deadlock`)
#include <pthread.h>
#include <stdint.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "guest_util.h"

static pthread_mutex_t m = PTHREAD_MUTEX_INITIALIZER;

static int block_on_mutex(void) {
  pthread_mutex_lock(&m);
  pthread_mutex_lock(&m);
  return 1;
}

static int block_reading_pipe(void) {
  int p[2];
  char c;
  CHECK(pipe(p) == 0);
  return (int)read(p[0], &c, 1);
}

static int block_writing_pipe(void) {
  int p[2];
  static char buf[4096];
  CHECK(pipe(p) == 0);
  for (;;) CHECK(write(p[1], buf, sizeof buf) > 0);
}

static int block_in_wait(void) {
  pid_t child = fork();
  CHECK(child >= 0);
  if (child == 0) return block_reading_pipe();
  int status;
  return (int)waitpid(child, &status, 0);
}

static pthread_mutex_t lock_a = PTHREAD_MUTEX_INITIALIZER, lock_b = PTHREAD_MUTEX_INITIALIZER;
static volatile long sink;

__attribute__((noinline)) static void between_locks(void) {
  for (long i = 0; i < 20000; ++i) sink += i;
}

static void* lock_b_then_a(void* unused) {
  (void)unused;
  pthread_mutex_lock(&lock_b);
  between_locks();
  pthread_mutex_lock(&lock_a);
  pthread_mutex_unlock(&lock_a);
  pthread_mutex_unlock(&lock_b);
  return NULL;
}

static int lock_abba(void) {
  pthread_t t;
  CHECK(pthread_create(&t, NULL, lock_b_then_a, NULL) == 0);
  pthread_mutex_lock(&lock_a);
  between_locks();
  pthread_mutex_lock(&lock_b);
  pthread_mutex_unlock(&lock_b);
  pthread_mutex_unlock(&lock_a);
  CHECK(pthread_join(t, NULL) == 0);
  printf("abba: no deadlock\n");
  exit(0);
}

static int sleep_forever(void) {
  struct timespec ts = {INT64_MAX, 0};
  return nanosleep(&ts, &ts);
}

struct Mode {
  const char* name;
  int (*run)(void);
};

static const struct Mode kModes[] = {
    {"mutex", block_on_mutex},
    {"pipe", block_reading_pipe},
    {"full", block_writing_pipe},
    {"wait", block_in_wait},
    {"sleep", sleep_forever},
    {"abba", lock_abba},
};

int main(int argc, char** argv) {
  int (*run)(void) = block_on_mutex;
  for (size_t i = 0; argc > 1 && i < sizeof kModes / sizeof kModes[0]; ++i)
    if (strcmp(argv[1], kModes[i].name) == 0) run = kModes[i].run;
  printf("%s\n", argc > 1 ? argv[1] : "locking twice");
  fflush(stdout);
  run();
  printf("unreachable\n");
  return 1;
}
