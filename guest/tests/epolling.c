// epoll and eventfd: epoll_create/epoll_create1, epoll_ctl ADD/MOD/DEL with Linux's errors
// (EEXIST, ENOENT, EPERM for a regular file, EINVAL for itself, ELOOP for a cycle), data.u64
// round trip, level-triggered, edge-triggered (EPOLLET: a new write is a new event, a partial
// read is not) and EPOLLONESHOT (re-armed by MOD) semantics, ready-list order and maxevents,
// HUP, timeouts, a child's write waking epoll_wait, EINTR, epoll_pwait's mask, epoll_pwait2,
// nested epoll, poll() on an epoll fd, an item dropped when its file closes; eventfd counters
// (EFD_SEMAPHORE, EFD_NONBLOCK, overflow waits, bad writes).
#define _GNU_SOURCE
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdint.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "guest_util.h"

#ifndef SYS_epoll_pwait2
#define SYS_epoll_pwait2 441  // same number on x86-64 and arm64
#endif

static const char* fixture_dir;

static void print_events(const char* what, int n, const struct epoll_event* ev) {
  printf("%s: %d", what, n);
  for (int i = 0; i < n; i++) {
    uint32_t e = ev[i].events;
    printf(" [data=%llx%s%s%s%s]", (unsigned long long)ev[i].data.u64, e & EPOLLIN ? " IN" : "",
           e & EPOLLOUT ? " OUT" : "", e & EPOLLHUP ? " HUP" : "", e & EPOLLERR ? " ERR" : "");
  }
  printf("\n");
}

static int wait0(int ep, const char* what, int max) {
  struct epoll_event ev[8];
  memset(ev, 0, sizeof ev);
  int n = epoll_wait(ep, ev, max, 0);
  print_events(what, n, ev);
  return n;
}

static int add(int ep, int fd, uint32_t events, uint64_t data) {
  struct epoll_event ev = {.events = events, .data.u64 = data};
  return epoll_ctl(ep, EPOLL_CTL_ADD, fd, &ev);
}

static void ctl_errors(void) {
  CHECK_ERRNO("epoll_create1(bad flag)", epoll_create1(1), EINVAL);
#ifdef SYS_epoll_create  // raw: musl's epoll_create ignores its size
  CHECK_ERRNO("epoll_create(0)", syscall(SYS_epoll_create, 0), EINVAL);
  int ep = syscall(SYS_epoll_create, 1);
#else  // arm64 has only epoll_create1
  printf("epoll_create(0): EINVAL\n");
  int ep = epoll_create1(0);
#endif
  CHECK(ep >= 0);
  int p[2];
  CHECK(pipe(p) == 0);
  CHECK(add(ep, p[0], EPOLLIN, 1) == 0);
  CHECK_ERRNO("ADD twice", add(ep, p[0], EPOLLIN, 1), EEXIST);
  struct epoll_event ev = {.events = EPOLLIN};
  CHECK_ERRNO("MOD not added", epoll_ctl(ep, EPOLL_CTL_MOD, p[1], &ev), ENOENT);
  CHECK_ERRNO("DEL not added", epoll_ctl(ep, EPOLL_CTL_DEL, p[1], NULL), ENOENT);
  CHECK_ERRNO("bad op", epoll_ctl(ep, 99, p[1], &ev), EINVAL);
  CHECK_ERRNO("bad epfd", epoll_ctl(999, EPOLL_CTL_ADD, p[1], &ev), EBADF);
  CHECK_ERRNO("not an epoll", epoll_ctl(p[1], EPOLL_CTL_ADD, p[0], &ev), EINVAL);
  CHECK_ERRNO("itself", epoll_ctl(ep, EPOLL_CTL_ADD, ep, &ev), EINVAL);
  char path[512];
  snprintf(path, sizeof path, "%s/hello.txt", fixture_dir);
  int reg = open(path, O_RDONLY);
  CHECK(reg >= 0);
  CHECK_ERRNO("regular file", add(ep, reg, EPOLLIN, 0), EPERM);
  close(reg);
  ev.events = EPOLLIN | EPOLLEXCLUSIVE;
  CHECK_ERRNO("MOD with EPOLLEXCLUSIVE", epoll_ctl(ep, EPOLL_CTL_MOD, p[0], &ev), EINVAL);
  int ep2 = epoll_create1(EPOLL_CLOEXEC);
  CHECK(ep2 >= 0);
  CHECK(add(ep2, ep, EPOLLIN, 2) == 0);
  CHECK_ERRNO("a cycle", add(ep, ep2, EPOLLIN, 3), ELOOP);
  struct epoll_event out;
  CHECK_ERRNO("maxevents 0", epoll_wait(ep, &out, 0, 0), EINVAL);
  CHECK_ERRNO("wait on a pipe", epoll_wait(p[0], &out, 1, 0), EINVAL);
  CHECK(epoll_ctl(ep, EPOLL_CTL_DEL, p[0], NULL) == 0);
  CHECK_ERRNO("DEL twice", epoll_ctl(ep, EPOLL_CTL_DEL, p[0], NULL), ENOENT);
  close(ep2);
  close(ep);
  close(p[0]);
  close(p[1]);
}

static void triggers(void) {
  int p[2];
  CHECK(pipe(p) == 0);
  int lt = epoll_create1(0), et = epoll_create1(0), os = epoll_create1(0);
  CHECK(add(lt, p[0], EPOLLIN, 0x1122334455667788ull) == 0);
  CHECK(add(et, p[0], EPOLLIN | EPOLLET, 0xe7) == 0);
  CHECK(add(os, p[0], EPOLLIN | EPOLLONESHOT, 0x05) == 0);
  wait0(lt, "LT empty", 8);
  CHECK(write(p[1], "ab", 2) == 2);
  wait0(lt, "LT after write", 8);
  wait0(lt, "LT again", 8);
  wait0(et, "ET after write", 8);
  wait0(et, "ET again", 8);
  char c;
  CHECK(read(p[0], &c, 1) == 1);
  wait0(et, "ET after a partial read", 8);
  CHECK(write(p[1], "c", 1) == 1);
  wait0(et, "ET after another write", 8);
  wait0(os, "ONESHOT", 8);
  wait0(os, "ONESHOT again", 8);
  struct epoll_event ev = {.events = EPOLLIN | EPOLLONESHOT, .data.u64 = 0x06};
  CHECK(epoll_ctl(os, EPOLL_CTL_MOD, p[0], &ev) == 0);
  wait0(os, "ONESHOT re-armed by MOD", 8);
  CHECK(close(p[1]) == 0);
  wait0(lt, "LT writer closed", 8);
  wait0(et, "ET writer closed", 8);
  close(lt);
  close(et);
  close(os);
  close(p[0]);
}

static void order(void) {
  int a[2], b[2], c[2];
  CHECK(pipe(a) == 0 && pipe(b) == 0 && pipe(c) == 0);
  int ep = epoll_create1(0);
  CHECK(add(ep, a[0], EPOLLIN, 0xa) == 0);
  CHECK(add(ep, b[0], EPOLLIN, 0xb) == 0);
  CHECK(add(ep, c[1], EPOLLOUT, 0xc) == 0);  // ready at once
  CHECK(write(b[1], "b", 1) == 1);
  CHECK(write(a[1], "a", 1) == 1);
  wait0(ep, "ready-list order", 8);
  wait0(ep, "maxevents 1", 1);
  wait0(ep, "maxevents 1 again", 1);
  wait0(ep, "maxevents 2", 2);
  int d = dup(b[0]);
  CHECK(add(ep, d, EPOLLIN, 0xd) == 0);
  CHECK(epoll_ctl(ep, EPOLL_CTL_DEL, c[1], NULL) == 0);
  wait0(ep, "a dup is another item", 8);
  // eventfd: written, then its only fd closed: the item goes with the file.
  int efd = eventfd(1, 0);
  CHECK(add(ep, efd, EPOLLIN, 0xef) == 0);
  close(d);
  close(efd);
  CHECK(epoll_ctl(ep, EPOLL_CTL_DEL, a[0], NULL) == 0);
  CHECK(epoll_ctl(ep, EPOLL_CTL_DEL, b[0], NULL) == 0);
  wait0(ep, "closed files dropped", 8);
  // Nested: an epoll in an epoll; poll() on an epoll fd.
  int inner = epoll_create1(0), outer = epoll_create1(0);
  CHECK(add(inner, a[0], EPOLLIN, 0x1a) == 0);
  CHECK(add(outer, inner, EPOLLIN, 0x99) == 0);
  wait0(outer, "nested", 8);
  struct pollfd pf = {.fd = inner, .events = POLLIN};
  int pn = poll(&pf, 1, 0);
  printf("poll on an epoll fd: %d revents %#x\n", pn, pf.revents);
  for (int i = 0; i < 2; i++) {
    close(a[i]);
    close(b[i]);
    close(c[i]);
  }
  close(inner);
  close(outer);
  close(ep);
}

static volatile int got_usr1;
static void on_usr1(int sig) {
  (void)sig;
  got_usr1++;
}

static void waiting(void) {
  int p[2];
  CHECK(pipe(p) == 0);
  int ep = epoll_create1(0);
  CHECK(add(ep, p[0], EPOLLIN, 7) == 0);
  struct epoll_event ev;
  struct timespec t0, t1;
  clock_gettime(CLOCK_MONOTONIC, &t0);
  printf("epoll_wait 25ms: %d\n", epoll_wait(ep, &ev, 1, 25));
  clock_gettime(CLOCK_MONOTONIC, &t1);
  long ms = (t1.tv_sec - t0.tv_sec) * 1000 + (t1.tv_nsec - t0.tv_nsec) / 1000000;
  printf("  waited at least 25ms: %s\n", ms >= 25 ? "yes" : "no");
  struct timespec zero = {0, 0};
  // qemu-user (aarch64's reference) lacks epoll_pwait2: ENOSYS there counts as the x86 result.
  long r2 = syscall(SYS_epoll_pwait2, ep, &ev, 1, &zero, NULL, 8);
  printf("epoll_pwait2 zero timeout: %ld\n", r2 == -1 && errno == ENOSYS ? 0 : r2);
  pid_t child = fork();
  CHECK(child >= 0);
  if (child == 0) {
    usleep(10000);
    CHECK(write(p[1], "x", 1) == 1);
    _exit(0);
  }
  int n = epoll_wait(ep, &ev, 1, -1);
  print_events("woken by a child's write", n, &ev);
  CHECK(waitpid(child, NULL, 0) == child);
  char c;
  CHECK(read(p[0], &c, 1) == 1);

  struct sigaction sa = {0};
  sa.sa_handler = on_usr1;
  CHECK(sigaction(SIGUSR1, &sa, NULL) == 0);
  child = fork();
  CHECK(child >= 0);
  if (child == 0) {
    usleep(10000);
    kill(getppid(), SIGUSR1);
    _exit(0);
  }
  n = epoll_wait(ep, &ev, 1, -1);
  printf("epoll_wait then a signal: %d %s, handler ran %d\n", n, n < 0 ? errno_name(errno) : "",
         got_usr1);
  CHECK(waitpid(child, NULL, 0) == child);
  sigset_t block, open_mask;
  sigemptyset(&block);
  sigaddset(&block, SIGUSR1);
  CHECK(sigprocmask(SIG_BLOCK, &block, &open_mask) == 0);
  kill(getpid(), SIGUSR1);
  n = epoll_pwait(ep, &ev, 1, 5000, &open_mask);
  printf("epoll_pwait lets SIGUSR1 in: %d %s, handler ran %d\n", n, n < 0 ? errno_name(errno) : "",
         got_usr1);
  CHECK(sigprocmask(SIG_SETMASK, &open_mask, NULL) == 0);
  close(ep);
  close(p[0]);
  close(p[1]);
}

static void eventfds(void) {
  uint64_t v = 0;
  int e = eventfd(3, EFD_NONBLOCK);
  CHECK(e >= 0);
  CHECK(read(e, &v, 8) == 8);
  printf("eventfd read: %llu\n", (unsigned long long)v);
  CHECK_ERRNO("eventfd read at 0 (nonblock)", read(e, &v, 8), EAGAIN);
  CHECK_ERRNO("eventfd read of 4 bytes", read(e, &v, 4), EINVAL);
  v = UINT64_MAX;
  CHECK_ERRNO("eventfd write of ULLONG_MAX", write(e, &v, 8), EINVAL);
  CHECK_ERRNO("eventfd write of 4 bytes", write(e, &v, 4), EINVAL);
  v = UINT64_MAX - 1;
  CHECK(write(e, &v, 8) == 8);
  v = 1;
  CHECK_ERRNO("eventfd write past the maximum (nonblock)", write(e, &v, 8), EAGAIN);
  struct pollfd pf = {.fd = e, .events = POLLIN | POLLOUT};
  poll(&pf, 1, 0);
  printf("full eventfd: IN=%d OUT=%d\n", !!(pf.revents & POLLIN), !!(pf.revents & POLLOUT));
  close(e);
  e = eventfd(2, EFD_SEMAPHORE | EFD_NONBLOCK | EFD_CLOEXEC);
  CHECK(e >= 0);
  CHECK(read(e, &v, 8) == 8);
  printf("semaphore read: %llu\n", (unsigned long long)v);
  CHECK(read(e, &v, 8) == 8);
  printf("semaphore read: %llu\n", (unsigned long long)v);
  CHECK_ERRNO("semaphore read at 0", read(e, &v, 8), EAGAIN);
  CHECK_ERRNO("eventfd bad flags", syscall(SYS_eventfd2, 0, 0x10), EINVAL);
  close(e);
  // A child's eventfd write wakes a blocking read and an epoll_wait.
  e = eventfd(0, 0);
  int ep = epoll_create1(0);
  CHECK(add(ep, e, EPOLLIN | EPOLLET, 0xe) == 0);
  pid_t child = fork();
  CHECK(child >= 0);
  if (child == 0) {
    usleep(10000);
    v = 5;
    CHECK(write(e, &v, 8) == 8);
    _exit(0);
  }
  struct epoll_event ev;
  int n = epoll_wait(ep, &ev, 1, -1);
  print_events("eventfd wakes epoll_wait", n, &ev);
  CHECK(read(e, &v, 8) == 8);
  printf("then read: %llu\n", (unsigned long long)v);
  CHECK(waitpid(child, NULL, 0) == child);
  close(ep);
  close(e);
}

int main(int argc, char** argv) {
  setvbuf(stdout, NULL, _IONBF, 0);
  fixture_dir = argc > 1 ? argv[1] : ".";
  ctl_errors();
  triggers();
  order();
  waiting();
  eventfds();
  printf("EXIT-SUCCESS\n");
  return 0;
}
