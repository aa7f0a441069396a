// nosys: syscalls the kernel does not know return -1/ENOSYS and the program goes on
// (probesim counts them as unknown syscalls; natively they are just as unknown).
// `nosys named` also calls kexec_load, a real Linux syscall that probesim does not implement:
// probesim must name it in --stats and --strace (natively it is EPERM: run under probesim only).
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "guest_util.h"

int main(int argc, char** argv) {
  errno = 0;
  long r = syscall(1000, 1, 2, 3);
  printf("syscall(1000) = %ld errno %s\n", r, errno_name(errno));
  CHECK(r == -1 && errno == ENOSYS);
  if (argc > 1 && strcmp(argv[1], "named") == 0) {
    errno = 0;
    r = syscall(SYS_kexec_load, 0, 0, 0, 0);
    printf("kexec_load = %ld errno %s\n", r, errno_name(errno));
    CHECK(r == -1 && errno == ENOSYS);
  }
  printf("EXIT-SUCCESS\n");
  return 0;
}
