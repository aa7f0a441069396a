/* smallio: N small write(2) calls of 16 bytes to an fd opened on /dev/null.
 *   usage: smallio [writes=200000]
 * Syscall-heavy: measures the syscall round trip of each runner. The checksum folds every
 * return value, so a runner that drops or shortens writes computes a different checksum. */
#include <fcntl.h>
#include <string.h>
#include <unistd.h>

#include "bench_common.h"

int main(int argc, char** argv) {
  uint64_t n = bench_arg(argc, argv, 1, 200000);
  int fd = open("/dev/null", O_WRONLY);
  if (fd < 0) {
    perror("smallio: open /dev/null");
    return 1;
  }
  char msg[16];
  uint64_t h = 0xcbf29ce484222325ull;
  for (uint64_t i = 0; i < n; i++) {
    memset(msg, 'a' + (int)(i % 26), sizeof msg);
    ssize_t r = write(fd, msg, sizeof msg);
    h = (h ^ (uint64_t)r ^ (uint64_t)(uint8_t)msg[0]) * 0x100000001b3ull;
  }
  close(fd);
  printf("smallio: writes=%llu bytes=16\n", (unsigned long long)n);
  bench_print_checksum(h);
  return 0;
}
