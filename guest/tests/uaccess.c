// uaccess: syscalls check user buffers as Linux's access_ok and copy_{to,from}_user do.
// - a range reaching past the user half is EFAULT before anything moves (write(1, "x",
//   LONG_MAX) writes nothing; a read into a kernel address is EFAULT even at end of file);
// - readv/writev: a bad first segment is EFAULT;
// - a pipe read into an unmapped buffer is EFAULT and keeps the data for the next read.
#include <fcntl.h>
#include <limits.h>
#include <sys/mman.h>
#include <sys/uio.h>
#include <unistd.h>

#include "guest_util.h"

// An address in the kernel half on both architectures (x86-64 and arm64 48-bit VA).
static char* const kKernelAddr = (char*)0xffff800000001000ull;

static volatile size_t long_max = LONG_MAX;  // opaque: the compiler would reject the overread

int main(void) {
  CHECK_ERRNO("write(1, \"x\", LONG_MAX)", write(1, "x", long_max), EFAULT);
  CHECK_ERRNO("write from a kernel address", write(1, kKernelAddr, 1), EFAULT);

  int devnull = open("/dev/null", O_RDONLY);
  CHECK(devnull >= 0);
  CHECK_ERRNO("read /dev/null into a kernel address", read(devnull, kKernelAddr, 16), EFAULT);

  int p[2];
  CHECK(pipe(p) == 0);
  CHECK(write(p[1], "hello", 5) == 5);
  // An unmapped user page (mapped, then unmapped again): EFAULT, the data stays in the pipe.
  char* hole = mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  CHECK(hole != MAP_FAILED);
  CHECK(munmap(hole, 4096) == 0);
  CHECK_ERRNO("pipe read into an unmapped buffer", read(p[0], hole, 5), EFAULT);
  CHECK_ERRNO("pipe read into a kernel address", read(p[0], kKernelAddr, 5), EFAULT);
  char buf[16] = {0};
  ssize_t n = read(p[0], buf, sizeof buf);
  printf("next read: %zd \"%.*s\"\n", n, (int)(n > 0 ? n : 0), buf);
  CHECK(n == 5 && memcmp(buf, "hello", 5) == 0);

  // A read-only buffer: EFAULT for a read into it, data kept as well.
  char* ro = mmap(NULL, 4096, PROT_READ, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  CHECK(ro != MAP_FAILED);
  CHECK(write(p[1], "again", 5) == 5);
  CHECK_ERRNO("pipe read into a read-only page", read(p[0], ro, 5), EFAULT);
  n = read(p[0], buf, sizeof buf);
  printf("then: %zd \"%.*s\"\n", n, (int)(n > 0 ? n : 0), buf);
  CHECK(n == 5 && memcmp(buf, "again", 5) == 0);

  // End of file, but the buffer is in the kernel half: EFAULT, not 0.
  CHECK(close(p[1]) == 0);
  CHECK_ERRNO("read at EOF into a kernel address", read(p[0], kKernelAddr, 5), EFAULT);
  CHECK(read(p[0], buf, sizeof buf) == 0);

  // readv/writev: a bad first segment is EFAULT.
  CHECK(pipe(p) == 0);
  struct iovec iov[2] = {{kKernelAddr, 4}, {buf, 4}};
  CHECK_ERRNO("writev with a kernel first segment", writev(p[1], iov, 2), EFAULT);
  CHECK_ERRNO("readv with a kernel first segment", readv(devnull, iov, 2), EFAULT);
  exit_success_line();
  return 0;
}
