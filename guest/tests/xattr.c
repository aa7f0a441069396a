// xattr: the read side of extended attributes on the fixture directory argv[1] (see
// fileio.c), whose files carry none: gets find nothing (ENODATA), lists are empty (0), and
// the lookup, fd and name errors come first, as fs/xattr.c orders them. Debian's ls -l
// asks lgetxattr for every file it lists. Raw syscall()s: the kernel model is compared.
#define _GNU_SOURCE
#include <fcntl.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "guest_util.h"

static char path_buf[4096];

static const char* at(const char* dir, const char* name) {
  snprintf(path_buf, sizeof path_buf, "%s/%s", dir, name);
  return path_buf;
}

int main(int argc, char** argv) {
  CHECK(argc == 2);
  const char* dir = argv[1];
  char value[64], list[256];
  CHECK_ERRNO("getxattr user.x", syscall(SYS_getxattr, at(dir, "hello.txt"), "user.x", value,
                                         sizeof value), ENODATA);
  CHECK_ERRNO("lgetxattr link security.selinux",
              syscall(SYS_lgetxattr, at(dir, "link"), "security.selinux", value, sizeof value),
              ENODATA);
  CHECK_ERRNO("getxattr dir system.posix_acl_access",
              syscall(SYS_getxattr, at(dir, "sub"), "system.posix_acl_access", value, 0), ENODATA);
  CHECK_ERRNO("getxattr missing file", syscall(SYS_getxattr, at(dir, "missing"), "user.x", value,
                                               sizeof value), ENOENT);
  CHECK_ERRNO("getxattr unknown namespace",
              syscall(SYS_getxattr, at(dir, "hello.txt"), "bogus.x", value, sizeof value),
              EOPNOTSUPP);
  CHECK_ERRNO("getxattr empty name",
              syscall(SYS_getxattr, at(dir, "hello.txt"), "", value, sizeof value), ERANGE);
  char long_name[300];
  memset(long_name, 'n', sizeof long_name - 1);
  memcpy(long_name, "user.", 5);
  long_name[sizeof long_name - 1] = 0;
  CHECK_ERRNO("getxattr name past XATTR_NAME_MAX",
              syscall(SYS_getxattr, at(dir, "hello.txt"), long_name, value, sizeof value), ERANGE);
  printf("listxattr: %ld\n", (long)syscall(SYS_listxattr, at(dir, "hello.txt"), list, sizeof list));
  printf("llistxattr link: %ld\n", (long)syscall(SYS_llistxattr, at(dir, "link"), list, 0));
  CHECK_ERRNO("listxattr missing", syscall(SYS_listxattr, at(dir, "missing"), list, sizeof list),
              ENOENT);
  int fd = open(at(dir, "hello.txt"), O_RDONLY);
  CHECK(fd >= 0);
  CHECK_ERRNO("fgetxattr user.x", syscall(SYS_fgetxattr, fd, "user.x", value, sizeof value),
              ENODATA);
  printf("flistxattr: %ld\n", (long)syscall(SYS_flistxattr, fd, list, sizeof list));
  close(fd);
  CHECK_ERRNO("fgetxattr closed fd", syscall(SYS_fgetxattr, fd, "user.x", value, sizeof value),
              EBADF);
  CHECK_ERRNO("flistxattr closed fd", syscall(SYS_flistxattr, fd, list, sizeof list), EBADF);
  exit_success_line();
  return 0;
}
