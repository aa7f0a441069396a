// sysv_sem: System V semaphores (ipc/sem.c): semget sizes and keys, atomic multi-operation
// semop, IPC_NOWAIT, semtimedop timeouts, SETVAL/GETVAL/SETALL/GETALL/GETPID/GETNCNT/GETZCNT,
// IPC_STAT, SEM_UNDO undone at exit, a waiter woken across fork, EINTR, EIDRM, ERANGE, EFBIG.
#define _GNU_SOURCE
#include <signal.h>
#include <sys/ipc.h>
#include <sys/sem.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "guest_util.h"

union semun {
  int val;
  struct semid_ds* buf;
  unsigned short* array;
};

static void wait_child(pid_t pid) {
  int status;
  CHECK(waitpid(pid, &status, 0) == pid);
  CHECK(WIFEXITED(status) && WEXITSTATUS(status) == 0);
}

static int op(int id, unsigned short num, short delta, short flags) {
  struct sembuf b = {.sem_num = num, .sem_op = delta, .sem_flg = flags};
  return semop(id, &b, 1);
}

static void show(int id, const char* what) {
  unsigned short v[3];
  union semun u = {.array = v};
  CHECK(semctl(id, 0, GETALL, u) == 0);
  printf("%s: %u %u %u\n", what, v[0], v[1], v[2]);
}

static void basics(void) {
  const key_t key = 0x5e300000 | (getpid() & 0xffff);  // natively the namespace is shared
  CHECK_ERRNO("semget 0 semaphores", semget(IPC_PRIVATE, 0, 0600), EINVAL);
  CHECK_ERRNO("semget too many", semget(IPC_PRIVATE, 32001, 0600), EINVAL);
  int id = semget(key, 3, IPC_CREAT | IPC_EXCL | 0600);
  CHECK(id >= 0);
  CHECK(semget(key, 2, 0) == id);
  CHECK_ERRNO("semget more than it has", semget(key, 4, 0), EINVAL);
  CHECK_ERRNO("semget IPC_EXCL", semget(key, 3, IPC_CREAT | IPC_EXCL | 0600), EEXIST);
  show(id, "new array");
  unsigned short init[3] = {1, 2, 3};
  union semun u = {.array = init};
  CHECK(semctl(id, 0, SETALL, u) == 0);
  show(id, "after SETALL");
  struct sembuf two[2] = {{0, -1, 0}, {2, -5, IPC_NOWAIT}};  // the second cannot: neither runs
  CHECK_ERRNO("semop all-or-nothing", semop(id, two, 2), EAGAIN);
  show(id, "unchanged");
  two[1].sem_op = -3;
  CHECK(semop(id, two, 2) == 0);
  show(id, "after both");
  printf("GETPID is me: %d\n", semctl(id, 2, GETPID) == getpid());
  CHECK_ERRNO("wait for zero with IPC_NOWAIT", op(id, 1, 0, IPC_NOWAIT), EAGAIN);
  u.val = 32768;
  CHECK_ERRNO("SETVAL above SEMVMX", semctl(id, 0, SETVAL, u), ERANGE);
  u.val = 32767;
  CHECK(semctl(id, 0, SETVAL, u) == 0);
  CHECK_ERRNO("semop past SEMVMX", op(id, 0, 1, 0), ERANGE);
  CHECK_ERRNO("semop of semaphore 3 of 3", op(id, 3, 1, 0), EFBIG);
  CHECK_ERRNO("GETVAL of semaphore 5", semctl(id, 5, GETVAL), EINVAL);
  struct timespec ts = {0, 50 * 1000 * 1000};
  struct sembuf down = {1, -5, 0};
  CHECK_ERRNO("semtimedop times out", semtimedop(id, &down, 1, &ts), EAGAIN);
  struct semid_ds ds;
  u.buf = &ds;
  CHECK(semctl(id, 0, IPC_STAT, u) == 0);
  printf("IPC_STAT: %lu semaphores, mode %o\n", (unsigned long)ds.sem_nsems, ds.sem_perm.mode & 0777);
  CHECK(semctl(id, 0, IPC_RMID) == 0);
  CHECK_ERRNO("GETVAL after IPC_RMID", semctl(id, 0, GETVAL), EINVAL);
  CHECK_ERRNO("semget after IPC_RMID", semget(key, 3, 0), ENOENT);
}

// A child waits for semaphore 0 to reach 2 and for semaphore 1 to be zero; the parent sees it
// counted in GETNCNT, then lets it through.
static void waiting(void) {
  int id = semget(IPC_PRIVATE, 3, 0600);
  CHECK(id >= 0);
  union semun u = {.val = 1};
  CHECK(semctl(id, 1, SETVAL, u) == 0);
  pid_t pid = fork();
  if (pid == 0) {
    struct sembuf both[2] = {{0, -2, 0}, {1, 0, 0}};
    CHECK(semop(id, both, 2) == 0);
    printf("child: semop returned\n");
    _exit(0);
  }
  usleep(100 * 1000);
  printf("GETNCNT 0: %d, GETZCNT 1: %d\n", semctl(id, 0, GETNCNT), semctl(id, 1, GETZCNT));
  CHECK(op(id, 0, 1, 0) == 0);
  usleep(50 * 1000);
  CHECK(op(id, 0, 1, 0) == 0);  // 0 can go now; 1 is still 1: the child waits on
  usleep(50 * 1000);
  printf("GETNCNT 0: %d, GETZCNT 1: %d\n", semctl(id, 0, GETNCNT), semctl(id, 1, GETZCNT));
  CHECK(op(id, 1, -1, 0) == 0);
  wait_child(pid);
  show(id, "after the child");
  CHECK(semctl(id, 0, IPC_RMID) == 0);
}

// SEM_UNDO: what a process did with it is undone when it exits.
static void undo(void) {
  int id = semget(IPC_PRIVATE, 3, 0600);
  CHECK(id >= 0);
  union semun u = {.val = 5};
  CHECK(semctl(id, 0, SETVAL, u) == 0);
  pid_t pid = fork();
  if (pid == 0) {
    CHECK(op(id, 0, -2, SEM_UNDO) == 0);
    CHECK(op(id, 1, 3, SEM_UNDO) == 0);
    CHECK(op(id, 2, 1, 0) == 0);
    show(id, "child before exit");
    _exit(0);
  }
  wait_child(pid);
  show(id, "after the child exited");
  CHECK(semctl(id, 0, IPC_RMID) == 0);
}

static void on_usr1(int sig) { (void)sig; }

static void interrupted_and_removed(void) {
  int id = semget(IPC_PRIVATE, 3, 0600);
  CHECK(id >= 0);
  pid_t pid = fork();
  if (pid == 0) {
    struct sigaction sa = {.sa_handler = on_usr1, .sa_flags = SA_RESTART};
    CHECK(sigaction(SIGUSR1, &sa, NULL) == 0);
    CHECK_ERRNO("semop interrupted (never restarted)", op(id, 0, -1, 0), EINTR);
    CHECK_ERRNO("semop when the array is removed", op(id, 0, -1, 0), EIDRM);
    _exit(0);
  }
  usleep(100 * 1000);
  CHECK(kill(pid, SIGUSR1) == 0);
  usleep(100 * 1000);
  CHECK(semctl(id, 0, IPC_RMID) == 0);
  wait_child(pid);
}

int main(void) {
  setvbuf(stdout, NULL, _IONBF, 0);
  basics();
  waiting();
  undo();
  interrupted_and_removed();
  exit_success_line();
  return 0;
}
