// Death tests for always-on asserts (doctest has none): run a function in a forked child whose
// stderr goes to a pipe, and report how the child ended and what it printed.
#pragma once

#include <fcntl.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <string>

namespace probesim::testing {

struct ChildOutcome {
  bool aborted = false;  // killed by SIGABRT (what assert_fail ends with)
  std::string err;       // everything the child wrote to stderr
};

template <class Fn>
ChildOutcome run_in_child(Fn fn) {
  int fds[2];
  if (pipe(fds) != 0) std::abort();
  std::fflush(nullptr);
  pid_t pid = fork();
  if (pid < 0) std::abort();
  if (pid == 0) {
    // The child reports only through its stderr and its end: the test framework's signal
    // handlers and output are the parent's.
    signal(SIGABRT, SIG_DFL);
    close(fds[0]);
    dup2(fds[1], STDERR_FILENO);
    int null = open("/dev/null", O_WRONLY);
    if (null >= 0) dup2(null, STDOUT_FILENO);
    fn();
    _exit(0);
  }
  close(fds[1]);
  ChildOutcome out;
  char buf[4096];
  for (ssize_t n; (n = read(fds[0], buf, sizeof buf)) > 0;) out.err.append(buf, size_t(n));
  close(fds[0]);
  int status = 0;
  waitpid(pid, &status, 0);
  out.aborted = WIFSIGNALED(status) && WTERMSIG(status) == SIGABRT;
  return out;
}

}  // namespace probesim::testing
