// mmhints: the memory calls that query or advise, on the fixture directory argv[1] (see
// fileio.c). msync: a MAP_SHARED file mapping's stores are what read(2) returns after MS_SYNC;
// EINVAL/ENOMEM as mm/msync.c orders them. mincore: one byte per page, 1 for the pages a test
// touched (the model keeps no residency: every mapped page counts), ENOMEM at a hole. fadvise64:
// EBADF, ESPIPE for a pipe, EINVAL for bad advice or length, else 0. membarrier: the 6.1 query
// bits, private barriers need their registration (EPERM), which a fork keeps. Raw syscall()s:
// the kernel's answers are compared, not libc's.
#define _GNU_SOURCE
#include <fcntl.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include "guest_util.h"

#define PAGE 4096

// include/uapi/linux/membarrier.h (musl has no kernel headers)
enum {
  MEMBARRIER_CMD_QUERY = 0,
  MEMBARRIER_CMD_GLOBAL = 1 << 0,
  MEMBARRIER_CMD_GLOBAL_EXPEDITED = 1 << 1,
  MEMBARRIER_CMD_REGISTER_GLOBAL_EXPEDITED = 1 << 2,
  MEMBARRIER_CMD_PRIVATE_EXPEDITED = 1 << 3,
  MEMBARRIER_CMD_REGISTER_PRIVATE_EXPEDITED = 1 << 4,
  MEMBARRIER_CMD_PRIVATE_EXPEDITED_SYNC_CORE = 1 << 5,
  MEMBARRIER_CMD_REGISTER_PRIVATE_EXPEDITED_SYNC_CORE = 1 << 6,
  MEMBARRIER_CMD_PRIVATE_EXPEDITED_RSEQ = 1 << 7,
  MEMBARRIER_CMD_REGISTER_PRIVATE_EXPEDITED_RSEQ = 1 << 8,
};

static char path_buf[4096];

static void show_vec(const char* what, const unsigned char* vec, int n) {
  printf("%s:", what);
  for (int i = 0; i < n; i++) printf(" %d", vec[i] & 1);
  printf("\n");
}

static void msync_checks(const char* dir) {
  snprintf(path_buf, sizeof path_buf, "%s/hello.txt", dir);
  int fd = open(path_buf, O_RDWR);
  CHECK(fd >= 0);
  char* p = mmap(NULL, PAGE, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
  CHECK(p != MAP_FAILED);
  memcpy(p, "HELLO", 5);
  CHECK(syscall(SYS_msync, p, PAGE, MS_SYNC) == 0);
  char buf[16] = {0};
  CHECK(pread(fd, buf, 13, 0) == 13);
  printf("read after msync: %s\n", buf);
  CHECK(syscall(SYS_msync, p, 100, MS_ASYNC | MS_INVALIDATE) == 0);
  CHECK(syscall(SYS_msync, p, 0, MS_SYNC) == 0);
  CHECK_ERRNO("msync unaligned", syscall(SYS_msync, p + 1, PAGE, MS_SYNC), EINVAL);
  CHECK_ERRNO("msync MS_ASYNC|MS_SYNC", syscall(SYS_msync, p, PAGE, MS_ASYNC | MS_SYNC), EINVAL);
  CHECK_ERRNO("msync unknown flag", syscall(SYS_msync, p, PAGE, 8), EINVAL);
  CHECK(munmap(p, PAGE) == 0);
  CHECK_ERRNO("msync unmapped", syscall(SYS_msync, p, PAGE, MS_SYNC), ENOMEM);
  char* a = mmap(NULL, 3 * PAGE, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  CHECK(a != MAP_FAILED);
  CHECK(syscall(SYS_msync, a, 3 * PAGE, MS_SYNC) == 0);  // anonymous: nothing to write
  CHECK(munmap(a + PAGE, PAGE) == 0);
  CHECK_ERRNO("msync MS_SYNC over a hole", syscall(SYS_msync, a, 3 * PAGE, MS_SYNC), ENOMEM);
  CHECK_ERRNO("msync MS_ASYNC over a hole", syscall(SYS_msync, a, 3 * PAGE, MS_ASYNC), ENOMEM);
  CHECK(syscall(SYS_msync, a + 2 * PAGE, PAGE, MS_ASYNC) == 0);
  munmap(a, 3 * PAGE);
  close(fd);
}

static void mincore_checks(const char* dir) {
  unsigned char vec[8];
  char* a = mmap(NULL, 4 * PAGE, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  CHECK(a != MAP_FAILED);
  memset(a, 1, 4 * PAGE);
  memset(vec, 7, sizeof vec);
  CHECK(syscall(SYS_mincore, a, 4 * PAGE - 100, vec) == 0);  // the last page counts whole
  show_vec("mincore of 4 touched pages", vec, 4);
  printf("bytes past the vector untouched: %d\n", vec[4]);
  CHECK_ERRNO("mincore unaligned", syscall(SYS_mincore, a + 8, PAGE, vec), EINVAL);
  CHECK_ERRNO("mincore bad vector", syscall(SYS_mincore, a, PAGE, (void*)8), EFAULT);
  CHECK_ERRNO("mincore past the user half",
              syscall(SYS_mincore, (void*)(uintptr_t)-(uintptr_t)(16 * PAGE), PAGE, vec), ENOMEM);
  CHECK(munmap(a + 2 * PAGE, PAGE) == 0);
  memset(vec, 7, sizeof vec);
  CHECK_ERRNO("mincore over a hole", syscall(SYS_mincore, a, 4 * PAGE, vec), ENOMEM);
  show_vec("pages before the hole", vec, 2);
  CHECK(syscall(SYS_mincore, a, 0, vec) == 0);
  snprintf(path_buf, sizeof path_buf, "%s/data.bin", dir);
  int fd = open(path_buf, O_RDONLY);
  CHECK(fd >= 0);
  char* f = mmap(NULL, 2 * PAGE, PROT_READ, MAP_SHARED, fd, 0);
  CHECK(f != MAP_FAILED);
  volatile char sum = f[0] + f[PAGE];
  (void)sum;
  CHECK(syscall(SYS_mincore, f, 2 * PAGE, vec) == 0);
  show_vec("mincore of a read file mapping", vec, 2);
  munmap(f, 2 * PAGE);
  munmap(a, 2 * PAGE);
  munmap(a + 3 * PAGE, PAGE);
  close(fd);
}

static void fadvise_checks(const char* dir) {
  snprintf(path_buf, sizeof path_buf, "%s/lines.txt", dir);
  int fd = open(path_buf, O_RDONLY);
  CHECK(fd >= 0);
  for (int advice = 0; advice <= 5; advice++)
    CHECK(syscall(SYS_fadvise64, fd, 0, 0, advice) == 0);
  CHECK(syscall(SYS_fadvise64, fd, 1 << 20, 100, POSIX_FADV_WILLNEED) == 0);  // past EOF
  printf("fadvise64 advice 0..5: 0\n");
  CHECK_ERRNO("fadvise64 advice 6", syscall(SYS_fadvise64, fd, 0, 0, 6), EINVAL);
  CHECK_ERRNO("fadvise64 length -1", syscall(SYS_fadvise64, fd, 0, -1L, 0), EINVAL);
  CHECK_ERRNO("fadvise64 closed fd", syscall(SYS_fadvise64, 999, 0, 0, 0), EBADF);
  int pfd = open(path_buf, O_PATH);
  CHECK(pfd >= 0);
  CHECK_ERRNO("fadvise64 O_PATH fd", syscall(SYS_fadvise64, pfd, 0, 0, 0), EBADF);
  int pipefd[2];
  CHECK(pipe(pipefd) == 0);
  CHECK_ERRNO("fadvise64 pipe", syscall(SYS_fadvise64, pipefd[0], 0, 0, 0), ESPIPE);
  int dfd = open(dir, O_RDONLY | O_DIRECTORY);
  CHECK(dfd >= 0);
  CHECK(syscall(SYS_fadvise64, dfd, 0, 0, POSIX_FADV_DONTNEED) == 0);
  close(dfd);
  close(pipefd[0]);
  close(pipefd[1]);
  close(pfd);
  close(fd);
}

static long mb(int cmd, unsigned flags) {
  return syscall(SYS_membarrier, cmd, flags, 0);
}

static void membarrier_checks(void) {
  const long kKnown61 = 0x1ff;  // the commands Linux 6.1 has (later ones add bits above)
  long q = mb(MEMBARRIER_CMD_QUERY, 0);
  CHECK(q >= 0);
  printf("membarrier query: %#lx\n", q & kKnown61);
  CHECK(mb(MEMBARRIER_CMD_GLOBAL, 0) == 0);
  CHECK(mb(MEMBARRIER_CMD_GLOBAL_EXPEDITED, 0) == 0);
  CHECK_ERRNO("private expedited unregistered", mb(MEMBARRIER_CMD_PRIVATE_EXPEDITED, 0), EPERM);
  CHECK_ERRNO("sync core unregistered", mb(MEMBARRIER_CMD_PRIVATE_EXPEDITED_SYNC_CORE, 0),
              EPERM);
  CHECK_ERRNO("query with flags", mb(MEMBARRIER_CMD_QUERY, 1), EINVAL);
  CHECK_ERRNO("unknown command", mb(1 << 20, 0), EINVAL);
  CHECK(mb(MEMBARRIER_CMD_REGISTER_PRIVATE_EXPEDITED, 0) == 0);
  CHECK(mb(MEMBARRIER_CMD_PRIVATE_EXPEDITED, 0) == 0);
  CHECK(mb(MEMBARRIER_CMD_REGISTER_GLOBAL_EXPEDITED, 0) == 0);
  CHECK_ERRNO("private expedited with FLAG_CPU", mb(MEMBARRIER_CMD_PRIVATE_EXPEDITED, 1), EINVAL);
  CHECK_ERRNO("rseq unregistered", mb(MEMBARRIER_CMD_PRIVATE_EXPEDITED_RSEQ, 1), EPERM);
  CHECK(mb(MEMBARRIER_CMD_REGISTER_PRIVATE_EXPEDITED_RSEQ, 0) == 0);
  CHECK(mb(MEMBARRIER_CMD_PRIVATE_EXPEDITED_RSEQ, 0) == 0);
  printf("registered barriers: 0\n");
  fflush(stdout);
  pid_t pid = fork();
  CHECK(pid >= 0);
  if (pid == 0) {
    long r = mb(MEMBARRIER_CMD_PRIVATE_EXPEDITED, 0);
    printf("private expedited in a forked child: %s\n", r == 0 ? "0" : errno_name(errno));
    fflush(stdout);
    _exit(0);
  }
  int status;
  CHECK(waitpid(pid, &status, 0) == pid && WIFEXITED(status) && WEXITSTATUS(status) == 0);
}

int main(int argc, char** argv) {
  CHECK(argc == 2);
  msync_checks(argv[1]);
  mincore_checks(argv[1]);
  fadvise_checks(argv[1]);
  membarrier_checks();
  exit_success_line();
  return 0;
}
