// RLIMIT_STACK bounds the main stack: a child lowers or raises it (soft = hard), execs this
// program again, which reports the limit it inherited (getrlimit, prlimit) and recurses N KiB
// deep: within the limit it returns, beyond it the process dies by SIGSEGV (the stack cannot
// grow past the limit). A raise also lets the running process's stack grow further, without
// exec. Args: none, or `recurse KIB` (the exec'd child).
#define _GNU_SOURCE
#include <signal.h>
#include <stdint.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include "guest_util.h"

// Uses about 1 KiB of stack per level; not a tail call.
static int __attribute__((noinline)) recurse(int kib) {
  volatile char frame[1000];
  frame[0] = (char)kib;
  frame[sizeof frame - 1] = 1;
  if (kib <= 1) return frame[0];
  return recurse(kib - 1) + frame[sizeof frame - 1];
}

static int child(int kib) {
  struct rlimit r, p;
  CHECK(getrlimit(RLIMIT_STACK, &r) == 0);
  CHECK(prlimit(0, RLIMIT_STACK, NULL, &p) == 0);
  CHECK(p.rlim_cur == r.rlim_cur && p.rlim_max == r.rlim_max);
  printf("  inherited RLIMIT_STACK %lu KiB\n", (unsigned long)(r.rlim_cur >> 10));
  int sum = recurse(kib);
  printf("  recursed %d KiB (%d)\n", kib, sum);
  return 0;
}

// Forks a child that sets RLIMIT_STACK to limit_kib (0: leaves the default) and execs itself
// to recurse kib deep; prints how it ended.
static void run(const char* self, unsigned long limit_kib, int kib) {
  printf("limit %lu KiB, recursion %d KiB:\n", limit_kib, kib);
  pid_t c = fork();
  CHECK(c >= 0);
  if (c == 0) {
    if (limit_kib) {
      struct rlimit r = {limit_kib << 10, limit_kib << 10};
      if (setrlimit(RLIMIT_STACK, &r) != 0) _exit(100);
    }
    char arg[16];
    snprintf(arg, sizeof arg, "%d", kib);
    execl(self, self, "recurse", arg, (char*)NULL);
    _exit(101);
  }
  int st = 0;
  CHECK(waitpid(c, &st, 0) == c);
  if (WIFSIGNALED(st))
    printf("  killed by %s\n", WTERMSIG(st) == SIGSEGV ? "SIGSEGV" : "another signal");
  else
    printf("  exited %d\n", WEXITSTATUS(st));
}

// The same without exec: the child raises its own limit and recurses.
static void run_raised(unsigned long limit_kib, int kib) {
  printf("raised to %lu KiB in the process, recursion %d KiB:\n", limit_kib, kib);
  pid_t c = fork();
  CHECK(c >= 0);
  if (c == 0) {
    struct rlimit r = {limit_kib << 10, limit_kib << 10};
    if (setrlimit(RLIMIT_STACK, &r) != 0) _exit(100);
    _exit(recurse(kib) == kib ? 0 : 1);
  }
  int st = 0;
  CHECK(waitpid(c, &st, 0) == c);
  printf("  %s\n", WIFEXITED(st) && WEXITSTATUS(st) == 0 ? "returned" : "failed");
  CHECK(WIFEXITED(st) && WEXITSTATUS(st) == 0);
}

int main(int argc, char** argv) {
  setvbuf(stdout, NULL, _IONBF, 0);
  if (argc == 3) return child(atoi(argv[2]));
  struct rlimit r = {1, 0};
  CHECK_ERRNO("setrlimit with cur > max", setrlimit(RLIMIT_STACK, &r), EINVAL);
  run(argv[0], 1024, 512);
  run(argv[0], 1024, 2048);
  run(argv[0], 32768, 16384);
  run(argv[0], 4096, 2048);
  run_raised(32768, 16384);
  printf("EXIT-SUCCESS\n");
  return 0;
}
