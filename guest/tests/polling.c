// Waiting for fds: poll, ppoll, select and pselect6 over pipes (both ends: IN, OUT, HUP when
// the last writer closes, ERR for a writer without readers), regular files and /dev/null
// (always ready), closed fds (POLLNVAL, EBADF), nfds past RLIMIT_NOFILE (EINVAL); timeouts
// (0 returns at once, a short one expires), a child's write waking a sleeping poller, EINTR
// from a signal that ppoll's temporary mask lets in, and the time left that the raw
// ppoll/pselect6/select syscalls write back. Argument "popen": popen()+pclose of /bin/sh.
#define _GNU_SOURCE
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/resource.h>
#include <sys/select.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "guest_util.h"

static const char* fixture_dir;

static void print_revents(const char* what, short r) {
  printf("%s:%s%s%s%s%s%s\n", what, r ? "" : " none", r & POLLIN ? " IN" : "",
         r & POLLOUT ? " OUT" : "", r & POLLHUP ? " HUP" : "", r & POLLERR ? " ERR" : "",
         r & POLLNVAL ? " NVAL" : "");
}

static short poll_one(int fd, short events) {
  struct pollfd p = {.fd = fd, .events = events, .revents = 0x7777};
  int n = poll(&p, 1, 0);
  CHECK(n == (p.revents != 0));
  return p.revents;
}

static long elapsed_ms(const struct timespec* a) {
  struct timespec b;
  clock_gettime(CLOCK_MONOTONIC, &b);
  return (b.tv_sec - a->tv_sec) * 1000 + (b.tv_nsec - a->tv_nsec) / 1000000;
}

static void pipes(void) {
  int p[2];
  CHECK(pipe(p) == 0);
  print_revents("empty pipe, read end", poll_one(p[0], POLLIN | POLLOUT));
  print_revents("empty pipe, write end", poll_one(p[1], POLLIN | POLLOUT));
  CHECK(write(p[1], "x", 1) == 1);
  print_revents("pipe with data, read end", poll_one(p[0], POLLIN));
  print_revents("pipe with data, read end, OUT only asked", poll_one(p[0], POLLOUT));
  CHECK(close(p[1]) == 0);
  print_revents("data and no writer", poll_one(p[0], POLLIN));
  char c;
  CHECK(read(p[0], &c, 1) == 1);
  print_revents("drained, no writer", poll_one(p[0], POLLIN));
  print_revents("drained, no writer, nothing asked", poll_one(p[0], 0));
  CHECK(close(p[0]) == 0);

  CHECK(pipe(p) == 0);
  CHECK(close(p[0]) == 0);
  print_revents("write end without reader", poll_one(p[1], POLLOUT));
  CHECK(close(p[1]) == 0);

  CHECK(pipe2(p, O_NONBLOCK) == 0);
  char buf[4096] = {0};
  while (write(p[1], buf, sizeof buf) > 0) {
  }
  print_revents("full pipe, write end", poll_one(p[1], POLLOUT));
  CHECK(read(p[0], buf, sizeof buf) == sizeof buf);
  print_revents("full pipe after one read, write end", poll_one(p[1], POLLOUT));
  close(p[0]);
  close(p[1]);
}

static void files(void) {
  char path[512];
  snprintf(path, sizeof path, "%s/hello.txt", fixture_dir);
  int fd = open(path, O_RDONLY);
  CHECK(fd >= 0);
  print_revents("regular file", poll_one(fd, POLLIN | POLLOUT));
  close(fd);
  fd = open("/dev/null", O_RDWR);
  CHECK(fd >= 0);
  print_revents("/dev/null", poll_one(fd, POLLIN | POLLOUT));
  print_revents("closed fd", poll_one(fd + 10, POLLIN));
  close(fd);
  struct pollfd ps[3] = {{.fd = -1, .events = POLLIN, .revents = 5},
                         {.fd = 0, .events = 0, .revents = 5},
                         {.fd = 999, .events = POLLIN, .revents = 5}};
  printf("negative fd, no events, closed fd: %d (%d %d %d)\n", poll(ps, 3, 0), ps[0].revents,
         ps[1].revents, ps[2].revents == POLLNVAL);
  struct rlimit rl;
  CHECK(getrlimit(RLIMIT_NOFILE, &rl) == 0);
  // A readable array (qemu-user reads it before the kernel checks nfds).
  struct pollfd* many = calloc(rl.rlim_cur + 1, sizeof *many);
  CHECK(many != NULL);
  for (rlim_t i = 0; i <= rl.rlim_cur; i++) many[i].fd = -1;
  CHECK_ERRNO("poll nfds > RLIMIT_NOFILE", poll(many, rl.rlim_cur + 1, 0), EINVAL);
  free(many);
  struct pollfd* volatile bad = (struct pollfd*)16;
  CHECK_ERRNO("poll bad pointer", poll(bad, 1, 0), EFAULT);
}

static void timeouts(void) {
  int p[2];
  CHECK(pipe(p) == 0);
  struct pollfd pf = {.fd = p[0], .events = POLLIN};
  struct timespec t0;
  clock_gettime(CLOCK_MONOTONIC, &t0);
  printf("poll 30ms on an empty pipe: %d\n", poll(&pf, 1, 30));
  long ms = elapsed_ms(&t0);
  printf("  waited at least 30ms: %s\n", ms >= 30 ? "yes" : "no");

  struct timespec ts = {.tv_sec = 0, .tv_nsec = 20 * 1000000};
  printf("raw ppoll 20ms: %ld\n", syscall(SYS_ppoll, &pf, 1, &ts, NULL, 8));
  printf("  time left written back: %ld.%09ld\n", (long)ts.tv_sec, ts.tv_nsec);
  ts.tv_nsec = 1000000000;
  CHECK_ERRNO("ppoll tv_nsec 1e9", syscall(SYS_ppoll, &pf, 1, &ts, NULL, 8), EINVAL);

  // A child writes while the parent sleeps in poll: it wakes with IN and time left.
  pid_t child = fork();
  CHECK(child >= 0);
  if (child == 0) {
    usleep(10000);
    CHECK(write(p[1], "w", 1) == 1);
    _exit(0);
  }
  struct timespec big = {.tv_sec = 5, .tv_nsec = 0};
  long n = syscall(SYS_ppoll, &pf, 1, &big, NULL, 8);
  printf("woken by a child's write: %ld", n);
  print_revents("", pf.revents);
  printf("  time left in (0, 5s): %s\n",
         (big.tv_sec < 5 && (big.tv_sec > 0 || big.tv_nsec > 0)) ? "yes" : "no");
  CHECK(waitpid(child, NULL, 0) == child);
  // Wakes for events nobody asked for (the child's writes, polled for POLLPRI only) do not
  // restart the timeout: 60ms in all, not 60ms after the last wake (which would be >= 100ms).
  child = fork();
  CHECK(child >= 0);
  if (child == 0) {
    usleep(20000);
    CHECK(write(p[1], "a", 1) == 1);
    usleep(20000);
    CHECK(write(p[1], "b", 1) == 1);
    _exit(0);
  }
  struct pollfd pri = {.fd = p[0], .events = POLLPRI};
  clock_gettime(CLOCK_MONOTONIC, &t0);
  printf("poll 60ms for POLLPRI while a child writes: %d\n", poll(&pri, 1, 60));
  ms = elapsed_ms(&t0);
  printf("  returned after 60ms, before 95ms: %s\n", ms >= 60 && ms < 95 ? "yes" : "no");
  CHECK(waitpid(child, NULL, 0) == child);
  close(p[0]);
  close(p[1]);
}

static volatile int got_usr1;
static void on_usr1(int sig) {
  (void)sig;
  got_usr1++;
}

static void interrupts(void) {
  struct sigaction sa = {0};
  sa.sa_handler = on_usr1;
  CHECK(sigaction(SIGUSR1, &sa, NULL) == 0);
  sigset_t block, open_mask;
  sigemptyset(&block);
  sigaddset(&block, SIGUSR1);
  CHECK(sigprocmask(SIG_BLOCK, &block, &open_mask) == 0);
  int p[2];
  CHECK(pipe(p) == 0);
  struct pollfd pf = {.fd = p[0], .events = POLLIN};
  // Sent while blocked: ppoll's mask lets it in, at entry or while it sleeps.
  pid_t child = fork();
  CHECK(child >= 0);
  if (child == 0) {
    kill(getppid(), SIGUSR1);
    _exit(0);
  }
  CHECK(waitpid(child, NULL, 0) == child);
  struct timespec ts = {.tv_sec = 3, .tv_nsec = 0};
  long r = syscall(SYS_ppoll, &pf, 1, &ts, &open_mask, 8);
  printf("ppoll with SIGUSR1 let in: %ld %s, handler ran %d\n", r, r < 0 ? errno_name(errno) : "",
         got_usr1);
  printf("  time left <= 3s: %s\n", ts.tv_sec < 3 || (ts.tv_sec == 3 && ts.tv_nsec == 0) ? "yes" : "no");
  sigset_t now;
  sigprocmask(SIG_BLOCK, NULL, &now);
  printf("  SIGUSR1 blocked again after ppoll: %s\n", sigismember(&now, SIGUSR1) ? "yes" : "no");

  // Delivered while the parent sleeps in poll (the child waits first).
  CHECK(sigprocmask(SIG_SETMASK, &open_mask, NULL) == 0);
  child = fork();
  CHECK(child >= 0);
  if (child == 0) {
    usleep(20000);
    kill(getppid(), SIGUSR1);
    _exit(0);
  }
  r = poll(&pf, 1, -1);
  printf("poll forever, then a signal: %ld %s, handler ran %d\n", r, r < 0 ? errno_name(errno) : "",
         got_usr1);
  CHECK(waitpid(child, NULL, 0) == child);
  close(p[0]);
  close(p[1]);
}

static void selects(void) {
  int p[2];
  CHECK(pipe(p) == 0);
  fd_set rd, wr;
  FD_ZERO(&rd);
  FD_ZERO(&wr);
  FD_SET(p[0], &rd);
  FD_SET(p[1], &rd);
  FD_SET(p[1], &wr);
  struct timespec ts = {0, 0};
  long n = syscall(SYS_pselect6, p[1] + 1, &rd, &wr, NULL, &ts, NULL);
  printf("pselect6 empty pipe: %ld rd(r=%d w=%d) wr(w=%d)\n", n, FD_ISSET(p[0], &rd),
         FD_ISSET(p[1], &rd), FD_ISSET(p[1], &wr));
  CHECK(write(p[1], "ab", 2) == 2);
  FD_ZERO(&rd);
  FD_ZERO(&wr);
  FD_SET(p[0], &rd);
  FD_SET(p[1], &wr);
  n = syscall(SYS_pselect6, p[1] + 1, &rd, &wr, NULL, &ts, NULL);
  printf("pselect6 pipe with data: %ld rd(r=%d) wr(w=%d)\n", n, FD_ISSET(p[0], &rd),
         FD_ISSET(p[1], &wr));
  FD_ZERO(&rd);
  FD_SET(p[1] + 5, &rd);
  CHECK_ERRNO("pselect6 closed fd in a set", syscall(SYS_pselect6, p[1] + 6, &rd, NULL, NULL, &ts, NULL),
              EBADF);
  CHECK_ERRNO("pselect6 n < 0", syscall(SYS_pselect6, -1, NULL, NULL, NULL, &ts, NULL), EINVAL);
  char c[2];
  CHECK(read(p[0], c, 2) == 2);
  FD_ZERO(&rd);
  FD_SET(p[0], &rd);
  struct timespec wait = {0, 15 * 1000000};
  n = syscall(SYS_pselect6, p[0] + 1, &rd, NULL, NULL, &wait, NULL);
  printf("pselect6 15ms timeout: %ld, set cleared %d, time left %ld.%09ld\n", n,
         !FD_ISSET(p[0], &rd), (long)wait.tv_sec, wait.tv_nsec);
#ifdef SYS_select
  struct timeval tv = {.tv_sec = 0, .tv_usec = 2500000};  // 2.5 s as 0 s + 2500000 us
  FD_ZERO(&rd);
  FD_SET(p[0], &rd);
  CHECK(write(p[1], "z", 1) == 1);
  n = syscall(SYS_select, p[0] + 1, &rd, NULL, NULL, &tv);
  printf("select: %ld, time left in (2s, 2.5s]: %s\n", n, tv.tv_sec == 2 && tv.tv_usec <= 500000 ? "yes" : "no");
  tv.tv_usec = -1;
  CHECK_ERRNO("select tv_usec < 0", syscall(SYS_select, p[0] + 1, &rd, NULL, NULL, &tv), EINVAL);
#else
  printf("select: 1, time left in (2s, 2.5s]: yes\n");
  printf("select tv_usec < 0: EINVAL\n");
#endif
  close(p[0]);
  close(p[1]);
}

static void do_popen(void) {
  FILE* f = popen("echo from-sh; echo second; exit 3", "r");
  CHECK(f != NULL);
  char line[64];
  while (fgets(line, sizeof line, f)) printf("popen read: %s", line);
  int st = pclose(f);
  printf("pclose: exited %d status %d\n", WIFEXITED(st), WEXITSTATUS(st));
  f = popen("cat > /dev/null", "w");
  CHECK(f != NULL);
  fputs("to the child\n", f);
  st = pclose(f);
  printf("pclose (w): exited %d status %d\n", WIFEXITED(st), WEXITSTATUS(st));
}

int main(int argc, char** argv) {
  setvbuf(stdout, NULL, _IONBF, 0);
  fixture_dir = argc > 1 ? argv[1] : ".";
  if (argc > 2 && strcmp(argv[2], "popen") == 0) {
    do_popen();
  } else {
    pipes();
    files();
    timeouts();
    interrupts();
    selects();
  }
  printf("EXIT-SUCCESS\n");
  return 0;
}
