// forkbomb: a process forks children until fork fails, then starts threads until
// pthread_create fails. The machine's task limit must stop both with EAGAIN (Linux: pid_max,
// max_threads, RLIMIT_NPROC), and the host must not pay for more tasks than that. Children
// wait on a pipe and exit when the parent closes it; every child is reaped.
// Runs only under probesim with a small --limit-tasks (tests/e2e: limits mode); natively it
// would stop only at the host's limits. The argument is the expected task limit.
#include <pthread.h>
#include <sys/wait.h>
#include <unistd.h>

#include "guest_util.h"

static int gate[2];

static void* thread_wait(void* arg) {
  (void)arg;
  char c;
  ssize_t n = read(gate[0], &c, 1);  // 0 when the parent closes the write end
  (void)n;
  return NULL;
}

int main(int argc, char** argv) {
  CHECK(argc == 2);
  const int limit = atoi(argv[1]);
  CHECK(pipe(gate) == 0);
  int children = 0, err = 0;
  for (;;) {
    pid_t c = fork();
    if (c == 0) {
      char b;
      close(gate[1]);
      ssize_t n = read(gate[0], &b, 1);
      _exit(n == 0 ? 0 : 1);
    }
    if (c < 0) {
      err = errno;
      break;
    }
    CHECK(++children < limit);  // the limit counts the parent too
  }
  printf("fork failed with %s after %d children (limit %d)\n", errno_name(err), children, limit);
  CHECK(err == EAGAIN && children == limit - 1);

  // Threads count too: none fits now; after one child exits and is reaped, exactly one does.
  pthread_t t[2];
  int rc = pthread_create(&t[0], NULL, thread_wait, NULL);
  printf("pthread_create at the limit: %s\n", errno_name(rc));
  CHECK(rc == EAGAIN);

  CHECK(close(gate[1]) == 0);
  int reaped = 0, clean = 0, status;
  while (wait(&status) > 0) {
    ++reaped;
    clean += WIFEXITED(status) && WEXITSTATUS(status) == 0;
  }
  printf("reaped %d children, %d exited cleanly\n", reaped, clean);
  CHECK(reaped == children && clean == children);
  int fds[2];
  CHECK(pipe(fds) == 0);
  gate[0] = fds[0];
  gate[1] = fds[1];
  CHECK(pthread_create(&t[0], NULL, thread_wait, NULL) == 0);
  CHECK(pthread_create(&t[1], NULL, thread_wait, NULL) == 0);
  CHECK(close(gate[1]) == 0);
  CHECK(pthread_join(t[0], NULL) == 0 && pthread_join(t[1], NULL) == 0);
  printf("threads run again after the children are gone\n");
  exit_success_line();
  return 0;
}
