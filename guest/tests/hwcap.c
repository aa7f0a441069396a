// hwcap: AT_HWCAP/AT_HWCAP2 describe the CPU the program runs on, as Linux makes them, so that
// IFUNC resolvers (which read CPUID on x86_64, AT_HWCAP on arm64) choose consistently.
//   x86_64: AT_HWCAP == CPUID.1:EDX; AT_HWCAP2's FSGSBASE bit == CPUID.7.0:EBX.FSGSBASE
//   arm64:  for FP, ASIMD, AES, PMULL, SHA1, SHA2, CRC32, ATOMICS: the bit is set exactly when
//           an instruction of the feature executes (else SIGILL, caught)
// The auxv is read from the initial stack (glibc's getauxval(AT_HWCAP) on x86 is its own).
// Probesim only in e2e: a native run reports what the host's kernel (or sandbox) decided.
#include <elf.h>
#include <setjmp.h>
#include <signal.h>
#include <unistd.h>

#include "guest_util.h"

extern char** environ;

static uint64_t raw_auxv(uint64_t type) {
  char** e = environ;
  while (*e) e++;
  for (const Elf64_auxv_t* a = (const Elf64_auxv_t*)(e + 1); a->a_type != AT_NULL; a++)
    if (a->a_type == type) return a->a_un.a_val;
  return 0;
}

#if defined(__x86_64__)
#include <cpuid.h>

static void check_cpu(void) {
  unsigned a, b, c, d;
  __cpuid(1, a, b, c, d);
  printf("AT_HWCAP == CPUID.1:EDX: %s\n", raw_auxv(AT_HWCAP) == d ? "yes" : "no");
  CHECK(raw_auxv(AT_HWCAP) == d);
  __cpuid_count(7, 0, a, b, c, d);
  int fsgsbase = (int)(b & 1), hwcap2_fsgsbase = (int)((raw_auxv(AT_HWCAP2) >> 1) & 1);
  printf("HWCAP2_FSGSBASE == CPUID.7:EBX.FSGSBASE: %s\n", fsgsbase == hwcap2_fsgsbase ? "yes" : "no");
  CHECK(fsgsbase == hwcap2_fsgsbase);
}
#else
static sigjmp_buf env;
static void on_sigill(int sig) {
  (void)sig;
  siglongjmp(env, 1);
}

#define PROBE(name) static void name(void)
PROBE(probe_fp) { __asm__ volatile("fmov d0, #1.0\n fadd d0, d0, d0" ::: "v0"); }
PROBE(probe_asimd) { __asm__ volatile("movi v0.16b, #1\n add v0.4s, v0.4s, v0.4s" ::: "v0"); }
PROBE(probe_aes) { __asm__ volatile(".inst 0x4e284820" ::: "v0", "v1"); }        // aese v0, v1
PROBE(probe_pmull) { __asm__ volatile(".inst 0x0ee1e002" ::: "v0", "v1", "v2"); }  // pmull 1q
PROBE(probe_sha1) { __asm__ volatile(".inst 0x5e280820" ::: "v0", "v1"); }        // sha1h
PROBE(probe_sha2) { __asm__ volatile(".inst 0x5e024020" ::: "v0", "v1", "v2"); }  // sha256h
PROBE(probe_crc32) { __asm__ volatile(".inst 0x1ac14000" ::: "x0", "x1"); }       // crc32b
static long atom;
PROBE(probe_atomics) {  // ldadd x1, x0, [x2]
  __asm__ volatile("mov x1, #1\n mov x2, %0\n .inst 0xf8210040" : : "r"(&atom) : "x0", "x1", "x2", "memory");
}

static const struct {
  const char* name;
  unsigned bit;
  void (*probe)(void);
} kFeatures[] = {
    {"fp", 0, probe_fp},       {"asimd", 1, probe_asimd}, {"aes", 3, probe_aes},
    {"pmull", 4, probe_pmull}, {"sha1", 5, probe_sha1},   {"sha2", 6, probe_sha2},
    {"crc32", 7, probe_crc32}, {"atomics", 8, probe_atomics},
};

static void check_cpu(void) {
  CHECK(signal(SIGILL, on_sigill) != SIG_ERR);
  uint64_t hwcap = raw_auxv(AT_HWCAP);
  for (size_t i = 0; i < sizeof kFeatures / sizeof kFeatures[0]; i++) {
    volatile int works = 0;
    if (sigsetjmp(env, 1) == 0) {
      kFeatures[i].probe();
      works = 1;
    }
    int claimed = (int)((hwcap >> kFeatures[i].bit) & 1);
    printf("%s: executes %s, AT_HWCAP %s\n", kFeatures[i].name, works ? "yes" : "no",
           claimed ? "yes" : "no");
    CHECK(works == claimed);
  }
}
#endif

int main(void) {
  check_cpu();
  exit_success_line();
  return 0;
}
