// fileio: file-system syscalls on the fixture directory argv[1], made by tests/e2e/compare.py:
//   hello.txt = "hello fixture\n" (0644)      lines.txt (0644)      data.bin (10000 bytes, 0644)
//   sub/ (0755) with sub/nested.txt           link -> hello.txt      all mtimes 981173106
// and on a new file it creates there (write, then read back). Prints contents, sizes, modes,
// sorted directory listings and errno names; never inode numbers, fd numbers, new files'
// times or absolute paths, so native and probesim output are identical.
#define _GNU_SOURCE
#include <dirent.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/uio.h>
#include <unistd.h>

#include "guest_util.h"

#define kHelloText "hello fixture\n"
#define kMaxEntries 32

// chdir/getcwd: entering "sub" appends "/sub" to the cwd; ".." comes back.
static void test_cwd(const char* fixture) {
  char top[4096], sub[4096], back[4096];
  CHECK(chdir(fixture) == 0);
  CHECK(getcwd(top, sizeof(top)) != NULL);
  CHECK(chdir("sub") == 0);
  CHECK(getcwd(sub, sizeof(sub)) != NULL);
  CHECK(strncmp(sub, top, strlen(top)) == 0 && strcmp(sub + strlen(top), "/sub") == 0);
  CHECK(chdir("..") == 0);
  CHECK(getcwd(back, sizeof(back)) != NULL && strcmp(back, top) == 0);
  CHECK_ERRNO("chdir missing", chdir("missing"), ENOENT);
  CHECK_ERRNO("chdir hello.txt", chdir("hello.txt"), ENOTDIR);
  printf("getcwd/chdir ok\n");
}

static void test_access(void) {
  CHECK(access("hello.txt", R_OK) == 0);
  CHECK(access("sub", X_OK) == 0);
  CHECK_ERRNO("access missing", access("missing", F_OK), ENOENT);
  printf("access ok\n");
}

// read/lseek/pread/readv on hello.txt: pread leaves the file offset alone.
static void test_read(void) {
  char buf[64] = {0};
  int fd = open("hello.txt", O_RDONLY);
  CHECK(fd >= 0);
  CHECK(read(fd, buf, 5) == 5);
  printf("read 5: '%s'\n", buf);
  CHECK(lseek(fd, 0, SEEK_CUR) == 5);
  memset(buf, 0, sizeof(buf));
  CHECK(pread(fd, buf, 7, 6) == 7);
  printf("pread 7 at 6: '%s', offset still %ld\n", buf, (long)lseek(fd, 0, SEEK_CUR));
  printf("lseek end: %ld\n", (long)lseek(fd, 0, SEEK_END));
  CHECK(lseek(fd, 0, SEEK_SET) == 0);
  char a[6] = {0}, b[32] = {0};
  struct iovec iov[2] = {{a, 5}, {b, sizeof(b) - 1}};
  CHECK(readv(fd, iov, 2) == (ssize_t)strlen(kHelloText));
  printf("readv: '%s' + '%.*s'\n", a, (int)strlen(b) - 1, b);
  CHECK(read(fd, buf, sizeof(buf)) == 0);
  CHECK_ERRNO("lseek negative", lseek(fd, -1, SEEK_SET), EINVAL);
  CHECK_ERRNO("write to O_RDONLY", write(fd, "x", 1), EBADF);
  CHECK(close(fd) == 0);
  CHECK_ERRNO("read closed fd", read(fd, buf, 1), EBADF);
}

static char type_letter(mode_t mode) {
  return S_ISREG(mode) ? 'f' : S_ISDIR(mode) ? 'd' : S_ISLNK(mode) ? 'l' : '?';
}

static void print_stat(const char* what, const struct stat* st) {
  printf("%s: type=%c mode=%04o size=%ld", what, type_letter(st->st_mode),
         (unsigned)(st->st_mode & 07777), (long)st->st_size);
  if (!S_ISLNK(st->st_mode)) printf(" mtime=%ld", (long)st->st_mtime);
  if (!S_ISDIR(st->st_mode)) printf(" nlink=%ld", (long)st->st_nlink);
  printf("\n");
}

// fstat and newfstatat (fstatat), with and without following the symlink.
static void test_stat(void) {
  struct stat st;
  int fd = open("hello.txt", O_RDONLY);
  CHECK(fd >= 0 && fstat(fd, &st) == 0);
  print_stat("fstat hello.txt", &st);
  CHECK(close(fd) == 0);
  CHECK(fstatat(AT_FDCWD, "link", &st, AT_SYMLINK_NOFOLLOW) == 0);
  print_stat("fstatat link nofollow", &st);
  CHECK(fstatat(AT_FDCWD, "link", &st, 0) == 0);
  print_stat("fstatat link follow", &st);
  CHECK(fstatat(AT_FDCWD, "sub", &st, 0) == 0);
  print_stat("fstatat sub", &st);
  int dirfd = open("sub", O_RDONLY | O_DIRECTORY);
  CHECK(dirfd >= 0 && fstatat(dirfd, "nested.txt", &st, 0) == 0);
  print_stat("fstatat sub/nested.txt via dirfd", &st);
  CHECK(close(dirfd) == 0);
  CHECK_ERRNO("fstatat missing", fstatat(AT_FDCWD, "missing", &st, 0), ENOENT);
}

// readlink on the fixture symlink, on a regular file, and on /proc/self/exe.
static void test_readlink(const char* argv0) {
  char target[4096];
  ssize_t n = readlink("link", target, sizeof(target) - 1);
  CHECK(n > 0);
  target[n] = '\0';
  printf("readlink link: '%s'\n", target);
  CHECK_ERRNO("readlink hello.txt", readlink("hello.txt", target, sizeof(target)), EINVAL);
  n = readlink("/proc/self/exe", target, sizeof(target) - 1);
  CHECK(n > 0);
  target[n] = '\0';
  CHECK(strcmp(path_basename(target), path_basename(argv0)) == 0);
  printf("readlink /proc/self/exe ends with the program name\n");
}

// dup shares the file offset; dup2 clears FD_CLOEXEC; fcntl F_DUPFD honours its minimum.
static void test_dup_fcntl(void) {
  int fd = open("hello.txt", O_RDONLY | O_CLOEXEC);
  CHECK(fd >= 0);
  printf("open O_CLOEXEC: FD_CLOEXEC=%d\n", fcntl(fd, F_GETFD) & FD_CLOEXEC);
  int copy = dup(fd);
  CHECK(copy >= 0 && copy != fd);
  CHECK(lseek(copy, 6, SEEK_SET) == 6);
  printf("dup shares offset: %ld\n", (long)lseek(fd, 0, SEEK_CUR));
  printf("dup clears FD_CLOEXEC: %d\n", fcntl(copy, F_GETFD) & FD_CLOEXEC);
  CHECK(dup2(fd, 20) == 20);
  CHECK(dup2(fd, fd) == fd);
  CHECK(fcntl(20, F_SETFD, FD_CLOEXEC) == 0);
  printf("F_SETFD then F_GETFD: %d\n", fcntl(20, F_GETFD) & FD_CLOEXEC);
  printf("F_GETFL accmode is O_RDONLY: %d\n", (fcntl(fd, F_GETFL) & O_ACCMODE) == O_RDONLY);
  int high = fcntl(fd, F_DUPFD, 30);
  CHECK(high >= 30);
  printf("F_DUPFD 30 gives >= 30\n");
  CHECK(close(high) == 0 && close(20) == 0 && close(copy) == 0 && close(fd) == 0);
  CHECK_ERRNO("dup2 bad fd", dup2(fd, 21), EBADF);
}

// getdents64 is called directly (musl and glibc wrap it differently) with a small buffer so
// that a listing needs several calls. Names are sorted: directory order is not portable.
static int compare_names(const void* a, const void* b) {
  return strcmp(a, b);
}

static int list_dir(const char* path, char names[kMaxEntries][64]) {
  char buf[128] __attribute__((aligned(8)));
  int fd = open(path, O_RDONLY | O_DIRECTORY);
  CHECK(fd >= 0);
  int count = 0;
  for (;;) {
    long n = syscall(SYS_getdents64, fd, buf, sizeof(buf));
    CHECK(n >= 0);
    if (n == 0) break;
    for (long off = 0; off < n;) {
      unsigned short reclen;  // struct linux_dirent64: ino, off, reclen, type, name
      memcpy(&reclen, buf + off + 16, sizeof(reclen));
      unsigned char type = (unsigned char)buf[off + 18];
      const char* name = buf + off + 19;
      char letter = type == DT_REG ? 'f' : type == DT_DIR ? 'd' : type == DT_LNK ? 'l' : '?';
      CHECK(count < kMaxEntries);
      snprintf(names[count++], 64, "%s(%c)", name, letter);
      off += reclen;
    }
  }
  CHECK(close(fd) == 0);
  qsort(names, count, 64, compare_names);
  return count;
}

static void print_listing(const char* path) {
  char names[kMaxEntries][64];
  int count = list_dir(path, names);
  printf("getdents64 %s:", path);
  for (int i = 0; i < count; i++) printf(" %s", names[i]);
  printf("\n");
}

// A new file: O_EXCL create, writev, read back, pwrite/pread, O_APPEND.
static void test_new_file(void) {
  int fd = open("new.txt", O_CREAT | O_EXCL | O_RDWR, 0600);
  CHECK(fd >= 0);
  struct iovec iov[3] = {{"first ", 6}, {"second ", 7}, {"third\n", 6}};
  CHECK(writev(fd, iov, 3) == 19);
  CHECK(write(fd, "more\n", 5) == 5);
  char buf[64] = {0};
  CHECK(lseek(fd, 0, SEEK_SET) == 0);
  CHECK(read(fd, buf, sizeof(buf)) == 24);
  for (char* c = buf; *c; c++) *c = *c == '\n' ? '|' : *c;  // one output line
  printf("new.txt read back: '%s'\n", buf);
  CHECK(pwrite(fd, "FIRST", 5, 0) == 5);
  memset(buf, 0, sizeof(buf));
  CHECK(pread(fd, buf, 12, 0) == 12);
  printf("after pwrite: '%s' offset=%ld\n", buf, (long)lseek(fd, 0, SEEK_CUR));
  CHECK(close(fd) == 0);
  CHECK_ERRNO("O_EXCL on existing", open("new.txt", O_CREAT | O_EXCL | O_RDWR, 0600), EEXIST);
  fd = open("new.txt", O_WRONLY | O_APPEND);
  CHECK(fd >= 0 && write(fd, "tail\n", 5) == 5);
  struct stat st;
  CHECK(fstat(fd, &st) == 0 && close(fd) == 0);
  printf("after O_APPEND write: size=%ld\n", (long)st.st_size);
  CHECK_ERRNO("open file as O_DIRECTORY", open("new.txt", O_RDONLY | O_DIRECTORY), ENOTDIR);
  CHECK_ERRNO("open missing", open("missing/x", O_RDONLY), ENOENT);
}

int main(int argc, char** argv) {
  CHECK(argc == 2);
  test_cwd(argv[1]);
  test_access();
  test_read();
  test_stat();
  test_readlink(argv[0]);
  test_dup_fcntl();
  print_listing(".");
  print_listing("sub");
  test_new_file();
  print_listing(".");
  exit_success_line();
  return 0;
}
