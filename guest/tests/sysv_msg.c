// sysv_msg: System V message queues (ipc/msg.c): keys and IPC_PRIVATE, selection by type,
// E2BIG/MSG_NOERROR, ENOMSG/EAGAIN with IPC_NOWAIT, a receiver blocked across fork, a full
// queue blocking its sender, IPC_STAT/IPC_SET, EINTR from a signal, EIDRM for a waiter when
// the queue is removed, and the errors of bad ids and sizes.
#define _GNU_SOURCE
#include <signal.h>
#include <sys/ipc.h>
#include <sys/msg.h>
#include <sys/wait.h>
#include <unistd.h>

#include "guest_util.h"

struct msg {
  long mtype;
  char text[64];
};

static void wait_child(pid_t pid) {
  int status;
  CHECK(waitpid(pid, &status, 0) == pid);
  CHECK(WIFEXITED(status) && WEXITSTATUS(status) == 0);
}

static void send(int q, long type, const char* text) {
  struct msg m = {.mtype = type};
  snprintf(m.text, sizeof m.text, "%s", text);
  CHECK(msgsnd(q, &m, strlen(text) + 1, 0) == 0);
}

static void receive(int q, long type, int flags) {
  struct msg m;
  ssize_t n = msgrcv(q, &m, sizeof m.text, type, flags);
  CHECK(n > 0);
  printf("msgrcv(type %ld): type %ld \"%s\" (%zd bytes)\n", type, m.mtype, m.text, n);
}

static void keys_and_types(void) {
  // Natively the host's IPC namespace is shared with other runs: a key of our own.
  const key_t key = 0x5eed0000 | (getpid() & 0xffff);
  int q = msgget(key, IPC_CREAT | IPC_EXCL | 0600);
  CHECK(q >= 0);
  CHECK(msgget(key, 0) == q);
  CHECK_ERRNO("msgget IPC_CREAT|IPC_EXCL of an existing key", msgget(key, IPC_CREAT | IPC_EXCL | 0600), EEXIST);
  CHECK_ERRNO("msgget of a missing key", msgget(key ^ 0x00010000, 0), ENOENT);
  int p1 = msgget(IPC_PRIVATE, 0600), p2 = msgget(IPC_PRIVATE, 0600);
  CHECK(p1 >= 0 && p2 >= 0 && p1 != p2 && p1 != q);
  send(q, 3, "three");
  send(q, 1, "one");
  send(q, 2, "two");
  send(q, 1, "one again");
  struct msqid_ds ds;
  CHECK(msgctl(q, IPC_STAT, &ds) == 0);
  printf("IPC_STAT: %lu messages, max %lu bytes, mode %o, lspid is me %d\n",
         (unsigned long)ds.msg_qnum, (unsigned long)ds.msg_qbytes, ds.msg_perm.mode & 0777,
         ds.msg_lspid == getpid());
  receive(q, 2, 0);
  receive(q, -2, 0);  // the lowest type <= 2: "one"
  receive(q, 1, MSG_EXCEPT);
  struct msg small;
  CHECK_ERRNO("msgrcv into a buffer too small", msgrcv(q, &small, 2, 0, 0), E2BIG);
  ssize_t n = msgrcv(q, &small, 3, 0, MSG_NOERROR);
  printf("MSG_NOERROR: %zd bytes \"%.3s\"\n", n, small.text);
  CHECK_ERRNO("msgrcv IPC_NOWAIT of an empty queue", msgrcv(q, &small, 8, 0, IPC_NOWAIT), ENOMSG);
  small.mtype = 0;
  CHECK_ERRNO("msgsnd type 0", msgsnd(q, &small, 1, 0), EINVAL);
  small.mtype = 1;
  static struct {
    long mtype;
    char text[8200];
  } big = {.mtype = 1};
  CHECK_ERRNO("msgsnd too large", msgsnd(q, &big, 8193, 0), EINVAL);
  CHECK_ERRNO("msgsnd bad pointer", msgsnd(q, (void*)8, 1, 0), EFAULT);
  CHECK(msgctl(p1, IPC_RMID, NULL) == 0);
  CHECK(msgctl(p2, IPC_RMID, NULL) == 0);
  CHECK_ERRNO("msgctl IPC_STAT of a removed queue", msgctl(p1, IPC_STAT, &ds), EINVAL);
  CHECK_ERRNO("msgsnd to a removed queue", msgsnd(p2, &small, 1, 0), EINVAL);
  CHECK_ERRNO("msgsnd to id -1", msgsnd(-1, &small, 1, 0), EINVAL);
  CHECK(msgctl(q, IPC_RMID, NULL) == 0);
  CHECK_ERRNO("msgget after IPC_RMID", msgget(key, 0), ENOENT);
}

// A child blocks in msgrcv until the parent sends; then the parent shrinks the queue with
// IPC_SET and the child's second send blocks until the parent receives.
static void blocking(void) {
  int q = msgget(IPC_PRIVATE, 0600);
  CHECK(q >= 0);
  struct msqid_ds ds;
  CHECK(msgctl(q, IPC_STAT, &ds) == 0);
  ds.msg_qbytes = 16;
  CHECK(msgctl(q, IPC_SET, &ds) == 0);
  pid_t pid = fork();
  if (pid == 0) {
    receive(q, 7, 0);
    send(q, 8, "0123456789");
    send(q, 8, "abcdefghij");  // 22 bytes > 16: waits for the parent's msgrcv
    _exit(0);
  }
  usleep(100 * 1000);
  printf("parent sends type 7\n");
  send(q, 7, "wake up");
  for (int i = 0; i < 500; i++) {  // until the child's first message is in
    CHECK(msgctl(q, IPC_STAT, &ds) == 0);
    if (ds.msg_lspid == pid) break;
    usleep(10 * 1000);
  }
  struct msg m = {.mtype = 1};
  CHECK_ERRNO("a full queue with IPC_NOWAIT", msgsnd(q, &m, 8, IPC_NOWAIT), EAGAIN);
  receive(q, 8, 0);
  wait_child(pid);
  printf("the child's second send went through\n");
  receive(q, 8, 0);
  CHECK(msgctl(q, IPC_RMID, NULL) == 0);
}

static void on_usr1(int sig) { (void)sig; }

static void interrupted_and_removed(void) {
  int q = msgget(IPC_PRIVATE, 0600);
  CHECK(q >= 0);
  pid_t pid = fork();
  if (pid == 0) {
    struct sigaction sa = {.sa_handler = on_usr1, .sa_flags = SA_RESTART};
    CHECK(sigaction(SIGUSR1, &sa, NULL) == 0);
    struct msg m;
    CHECK_ERRNO("msgrcv interrupted (SA_RESTART does not restart it)", msgrcv(q, &m, 8, 0, 0),
                EINTR);
    CHECK_ERRNO("msgrcv when the queue is removed", msgrcv(q, &m, 8, 0, 0), EIDRM);
    _exit(0);
  }
  usleep(100 * 1000);
  CHECK(kill(pid, SIGUSR1) == 0);
  usleep(100 * 1000);
  CHECK(msgctl(q, IPC_RMID, NULL) == 0);
  wait_child(pid);
}

int main(void) {
  setvbuf(stdout, NULL, _IONBF, 0);
  keys_and_types();
  blocking();
  interrupted_and_removed();
  exit_success_line();
  return 0;
}
