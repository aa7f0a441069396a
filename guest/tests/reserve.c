// Large PROT_NONE reservations (issue 19), as malloc's arenas and OOM tests make them: 16
// reservations of 64 GiB (1 TiB in all), each with 1 MiB made accessible and touched, then
// unmapped. The cost must follow what is mapped, not the size of the range: under probesim
// this once took about 1.3 s of host time per 32 GiB. An access to the reserved part faults.
#define _GNU_SOURCE
#include <setjmp.h>
#include <signal.h>
#include <stdint.h>
#include <sys/mman.h>
#include <unistd.h>

#include "guest_util.h"

static sigjmp_buf env;
static volatile int fault_code;

static void on_segv(int sig, siginfo_t* si, void* ctx) {
  (void)sig;
  (void)ctx;
  fault_code = si->si_code;
  siglongjmp(env, 1);
}

// A write into the reserved part of p: the fault's si_code.
static void probe_reserved(char* p, size_t used) {
  struct sigaction sa;
  memset(&sa, 0, sizeof sa);
  sa.sa_sigaction = on_segv;
  sa.sa_flags = SA_SIGINFO;
  CHECK(sigaction(SIGSEGV, &sa, NULL) == 0);
  if (sigsetjmp(env, 1) == 0) {
    p[used + 4096] = 1;
    printf("write into the reservation: no fault\n");
  } else {
    printf("write into the reservation: SIGSEGV %s\n",
           fault_code == SEGV_ACCERR ? "SEGV_ACCERR" : "other");
  }
}

int main(void) {
  setvbuf(stdout, NULL, _IONBF, 0);
  const size_t size = (size_t)64 << 30, used = (size_t)1 << 20;
  long sum = 0;
  for (int i = 0; i < 16; i++) {
    char* p = mmap(NULL, size, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
    CHECK(p != MAP_FAILED);
    CHECK(mprotect(p, used, PROT_READ | PROT_WRITE) == 0);
    for (size_t off = 0; off < used; off += 4096) p[off] = (char)(off >> 12);
    for (size_t off = 0; off < used; off += 4096) sum += (unsigned char)p[off];
    if (i == 0) probe_reserved(p, used);
    CHECK(munmap(p, size) == 0);
  }
  printf("16 x 64 GiB reserved, 1 MiB of each used: sum %ld\n", sum);
  puts("EXIT-SUCCESS");
  return 0;
}
