// cputimers: CPU time and the timers that run on it, as Linux keeps them:
//   - CLOCK_PROCESS_CPUTIME_ID / CLOCK_THREAD_CPUTIME_ID grow while the caller computes, not
//     while it sleeps; a thread's clock (pthread_getcpuclockid) counts that thread only;
//     clock_getcpuclockid of the process and of a pid that does not exist (ESRCH); resolution
//   - times() and getrusage(RUSAGE_SELF, RUSAGE_THREAD, RUSAGE_CHILDREN after a child computed)
//   - ITIMER_VIRTUAL does not fire while the process sleeps, fires when it computes (SIGVTALRM,
//     SI_KERNEL); getitimer right after setitimer shows the value plus at most a tick
//     (set_cpu_itimer); a periodic ITIMER_PROF fires 3 times
//   - POSIX timers on CLOCK_PROCESS_CPUTIME_ID and CLOCK_THREAD_CPUTIME_ID (SI_TIMER)
// Output has no times that vary: only comparisons, counts and codes.
#define _GNU_SOURCE
#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <sys/resource.h>
#include <sys/time.h>
#include <sys/times.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "guest_util.h"

static volatile sig_atomic_t fired, last_code;
static volatile unsigned long sink;

static void on_signal(int sig, siginfo_t* si, void* uc) {
  (void)sig, (void)uc;
  fired++;
  last_code = si->si_code;
}

static void install(int sig) {
  struct sigaction sa = {0};
  sa.sa_sigaction = on_signal;
  sa.sa_flags = SA_SIGINFO;
  sigemptyset(&sa.sa_mask);
  CHECK(sigaction(sig, &sa, NULL) == 0);
}

static int64_t clock_ns(clockid_t c) {
  struct timespec ts;
  CHECK(clock_gettime(c, &ts) == 0);
  return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

// Computes until `ns` of process CPU time passed, or until `until` handler runs happened.
static void spin(int64_t ns, int until) {
  int64_t end = clock_ns(CLOCK_PROCESS_CPUTIME_ID) + ns;
  while (clock_ns(CLOCK_PROCESS_CPUTIME_ID) < end && fired < until)
    for (int i = 0; i < 10000; ++i) sink += (unsigned long)i * 7;
}

static void sleep_ms(int ms) {
  struct timespec ts = {ms / 1000, (long)(ms % 1000) * 1000000};
  while (nanosleep(&ts, &ts) != 0) CHECK(errno == EINTR);
}

static void test_clocks(void) {
  int64_t c0 = clock_ns(CLOCK_PROCESS_CPUTIME_ID), t0 = clock_ns(CLOCK_THREAD_CPUTIME_ID);
  spin(20000000, 1 << 30);
  int64_t c1 = clock_ns(CLOCK_PROCESS_CPUTIME_ID), t1 = clock_ns(CLOCK_THREAD_CPUTIME_ID);
  printf("process cputime grew by >= 20 ms computing: %s\n", c1 - c0 >= 20000000 ? "yes" : "no");
  printf("thread cputime grew too: %s\n", t1 - t0 >= 20000000 ? "yes" : "no");
  int64_t m0 = clock_ns(CLOCK_MONOTONIC);
  sleep_ms(50);
  int64_t m1 = clock_ns(CLOCK_MONOTONIC), c2 = clock_ns(CLOCK_PROCESS_CPUTIME_ID);
  printf("sleeping 50 ms: monotonic >= 50 ms: %s, cputime < 10 ms: %s\n",
         m1 - m0 >= 50000000 ? "yes" : "no", c2 - c1 < 10000000 ? "yes" : "no");
  struct timespec res;
  CHECK(clock_getres(CLOCK_PROCESS_CPUTIME_ID, &res) == 0);
  printf("CLOCK_PROCESS_CPUTIME_ID resolution: %ld.%09ld\n", (long)res.tv_sec, res.tv_nsec);
  clockid_t mine;
  CHECK(clock_getcpuclockid(getpid(), &mine) == 0);
  int64_t via_pid = clock_ns(mine), direct = clock_ns(CLOCK_PROCESS_CPUTIME_ID);
  printf("clock_getcpuclockid(getpid()) reads the process clock: %s\n",
         via_pid > 0 && via_pid <= direct ? "yes" : "no");
  printf("clock_getcpuclockid(no such pid): %s\n", errno_name(clock_getcpuclockid(999999, &mine)));
}

static volatile int thread_go;

static void* sleeper(void* arg) {
  (void)arg;
  while (!thread_go) sleep_ms(1);
  return NULL;
}

static void test_thread_clock(void) {
  pthread_t t;
  CHECK(pthread_create(&t, NULL, sleeper, NULL) == 0);
  clockid_t c;
  CHECK(pthread_getcpuclockid(t, &c) == 0);
  int64_t before = clock_ns(c);
  spin(20000000, 1 << 30);
  int64_t after = clock_ns(c);
  printf("a sleeping thread's clock grows < 10 ms while main computes 20 ms: %s\n",
         after - before < 10000000 ? "yes" : "no");
  thread_go = 1;
  CHECK(pthread_join(t, NULL) == 0);
}

static double tv_sec(struct timeval tv) { return (double)tv.tv_sec + (double)tv.tv_usec / 1e6; }

static void test_rusage(void) {
  struct tms tm;
  CHECK(times(&tm) != (clock_t)-1);
  printf("times: utime + stime > 0: %s\n", tm.tms_utime + tm.tms_stime > 0 ? "yes" : "no");
  struct rusage self, thread, children;
  CHECK(getrusage(RUSAGE_THREAD, &thread) == 0);
  CHECK(getrusage(RUSAGE_SELF, &self) == 0);
  // Linux splits the runtime between utime and stime by tick samples: compare their sums.
  double self_cpu = tv_sec(self.ru_utime) + tv_sec(self.ru_stime);
  printf("getrusage: self cpu >= 35 ms: %s, thread cpu <= self: %s\n", self_cpu >= 0.035 ? "yes" : "no",
         tv_sec(thread.ru_utime) + tv_sec(thread.ru_stime) <= self_cpu ? "yes" : "no");
  CHECK(getrusage(RUSAGE_CHILDREN, &children) == 0);
  printf("children before: %s\n", tv_sec(children.ru_utime) == 0 ? "none" : "some");
  pid_t pid = fork();
  CHECK(pid >= 0);
  if (pid == 0) {
    spin(20000000, 1 << 30);
    _exit(0);
  }
  int status;
  CHECK(waitpid(pid, &status, 0) == pid && WIFEXITED(status));
  CHECK(getrusage(RUSAGE_CHILDREN, &children) == 0);
  CHECK(times(&tm) != (clock_t)-1);
  printf("children after a 20 ms child: cpu >= 15 ms: %s, tms_cutime + tms_cstime > 0: %s\n",
         tv_sec(children.ru_utime) + tv_sec(children.ru_stime) >= 0.015 ? "yes" : "no",
         tm.tms_cutime + tm.tms_cstime > 0 ? "yes" : "no");
}

static void test_itimers(void) {
  install(SIGVTALRM);
  install(SIGPROF);
  struct itimerval it = {{0, 0}, {0, 20000}}, cur;
  CHECK(setitimer(ITIMER_VIRTUAL, &it, NULL) == 0);
  sleep_ms(100);
  printf("ITIMER_VIRTUAL while sleeping 100 ms: %d signals\n", fired);
  spin(2000000000, 1);
  printf("ITIMER_VIRTUAL while computing: %d signal, SI_KERNEL: %s\n", fired,
         last_code == SI_KERNEL ? "yes" : "no");
  it.it_value.tv_sec = 1, it.it_value.tv_usec = 0;
  CHECK(setitimer(ITIMER_VIRTUAL, &it, NULL) == 0);
  CHECK(getitimer(ITIMER_VIRTUAL, &cur) == 0);
  double v = tv_sec(cur.it_value);
  printf("getitimer after setting 1 s: in (0.99, 1.005]: %s\n", v > 0.99 && v <= 1.005 ? "yes" : "no");
  memset(&it, 0, sizeof it);
  CHECK(setitimer(ITIMER_VIRTUAL, &it, &cur) == 0);
  CHECK(getitimer(ITIMER_VIRTUAL, &cur) == 0);
  printf("disarmed: %ld.%06ld\n", (long)cur.it_value.tv_sec, (long)cur.it_value.tv_usec);
  fired = 0;
  struct itimerval prof = {{0, 10000}, {0, 10000}};
  CHECK(setitimer(ITIMER_PROF, &prof, NULL) == 0);
  spin(2000000000, 3);
  memset(&prof, 0, sizeof prof);
  CHECK(setitimer(ITIMER_PROF, &prof, NULL) == 0);
  printf("periodic ITIMER_PROF: %d signals\n", fired);
}

static void test_posix(clockid_t clock, const char* name) {
  install(SIGUSR1);
  fired = 0;
  struct sigevent ev = {0};
  ev.sigev_notify = SIGEV_SIGNAL;
  ev.sigev_signo = SIGUSR1;
  timer_t id;
  CHECK(timer_create(clock, &ev, &id) == 0);
  struct itimerspec its = {{0, 0}, {0, 10000000}};
  CHECK(timer_settime(id, 0, &its, NULL) == 0);
  sleep_ms(50);
  int while_sleeping = fired;
  spin(2000000000, 1);
  printf("%s timer: %d while sleeping, %d after computing, SI_TIMER: %s\n", name, while_sleeping,
         fired, last_code == SI_TIMER ? "yes" : "no");
  CHECK(timer_delete(id) == 0);
}

int main(void) {
  test_clocks();
  test_thread_clock();
  test_rusage();
  test_itimers();
  test_posix(CLOCK_PROCESS_CPUTIME_ID, "CLOCK_PROCESS_CPUTIME_ID");
  test_posix(CLOCK_THREAD_CPUTIME_ID, "CLOCK_THREAD_CPUTIME_ID");
  exit_success_line();
  return 0;
}
