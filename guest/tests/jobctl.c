// Job control: SIGSTOP/SIGCONT stop and resume a whole process; the parent hears it through
// SIGCHLD (CLD_STOPPED/CLD_CONTINUED, si_status the signal; none with SA_NOCLDSTOP) and
// wait4/waitid (WUNTRACED/WSTOPPED, WCONTINUED; each state change reported once unless
// WNOWAIT). A stopped child makes no progress; a read it was blocked in restarts, unseen.
// SIGKILL ends a stopped process; a stopped process's own raise(SIGSTOP) resumes after SIGCONT.
// Deterministic natively: every wait is for an event, SIGCHLD stays blocked outside sigsuspend.
#define _GNU_SOURCE
#include <signal.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "guest_util.h"

static volatile int chld_code, chld_status, chld_count;

static void on_chld(int sig, siginfo_t* si, void* ctx) {
  (void)sig;
  (void)ctx;
  chld_code = si->si_code;
  chld_status = si->si_status;
  chld_count++;
}

static const char* code_name(int code) {
  return code == CLD_STOPPED ? "CLD_STOPPED" : code == CLD_CONTINUED ? "CLD_CONTINUED"
         : code == CLD_EXITED ? "CLD_EXITED" : code == CLD_KILLED ? "CLD_KILLED" : "other";
}

// Waits (SIGCHLD unblocked only here) for the next SIGCHLD and prints what it said.
static void await_sigchld(const sigset_t* open) {
  int before = chld_count;
  while (chld_count == before) sigsuspend(open);
  printf("SIGCHLD %s status %d\n", code_name(chld_code), chld_status);
}

static void sleep_ms(long ms) {
  struct timespec ts = {0, ms * 1000000L};
  nanosleep(&ts, NULL);
}

static void set_chld_handler(int flags) {
  struct sigaction sa = {0};
  sa.sa_sigaction = on_chld;
  sa.sa_flags = SA_SIGINFO | flags;
  CHECK(sigaction(SIGCHLD, &sa, NULL) == 0);
}

// A child that spins on a shared counter: stopped, it makes no progress; continued, it does.
static void stop_a_spinner(const sigset_t* open) {
  volatile long* counter = mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
  CHECK(counter != MAP_FAILED);
  pid_t c = fork();
  CHECK(c >= 0);
  if (c == 0)
    for (;;) ++*counter;
  while (*counter == 0) sleep_ms(1);
  CHECK(kill(c, SIGSTOP) == 0);
  await_sigchld(open);
  int st = 0;
  CHECK(waitpid(c, &st, WUNTRACED) == c);
  printf("wait4 WUNTRACED: stopped %d by %s\n", WIFSTOPPED(st), WSTOPSIG(st) == SIGSTOP ? "SIGSTOP" : "?");
  CHECK(WIFSTOPPED(st) && WSTOPSIG(st) == SIGSTOP && (st & 0xffff) == 0x137f);
  printf("again: %d (reported once)\n", (int)waitpid(c, &st, WUNTRACED | WNOHANG));
  printf("without WUNTRACED: %d\n", (int)waitpid(c, &st, WNOHANG));
  long frozen = *counter;
  sleep_ms(20);
  printf("stopped child made progress: %s\n", *counter == frozen ? "no" : "yes");
  CHECK(*counter == frozen);
  CHECK(kill(c, SIGCONT) == 0);
  await_sigchld(open);
  CHECK(waitpid(c, &st, WCONTINUED) == c);
  printf("wait4 WCONTINUED: continued %d (status %#x)\n", WIFCONTINUED(st), st);
  CHECK(WIFCONTINUED(st) && st == 0xffff);
  printf("again: %d (reported once)\n", (int)waitpid(c, &st, WCONTINUED | WNOHANG));
  long resumed = *counter;
  for (int i = 0; i < 1000 && *counter == resumed; i++) sleep_ms(1);
  printf("continued child runs again: %s\n", *counter != resumed ? "yes" : "no");
  CHECK(kill(c, SIGKILL) == 0);
  await_sigchld(open);
  CHECK(waitpid(c, &st, 0) == c && WIFSIGNALED(st) && WTERMSIG(st) == SIGKILL);
  munmap((void*)counter, 4096);
}

// A child blocked in read is stopped and continued: the read restarts (no EINTR) and returns
// the byte written later, which becomes its exit status.
static void stop_a_reader(const sigset_t* open) {
  int p[2];
  CHECK(pipe(p) == 0);
  pid_t c = fork();
  CHECK(c >= 0);
  if (c == 0) {
    unsigned char b = 0;
    ssize_t n = read(p[0], &b, 1);
    _exit(n == 1 ? b : 100 + errno);
  }
  sleep_ms(10);  // the child is in read
  CHECK(kill(c, SIGSTOP) == 0);
  await_sigchld(open);
  siginfo_t si = {0};
  CHECK(waitid(P_PID, c, &si, WSTOPPED | WNOWAIT) == 0);
  printf("waitid WSTOPPED|WNOWAIT: %s status %d\n", code_name(si.si_code), si.si_status);
  int st = 0;
  CHECK(waitpid(c, &st, WUNTRACED) == c && WIFSTOPPED(st));  // WNOWAIT left it to report
  CHECK(kill(c, SIGCONT) == 0);
  await_sigchld(open);
  memset(&si, 0, sizeof si);
  CHECK(waitid(P_PID, c, &si, WCONTINUED) == 0);
  printf("waitid WCONTINUED: %s status %d\n", code_name(si.si_code), si.si_status);
  unsigned char b = 42;
  CHECK(write(p[1], &b, 1) == 1);
  await_sigchld(open);
  CHECK(waitpid(c, &st, 0) == c);
  printf("reader exited %d (its read restarted)\n", WIFEXITED(st) ? WEXITSTATUS(st) : -1);
  CHECK(WIFEXITED(st) && WEXITSTATUS(st) == 42);
  close(p[0]);
  close(p[1]);
}

// A child stops itself; SA_NOCLDSTOP keeps the parent's SIGCHLD quiet, wait4 still reports.
static void self_stop_nocldstop(void) {
  set_chld_handler(SA_NOCLDSTOP);
  chld_count = 0;
  int p[2];
  CHECK(pipe(p) == 0);
  pid_t c = fork();
  CHECK(c >= 0);
  if (c == 0) {
    raise(SIGSTOP);
    char b;
    _exit(read(p[0], &b, 1) == 1 ? 7 : 1);  // not before the parent saw the continue
  }
  int st = 0;
  CHECK(waitpid(c, &st, WUNTRACED) == c && WIFSTOPPED(st) && WSTOPSIG(st) == SIGSTOP);
  sigset_t pending;
  sigpending(&pending);
  printf("self-stopped; SIGCHLD with SA_NOCLDSTOP: %s\n", sigismember(&pending, SIGCHLD) ? "pending" : "none");
  CHECK(!sigismember(&pending, SIGCHLD));
  CHECK(kill(c, SIGCONT) == 0);
  CHECK(waitpid(c, &st, WCONTINUED) == c && WIFCONTINUED(st));
  CHECK(write(p[1], "x", 1) == 1);
  CHECK(waitpid(c, &st, 0) == c);
  close(p[0]);
  close(p[1]);
  printf("resumed after raise(SIGSTOP), exited %d\n", WEXITSTATUS(st));
  CHECK(WIFEXITED(st) && WEXITSTATUS(st) == 7);
  sigpending(&pending);
  printf("SIGCHLD for the exit: %s\n", sigismember(&pending, SIGCHLD) ? "pending" : "none");
  CHECK(sigismember(&pending, SIGCHLD));
}

int main(void) {
  setvbuf(stdout, NULL, _IONBF, 0);
  sigset_t block, open;
  sigemptyset(&block);
  sigaddset(&block, SIGCHLD);
  CHECK(sigprocmask(SIG_BLOCK, &block, &open) == 0);
  sigdelset(&open, SIGCHLD);
  set_chld_handler(0);
  stop_a_spinner(&open);
  stop_a_reader(&open);
  self_stop_nocldstop();
  printf("EXIT-SUCCESS\n");
  return 0;
}
