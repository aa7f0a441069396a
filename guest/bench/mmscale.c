/* mmscale: address-space scaling workloads for the "mm_scaling" benchmark (issue 14's
 * "before" numbers).
 *   usage: mmscale mmaps N       N one-page anonymous mmaps that stay separate VMAs (adjacent
 *                                ones alternate PROT_READ and PROT_READ|PROT_WRITE, so none
 *                                merge), each read once, then all unmapped
 *          mmscale threads N     N threads (128 KiB stacks) that all block reading a pipe until
 *                                the main thread has created the last one, then are joined
 *          mmscale privwrite PATH  maps the whole file at PATH MAP_PRIVATE read/write and
 *                                writes 1 byte into its middle page (one COW page on Linux)
 *          mmscale forktouch M   writes every page of M MiB of anonymous memory, then forks
 *                                one child that writes 1 byte of it and exits (Linux copies
 *                                one page: the rest stays shared copy-on-write)
 * The checksum is a function of the arguments only (privwrite: of the file's size). */
#include <fcntl.h>
#include <pthread.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "bench_common.h"

static int mmaps(uint64_t n) {
  void** maps = malloc(n * sizeof(void*));
  if (!maps) return 1;
  uint64_t sum = 0;
  for (uint64_t i = 0; i < n; i++) {
    int prot = (i & 1) ? PROT_READ : PROT_READ | PROT_WRITE;
    maps[i] = mmap(NULL, 4096, prot, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (maps[i] == MAP_FAILED) return 1;
    sum += *(volatile uint8_t*)maps[i] + i;
  }
  for (uint64_t i = 0; i < n; i++)
    if (munmap(maps[i], 4096) != 0) return 1;
  free(maps);
  printf("mmscale: %llu mmaps\n", (unsigned long long)n);
  bench_print_checksum(sum);
  return 0;
}

static int g_pipe[2];

static void* blocked_thread(void* arg) {
  char c;
  while (read(g_pipe[0], &c, 1) > 0) {
  }
  return arg;
}

static int threads(uint64_t n) {
  pthread_t* t = malloc(n * sizeof(pthread_t));
  pthread_attr_t attr;
  if (!t || pipe(g_pipe) != 0 || pthread_attr_init(&attr) != 0 ||
      pthread_attr_setstacksize(&attr, 128 * 1024) != 0)
    return 1;
  for (uint64_t i = 0; i < n; i++)
    if (pthread_create(&t[i], &attr, blocked_thread, (void*)(uintptr_t)i) != 0) return 1;
  close(g_pipe[1]); /* every reader now sees EOF */
  uint64_t sum = 0;
  for (uint64_t i = 0; i < n; i++) {
    void* r;
    if (pthread_join(t[i], &r) != 0) return 1;
    sum += (uintptr_t)r;
  }
  printf("mmscale: %llu threads\n", (unsigned long long)n);
  bench_print_checksum(sum);
  return 0;
}

static int privwrite(const char* path) {
  int fd = open(path, O_RDONLY);
  struct stat st;
  if (fd < 0 || fstat(fd, &st) != 0 || st.st_size < 4096) return 1;
  size_t len = (size_t)st.st_size;
  uint8_t* p = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_PRIVATE, fd, 0);
  if (p == MAP_FAILED) return 1;
  size_t at = (len / 2) & ~(size_t)4095;
  p[at] = 1;
  uint64_t sum = p[at] + (uint64_t)len;
  if (munmap(p, len) != 0) return 1;
  close(fd);
  printf("mmscale: 1 byte written privately into a %llu-byte file\n", (unsigned long long)len);
  bench_print_checksum(sum);
  return 0;
}

static int forktouch(uint64_t mib) {
  const size_t len = (size_t)mib << 20;
  uint8_t* p = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  if (p == MAP_FAILED) return 1;
  for (size_t off = 0; off < len; off += 4096) p[off] = (uint8_t)(off >> 12);
  pid_t pid = fork();
  if (pid < 0) return 1;
  if (pid == 0) {
    p[len / 2] = 0xff;
    _exit(p[4096] + p[len / 2] == 1 + 0xff ? 0 : 1);
  }
  int status = 0;
  if (waitpid(pid, &status, 0) != pid || !WIFEXITED(status)) return 1;
  printf("mmscale: %llu MiB touched, one child forked\n", (unsigned long long)mib);
  bench_print_checksum(mib + (uint64_t)WEXITSTATUS(status) + p[len / 2]);
  return 0;
}

int main(int argc, char** argv) {
  if (argc != 3) {
    fprintf(stderr, "usage: %s mmaps N | threads N | privwrite PATH | forktouch MIB\n", argv[0]);
    return 2;
  }
  if (strcmp(argv[1], "mmaps") == 0) return mmaps(bench_arg(argc, argv, 2, 1));
  if (strcmp(argv[1], "threads") == 0) return threads(bench_arg(argc, argv, 2, 1));
  if (strcmp(argv[1], "privwrite") == 0) return privwrite(argv[2]);
  if (strcmp(argv[1], "forktouch") == 0) return forktouch(bench_arg(argc, argv, 2, 1));
  fprintf(stderr, "%s: unknown mode '%s'\n", argv[0], argv[1]);
  return 2;
}
