// rlimits: RLIMIT_NOFILE is what bounds the fd table, as kernel/sys.c do_prlimit and
// fs/file.c say: opening past the soft limit is EMFILE, a raised soft limit is honoured,
// dup2 to an fd at or past it is EBADF, F_DUPFD there EINVAL; setrlimit with cur > max is
// EINVAL and a hard limit past nr_open (1048576) EPERM. Host limits differ from probesim's
// defaults, so the program sets the soft limits it tests itself (the hard limit must allow
// 1100 files: Linux's default 4096 does).
#include <fcntl.h>
#include <sys/resource.h>
#include <unistd.h>

#include "guest_util.h"

// Opens /dev/null until open fails; returns the highest fd opened and stores errno.
static int open_until_failure(int* err) {
  int last = -1;
  for (;;) {
    int fd = open("/dev/null", O_RDONLY);
    if (fd < 0) {
      *err = errno;
      return last;
    }
    last = fd;
  }
}

int main(void) {
  struct rlimit r;
  CHECK(getrlimit(RLIMIT_NOFILE, &r) == 0);
  CHECK(r.rlim_cur <= r.rlim_max && r.rlim_max >= 1100);
  const rlim_t hard = r.rlim_max;

  struct rlimit bad = {hard + 1, hard};
  CHECK_ERRNO("setrlimit cur > max", setrlimit(RLIMIT_NOFILE, &bad), EINVAL);
  struct rlimit huge = {2000000, 2000000};
  CHECK_ERRNO("setrlimit NOFILE 2e6 (past nr_open)", setrlimit(RLIMIT_NOFILE, &huge), EPERM);
  CHECK(getrlimit(RLIMIT_NOFILE, &r) == 0 && r.rlim_max == hard);

  // A soft limit of 64: fds 0..63 only.
  struct rlimit small = {64, hard};
  CHECK(setrlimit(RLIMIT_NOFILE, &small) == 0);
  int err = 0;
  int last = open_until_failure(&err);
  printf("soft limit 64: last fd %d, then %s\n", last, errno_name(err));
  CHECK(last == 63 && err == EMFILE);
  CHECK_ERRNO("dup2 to fd 64", dup2(0, 64), EBADF);
  CHECK_ERRNO("F_DUPFD from 64", fcntl(0, F_DUPFD, 64), EINVAL);

  // Raised to 1100, past the usual 1024: honoured.
  struct rlimit raised = {1100, hard};
  CHECK(setrlimit(RLIMIT_NOFILE, &raised) == 0);
  last = open_until_failure(&err);
  printf("soft limit 1100: last fd %d, then %s\n", last, errno_name(err));
  CHECK(last == 1099 && err == EMFILE);
  CHECK(dup2(0, 1099 - 1) == 1098);

  // Lowering it below open fds keeps them open; new ones fail.
  struct rlimit lowered = {100, hard};
  CHECK(setrlimit(RLIMIT_NOFILE, &lowered) == 0);
  CHECK(fcntl(1099, F_GETFD) == 0);
  CHECK_ERRNO("open with fds past a lowered limit", open("/dev/null", O_RDONLY), EMFILE);
  CHECK(close(50) == 0);
  CHECK(open("/dev/null", O_RDONLY) == 50);
  exit_success_line();
  return 0;
}
