// signals: handlers for kill()ed SIGUSR1 (with siginfo), SIGSEGV caught and escaped with
// siglongjmp, SIGCHLD on child exit with waitpid's status, a blocked signal delivered when
// unblocked, SA_RESETHAND, and SIGPIPE ignored so write() reports EPIPE.
#include <setjmp.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include "guest_util.h"

static volatile sig_atomic_t usr1_count, usr1_code_user, chld_count, usr2_count;
static volatile int usr1_sender_ok;
static sigjmp_buf segv_env;
static volatile int* volatile bad_pointer = (int*)0x10;  // opaque to the compiler

static void on_usr1(int sig, siginfo_t* si, void* uc) {
  (void)uc;
  if (sig == SIGUSR1) ++usr1_count;
  usr1_code_user = si->si_code == SI_USER;
  usr1_sender_ok = si->si_pid == getpid();
}
static void on_segv(int sig) { siglongjmp(segv_env, sig); }
static void on_chld(int sig) { chld_count += sig == SIGCHLD; }
static void on_usr2(int sig) { usr2_count += sig == SIGUSR2; }

int main(void) {
  struct sigaction sa = {0};
  sa.sa_sigaction = on_usr1;
  sa.sa_flags = SA_SIGINFO;
  CHECK(sigaction(SIGUSR1, &sa, NULL) == 0);
  CHECK(kill(getpid(), SIGUSR1) == 0);
  printf("SIGUSR1 handled %d time(s), SI_USER %d, sender is self %d\n", (int)usr1_count,
         (int)usr1_code_user, usr1_sender_ok);
  CHECK(usr1_count == 1 && usr1_code_user && usr1_sender_ok);

  signal(SIGSEGV, on_segv);
  int jumped = sigsetjmp(segv_env, 1);
  if (jumped == 0) {
    *bad_pointer = 1;  // faults; the handler jumps back with SIGSEGV
    printf("not reached\n");
  }
  printf("recovered from signal %d\n", jumped);
  CHECK(jumped == SIGSEGV);

  signal(SIGCHLD, on_chld);
  pid_t child = fork();
  CHECK(child >= 0);
  if (child == 0) _exit(5);
  int status = 0;
  CHECK(waitpid(child, &status, 0) == child);
  printf("child exited %d, SIGCHLD seen %d\n", WEXITSTATUS(status), (int)chld_count);
  CHECK(WIFEXITED(status) && WEXITSTATUS(status) == 5 && chld_count == 1);

  pid_t child2 = fork();
  CHECK(child2 >= 0);
  if (child2 == 0) _exit(7);
  siginfo_t info = {0};
  CHECK(waitid(P_PID, child2, &info, WEXITED) == 0);
  printf("waitid: pid matches %d, CLD_EXITED %d, status %d\n", info.si_pid == child2,
         info.si_code == CLD_EXITED, info.si_status);
  CHECK(info.si_pid == child2 && info.si_code == CLD_EXITED && info.si_status == 7);

  sigset_t set, old;
  sigemptyset(&set);
  sigaddset(&set, SIGUSR2);
  signal(SIGUSR2, on_usr2);
  CHECK(sigprocmask(SIG_BLOCK, &set, &old) == 0);
  raise(SIGUSR2);
  printf("while blocked: %d\n", (int)usr2_count);
  CHECK(usr2_count == 0);
  CHECK(sigprocmask(SIG_SETMASK, &old, NULL) == 0);
  printf("after unblocking: %d\n", (int)usr2_count);
  CHECK(usr2_count == 1);

  sa.sa_handler = on_usr2;
  sa.sa_flags = SA_RESETHAND;
  CHECK(sigaction(SIGUSR2, &sa, NULL) == 0);
  raise(SIGUSR2);
  struct sigaction now;
  CHECK(sigaction(SIGUSR2, NULL, &now) == 0);
  printf("SA_RESETHAND: handler reset to default %d\n", now.sa_handler == SIG_DFL);
  CHECK(now.sa_handler == SIG_DFL && usr2_count == 2);

  signal(SIGPIPE, SIG_IGN);
  int fds[2];
  CHECK(pipe(fds) == 0);
  close(fds[0]);
  CHECK_ERRNO("write to a pipe without readers", write(fds[1], "x", 1), EPIPE);
  printf("EXIT-SUCCESS\n");
  return 0;
}
