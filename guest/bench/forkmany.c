/* forkmany: K live processes at once, for the per-process memory benchmark.
 *   usage: forkmany [children=10] [pages=4]
 * The parent forks K children. Each child writes `pages` pages of a static buffer (copy on
 * write: private pages of its own), then blocks reading a pipe until the parent has forked
 * all K and closes the write end, so all K children exist together. The parent waits for
 * all of them; the checksum folds the children's exit statuses. */
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "bench_common.h"

#define MAX_PAGES 64
static uint8_t g_buf[MAX_PAGES * 4096];

static int child(int rfd, uint64_t index, uint64_t pages) {
  for (uint64_t p = 0; p < pages; p++) memset(g_buf + p * 4096, (int)(index + p), 4096);
  char c;
  while (read(rfd, &c, 1) > 0) {
  }
  return (int)(bench_fnv1a(0xcbf29ce484222325ull, g_buf, pages * 4096) & 0x7f);
}

int main(int argc, char** argv) {
  uint64_t k = bench_arg(argc, argv, 1, 10), pages = bench_arg(argc, argv, 2, 4);
  if (pages > MAX_PAGES) pages = MAX_PAGES;
  int fds[2];
  if (pipe(fds) != 0) return 1;
  for (uint64_t i = 0; i < k; i++) {
    pid_t pid = fork();
    if (pid < 0) return 1;
    if (pid == 0) {
      close(fds[1]);
      _exit(child(fds[0], i, pages));
    }
  }
  close(fds[0]);
  close(fds[1]);
  uint64_t sum = 0; /* a sum: independent of the order children are reaped in */
  for (uint64_t i = 0; i < k; i++) {
    int status = 0;
    if (wait(&status) < 0 || !WIFEXITED(status)) return 1;
    sum += (uint64_t)WEXITSTATUS(status);
  }
  printf("forkmany: %llu children, %llu pages each\n", (unsigned long long)k,
         (unsigned long long)pages);
  bench_print_checksum(sum);
  return 0;
}
