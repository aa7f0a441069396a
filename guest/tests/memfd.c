// memfd: memfd_create(2) and its seals (mm/memfd.c, mm/shmem.c). An anonymous file: fstat
// (S_IFREG 0777, nlink 0), /proc/self/fd/N "/memfd:NAME (deleted)", MFD_CLOEXEC, read/write/
// lseek/ftruncate, a MAP_SHARED mapping shared with a forked child; the seals: F_GET_SEALS,
// F_ADD_SEALS (EPERM after F_SEAL_SEAL or without MFD_ALLOW_SEALING, EBUSY for F_SEAL_WRITE
// while mapped writable, EINVAL on other files), and what each refuses with EPERM.
// Raw syscall()s: musl 1.2.3 and glibc both have SYS_memfd_create.
#define _GNU_SOURCE
#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include "guest_util.h"

#ifndef F_ADD_SEALS
#define F_ADD_SEALS 1033
#define F_GET_SEALS 1034
#define F_SEAL_SEAL 0x0001
#define F_SEAL_SHRINK 0x0002
#define F_SEAL_GROW 0x0004
#define F_SEAL_WRITE 0x0008
#endif
#define MFD_CLOEXEC_ 1
#define MFD_ALLOW_SEALING_ 2
#define PAGE 4096

static int memfd(const char* name, unsigned flags) {
  return (int)syscall(SYS_memfd_create, name, flags);
}

static void show_fd(int fd) {
  char link[64], target[300];
  snprintf(link, sizeof link, "/proc/self/fd/%d", fd);
  ssize_t n = readlink(link, target, sizeof target - 1);
  CHECK(n > 0);
  target[n] = 0;
  struct stat st;
  CHECK(fstat(fd, &st) == 0);
  printf("fd -> %s: reg %d mode %o nlink %ld size %ld cloexec %d\n", target, S_ISREG(st.st_mode),
         (unsigned)(st.st_mode & 07777), (long)st.st_nlink, (long)st.st_size,
         fcntl(fd, F_GETFD) & FD_CLOEXEC);
}

static void basics(void) {
  int fd = memfd("probe", MFD_CLOEXEC_ | MFD_ALLOW_SEALING_);
  CHECK(fd >= 0);
  show_fd(fd);
  printf("F_GETFL access: %d\n", fcntl(fd, F_GETFL) & O_ACCMODE);
  CHECK(write(fd, "hello memfd", 11) == 11);
  CHECK(lseek(fd, 6, SEEK_SET) == 6);
  char buf[16] = {0};
  CHECK(read(fd, buf, sizeof buf) == 5);
  printf("read back: %s\n", buf);
  CHECK(ftruncate(fd, 3 * PAGE) == 0);
  show_fd(fd);
  char* p = mmap(NULL, 3 * PAGE, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
  CHECK(p != MAP_FAILED);
  fflush(stdout);
  pid_t pid = fork();
  CHECK(pid >= 0);
  if (pid == 0) {
    memcpy(p + 2 * PAGE, "from the child", 15);
    _exit(0);
  }
  int status;
  CHECK(waitpid(pid, &status, 0) == pid && WIFEXITED(status));
  CHECK(pread(fd, buf, 15, 2 * PAGE) == 15);
  printf("parent reads the child's store: %s / %s\n", buf, p + 2 * PAGE);
  CHECK_ERRNO("F_SEAL_WRITE while mapped shared writable", fcntl(fd, F_ADD_SEALS, F_SEAL_WRITE),
              EBUSY);
  CHECK(munmap(p, 3 * PAGE) == 0);
  int other = memfd("", 0);  // an empty name is fine
  CHECK(other >= 0);
  show_fd(other);
  printf("F_GET_SEALS without MFD_ALLOW_SEALING: %d\n", fcntl(other, F_GET_SEALS));
  CHECK_ERRNO("F_ADD_SEALS without MFD_ALLOW_SEALING", fcntl(other, F_ADD_SEALS, F_SEAL_GROW),
              EPERM);
  close(other);
  close(fd);
}

static void seals(void) {
  int fd = memfd("sealed", MFD_ALLOW_SEALING_);
  CHECK(fd >= 0);
  char page[PAGE];
  memset(page, 'x', sizeof page);
  CHECK(write(fd, page, PAGE) == PAGE);
  CHECK(write(fd, page, 100) == 100);
  printf("F_GET_SEALS: %d\n", fcntl(fd, F_GET_SEALS));
  CHECK(fcntl(fd, F_ADD_SEALS, F_SEAL_SHRINK) == 0);
  CHECK_ERRNO("shrink under F_SEAL_SHRINK", ftruncate(fd, 10), EPERM);
  CHECK(ftruncate(fd, 2 * PAGE) == 0);
  CHECK(fcntl(fd, F_ADD_SEALS, F_SEAL_GROW) == 0);
  CHECK_ERRNO("grow under F_SEAL_GROW", ftruncate(fd, 3 * PAGE), EPERM);
  CHECK(pwrite(fd, page, 100, 2 * PAGE - 100) == 100);  // within i_size
  printf("write across EOF under F_SEAL_GROW: %ld\n", (long)pwrite(fd, page, 300, PAGE + 4000));
  CHECK_ERRNO("write past EOF under F_SEAL_GROW", pwrite(fd, page, 10, 2 * PAGE), EPERM);
  CHECK(fcntl(fd, F_ADD_SEALS, F_SEAL_WRITE) == 0);
  CHECK_ERRNO("write under F_SEAL_WRITE", write(fd, "a", 1), EPERM);
  CHECK_ERRNO("mmap shared writable under F_SEAL_WRITE",
              (long)mmap(NULL, PAGE, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0), EPERM);
  char* ro = mmap(NULL, PAGE, PROT_READ, MAP_SHARED, fd, 0);
  CHECK(ro != MAP_FAILED);
  CHECK_ERRNO("mprotect it writable", mprotect(ro, PAGE, PROT_READ | PROT_WRITE), EACCES);
  char* priv = mmap(NULL, PAGE, PROT_READ | PROT_WRITE, MAP_PRIVATE, fd, 0);
  CHECK(priv != MAP_FAILED);
  priv[0] = 'P';  // a private copy: allowed
  printf("private copy %c, file still %c\n", priv[0], ro[0]);
  CHECK(fcntl(fd, F_ADD_SEALS, F_SEAL_SEAL) == 0);
  printf("F_GET_SEALS: %#x\n", fcntl(fd, F_GET_SEALS));
  CHECK_ERRNO("F_ADD_SEALS after F_SEAL_SEAL", fcntl(fd, F_ADD_SEALS, F_SEAL_SHRINK), EPERM);
  char link[64];
  snprintf(link, sizeof link, "/proc/self/fd/%d", fd);
  int rd = open(link, O_RDONLY);  // a new open file of the same inode: the same seals
  CHECK(rd >= 0);
  printf("reopened read-only: seals %#x\n", fcntl(rd, F_GET_SEALS));
  close(rd);
  munmap(ro, PAGE);
  munmap(priv, PAGE);
  close(fd);
}

static void errors(void) {
  CHECK_ERRNO("unknown flag", memfd("x", 0x100), EINVAL);
  char longname[260];
  memset(longname, 'n', sizeof longname - 1);
  longname[sizeof longname - 1] = 0;
  longname[249] = 0;
  int fd = memfd(longname, 0);
  CHECK(fd >= 0);
  close(fd);
  longname[249] = 'n';
  CHECK_ERRNO("name of 259 bytes", memfd(longname, 0), EINVAL);
  CHECK_ERRNO("bad name pointer", memfd((const char*)8, 0), EFAULT);
  int pfd[2];
  CHECK(pipe(pfd) == 0);
  CHECK_ERRNO("F_GET_SEALS on a pipe", fcntl(pfd[0], F_GET_SEALS), EINVAL);
  close(pfd[0]);
  close(pfd[1]);
}

int main(void) {
  basics();
  seals();
  errors();
  exit_success_line();
  return 0;
}
