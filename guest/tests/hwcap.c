// hwcap: AT_HWCAP/AT_HWCAP2 describe the CPU the program runs on, as Linux makes them, so that
// IFUNC resolvers (which read CPUID on x86_64, AT_HWCAP on arm64) choose consistently.
//   x86_64: AT_HWCAP == CPUID.1:EDX; AT_HWCAP2's FSGSBASE bit == CPUID.7.0:EBX.FSGSBASE
//   arm64:  for FP, ASIMD, AES, PMULL, SHA1, SHA2, CRC32, ATOMICS: the bit is set exactly when
//           an instruction of the feature executes (else SIGILL, caught)
//   /proc/cpuinfo: one block per online CPU; its "flags" (x86_64: vendor_id too, against CPUID)
//           or "Features" (arm64, against AT_HWCAP) name exactly the features the CPU has
// The auxv is read from the initial stack (glibc's getauxval(AT_HWCAP) on x86 is its own).
// Probesim only in e2e: a native run reports what the host's kernel (or sandbox) decided.
#include <elf.h>
#include <setjmp.h>
#include <signal.h>
#include <unistd.h>

#include "guest_util.h"

extern char** environ;

// The value of the first "key\t...: value" line of /proc/cpuinfo, as " value " (one space each
// side, so that " name " finds a whole token); returns 0 without one.
static int cpuinfo_field(const char* key, char* out, size_t size) {
  FILE* f = fopen("/proc/cpuinfo", "r");
  CHECK(f != NULL);
  char line[4096];
  int found = 0;
  while (!found && fgets(line, sizeof line, f)) {
    char* colon = strchr(line, ':');
    if (colon == NULL || strncmp(line, key, strlen(key)) != 0) continue;
    line[strcspn(line, "\n")] = 0;
    snprintf(out, size, " %s ", colon + 1 + (colon[1] == ' '));
    found = 1;
  }
  fclose(f);
  return found;
}

static int has_token(const char* list, const char* name) {
  char token[64];
  snprintf(token, sizeof token, " %s ", name);
  return strstr(list, token) != NULL;
}

static void check_cpuinfo_blocks(void) {
  FILE* f = fopen("/proc/cpuinfo", "r");
  CHECK(f != NULL);
  char line[4096];
  long blocks = 0;
  while (fgets(line, sizeof line, f))
    if (strncmp(line, "processor\t: ", 12) == 0) blocks++;
  fclose(f);
  printf("/proc/cpuinfo blocks == online CPUs: %s\n",
         blocks == sysconf(_SC_NPROCESSORS_ONLN) ? "yes" : "no");
  CHECK(blocks == sysconf(_SC_NPROCESSORS_ONLN));
}

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

// CPUID bits and the names Linux's x86_cap_flags gives them.
static const struct {
  unsigned leaf;
  char reg;
  unsigned bit;
  const char* name;
} kFlags[] = {
    {1, 'd', 0, "fpu"},         {1, 'd', 4, "tsc"},        {1, 'd', 25, "sse"},
    {1, 'd', 26, "sse2"},       {1, 'd', 28, "ht"},        {1, 'c', 0, "pni"},
    {1, 'c', 13, "cx16"},       {1, 'c', 19, "sse4_1"},    {1, 'c', 23, "popcnt"},
    {1, 'c', 28, "avx"},        {0x80000001, 'd', 11, "syscall"},
    {0x80000001, 'd', 20, "nx"}, {0x80000001, 'd', 29, "lm"}, {7, 'b', 5, "avx2"},
};

static void check_cpuinfo(void) {
  check_cpuinfo_blocks();
  char flags[4096], vendor[64];
  CHECK(cpuinfo_field("flags", flags, sizeof flags));
  CHECK(cpuinfo_field("vendor_id", vendor, sizeof vendor));
  unsigned a, b, c, d;
  __cpuid(0, a, b, c, d);
  char cpuid_vendor[16] = {0};
  memcpy(cpuid_vendor, &b, 4), memcpy(cpuid_vendor + 4, &d, 4), memcpy(cpuid_vendor + 8, &c, 4);
  printf("vendor_id == CPUID vendor: %s\n", has_token(vendor, cpuid_vendor) ? "yes" : "no");
  CHECK(has_token(vendor, cpuid_vendor));
  for (size_t i = 0; i < sizeof kFlags / sizeof kFlags[0]; i++) {
    __cpuid_count(kFlags[i].leaf, 0, a, b, c, d);
    unsigned r = kFlags[i].reg == 'b' ? b : kFlags[i].reg == 'c' ? c : d;
    int cpuid = (int)((r >> kFlags[i].bit) & 1), listed = has_token(flags, kFlags[i].name);
    printf("%s: CPUID %s, flags %s\n", kFlags[i].name, cpuid ? "yes" : "no", listed ? "yes" : "no");
    CHECK(cpuid == listed);
  }
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

static void check_cpuinfo(void) {
  check_cpuinfo_blocks();
  char features[4096];
  CHECK(cpuinfo_field("Features", features, sizeof features));
  uint64_t hwcap = raw_auxv(AT_HWCAP);
  for (size_t i = 0; i < sizeof kFeatures / sizeof kFeatures[0]; i++) {
    int claimed = (int)((hwcap >> kFeatures[i].bit) & 1);
    int listed = has_token(features, kFeatures[i].name);
    printf("%s: AT_HWCAP %s, Features %s\n", kFeatures[i].name, claimed ? "yes" : "no",
           listed ? "yes" : "no");
    CHECK(claimed == listed);
  }
}
#endif

int main(void) {
  check_cpu();
  check_cpuinfo();
  exit_success_line();
  return 0;
}
