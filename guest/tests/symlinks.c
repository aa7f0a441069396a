// symlinks: symlink(2) and symlinkat(2) in the fixture directory argv[1] (see fileio.c): the
// link stores its target as given (relative, absolute, dangling), lstat shows it (S_IFLNK,
// 0777, size = target length), stat and open follow it, readlink(at) and getdents (DT_LNK)
// see it; rename, hard links and unlink act on the link itself; symlinkat's errors come in
// Linux's order (the target first, then the new name).
#define _GNU_SOURCE
#include <dirent.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "guest_util.h"

static const char* dir;
static char path_buf[4][4096];

static const char* at(int slot, const char* name) {
  snprintf(path_buf[slot], sizeof path_buf[slot], "%s/%s", dir, name);
  return path_buf[slot];
}

static void show_link(const char* name) {
  char target[256];
  struct stat st;
  ssize_t n = readlink(at(0, name), target, sizeof target - 1);
  CHECK(n >= 0);
  target[n] = 0;
  CHECK(lstat(at(0, name), &st) == 0);
  printf("%s -> %s: lnk %d mode %o size %ld nlink %ld\n", name, target, S_ISLNK(st.st_mode),
         (unsigned)(st.st_mode & 07777), (long)st.st_size, (long)st.st_nlink);
}

static void show_followed(const char* name) {
  struct stat st;
  char buf[64] = {0};
  CHECK(stat(at(0, name), &st) == 0);
  int fd = open(at(0, name), O_RDONLY);
  CHECK(fd >= 0);
  CHECK(read(fd, buf, sizeof buf - 1) >= 0);
  close(fd);
  buf[strcspn(buf, "\n")] = 0;
  printf("%s followed: reg %d size %ld reads \"%s\"\n", name, S_ISREG(st.st_mode),
         (long)st.st_size, buf);
}

static int by_name(const void* a, const void* b) {
  return strcmp((const char*)a, (const char*)b);
}

// The directory's entries with their d_type, sorted (readdir order is the filesystem's).
static void list_types(void) {
  static char lines[32][288];
  int count = 0;
  DIR* d = opendir(dir);
  CHECK(d != NULL);
  struct dirent* e;
  while ((e = readdir(d)) != NULL) {
    if (e->d_name[0] == '.') continue;
    CHECK(count < 32);
    snprintf(lines[count++], sizeof lines[0], "entry %s type %s", e->d_name,
             e->d_type == DT_LNK ? "lnk" : e->d_type == DT_DIR ? "dir" : "reg");
  }
  closedir(d);
  qsort(lines, count, sizeof lines[0], by_name);
  for (int i = 0; i < count; i++) printf("%s\n", lines[i]);
}

int main(int argc, char** argv) {
  CHECK(argc == 2);
  dir = argv[1];
  CHECK(symlink("hello.txt", at(0, "s_rel")) == 0);
  show_link("s_rel");
  show_followed("s_rel");
  CHECK(symlink(at(1, "sub/nested.txt"), at(0, "s_abs")) == 0);
  show_followed("s_abs");
  int subfd = open(at(0, "sub"), O_RDONLY | O_DIRECTORY);
  CHECK(subfd >= 0);
  CHECK(symlinkat("../lines.txt", subfd, "s_up") == 0);
  char target[64];
  ssize_t n = readlinkat(subfd, "s_up", target, sizeof target);
  CHECK(n == 12 && memcmp(target, "../lines.txt", 12) == 0);
  show_followed("sub/s_up");
  CHECK(syscall(SYS_symlinkat, "sub", AT_FDCWD, at(0, "s_dir")) == 0);
  show_followed("s_dir/nested.txt");
  CHECK(symlink("nowhere", at(0, "s_dangling")) == 0);
  show_link("s_dangling");
  struct stat st;
  CHECK_ERRNO("stat through a dangling link", stat(at(0, "s_dangling"), &st), ENOENT);
  CHECK(symlink("s_loop", at(0, "s_loop")) == 0);
  CHECK_ERRNO("open a link to itself", open(at(0, "s_loop"), O_RDONLY), ELOOP);
  CHECK_ERRNO("symlink over an existing name", symlink("x", at(0, "hello.txt")), EEXIST);
  CHECK_ERRNO("symlink over an existing link", symlink("x", at(0, "s_rel")), EEXIST);
  CHECK_ERRNO("symlink to an empty target", symlink("", at(0, "s_empty")), ENOENT);
  CHECK_ERRNO("symlink in a missing directory", symlink("x", at(0, "missing/s")), ENOENT);
  CHECK_ERRNO("symlink with a trailing slash", symlink("x", at(0, "s_new/")), ENOENT);
  CHECK_ERRNO("symlinkat with a bad dirfd", symlinkat("x", 999, "s_bad"), EBADF);
  CHECK_ERRNO("symlinkat with a bad target pointer",
              syscall(SYS_symlinkat, (char*)8, AT_FDCWD, at(0, "s_fault")), EFAULT);
  CHECK_ERRNO("readlink of a regular file", readlink(at(0, "hello.txt"), target, sizeof target),
              EINVAL);
  CHECK(rename(at(0, "s_rel"), at(1, "s_moved")) == 0);
  show_link("s_moved");
  CHECK(link(at(0, "s_moved"), at(1, "s_hard")) == 0);  // a second name for the link itself
  show_link("s_hard");
  CHECK(unlink(at(0, "s_moved")) == 0);
  show_link("s_hard");
  show_followed("hello.txt");
  list_types();
  close(subfd);
  exit_success_line();
  return 0;
}
