// mapcount: many VMAs in one process (issue 14: Unicorn aborts the host past ~1,023 regions on
// arm64 and ~4,095 on x86_64, emu/uc_regions.h). MAPS one-page mmaps, then THREADS threads
// (each thread's stack and guard page are two VMAs), then EXECMAPS one-page PROT_EXEC mmaps
// (executable runs are still Unicorn regions: their own, lower limit). Each either completes
// or stops with Linux's error at a map count limit: mmap ENOMEM, pthread_create EAGAIN (its
// stack mmap failed); plain mmaps and threads may only stop near vm.max_map_count. After each
// step everything is unmapped again and one more mapping (thread) must work.
// Runs only under probesim (tests/e2e: limits mode). usage: mapcount MAPS THREADS EXECMAPS
#include <pthread.h>
#include <sys/mman.h>
#include <unistd.h>

#include "guest_util.h"

// VMAs the process has besides the ones this program makes (its image, heap, stack, vDSO...).
#define OTHER_VMAS 64

static int gate[2];

static void* thread_wait(void* arg) {
  char c;
  ssize_t n = read(gate[0], &c, 1);  // 0 once main closes the write end
  (void)n;
  return arg;
}

static long max_map_count(void) {
  FILE* f = fopen("/proc/sys/vm/max_map_count", "r");
  CHECK(f != NULL);
  long v = 0;
  CHECK(fscanf(f, "%ld", &v) == 1);
  fclose(f);
  return v;
}

// One-page anonymous mappings with protection `prot` (adjacent ones alternate PROT_WRITE so
// that none merge); `bounded`: a failure must come near max_map_count.
static void maps(const char* what, long limit, long n, int prot, int bounded) {
  void** m = calloc((size_t)n + 1, sizeof(void*));
  CHECK(m != NULL);
  long made = 0;
  int err = 0;
  for (; made < n; made++) {
    m[made] = mmap(NULL, 4096, (made & 1) ? prot : prot | PROT_WRITE,
                   MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (m[made] == MAP_FAILED) {
      err = errno;
      break;
    }
    CHECK(*(volatile char*)m[made] == 0);
  }
  if (made == n) {
    printf("%s: %ld maps\n", what, made);
  } else if (bounded) {
    printf("%s failed with %s near max_map_count\n", what, errno_name(err));
    CHECK(err == ENOMEM && made <= limit && made + OTHER_VMAS > limit);
  } else {
    printf("%s failed with %s\n", what, errno_name(err));
    CHECK(err == ENOMEM);
  }
  for (long i = 0; i < made; i++) CHECK(munmap(m[i], 4096) == 0);
  void* again = mmap(NULL, 4096, prot, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  CHECK(again != MAP_FAILED);
  CHECK(munmap(again, 4096) == 0);
  printf("%s after munmap: ok\n", what);
  free(m);
}

static void threads(long limit, long n) {
  pthread_t* t = calloc((size_t)n + 1, sizeof(pthread_t));
  pthread_attr_t attr;
  CHECK(t != NULL && pipe(gate) == 0 && pthread_attr_init(&attr) == 0);
  CHECK(pthread_attr_setstacksize(&attr, 128 * 1024) == 0);
  long made = 0;
  int rc = 0;
  for (; made < n; made++) {
    rc = pthread_create(&t[made], &attr, thread_wait, NULL);
    if (rc != 0) break;
  }
  if (made == n) {
    printf("pthread_create: %ld threads\n", made);
  } else {
    printf("pthread_create failed with %s near max_map_count\n", errno_name(rc));
    CHECK(rc == EAGAIN && 2 * made <= limit && 2 * made + OTHER_VMAS > limit);
  }
  close(gate[1]);  // every thread reads EOF and returns
  for (long i = 0; i < made; i++) CHECK(pthread_join(t[i], NULL) == 0);
  close(gate[0]);
  // Their stacks are unmapped (or cached by the libc): one more thread starts.
  CHECK(pipe(gate) == 0);
  close(gate[1]);  // it reads EOF at once
  pthread_t one;
  CHECK(pthread_create(&one, &attr, thread_wait, NULL) == 0);
  CHECK(pthread_join(one, NULL) == 0);
  close(gate[0]);
  printf("threads after join: ok\n");
  free(t);
}

int main(int argc, char** argv) {
  CHECK(argc == 4);
  const long limit = max_map_count();
  maps("mmap", limit, atol(argv[1]), PROT_READ, 1);
  threads(limit, atol(argv[2]));
  maps("mmap PROT_EXEC", limit, atol(argv[3]), PROT_READ | PROT_EXEC, 0);
  printf("EXIT-SUCCESS\n");
  return 0;
}
