// etxtbsy: a running executable cannot be opened for writing, and a file open for writing
// cannot be executed (ETXTBSY: Linux's i_writecount, deny_write_access at exec). Writes are
// allowed again once nothing runs the file. The program copies itself to ./etxtbsy-copy (in
// the working directory: a temp dir in tests, the overlay under probesim) and runs the copy.
// qemu-user does not deny writes (the kernel runs qemu, not the program), so the aarch64
// flavour is checked against the expected output instead (tests/e2e: simonly mode).
#include <fcntl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "guest_util.h"

static const char kCopy[] = "./etxtbsy-copy";

// Copies /proc/self/exe to kCopy (mode 0755); returns the fd, still open for writing.
static int copy_self(void) {
  int in = open("/proc/self/exe", O_RDONLY);
  CHECK(in >= 0);
  int out = open(kCopy, O_WRONLY | O_CREAT | O_TRUNC, 0755);
  CHECK(out >= 0);
  static char buf[65536];
  ssize_t n;
  while ((n = read(in, buf, sizeof buf)) > 0) CHECK(write(out, buf, (size_t)n) == n);
  CHECK(n == 0 && close(in) == 0);
  return out;
}

// Runs kCopy with argv[1] "child" in a child process; returns the child's pid. The child
// reports exec's errno as its exit status when exec fails.
static pid_t run_copy(int gate_fd) {
  pid_t c = fork();
  CHECK(c >= 0);
  if (c == 0) {
    char fd_arg[16];
    snprintf(fd_arg, sizeof fd_arg, "%d", gate_fd);
    char* argv[] = {(char*)kCopy, (char*)"child", fd_arg, NULL};
    char* envp[] = {NULL};
    execve(kCopy, argv, envp);
    _exit(errno);
  }
  return c;
}

int main(int argc, char** argv) {
  if (argc == 3 && strcmp(argv[1], "child") == 0) {  // the copy: wait until the gate closes
    char b;
    ssize_t n = read(atoi(argv[2]), &b, 1);
    return n == 0 ? 0 : 1;
  }
  CHECK_ERRNO("open own executable O_WRONLY", open("/proc/self/exe", O_WRONLY), ETXTBSY);
  CHECK_ERRNO("open own executable O_RDWR", open("/proc/self/exe", O_RDWR), ETXTBSY);
  int ro = open("/proc/self/exe", O_RDONLY);
  CHECK(ro >= 0 && close(ro) == 0);

  int gate[2];
  CHECK(pipe(gate) == 0);
  CHECK(fcntl(gate[1], F_SETFD, FD_CLOEXEC) == 0);  // the copy holds only the read end
  int wfd = copy_self();
  int status;
  pid_t c = run_copy(gate[0]);
  CHECK(waitpid(c, &status, 0) == c && WIFEXITED(status));
  printf("execve of a file open for writing: %s\n", errno_name(WEXITSTATUS(status)));
  CHECK(WEXITSTATUS(status) == ETXTBSY);
  CHECK(close(wfd) == 0);

  c = run_copy(gate[0]);  // runs now, blocked on the gate
  // Retry the open until it fails with ETXTBSY (the child's exec happened), or give up.
  int busy = 0;
  for (int i = 0; i < 1000 && !busy; ++i) {
    int fd = open(kCopy, O_WRONLY);
    if (fd < 0 && errno == ETXTBSY) busy = 1;
    if (fd >= 0) {
      CHECK(close(fd) == 0);
      usleep(1000);
    }
  }
  printf("open for writing while the copy runs: %s\n", busy ? "ETXTBSY" : "allowed");
  CHECK(busy);
  CHECK(close(gate[1]) == 0);
  CHECK(waitpid(c, &status, 0) == c && WIFEXITED(status) && WEXITSTATUS(status) == 0);
  int fd = open(kCopy, O_WRONLY);
  printf("after it exited: %s\n", fd >= 0 ? "writable" : errno_name(errno));
  CHECK(fd >= 0 && close(fd) == 0);
  CHECK(unlink(kCopy) == 0);
  exit_success_line();
  return 0;
}
