// Waiting for signals and where handlers run: pause() and rt_sigsuspend return EINTR after a
// handler; sigsuspend's temporary mask holds while the handler runs and the old one is back
// after it (the frame saves the old one); sigaltstack: SA_ONSTACK handlers run on the
// alternate stack (SS_ONSTACK inside, EPERM to change it there), others on the normal stack,
// SS_AUTODISARM disarms it during the handler, fork keeps it, a new thread has none, bad
// arguments give EINVAL/ENOMEM, and an unmapped alternate stack kills with SIGSEGV.
#define _GNU_SOURCE
#include <pthread.h>
#include <signal.h>
#include <stdint.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <ucontext.h>
#include <unistd.h>

#include "guest_util.h"

#define ALT_SIZE (64 * 1024)
#ifndef SS_AUTODISARM
#define SS_AUTODISARM (1U << 31)  // linux/signal.h (not in every libc)
#endif

static volatile int handled;
static volatile int usr2_blocked_in_handler, usr1_blocked_in_handler, saved_has_usr1;
static volatile uintptr_t handler_sp;
static volatile int onstack_flags, uc_stack_flags, eperm_inside;

static void on_usr1(int sig, siginfo_t* si, void* ctx) {
  (void)sig;
  (void)si;
  sigset_t now;
  sigprocmask(SIG_BLOCK, NULL, &now);
  usr1_blocked_in_handler = sigismember(&now, SIGUSR1);
  usr2_blocked_in_handler = sigismember(&now, SIGUSR2);
  saved_has_usr1 = sigismember(&((ucontext_t*)ctx)->uc_sigmask, SIGUSR1);
  handled++;
}

static void on_usr2(int sig, siginfo_t* si, void* ctx) {
  (void)sig;
  (void)si;
  int local = 0;
  handler_sp = (uintptr_t)&local;
  stack_t cur;
  sigaltstack(NULL, &cur);
  onstack_flags = cur.ss_flags;
  uc_stack_flags = ((ucontext_t*)ctx)->uc_stack.ss_flags;
  stack_t other = {.ss_sp = cur.ss_sp, .ss_size = ALT_SIZE, .ss_flags = 0};
  eperm_inside = sigaltstack(&other, NULL) == -1 ? errno : 0;
  handled++;
}

static void handle(int sig, void (*fn)(int, siginfo_t*, void*), int flags) {
  struct sigaction sa = {0};
  sa.sa_sigaction = fn;
  sa.sa_flags = SA_SIGINFO | flags;
  CHECK(sigaction(sig, &sa, NULL) == 0);
}

static void test_pause(void) {
  handle(SIGUSR1, on_usr1, 0);
  pid_t parent = getpid();
  pid_t c = fork();
  CHECK(c >= 0);
  if (c == 0) {
    struct timespec ts = {0, 20 * 1000000L};
    nanosleep(&ts, NULL);  // the parent is in pause() by then
    kill(parent, SIGUSR1);
    _exit(0);
  }
  handled = 0;
  errno = 0;
  int r = pause();
  printf("pause: %d %s, handler ran %d\n", r, errno_name(errno), handled);
  CHECK(r == -1 && errno == EINTR && handled == 1);
  CHECK(waitpid(c, NULL, 0) == c);
}

static void test_sigsuspend(void) {
  sigset_t usr1, old, empty, now;
  sigemptyset(&usr1);
  sigaddset(&usr1, SIGUSR1);
  sigemptyset(&empty);
  CHECK(sigprocmask(SIG_BLOCK, &usr1, &old) == 0);
  // Pending before the call: it returns at once, after the handler.
  raise(SIGUSR1);
  handled = 0;
  sigset_t wait_mask = empty;
  sigaddset(&wait_mask, SIGUSR2);  // the temporary mask blocks SIGUSR2
  int r = sigsuspend(&wait_mask);
  printf("sigsuspend with SIGUSR1 pending: %d %s, handler ran %d\n", r, errno_name(errno), handled);
  CHECK(r == -1 && errno == EINTR && handled == 1);
  printf("in the handler: SIGUSR1 blocked %d, SIGUSR2 blocked %d (the temporary mask), saved mask has SIGUSR1 %d\n",
         usr1_blocked_in_handler, usr2_blocked_in_handler, saved_has_usr1);
  CHECK(usr1_blocked_in_handler && usr2_blocked_in_handler && saved_has_usr1);
  sigprocmask(SIG_BLOCK, NULL, &now);
  printf("after: SIGUSR1 blocked %d, SIGUSR2 blocked %d\n", sigismember(&now, SIGUSR1), sigismember(&now, SIGUSR2));
  CHECK(sigismember(&now, SIGUSR1) && !sigismember(&now, SIGUSR2));
  // Sent while waiting.
  pid_t parent = getpid();
  pid_t c = fork();
  CHECK(c >= 0);
  if (c == 0) {
    kill(parent, SIGUSR1);
    _exit(0);
  }
  handled = 0;
  r = sigsuspend(&empty);
  printf("sigsuspend woken: %d %s, handler ran %d\n", r, errno_name(errno), handled);
  CHECK(r == -1 && errno == EINTR && handled == 1);
  CHECK(waitpid(c, NULL, 0) == c);
  errno = 0;
  r = (int)syscall(SYS_rt_sigsuspend, &empty, 4);
  printf("rt_sigsuspend with sigsetsize 4: %s\n", errno_name(errno));
  CHECK(r == -1 && errno == EINVAL);
  CHECK_ERRNO("rt_sigsuspend with a bad mask pointer", syscall(SYS_rt_sigsuspend, (void*)8, 8), EFAULT);
  CHECK(sigprocmask(SIG_SETMASK, &old, NULL) == 0);
}

static void* thread_altstack(void* arg) {
  stack_t cur;
  sigaltstack(NULL, &cur);
  *(int*)arg = cur.ss_flags;
  return NULL;
}

static int on_alt(uintptr_t sp, const char* alt) {
  return sp > (uintptr_t)alt && sp <= (uintptr_t)alt + ALT_SIZE;
}

static void test_altstack_args(void) {
  stack_t cur;
  CHECK(sigaltstack(NULL, &cur) == 0);
  printf("initial alternate stack: %s\n", cur.ss_flags == SS_DISABLE ? "SS_DISABLE" : "?");
  CHECK(cur.ss_flags == SS_DISABLE);
  static char small[1024];
  stack_t ss = {.ss_sp = small, .ss_size = sizeof small, .ss_flags = 0};
  CHECK_ERRNO("sigaltstack below MINSIGSTKSZ", sigaltstack(&ss, NULL), ENOMEM);
  static char big[ALT_SIZE];
  ss = (stack_t){.ss_sp = big, .ss_size = sizeof big, .ss_flags = 0x1234};  // musl checks sizes first
  CHECK_ERRNO("sigaltstack with bad flags", sigaltstack(&ss, NULL), EINVAL);
  // The raw call: musl's wrapper reads the struct itself.
  CHECK_ERRNO("sigaltstack with a bad pointer", syscall(SYS_sigaltstack, (void*)8, NULL), EFAULT);
}

static void test_altstack(void) {
  char* alt = mmap(NULL, ALT_SIZE, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  CHECK(alt != MAP_FAILED);
  stack_t ss = {.ss_sp = alt, .ss_size = ALT_SIZE, .ss_flags = 0};
  CHECK(sigaltstack(&ss, NULL) == 0);
  stack_t cur;
  CHECK(sigaltstack(NULL, &cur) == 0);
  printf("set: flags %d, size %s\n", cur.ss_flags, cur.ss_size == ALT_SIZE && cur.ss_sp == alt ? "ok" : "wrong");
  handle(SIGUSR2, on_usr2, SA_ONSTACK);
  raise(SIGUSR2);
  printf("SA_ONSTACK handler: on the alternate stack %d, SS_ONSTACK %d, uc_stack flags %d, EPERM %d\n",
         on_alt(handler_sp, alt), onstack_flags == SS_ONSTACK, uc_stack_flags, eperm_inside == EPERM);
  CHECK(on_alt(handler_sp, alt) && onstack_flags == SS_ONSTACK && uc_stack_flags == 0 && eperm_inside == EPERM);
  handle(SIGUSR2, on_usr2, 0);
  raise(SIGUSR2);
  printf("handler without SA_ONSTACK: on the alternate stack %d, flags %d\n", on_alt(handler_sp, alt), onstack_flags);
  CHECK(!on_alt(handler_sp, alt) && onstack_flags == 0);
  // SS_AUTODISARM: disabled inside the handler, armed again after sigreturn.
  ss.ss_flags = SS_AUTODISARM;
  CHECK(sigaltstack(&ss, NULL) == 0);
  handle(SIGUSR2, on_usr2, SA_ONSTACK);
  raise(SIGUSR2);
  CHECK(sigaltstack(NULL, &cur) == 0);
  printf("SS_AUTODISARM: on it %d, flags inside %s, uc_stack flags %s, after %s\n", on_alt(handler_sp, alt),
         onstack_flags == SS_DISABLE ? "SS_DISABLE" : "?", uc_stack_flags == (int)SS_AUTODISARM ? "SS_AUTODISARM" : "?",
         cur.ss_flags == (int)SS_AUTODISARM ? "SS_AUTODISARM" : "?");
  CHECK(on_alt(handler_sp, alt) && onstack_flags == SS_DISABLE && cur.ss_flags == (int)SS_AUTODISARM);
  ss.ss_flags = 0;
  CHECK(sigaltstack(&ss, NULL) == 0);
  pid_t c = fork();
  CHECK(c >= 0);
  if (c == 0) {
    stack_t mine;
    sigaltstack(NULL, &mine);
    _exit(mine.ss_sp == alt && mine.ss_flags == 0 ? 0 : 1);
  }
  int st = 0;
  CHECK(waitpid(c, &st, 0) == c);
  printf("fork keeps it: %s\n", WIFEXITED(st) && WEXITSTATUS(st) == 0 ? "yes" : "no");
  CHECK(WIFEXITED(st) && WEXITSTATUS(st) == 0);
  pthread_t th;
  int thread_flags = -1;
  CHECK(pthread_create(&th, NULL, thread_altstack, &thread_flags) == 0);
  CHECK(pthread_join(th, NULL) == 0);
  printf("a new thread has none: %s\n", thread_flags == SS_DISABLE ? "yes" : "no");
  CHECK(thread_flags == SS_DISABLE);
  // An alternate stack that is gone: the frame cannot be written, SIGSEGV (force_sigsegv).
  c = fork();
  CHECK(c >= 0);
  if (c == 0) {
    munmap(alt, ALT_SIZE);
    raise(SIGUSR2);
    _exit(0);
  }
  CHECK(waitpid(c, &st, 0) == c);
  printf("unmapped alternate stack: killed by %s\n", WIFSIGNALED(st) && WTERMSIG(st) == SIGSEGV ? "SIGSEGV" : "?");
  CHECK(WIFSIGNALED(st) && WTERMSIG(st) == SIGSEGV);
  ss.ss_flags = SS_DISABLE;
  CHECK(sigaltstack(&ss, NULL) == 0);
  CHECK(sigaltstack(NULL, &cur) == 0 && cur.ss_flags == SS_DISABLE && cur.ss_size == 0);
  munmap(alt, ALT_SIZE);
}

int main(void) {
  setvbuf(stdout, NULL, _IONBF, 0);
  test_pause();
  test_sigsuspend();
  test_altstack_args();
  test_altstack();
  printf("EXIT-SUCCESS\n");
  return 0;
}
