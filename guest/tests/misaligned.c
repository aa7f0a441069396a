// Misaligned accesses (issue 19): on arm64 an exclusive access (ldxr/stxr, what the libcs'
// atomics use) to a misaligned address is an alignment fault, SIGBUS with BUS_ADRALN and si_addr the access address, and it
// kills by SIGBUS without a handler; a plain misaligned load is allowed. On x86-64 every one of
// these accesses works (the same program prints "no fault").
#define _GNU_SOURCE
#include <setjmp.h>
#include <signal.h>
#include <stdint.h>
#include <sys/wait.h>
#include <unistd.h>

#include "guest_util.h"

static sigjmp_buf env;
static volatile int fault_code;
static volatile uintptr_t fault_addr;

static void on_bus(int sig, siginfo_t* si, void* ctx) {
  (void)sig;
  (void)ctx;
  fault_code = si->si_code;
  fault_addr = (uintptr_t)si->si_addr;
  siglongjmp(env, 1);
}

static _Alignas(16) volatile uint8_t buf[64];

static uint32_t exclusive_load(volatile uint8_t* p) {
#if defined(__aarch64__)
  uint32_t v;
  __asm__ volatile("ldxr %w0, [%1]\n\tclrex" : "=r"(v) : "r"(p) : "memory");
  return v;
#else
  return __atomic_load_n((volatile uint32_t*)p, __ATOMIC_ACQUIRE);
#endif
}

static void try_access(const char* what, uint32_t (*fn)(volatile uint8_t*), int offset) {
  fault_code = 0;
  if (sigsetjmp(env, 1) == 0) {
    uint32_t v = fn(buf + offset);
    printf("%s at offset %d: no fault (%u)\n", what, offset, v);
    return;
  }
  printf("%s at offset %d: SIGBUS %s, si_addr at offset %ld\n", what, offset,
         fault_code == BUS_ADRALN ? "BUS_ADRALN" : "other", (long)(fault_addr - (uintptr_t)buf));
}

static uint32_t plain_load(volatile uint8_t* p) { return *(volatile uint32_t*)p; }

int main(void) {
  setvbuf(stdout, NULL, _IONBF, 0);
  for (int i = 0; i < 64; i++) buf[i] = (uint8_t)i;
  struct sigaction sa;
  memset(&sa, 0, sizeof sa);
  sa.sa_sigaction = on_bus;
  sa.sa_flags = SA_SIGINFO;
  CHECK(sigaction(SIGBUS, &sa, NULL) == 0);
  try_access("exclusive load", exclusive_load, 0);
  try_access("exclusive load", exclusive_load, 1);
  try_access("plain load", plain_load, 3);
  pid_t child = fork();
  if (child == 0) {
    signal(SIGBUS, SIG_DFL);
    exclusive_load(buf + 2);
    _exit(0);
  }
  int status;
  CHECK(waitpid(child, &status, 0) == child);
  if (WIFSIGNALED(status))
    printf("without a handler: killed by %s\n", WTERMSIG(status) == SIGBUS ? "SIGBUS" : "other");
  else
    printf("without a handler: exit %d\n", WEXITSTATUS(status));
  puts("EXIT-SUCCESS");
  return 0;
}
