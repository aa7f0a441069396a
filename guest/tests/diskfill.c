// diskfill: writes a file in 1 MiB chunks until the machine's overlay is full: a short write
// at the limit, then ENOSPC, as on a full tmpfs. Unlinking the file gives the space back.
// Runs only under probesim with a small --limit-disk (tests/e2e: limits mode); natively it
// would fill the host's /tmp.
#include <fcntl.h>
#include <unistd.h>

#include "guest_util.h"

enum { kChunk = 1 << 20 };
static char buf[kChunk];

// Writes until write fails; returns the bytes written and stores the errno.
static long long fill(const char* path, int* err) {
  int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0644);
  CHECK(fd >= 0);
  long long total = 0;
  for (;;) {
    ssize_t n = write(fd, buf, sizeof buf);
    if (n < 0) {
      *err = errno;
      break;
    }
    total += n;
    if (total > (16ll << 30)) break;  // a limit that never comes: give up
  }
  CHECK(close(fd) == 0);
  return total;
}

int main(void) {
  memset(buf, 'x', sizeof buf);
  int err = 0;
  long long first = fill("/tmp/probesim-diskfill-1", &err);
  printf("write: %s after %lld MiB\n", errno_name(err), first >> 20);
  CHECK(err == ENOSPC && first > 0);

  int fd = open("/tmp/probesim-diskfill-2", O_WRONLY | O_CREAT, 0644);
  CHECK(fd >= 0);
  CHECK_ERRNO("a second file", write(fd, buf, 1), ENOSPC);
  CHECK(close(fd) == 0);

  CHECK(unlink("/tmp/probesim-diskfill-1") == 0);
  err = 0;
  long long again = fill("/tmp/probesim-diskfill-2", &err);
  printf("after unlink: %s after %lld MiB, same as before: %s\n", errno_name(err), again >> 20,
         again == first ? "yes" : "no");
  CHECK(err == ENOSPC && again == first);
  exit_success_line();
  return 0;
}
