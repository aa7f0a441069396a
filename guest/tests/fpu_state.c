// fpu_state: the floating-point state Linux starts a process with, what fork and
// pthread_create copy and what execve resets, and results that depend on it.
// x86-64: x87 control word 0x037f (64-bit precision, all exceptions masked), status 0, empty
// x87 stack (tag word 0xffff), MXCSR 0x1f80 (arch/x86/kernel/fpu/core.c fpstate_init_fx).
// arm64: FPCR 0, FPSR 0 (fpsimd_flush_thread).
// x86-64: fxsave/fxrstor carry MXCSR and the XMM registers (Linux sets CR4.OSFXSR; glibc's
// lazy binding, _dl_runtime_resolve_fxsave, saves a function's vector arguments that way).
// Results: the first calls of log/exp/sin (in the dynamic build: resolved lazily, with the
// argument in xmm0), long double division, sqrtl, cbrtl, hypotl, roundl, printf and
// strtod/strtold rounding. Args: none; "exec-child" is the re-executed image (x86-64 only: the aarch64
// reference runs under qemu-user without binfmt, where a nested execve cannot work).
#include <fenv.h>
#include <math.h>
#include <pthread.h>
#include <sys/wait.h>
#include <unistd.h>

#include "guest_util.h"

// The state's control part; with `flags`, the status (exception flags) too: only at the
// start, where no operation raised any yet (fpu_flags tests the flags).
static void print_state(const char* who, int flags) {
#if defined(__x86_64__)
  uint16_t fcw = 0, fsw = 0;
  uint32_t mxcsr = 0;
  uint16_t env[14];  // fnstenv, 32-bit layout: cw, -, sw, -, tag, ...
  __asm__ volatile("fnstcw %0" : "=m"(fcw));
  __asm__ volatile("fnstsw %0" : "=m"(fsw));
  __asm__ volatile("stmxcsr %0" : "=m"(mxcsr));
  __asm__ volatile("fnstenv %0; fldenv %0" : "+m"(env));
  if (flags)
    printf("%s: fcw=%04x fsw=%04x ftw=%04x mxcsr=%08x\n", who, fcw, fsw, env[4], mxcsr);
  else
    printf("%s: fcw=%04x ftw=%04x mxcsr=%08x\n", who, fcw, env[4], mxcsr & ~0x3fu);
#elif defined(__aarch64__)
  uint64_t fpcr, fpsr;
  __asm__ volatile("mrs %0, fpcr" : "=r"(fpcr));
  __asm__ volatile("mrs %0, fpsr" : "=r"(fpsr));
  if (flags)
    printf("%s: fpcr=%08llx fpsr=%08llx\n", who, (unsigned long long)fpcr,
           (unsigned long long)fpsr);
  else
    printf("%s: fpcr=%08llx\n", who, (unsigned long long)fpcr);
#endif
  fflush(stdout);
}

#if defined(__x86_64__)
static void fxsave_roundtrip(void) {
  static uint8_t area[512] __attribute__((aligned(16)));
  const double in = 1.5;
  double out = 0;
  __asm__ volatile(
      "movsd %2, %%xmm0\n\tfxsave %1\n\txorps %%xmm0, %%xmm0\n\tfxrstor %1\n\tmovsd %%xmm0, %0"
      : "=m"(out), "+m"(area)
      : "m"(in)
      : "xmm0");
  double saved;
  uint32_t mxcsr;
  memcpy(&saved, area + 160, sizeof saved);  // XMM0 in the FXSAVE image
  memcpy(&mxcsr, area + 24, sizeof mxcsr);
  printf("fxsave: xmm0=%g mxcsr=%08x; after fxrstor xmm0=%g\n", saved, mxcsr, out);
}
#endif

static void print_results(void) {
  volatile double ten_d = 10.0, one_d = 1.0;
  printf("log(10)=%a exp(1)=%a sin(1)=%a\n", log(ten_d), exp(one_d), sin(one_d));
  volatile long double three = 3.0L, two = 2.0L, ten = 10.0L, big = 3e300L, half = 2.5L;
  printf("1/3L=%La sqrtl(2)=%La\n", 1.0L / three, sqrtl(two));
  printf("cbrtl(10)=%La hypotl=%La\n", cbrtl(ten), hypotl(big, big));
  printf("roundl(2.5)=%La rintl(2.5)=%La\n", roundl(half), rintl(half));
  printf("strtod(0.1)=%a strtold(0.1)=%La\n", strtod("0.1", NULL), strtold("0.1", NULL));
  printf("printf %%.17g=%.17g %%g=%g %%.25Lg=%.25Lg\n", 0.1, 2.0 / 3.0, 1.0L / three);
  fflush(stdout);
}

static void* thread_main(void* arg) {
  print_state((const char*)arg, 0);
  return NULL;
}

int main(int argc, char** argv) {
  if (argc > 1 && strcmp(argv[1], "exec-child") == 0) {
    print_state("after execve", 1);
    return 0;
  }
  print_state("start", 1);
#if defined(__x86_64__)
  fxsave_roundtrip();
#endif
  print_results();

  // Round upward: fork and a new thread copy the state (Linux fpu_clone copies the parent's).
  CHECK(fesetround(FE_UPWARD) == 0);
  print_state("upward", 0);
  volatile double one = 1.0, three = 3.0;
  printf("upward 1/3=%a\n", one / three);
  fflush(stdout);
  pid_t pid = fork();
  CHECK(pid >= 0);
  if (pid == 0) {
    print_state("fork child", 0);
    _exit(0);
  }
  int status = 0;
  CHECK(waitpid(pid, &status, 0) == pid && WIFEXITED(status) && WEXITSTATUS(status) == 0);
  pthread_t t;
  CHECK(pthread_create(&t, NULL, thread_main, (void*)"thread") == 0);
  CHECK(pthread_join(t, NULL) == 0);
#if defined(__x86_64__)
  pid = fork();  // execve resets the state of the caller, whatever it was
  CHECK(pid >= 0);
  if (pid == 0) {
    char* args[] = {argv[0], "exec-child", NULL};
    execv(argv[0], args);
    _exit(127);
  }
  CHECK(waitpid(pid, &status, 0) == pid && WIFEXITED(status) && WEXITSTATUS(status) == 0);
#endif
  CHECK(fesetround(FE_TONEAREST) == 0);
  exit_success_line();
  return 0;
}
