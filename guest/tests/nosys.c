// nosys: syscalls the kernel does not know return -1/ENOSYS and the program goes on
// (probesim counts them as unknown syscalls; natively they are just as unknown).
#include <sys/syscall.h>
#include <unistd.h>

#include "guest_util.h"

int main(void) {
  errno = 0;
  long r = syscall(1000, 1, 2, 3);
  printf("syscall(1000) = %ld errno %s\n", r, errno_name(errno));
  CHECK(r == -1 && errno == ENOSYS);
  printf("EXIT-SUCCESS\n");
  return 0;
}
