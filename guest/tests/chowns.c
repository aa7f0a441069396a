// chowns: chown, lchown, fchown and fchownat as root in the fixture directory argv[1] (see
// fileio.c): the owner and group change (-1 keeps one), lchown and AT_SYMLINK_NOFOLLOW change
// the link itself, AT_EMPTY_PATH the dirfd (O_PATH too), the ctime changes; on a regular file
// S_ISUID goes, and S_ISGID with it when the group may execute; a directory keeps both. Then
// the errors: EINVAL for unknown flags, ENOENT, EBADF (fchown refuses O_PATH; chown of its
// /proc/self/fd/N link reaches the file).
#define _GNU_SOURCE
#include <fcntl.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "guest_util.h"

static const char* dir;
static char path_buf[4096];

static const char* at(const char* name) {
  snprintf(path_buf, sizeof path_buf, "%s/%s", dir, name);
  return path_buf;
}

static void show(const char* what, const char* name) {
  struct stat st;
  CHECK(lstat(at(name), &st) == 0);
  printf("%s: %s %u:%u mode %04o\n", what, name, (unsigned)st.st_uid, (unsigned)st.st_gid,
         (unsigned)(st.st_mode & 07777));
}

// chown(-1, -1) after chmod(mode): what is left of the set-id bits.
static void kill_bits(const char* name, mode_t mode) {
  CHECK(chmod(at(name), mode) == 0);
  CHECK(chown(at(name), -1, -1) == 0);
  struct stat st;
  CHECK(stat(at(name), &st) == 0);
  printf("chown(-1, -1) of %s %04o: %04o\n", name, (unsigned)mode, (unsigned)(st.st_mode & 07777));
}

int main(int argc, char** argv) {
  CHECK(argc == 2);
  dir = argv[1];
  struct stat before, after;
  CHECK(stat(at("hello.txt"), &before) == 0);
  CHECK(chown(at("hello.txt"), 1000, 1001) == 0);
  CHECK(stat(at("hello.txt"), &after) == 0);
  printf("ctime changed: %d\n", after.st_ctim.tv_sec != before.st_ctim.tv_sec ||
                                    after.st_ctim.tv_nsec != before.st_ctim.tv_nsec);
  show("chown 1000 1001", "hello.txt");
  CHECK(chown(at("hello.txt"), -1, 5) == 0);
  show("chown -1 5", "hello.txt");
  CHECK(chown(at("link"), 20, 21) == 0);  // follows the link
  show("chown through link", "hello.txt");
  show("chown through link", "link");
  CHECK(lchown(at("link"), 30, 31) == 0);
  show("lchown", "link");
  show("lchown", "hello.txt");
  CHECK(fchownat(AT_FDCWD, at("link"), 40, -1, AT_SYMLINK_NOFOLLOW) == 0);
  show("fchownat nofollow", "link");
  CHECK(fchownat(AT_FDCWD, at("link"), -1, 41, 0) == 0);
  show("fchownat follow", "hello.txt");
  int fd = open(at("lines.txt"), O_RDONLY);
  CHECK(fd >= 0);
  CHECK(fchown(fd, 50, 51) == 0);
  show("fchown", "lines.txt");
  int dfd = open(at("sub"), O_RDONLY | O_DIRECTORY);
  CHECK(dfd >= 0);
  CHECK(fchownat(dfd, "nested.txt", 60, 61, 0) == 0);
  show("fchownat dirfd", "sub/nested.txt");
  CHECK(fchownat(dfd, "", 62, 63, AT_EMPTY_PATH) == 0);
  show("fchownat AT_EMPTY_PATH", "sub");
  int pfd = open(at("data.bin"), O_PATH);
  CHECK(pfd >= 0);
  CHECK(fchownat(pfd, "", 70, 71, AT_EMPTY_PATH) == 0);
  show("fchownat O_PATH fd", "data.bin");
  // The syscall refuses O_PATH fds (musl's fchown then retries through /proc/self/fd/N).
  CHECK_ERRNO("fchown of an O_PATH fd", syscall(SYS_fchown, pfd, 1, 1), EBADF);
  char fd_link[64];
  snprintf(fd_link, sizeof fd_link, "/proc/self/fd/%d", pfd);
  CHECK(chown(fd_link, 72, 73) == 0);  // the magic link names the open file itself
  show("chown /proc/self/fd/N of the O_PATH fd", "data.bin");
  CHECK_ERRNO("fchownat empty path without AT_EMPTY_PATH", fchownat(dfd, "", 1, 1, 0), ENOENT);
  CHECK_ERRNO("fchownat unknown flag", fchownat(dfd, "nested.txt", 1, 1, 0x4), EINVAL);
  CHECK_ERRNO("chown missing", chown(at("missing"), 1, 1), ENOENT);
  CHECK_ERRNO("fchown closed fd", fchown(999, 1, 1), EBADF);
  CHECK_ERRNO("chown bad pointer", syscall(SYS_fchownat, AT_FDCWD, (char*)8, 1, 1, 0), EFAULT);
  kill_bits("data.bin", 06755);
  kill_bits("data.bin", 06745);
  kill_bits("data.bin", 02754);
  kill_bits("sub", 06755);
  close(pfd);
  close(dfd);
  close(fd);
  exit_success_line();
  return 0;
}
