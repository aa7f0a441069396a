// timers: interval timers (alarm, setitimer, getitimer) and POSIX timers (timer_create,
// timer_settime, timer_gettime, timer_getoverrun, timer_delete), as Linux runs them:
//   - alarm's return value (seconds left, rounded), SIGALRM from alarm and ITIMER_REAL with
//     si_code SI_KERNEL, a periodic ITIMER_REAL counted over 5 periods, getitimer's interval
//   - a fork child inherits no timer
//   - POSIX timers: SIGEV_SIGNAL with si_code SI_TIMER, si_value and si_overrun; overruns while
//     the signal is blocked (si_overrun == timer_getoverrun after delivery), SIGEV_NONE with
//     timer_gettime, SIGEV_THREAD (libc's helper thread), absolute CLOCK_REALTIME expiry
//   - errors: unknown timer id, CLOCK_MONOTONIC_RAW (EOPNOTSUPP), bad which / timeval (EINVAL)
// Output has no times that vary: only counts, codes and bounds.
#include <errno.h>
#include <pthread.h>
#include <semaphore.h>
#include <signal.h>
#include <sys/time.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "guest_util.h"

static volatile sig_atomic_t alarms, last_code;

static void on_alarm(int sig, siginfo_t* si, void* uc) {
  (void)sig, (void)uc;
  alarms++;
  last_code = si->si_code;
}

static void install(int sig) {
  struct sigaction sa = {0};
  sa.sa_sigaction = on_alarm;
  sa.sa_flags = SA_SIGINFO;
  sigemptyset(&sa.sa_mask);
  CHECK(sigaction(sig, &sa, NULL) == 0);
}

// Waits for `n` more handler runs of SIGALRM (blocked outside sigsuspend).
static void wait_alarms(int n) {
  sigset_t block, old;
  sigemptyset(&block);
  sigaddset(&block, SIGALRM);
  CHECK(sigprocmask(SIG_BLOCK, &block, &old) == 0);
  int target = alarms + n;
  while (alarms < target) sigsuspend(&old);
  CHECK(sigprocmask(SIG_SETMASK, &old, NULL) == 0);
}

static void test_alarm(void) {
  install(SIGALRM);
  printf("alarm(5) first: %u\n", alarm(5));
  printf("alarm(0) after alarm(5): %u\n", alarm(0));  // 5 seconds were left (rounded)
  alarm(1);
  wait_alarms(1);
  printf("alarm fired: %d, si_code SI_KERNEL: %s\n", alarms, last_code == SI_KERNEL ? "yes" : "no");
}

static void test_itimer(void) {
  struct itimerval it = {{0, 10000}, {0, 20000}};  // 20 ms, then every 10 ms
  CHECK(setitimer(ITIMER_REAL, &it, NULL) == 0);
  struct itimerval cur;
  CHECK(getitimer(ITIMER_REAL, &cur) == 0);
  printf("getitimer: interval %ld us, value <= 20000 us: %s\n", (long)cur.it_interval.tv_usec,
         cur.it_value.tv_sec == 0 && cur.it_value.tv_usec <= 20000 && cur.it_value.tv_usec > 0
             ? "yes" : "no");
  int before = alarms;
  wait_alarms(5);
  struct itimerval off = {{0, 0}, {0, 0}}, old;
  CHECK(setitimer(ITIMER_REAL, &off, &old) == 0);
  printf("periodic ITIMER_REAL: %d signals, old interval %ld us\n", alarms - before,
         (long)old.it_interval.tv_usec);
  CHECK(getitimer(ITIMER_REAL, &cur) == 0);
  printf("disarmed: %s\n", cur.it_value.tv_sec == 0 && cur.it_value.tv_usec == 0 ? "yes" : "no");
  struct itimerval bad = {{0, 0}, {0, 1000000}};
  CHECK_ERRNO("setitimer tv_usec 1000000", setitimer(ITIMER_REAL, &bad, NULL), EINVAL);
  CHECK_ERRNO("getitimer which 7", getitimer((int)7, &cur), EINVAL);
}

static void test_fork(void) {
  alarm(10);
  pid_t pid = fork();
  CHECK(pid >= 0);
  if (pid == 0) {
    struct itimerval cur;
    CHECK(getitimer(ITIMER_REAL, &cur) == 0);
    _exit(cur.it_value.tv_sec == 0 && cur.it_value.tv_usec == 0 ? 0 : 1);
  }
  int status = 0;
  CHECK(waitpid(pid, &status, 0) == pid);
  printf("fork child has no alarm: %s\n", WIFEXITED(status) && WEXITSTATUS(status) == 0 ? "yes" : "no");
  printf("parent's alarm left: %u\n", alarm(0));
}

static timer_t make_timer(clockid_t clk, int notify, int sig, int value) {
  struct sigevent ev = {0};
  ev.sigev_notify = notify;
  ev.sigev_signo = sig;
  ev.sigev_value.sival_int = value;
  timer_t id;
  CHECK(timer_create(clk, &ev, &id) == 0);
  return id;
}

static void set_timer(timer_t id, int flags, long value_ns, long interval_ns) {
  struct itimerspec its = {{0, interval_ns}, {value_ns / 1000000000L, value_ns % 1000000000L}};
  CHECK(timer_settime(id, flags, &its, NULL) == 0);
}

static void test_posix_signal(void) {
  const int sig = SIGRTMIN + 1;
  sigset_t set;
  sigemptyset(&set);
  sigaddset(&set, sig);
  CHECK(sigprocmask(SIG_BLOCK, &set, NULL) == 0);
  timer_t id = make_timer(CLOCK_MONOTONIC, SIGEV_SIGNAL, sig, 42);
  set_timer(id, 0, 5000000, 0);  // 5 ms, one-shot
  siginfo_t si;
  CHECK(sigwaitinfo(&set, &si) == sig);
  printf("timer signal: SI_TIMER %s, value %d, overrun %d\n", si.si_code == SI_TIMER ? "yes" : "no",
         si.si_value.sival_int, si.si_overrun);
  // Overruns: a 1 ms period while the signal stays queued for 20 ms.
  set_timer(id, 0, 1000000, 1000000);
  struct timespec nap = {0, 20000000};
  while (nanosleep(&nap, &nap) != 0) {}
  CHECK(sigwaitinfo(&set, &si) == sig);
  int got = timer_getoverrun(id);
  printf("overrun >= 10: %s, timer_getoverrun == si_overrun: %s\n", si.si_overrun >= 10 ? "yes" : "no",
         got == si.si_overrun ? "yes" : "no");
  set_timer(id, 0, 0, 0);
  struct timespec drain = {0, 0};
  while (sigtimedwait(&set, &si, &drain) == sig) {}  // a last expiry may have queued one
  CHECK(timer_delete(id) == 0);
  struct itimerspec cur;
  CHECK_ERRNO("timer_gettime of a deleted timer", timer_gettime(id, &cur), EINVAL);
  CHECK(sigprocmask(SIG_UNBLOCK, &set, NULL) == 0);
}

static void test_posix_none_and_abs(void) {
  timer_t id = make_timer(CLOCK_MONOTONIC, SIGEV_NONE, 0, 0);
  set_timer(id, 0, 2000000000L, 500000000L);
  struct itimerspec cur;
  CHECK(timer_gettime(id, &cur) == 0);
  printf("SIGEV_NONE gettime: interval %ld ns, value in (1.9 s, 2 s]: %s\n", cur.it_interval.tv_nsec,
         cur.it_value.tv_sec == 1 && cur.it_value.tv_nsec > 900000000L ? "yes" : "no");
  CHECK(timer_delete(id) == 0);
  // An absolute CLOCK_REALTIME expiry 10 ms from now.
  install(SIGALRM);
  timer_t rt;
  CHECK(timer_create(CLOCK_REALTIME, NULL, &rt) == 0);  // NULL sevp: SIGALRM
  struct timespec now;
  CHECK(clock_gettime(CLOCK_REALTIME, &now) == 0);
  long ns = now.tv_nsec + 10000000L;
  struct itimerspec abs = {{0, 0}, {now.tv_sec + ns / 1000000000L, ns % 1000000000L}};
  CHECK(timer_settime(rt, TIMER_ABSTIME, &abs, NULL) == 0);
  int before = alarms;
  wait_alarms(1);
  printf("absolute realtime timer fired: %s, SI_TIMER: %s\n", alarms == before + 1 ? "yes" : "no",
         last_code == SI_TIMER ? "yes" : "no");
  CHECK(timer_delete(rt) == 0);
  timer_t raw;
  CHECK_ERRNO("timer_create(CLOCK_MONOTONIC_RAW)", timer_create(CLOCK_MONOTONIC_RAW, NULL, &raw),
              EOPNOTSUPP);
}

static sem_t fired;
static void on_thread_timer(union sigval v) {
  if (v.sival_int == 7) sem_post(&fired);
}

static void test_posix_thread(void) {
  CHECK(sem_init(&fired, 0, 0) == 0);
  struct sigevent ev = {0};
  ev.sigev_notify = SIGEV_THREAD;
  ev.sigev_notify_function = on_thread_timer;
  ev.sigev_value.sival_int = 7;
  timer_t id;
  CHECK(timer_create(CLOCK_MONOTONIC, &ev, &id) == 0);
  set_timer(id, 0, 3000000, 0);
  while (sem_wait(&fired) != 0) CHECK(errno == EINTR);
  printf("SIGEV_THREAD callback ran\n");
  CHECK(timer_delete(id) == 0);
}

int main(void) {
  test_alarm();
  test_itimer();
  test_fork();
  test_posix_signal();
  test_posix_none_and_abs();
  test_posix_thread();
  exit_success_line();
  return 0;
}
