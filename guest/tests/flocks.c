// flocks: advisory file locks between processes (fs/locks.c): POSIX record locks (conflicts,
// split and merge, F_GETLK, F_SETLKW blocking and waking, release on any close and at exit,
// EDEADLK), OFD locks (per open file description, l_pid -1) and flock(2).
// Usage: flocks DIR (a scratch directory; the file DIR/locks.dat is created there).
// Children print while the parent waits for them (stdout unbuffered), so the output order is
// fixed; a child that
// must be blocked in F_SETLKW before the parent goes on is given 200 ms (native runs).
#define _GNU_SOURCE  // F_OFD_*
#include <fcntl.h>
#include <signal.h>
#include <sys/file.h>
#include <sys/wait.h>
#include <unistd.h>

#include "guest_util.h"

static char path[4096];

static int open_rw(void) {
  int fd = open(path, O_RDWR);
  CHECK(fd >= 0);
  return fd;
}

static int lk(int fd, int cmd, short type, off_t start, off_t len) {
  struct flock l = {.l_type = type, .l_whence = SEEK_SET, .l_start = start, .l_len = len};
  return fcntl(fd, cmd, &l);
}

// F_GETLK / F_OFD_GETLK of (type, start, len): prints what is in the way.
static void show(const char* what, int fd, int cmd, short type, off_t start, off_t len,
                 pid_t owner) {
  struct flock l = {.l_type = type, .l_whence = SEEK_SET, .l_start = start, .l_len = len};
  CHECK(fcntl(fd, cmd, &l) == 0);
  if (l.l_type == F_UNLCK) {
    printf("%s: unlocked\n", what);
  } else {
    printf("%s: %s start %ld len %ld pid %s\n", what, l.l_type == F_WRLCK ? "F_WRLCK" : "F_RDLCK",
           (long)l.l_start, (long)l.l_len,
           l.l_pid == -1 ? "-1" : l.l_pid == owner ? "owner" : "other");
  }
  fflush(stdout);
}

static void pause_ms(int ms) { usleep(ms * 1000); }

static void wait_child(pid_t pid) {
  int status;
  CHECK(waitpid(pid, &status, 0) == pid);
  CHECK(WIFEXITED(status) && WEXITSTATUS(status) == 0);
}

static void record_locks(void) {
  int fd = open_rw();
  pid_t me = getpid();
  CHECK(lk(fd, F_SETLK, F_WRLCK, 0, 10) == 0);
  CHECK(lk(fd, F_SETLK, F_RDLCK, 20, 10) == 0);
  show("parent sees its own locks", fd, F_GETLK, F_WRLCK, 0, 0, me);
  pid_t pid = fork();
  if (pid == 0) {
    int cfd = open_rw();
    show("child, byte 5", cfd, F_GETLK, F_WRLCK, 5, 1, me);
    show("child, read byte 25", cfd, F_GETLK, F_RDLCK, 25, 1, me);
    show("child, write byte 25", cfd, F_GETLK, F_WRLCK, 25, 1, me);
    CHECK_ERRNO("child F_SETLK write 25", lk(cfd, F_SETLK, F_WRLCK, 25, 1), EAGAIN);
    CHECK(lk(cfd, F_SETLK, F_RDLCK, 22, 4) == 0);
    CHECK(lk(cfd, F_SETLK, F_WRLCK, 50, 10) == 0);
    printf("child holds read 22-25 and write 50-59\n");
    fflush(stdout);
    _exit(0);  // its locks go with it
  }
  wait_child(pid);
  show("after the child exited", fd, F_GETLK, F_WRLCK, 50, 10, me);
  // Split: write 0-99, unlock 40-59; merge: write 40-59 again makes one range.
  CHECK(lk(fd, F_SETLK, F_UNLCK, 0, 0) == 0);
  CHECK(lk(fd, F_SETLK, F_WRLCK, 0, 100) == 0);
  CHECK(lk(fd, F_SETLK, F_UNLCK, 40, 20) == 0);
  pid = fork();
  if (pid == 0) {
    int cfd = open_rw();
    show("split, byte 45", cfd, F_GETLK, F_WRLCK, 45, 1, me);
    show("split, bytes 30-49", cfd, F_GETLK, F_WRLCK, 30, 20, me);
    show("split, bytes 55-64", cfd, F_GETLK, F_WRLCK, 55, 10, me);
    _exit(0);
  }
  wait_child(pid);
  CHECK(lk(fd, F_SETLK, F_RDLCK, 40, 20) == 0);
  pid = fork();
  if (pid == 0) {
    int cfd = open_rw();
    show("read in the hole, write byte 45", cfd, F_GETLK, F_WRLCK, 45, 1, me);
    show("read in the hole, read byte 45", cfd, F_GETLK, F_RDLCK, 45, 1, me);
    _exit(0);
  }
  wait_child(pid);
  CHECK(lk(fd, F_SETLK, F_WRLCK, 40, 20) == 0);
  pid = fork();
  if (pid == 0) {
    show("merged", open_rw(), F_GETLK, F_WRLCK, 0, 0, me);
    _exit(0);
  }
  wait_child(pid);
  close(fd);
}

// A child blocks in F_SETLKW; the parent closes ANOTHER fd of the file, which drops all of its
// POSIX locks on it, and the child gets the lock.
static void blocking_and_close(void) {
  int fd = open_rw(), other = open_rw();
  pid_t me = getpid();
  CHECK(lk(fd, F_SETLK, F_WRLCK, 0, 0) == 0);
  int go[2];
  CHECK(pipe(go) == 0);
  pid_t pid = fork();
  if (pid == 0) {
    int cfd = open_rw();
    CHECK(lk(cfd, F_SETLKW, F_WRLCK, 0, 10) == 0);
    printf("child: F_SETLKW returned with the lock\n");
    fflush(stdout);
    char c;
    CHECK(read(go[0], &c, 1) == 1);
    _exit(0);
  }
  pause_ms(200);
  printf("parent closes another fd of the file\n");
  fflush(stdout);
  close(other);
  pause_ms(200);
  show("parent sees the child's lock", fd, F_GETLK, F_RDLCK, 0, 0, me);
  CHECK_ERRNO("parent F_SETLK", lk(fd, F_SETLK, F_WRLCK, 5, 1), EAGAIN);
  CHECK(write(go[1], "x", 1) == 1);
  wait_child(pid);
  show("after the child exited", fd, F_GETLK, F_WRLCK, 0, 0, me);
  close(fd);
  close(go[0]);
  close(go[1]);
}

// Parent holds 0-9 and the child 10-19; the child waits for 0-9, so the parent waiting for
// 10-19 would close a cycle: EDEADLK.
static void deadlock(void) {
  int fd = open_rw();
  CHECK(lk(fd, F_SETLK, F_WRLCK, 0, 10) == 0);
  pid_t pid = fork();
  if (pid == 0) {
    int cfd = open_rw();
    CHECK(lk(cfd, F_SETLK, F_WRLCK, 10, 10) == 0);
    CHECK(lk(cfd, F_SETLKW, F_WRLCK, 0, 10) == 0);
    printf("child: got 0-9 after the parent let go\n");
    fflush(stdout);
    _exit(0);
  }
  pause_ms(200);
  CHECK_ERRNO("parent F_SETLKW 10-19", lk(fd, F_SETLKW, F_WRLCK, 10, 10), EDEADLK);
  CHECK(lk(fd, F_SETLK, F_UNLCK, 0, 10) == 0);
  wait_child(pid);
  close(fd);
}

static void on_usr1(int sig) { (void)sig; }

// A signal whose handler has no SA_RESTART ends F_SETLKW with EINTR.
static void interrupted(void) {
  int fd = open_rw();
  CHECK(lk(fd, F_SETLK, F_WRLCK, 0, 1) == 0);
  pid_t pid = fork();
  if (pid == 0) {
    struct sigaction sa = {.sa_handler = on_usr1};
    CHECK(sigaction(SIGUSR1, &sa, NULL) == 0);
    int cfd = open_rw();
    CHECK_ERRNO("child F_SETLKW interrupted", lk(cfd, F_SETLKW, F_WRLCK, 0, 1), EINTR);
    fflush(stdout);
    _exit(0);
  }
  pause_ms(200);
  CHECK(kill(pid, SIGUSR1) == 0);
  wait_child(pid);
  close(fd);
}

static void ofd_locks(void) {
  int a = open_rw(), b = open_rw();
  pid_t me = getpid();
  CHECK(lk(a, F_OFD_SETLK, F_WRLCK, 0, 10) == 0);
  show("OFD lock seen through another open", b, F_OFD_GETLK, F_WRLCK, 5, 1, me);
  show("OFD lock seen by F_GETLK", b, F_GETLK, F_WRLCK, 5, 1, me);
  CHECK_ERRNO("F_OFD_SETLK, same process, other open", lk(b, F_OFD_SETLK, F_WRLCK, 5, 1), EAGAIN);
  CHECK_ERRNO("F_SETLK against the process's own OFD lock", lk(b, F_SETLK, F_WRLCK, 5, 1),
              EAGAIN);
  struct flock bad = {.l_type = F_RDLCK, .l_whence = SEEK_SET, .l_pid = 1};
  CHECK_ERRNO("F_OFD_SETLK with l_pid 1", fcntl(b, F_OFD_SETLK, &bad), EINVAL);
  int dup_a = dup(a);
  close(a);
  show("after closing one of two fds", b, F_OFD_GETLK, F_WRLCK, 5, 1, me);
  pid_t pid = fork();
  if (pid == 0) {  // the child shares the description: the same owner
    CHECK(lk(dup_a, F_OFD_SETLK, F_RDLCK, 0, 5) == 0);
    printf("child converts the inherited OFD lock\n");
    fflush(stdout);
    _exit(0);
  }
  wait_child(pid);
  show("after the child converted it", b, F_OFD_GETLK, F_WRLCK, 0, 10, me);
  close(dup_a);
  show("after the last close", b, F_OFD_GETLK, F_WRLCK, 0, 0, me);
  close(b);
}

static void flock_locks(void) {
  int a = open_rw(), b = open_rw();
  CHECK(flock(a, LOCK_EX) == 0);
  CHECK(flock(a, LOCK_EX) == 0);
  CHECK_ERRNO("flock LOCK_EX|LOCK_NB, other open", flock(b, LOCK_EX | LOCK_NB), EWOULDBLOCK);
  CHECK_ERRNO("flock LOCK_SH|LOCK_NB, other open", flock(b, LOCK_SH | LOCK_NB), EWOULDBLOCK);
  CHECK_ERRNO("flock bad operation", flock(b, 3), EINVAL);
  CHECK_ERRNO("flock bad fd", flock(-1, LOCK_SH), EBADF);
  CHECK(lk(b, F_SETLK, F_WRLCK, 0, 0) == 0);
  printf("flock and record locks do not conflict\n");
  CHECK(lk(b, F_SETLK, F_UNLCK, 0, 0) == 0);
  CHECK(flock(a, LOCK_SH) == 0);
  CHECK(flock(b, LOCK_SH | LOCK_NB) == 0);
  printf("two shared flocks\n");
  CHECK(flock(b, LOCK_UN) == 0);
  CHECK(flock(b, LOCK_UN) == 0);
  CHECK(flock(a, LOCK_EX) == 0);
  fflush(stdout);
  pid_t pid = fork();
  if (pid == 0) {
    close(a);  // the parent's fd still holds the description: the lock stays
    int c = open_rw();
    CHECK_ERRNO("child flock while the parent holds it", flock(c, LOCK_EX | LOCK_NB),
                EWOULDBLOCK);
    fflush(stdout);
    CHECK(flock(c, LOCK_EX) == 0);
    printf("child: flock LOCK_EX returned after the last close\n");
    fflush(stdout);
    _exit(0);
  }
  pause_ms(200);
  close(a);
  wait_child(pid);
  close(b);
}

static void bad_requests(void) {
  int fd = open_rw();
  int ro = open(path, O_RDONLY);
  CHECK(ro >= 0);
  CHECK_ERRNO("F_SETLK write lock on a read-only fd", lk(ro, F_SETLK, F_WRLCK, 0, 1), EBADF);
  CHECK(lk(ro, F_SETLK, F_RDLCK, 0, 1) == 0);
  CHECK_ERRNO("F_GETLK of F_UNLCK", lk(fd, F_GETLK, F_UNLCK, 0, 1), EINVAL);
  CHECK_ERRNO("F_SETLK bad type", lk(fd, F_SETLK, 7, 0, 1), EINVAL);
  CHECK_ERRNO("F_SETLK before the start of the file", lk(fd, F_SETLK, F_RDLCK, -1, 1), EINVAL);
  struct flock l = {.l_type = F_RDLCK, .l_whence = 9};
  CHECK_ERRNO("F_SETLK bad whence", fcntl(fd, F_SETLK, &l), EINVAL);
  CHECK_ERRNO("F_SETLK bad pointer", fcntl(fd, F_SETLK, (void*)8), EFAULT);
  // A negative length locks the bytes before l_start; SEEK_END counts from the size (100).
  CHECK(lk(fd, F_SETLK, F_WRLCK, 10, -5) == 0);
  struct flock end = {.l_type = F_WRLCK, .l_whence = SEEK_END, .l_start = -10, .l_len = 5};
  CHECK(fcntl(fd, F_SETLK, &end) == 0);
  pid_t me = getpid();
  pid_t pid = fork();
  if (pid == 0) {
    int cfd = open_rw();
    show("negative length", cfd, F_GETLK, F_WRLCK, 1, 49, me);
    show("from SEEK_END", cfd, F_GETLK, F_WRLCK, 50, 0, me);
    _exit(0);
  }
  wait_child(pid);
  close(ro);
  close(fd);
}

int main(int argc, char** argv) {
  CHECK(argc == 2);
  setvbuf(stdout, NULL, _IONBF, 0);  // nothing buffered is copied into a child
  snprintf(path, sizeof path, "%s/locks.dat", argv[1]);
  int fd = open(path, O_RDWR | O_CREAT | O_TRUNC, 0644);
  CHECK(fd >= 0);
  char buf[100] = {0};
  CHECK(write(fd, buf, sizeof buf) == (ssize_t)sizeof buf);
  close(fd);
  record_locks();
  blocking_and_close();
  deadlock();
  interrupted();
  ofd_locks();
  flock_locks();
  bad_requests();
  exit_success_line();
  return 0;
}
