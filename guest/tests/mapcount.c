// mapcount: a process maps more one-page VMAs than vm.max_map_count allows, then starts more
// threads than the VMAs left allow (each thread's stack and guard page are two VMAs). Both must
// stop with Linux's error at max_map_count, mmap with ENOMEM and pthread_create with EAGAIN
// (its stack mmap failed), and the process must keep working: after munmap, mmap and threads
// work again. Under probesim max_map_count is what one Unicorn engine can realize
// (emu/uc_regions.h: 991 on aarch64, 4063 on x86_64), so this is the test that a guest past
// Unicorn's region ceiling gets the modelled error and never aborts the host (issue 14).
// Runs only under probesim (tests/e2e: limits mode). usage: mapcount MAPS THREADS (at most).
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

// One-page anonymous mappings, adjacent ones of different protections so that none merge.
static void maps(long limit, long n) {
  void** m = calloc((size_t)n, sizeof(void*));
  CHECK(m != NULL);
  long made = 0;
  int err = 0;
  for (; made < n; made++) {
    int prot = (made & 1) ? PROT_READ : PROT_READ | PROT_WRITE;
    m[made] = mmap(NULL, 4096, prot, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (m[made] == MAP_FAILED) {
      err = errno;
      break;
    }
    CHECK(*(volatile char*)m[made] == 0);
  }
  if (made == n) {
    printf("mmap: %ld maps\n", made);
  } else {
    printf("mmap failed with %s near max_map_count\n", errno_name(err));
    CHECK(err == ENOMEM && made <= limit && made + OTHER_VMAS > limit);
  }
  for (long i = 0; i < made; i++) CHECK(munmap(m[i], 4096) == 0);
  void* again = mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  CHECK(again != MAP_FAILED);
  CHECK(munmap(again, 4096) == 0);
  printf("mmap after munmap: ok\n");
  free(m);
}

static void threads(long limit, long n) {
  pthread_t* t = calloc((size_t)n, sizeof(pthread_t));
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
  CHECK(argc == 3);
  const long limit = max_map_count();
  maps(limit, atol(argv[1]));
  threads(limit, atol(argv[2]));
  printf("EXIT-SUCCESS\n");
  return 0;
}
