// vdso: the vDSO Linux maps into every process (AT_SYSINFO_EHDR), called directly: its time
// functions agree with the syscalls they replace (bracketed: vdso <= syscall <= vdso), clocks it
// does not serve fall back to the syscall, and /proc/self/maps shows [vvar] below [vdso] with
// Linux's flags. arm64: a handler installed without SA_RESTORER returns through the vDSO's
// __kernel_rt_sigreturn. Prints only "ok" lines (x86_64 natively too; qemu-aarch64 7.2 maps
// no vDSO, so arm64 runs under probesim only).
#define _GNU_SOURCE
#include <elf.h>
#include <signal.h>
#include <sys/auxv.h>
#include <sys/syscall.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

#include "guest_util.h"

#if defined(__x86_64__)
#define VDSO_SYM(x86, arm64) x86
#else
#define VDSO_SYM(x86, arm64) arm64
#endif

static const Elf64_Ehdr* vdso;

// A .dynsym symbol of the vDSO by name through DT_HASH (nchain = the symbol count), as the
// vDSO parsers in Linux's tools/testing/selftests/vDSO do; null if absent.
static void* vdso_sym(const char* name) {
  const uint8_t* base = (const uint8_t*)vdso;
  const Elf64_Phdr* ph = (const Elf64_Phdr*)(base + vdso->e_phoff);
  uintptr_t load = 0;
  const Elf64_Dyn* dyn = NULL;
  for (int i = 0; i < vdso->e_phnum; ++i) {
    if (ph[i].p_type == PT_LOAD && load == 0) load = (uintptr_t)base - ph[i].p_vaddr + ph[i].p_offset;
    if (ph[i].p_type == PT_DYNAMIC) dyn = (const Elf64_Dyn*)(base + ph[i].p_offset);
  }
  CHECK(dyn != NULL);
  const Elf64_Sym* syms = NULL;
  const char* strs = NULL;
  const uint32_t* hash = NULL;
  for (; dyn->d_tag != DT_NULL; ++dyn) {
    if (dyn->d_tag == DT_SYMTAB) syms = (const Elf64_Sym*)(load + dyn->d_un.d_ptr);
    if (dyn->d_tag == DT_STRTAB) strs = (const char*)(load + dyn->d_un.d_ptr);
    if (dyn->d_tag == DT_HASH) hash = (const uint32_t*)(load + dyn->d_un.d_ptr);
  }
  CHECK(syms != NULL && strs != NULL && hash != NULL);
  for (uint32_t i = 0; i < hash[1]; ++i)
    if (syms[i].st_shndx != SHN_UNDEF && strcmp(strs + syms[i].st_name, name) == 0)
      return (void*)(load + syms[i].st_value);
  return NULL;
}

static void test_auxv(void) {
  vdso = (const Elf64_Ehdr*)getauxval(AT_SYSINFO_EHDR);
  CHECK(vdso != NULL);
  CHECK(memcmp(vdso->e_ident, ELFMAG, SELFMAG) == 0 && vdso->e_type == ET_DYN);
  printf("ok AT_SYSINFO_EHDR points at the vDSO, an ET_DYN ELF\n");
}

static void test_maps(void) {
  FILE* f = fopen("/proc/self/maps", "r");
  CHECK(f != NULL);
  char line[512];
  unsigned long vvar_lo = 0, vvar_hi = 0, vdso_lo = 0, vdso_hi = 0;
  while (fgets(line, sizeof line, f)) {
    unsigned long lo, hi, off, ino;
    char perms[8], dev[16], name[64] = "";
    CHECK(sscanf(line, "%lx-%lx %7s %lx %15s %lu %63s", &lo, &hi, perms, &off, dev, &ino, name) >= 6);
    if (strcmp(name, "[vvar]") == 0) {
      CHECK(strcmp(perms, "r--p") == 0 && off == 0 && strcmp(dev, "00:00") == 0 && ino == 0);
      vvar_lo = lo;
      vvar_hi = hi;
    }
    if (strcmp(name, "[vdso]") == 0) {
      CHECK(strcmp(perms, "r-xp") == 0 && off == 0 && strcmp(dev, "00:00") == 0 && ino == 0);
      vdso_lo = lo;
      vdso_hi = hi;
    }
  }
  fclose(f);
  CHECK(vdso_lo == (unsigned long)vdso && vdso_hi > vdso_lo);
  CHECK(vvar_lo != 0 && vvar_lo < vvar_hi && vvar_hi <= vdso_lo);
  printf("ok /proc/self/maps: [vvar] r--p below [vdso] r-xp, no file\n");
}

typedef int (*clock_gettime_fn)(clockid_t, struct timespec*);
typedef int (*gettimeofday_fn)(struct timeval*, void*);

static int64_t ns_of(struct timespec t) { return (int64_t)t.tv_sec * 1000000000 + t.tv_nsec; }

// vdso(clock) <= syscall(clock) <= vdso(clock): both read one clock.
static void test_clock_gettime(void) {
  clock_gettime_fn gettime = (clock_gettime_fn)vdso_sym(VDSO_SYM("__vdso_clock_gettime", "__kernel_clock_gettime"));
  CHECK(gettime != NULL);
  static const clockid_t kClocks[] = {CLOCK_REALTIME, CLOCK_MONOTONIC, CLOCK_BOOTTIME};
  for (size_t i = 0; i < sizeof kClocks / sizeof kClocks[0]; ++i) {
    struct timespec a, s, b;
    CHECK(gettime(kClocks[i], &a) == 0);
    CHECK(syscall(SYS_clock_gettime, kClocks[i], &s) == 0);
    CHECK(gettime(kClocks[i], &b) == 0);
    CHECK(a.tv_nsec >= 0 && a.tv_nsec < 1000000000);
    CHECK(ns_of(a) <= ns_of(s) && ns_of(s) <= ns_of(b));
  }
  printf("ok the vDSO's clock_gettime brackets the syscall's (REALTIME, MONOTONIC, BOOTTIME)\n");
  struct timespec t;
  CHECK(gettime(CLOCK_PROCESS_CPUTIME_ID, &t) == 0);  // not a vDSO clock: the syscall
  CHECK(gettime(12345, &t) == -EINVAL);               // the fallback's raw -errno
  printf("ok other clocks fall back to the syscall (-EINVAL for a bad one)\n");
}

static void test_gettimeofday_getres(void) {
  gettimeofday_fn gtod = (gettimeofday_fn)vdso_sym(VDSO_SYM("__vdso_gettimeofday", "__kernel_gettimeofday"));
  clock_gettime_fn getres = (clock_gettime_fn)vdso_sym(VDSO_SYM("__vdso_clock_getres", "__kernel_clock_getres"));
  CHECK(gtod != NULL && getres != NULL);
  struct timespec a, b;
  struct timeval tv;
  CHECK(syscall(SYS_clock_gettime, CLOCK_REALTIME, &a) == 0);
  CHECK(gtod(&tv, NULL) == 0);
  CHECK(syscall(SYS_clock_gettime, CLOCK_REALTIME, &b) == 0);
  int64_t us = (int64_t)tv.tv_sec * 1000000 + tv.tv_usec;
  CHECK(ns_of(a) / 1000 <= us && us <= ns_of(b) / 1000);
  printf("ok the vDSO's gettimeofday lies between two syscall readings\n");
  static const clockid_t kRes[] = {CLOCK_MONOTONIC, CLOCK_REALTIME_COARSE, CLOCK_MONOTONIC_RAW};
  for (size_t i = 0; i < sizeof kRes / sizeof kRes[0]; ++i) {
    struct timespec v, s;
    CHECK(getres(kRes[i], &v) == 0);
    CHECK(syscall(SYS_clock_getres, kRes[i], &s) == 0);
    CHECK(v.tv_sec == s.tv_sec && v.tv_nsec == s.tv_nsec);
  }
  printf("ok the vDSO's clock_getres equals the syscall's\n");
}

#if defined(__x86_64__)
static void test_x86_extras(void) {
  long (*vtime)(long*) = (long (*)(long*))vdso_sym("__vdso_time");
  long (*vgetcpu)(unsigned*, unsigned*, void*) =
      (long (*)(unsigned*, unsigned*, void*))vdso_sym("__vdso_getcpu");
  CHECK(vtime != NULL && vgetcpu != NULL && vdso_sym("clock_gettime") != NULL);
  struct timespec s;
  long t0 = vtime(NULL);
  CHECK(syscall(SYS_clock_gettime, CLOCK_REALTIME, &s) == 0);
  long t1;
  CHECK(vtime(&t1) == t1);
  CHECK(t0 - 1 <= s.tv_sec && s.tv_sec <= t1 + 1);  // time() reads the coarse clock natively
  printf("ok the vDSO's time agrees with CLOCK_REALTIME\n");
  // Between two syscall getcpu()s that agree the task ran on that CPU (natively it may
  // migrate: then try again), and the vDSO's getcpu() must say so.
  int agreed = 0;
  for (int i = 0; i < 100 && !agreed; ++i) {
    unsigned cpu = 0, node = 0, c0 = 0, n0 = 0, c1 = 1, n1 = 1;
    CHECK(syscall(SYS_getcpu, &c0, &n0, NULL) == 0);
    CHECK(vgetcpu(&cpu, &node, NULL) == 0);
    CHECK(syscall(SYS_getcpu, &c1, &n1, NULL) == 0);
    if (c0 != c1 || n0 != n1) continue;
    CHECK(cpu == c0 && node == n0);
    agreed = 1;
  }
  CHECK(agreed);
  printf("ok the vDSO's getcpu equals the syscall's\n");
}
#endif

#if defined(__aarch64__)
static volatile uintptr_t handler_return;

static void on_usr1(int sig) {
  (void)sig;
  handler_return = (uintptr_t)__builtin_return_address(0);
}

// glibc installs handlers without SA_RESTORER on arm64: the kernel returns through the vDSO.
static void test_sigtramp(void) {
  void* tramp = vdso_sym("__kernel_rt_sigreturn");
  CHECK(tramp != NULL);
  struct sigaction sa;
  memset(&sa, 0, sizeof sa);
  sa.sa_handler = on_usr1;
  CHECK(sigaction(SIGUSR1, &sa, NULL) == 0);
  CHECK(raise(SIGUSR1) == 0);
  CHECK(handler_return == (uintptr_t)tramp);
  printf("ok a handler returns to the vDSO's __kernel_rt_sigreturn\n");
}
#endif

int main(void) {
  test_auxv();
  test_maps();
  test_clock_gettime();
  test_gettimeofday_getres();
#if defined(__x86_64__)
  test_x86_extras();
#else
  test_sigtramp();
#endif
  printf("EXIT-SUCCESS\n");
  return 0;
}
