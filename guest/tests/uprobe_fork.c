// Forks CHILDREN children in a row; each calls fork_target a few times and waits on a pipe
// until the parent, after forking them all and some work of its own, closes it; the parent
// then reaps them. The fork churn of the dup_mmap versus uprobe_register race (issue 16,
// toggle uprobe_no_dup_mmap_sem): a uprobe registration racing with it (probesim --uprobe
// SELF:fork_target@N, run by the kworker) must leave the breakpoint in every live process
// that maps fork_target's page, children forked during the registration included. The
// children stay alive (blocked) until the parent's work is done, so a registration that
// ends by then sees them. Run natively it prints the same lines.
// Usage: uprobe_fork [CHILDREN] [CALLS]   (default 120 children; the parent's calls, 20000)
#include <sys/wait.h>
#include <unistd.h>

#include "guest_util.h"

enum { kMaxChildren = 1000, kChildCalls = 10 };

volatile long sink;  // keeps the calls

__attribute__((noinline)) int fork_target(int x) { return x * 5 + 2; }

static long calls_of(int n) {
  long sum = 0;
  for (int c = 0; c < n; ++c) sum += fork_target(c);
  return sum;
}

int main(int argc, char** argv) {
  int children = argc > 1 ? atoi(argv[1]) : 120;
  int calls = argc > 2 ? atoi(argv[2]) : 20000;
  CHECK(children > 0 && children <= kMaxChildren);
  static pid_t pids[kMaxChildren];
  int fds[2];
  CHECK(pipe(fds) == 0);
  fflush(stdout);
  for (int i = 0; i < children; ++i) {  // forks in a row: the parent stays runnable
    pids[i] = fork();
    CHECK(pids[i] >= 0);
    if (pids[i] == 0) {
      close(fds[1]);
      long sum = calls_of(kChildCalls);
      char b;
      ssize_t n = read(fds[0], &b, 1);  // EOF when the parent closes its end
      _exit(n == 0 && sum == 5L * kChildCalls * (kChildCalls - 1) / 2 + 2L * kChildCalls ? 0 : 1);
    }
  }
  close(fds[0]);
  sink = calls_of(calls);  // the children wait meanwhile
  close(fds[1]);
  for (int i = 0; i < children; ++i) {
    int status = 0;
    CHECK(waitpid(pids[i], &status, 0) == pids[i]);
    CHECK(WIFEXITED(status) && WEXITSTATUS(status) == 0);
  }
  printf("%d children, fork_target(4) = %d\n", children, fork_target(4));
  printf("EXIT-SUCCESS\n");
  return 0;
}
