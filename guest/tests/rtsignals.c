// Real-time signals queue and carry values (issue 19): five blocked sigqueue()s of SIGRTMIN give
// five deliveries in order with their si_value, a standard signal sent three times while
// blocked is delivered once, lower real-time numbers go first; sigwaitinfo / sigtimedwait /
// sigwait take signals synchronously (SI_QUEUE and si_value, EAGAIN on a zero or elapsed
// timeout, a blocked SIGCHLD whose action ignores it is still waited for, a thread waiting in
// sigwait gets a pthread_kill); rt_sigqueueinfo may not forge SI_USER to another process.
#define _GNU_SOURCE
#include <pthread.h>
#include <signal.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "guest_util.h"

static volatile int got[16], got_n;
static volatile int got_value[16];

static void record(int sig, siginfo_t* si, void* ctx) {
  (void)ctx;
  if (got_n < 16) {
    got[got_n] = sig;
    got_value[got_n] = si->si_code == SI_QUEUE ? si->si_value.sival_int : -1;
    got_n++;
  }
}

static void install(int sig) {
  struct sigaction sa;
  memset(&sa, 0, sizeof sa);
  sa.sa_sigaction = record;
  sa.sa_flags = SA_SIGINFO;
  CHECK(sigaction(sig, &sa, NULL) == 0);
}

static void block(int sig, int how) {
  sigset_t s;
  sigemptyset(&s);
  sigaddset(&s, sig);
  CHECK(sigprocmask(how, &s, NULL) == 0);
}

static void print_got(const char* what) {
  printf("%s: %d deliveries:", what, got_n);
  for (int i = 0; i < got_n; i++) printf(" %d/%d", got[i] - SIGRTMIN, got_value[i]);
  printf("\n");
  got_n = 0;
}

static void queued_in_order(void) {
  install(SIGRTMIN);
  block(SIGRTMIN, SIG_BLOCK);
  for (int i = 0; i < 5; i++) CHECK(sigqueue(getpid(), SIGRTMIN, (union sigval){.sival_int = i}) == 0);
  block(SIGRTMIN, SIG_UNBLOCK);
  print_got("SIGRTMIN x5 (signal-SIGRTMIN/value)");
}

static void standard_merged(void) {
  install(SIGUSR1);
  block(SIGUSR1, SIG_BLOCK);
  for (int i = 0; i < 3; i++) CHECK(raise(SIGUSR1) == 0);
  block(SIGUSR1, SIG_UNBLOCK);
  printf("SIGUSR1 x3 while blocked: %d delivery\n", got_n);
  got_n = 0;
}

static void lowest_first(void) {
  sigset_t s, old;
  sigemptyset(&s);
  for (int i = 0; i < 3; i++) {
    install(SIGRTMIN + i);
    sigaddset(&s, SIGRTMIN + i);
  }
  CHECK(sigprocmask(SIG_BLOCK, &s, &old) == 0);
  int order[] = {2, 0, 1, 2};
  for (int i = 0; i < 4; i++)
    CHECK(sigqueue(getpid(), SIGRTMIN + order[i], (union sigval){.sival_int = 10 + i}) == 0);
  CHECK(sigprocmask(SIG_SETMASK, &old, NULL) == 0);
  print_got("RTMIN+2, +0, +1, +2 queued");
}

static void synchronous_waits(void) {
  sigset_t s;
  sigemptyset(&s);
  sigaddset(&s, SIGRTMIN + 3);
  CHECK(sigprocmask(SIG_BLOCK, &s, NULL) == 0);
  CHECK(sigqueue(getpid(), SIGRTMIN + 3, (union sigval){.sival_int = 42}) == 0);
  siginfo_t si;
  memset(&si, 0, sizeof si);
  int sig = sigwaitinfo(&s, &si);
  printf("sigwaitinfo: RTMIN+%d code %s value %d pid ok %d\n", sig - SIGRTMIN,
         si.si_code == SI_QUEUE ? "SI_QUEUE" : "other", si.si_value.sival_int,
         si.si_pid == getpid());
  struct timespec zero = {0, 0}, short_wait = {0, 50 * 1000 * 1000};
  CHECK_ERRNO("sigtimedwait, nothing pending, zero timeout", sigtimedwait(&s, &si, &zero), EAGAIN);
  CHECK_ERRNO("sigtimedwait, nothing pending, 50 ms", sigtimedwait(&s, &si, &short_wait), EAGAIN);
  CHECK(raise(SIGRTMIN + 3) == 0);
  sig = sigtimedwait(&s, &si, &zero);
  printf("sigtimedwait with one pending: RTMIN+%d code %s\n", sig - SIGRTMIN,
         si.si_code == SI_TKILL ? "SI_TKILL" : si.si_code == SI_USER ? "SI_USER" : "other");
}

static void sigwait_for_sigchld(void) {
  block(SIGCHLD, SIG_BLOCK);  // SIGCHLD's default action ignores it: blocked, it stays pending
  pid_t child = fork();
  if (child == 0) _exit(3);
  sigset_t s;
  sigemptyset(&s);
  sigaddset(&s, SIGCHLD);
  int sig = 0;
  CHECK(sigwait(&s, &sig) == 0);
  int status;
  CHECK(waitpid(child, &status, 0) == child);
  printf("sigwait for a blocked SIGCHLD: %s, child exit %d\n", sig == SIGCHLD ? "SIGCHLD" : "other",
         WEXITSTATUS(status));
  block(SIGCHLD, SIG_UNBLOCK);
}

static volatile int waiter_ready;
static int waited_sig;

static void* sigwait_thread(void* arg) {
  sigset_t* s = arg;
  waiter_ready = 1;
  CHECK(sigwait(s, &waited_sig) == 0);
  return NULL;
}

static void thread_waits(void) {
  static sigset_t s;
  sigemptyset(&s);
  sigaddset(&s, SIGUSR2);
  CHECK(pthread_sigmask(SIG_BLOCK, &s, NULL) == 0);  // inherited by the thread
  pthread_t t;
  CHECK(pthread_create(&t, NULL, sigwait_thread, &s) == 0);
  while (!waiter_ready) sched_yield();
  struct timespec ts = {0, 20 * 1000 * 1000};
  nanosleep(&ts, NULL);
  CHECK(pthread_kill(t, SIGUSR2) == 0);
  CHECK(pthread_join(t, NULL) == 0);
  printf("a thread in sigwait got %s\n", waited_sig == SIGUSR2 ? "SIGUSR2" : "other");
}

static void forging(void) {
  pid_t child = fork();
  if (child == 0) {
    pause();
    _exit(0);
  }
  siginfo_t si;
  memset(&si, 0, sizeof si);
  si.si_signo = SIGTERM;
  si.si_code = SI_USER;
  CHECK_ERRNO("rt_sigqueueinfo forging SI_USER to another process",
              syscall(SYS_rt_sigqueueinfo, child, SIGTERM, &si), EPERM);
  si.si_code = SI_QUEUE;
  printf("rt_sigqueueinfo with SI_QUEUE: %ld\n", syscall(SYS_rt_sigqueueinfo, child, SIGTERM, &si));
  int status;
  CHECK(waitpid(child, &status, 0) == child);
  printf("child: %s\n", WIFSIGNALED(status) && WTERMSIG(status) == SIGTERM ? "killed by SIGTERM" : "other");
  CHECK_ERRNO("rt_tgsigqueueinfo to no thread", syscall(SYS_rt_tgsigqueueinfo, getpid(), 0x3fffffff, SIGUSR1, &si), ESRCH);
}

int main(void) {
  setvbuf(stdout, NULL, _IONBF, 0);
  queued_in_order();
  standard_merged();
  lowest_first();
  synchronous_waits();
  sigwait_for_sigchld();
  thread_waits();
  forging();
  puts("EXIT-SUCCESS");
  return 0;
}
