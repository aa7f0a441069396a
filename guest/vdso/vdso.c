/* probesim's vDSO: Linux's time functions without a syscall, for x86_64 and arm64.
 *
 * Each turns the CPU's counter (x86 rdtsc, arm64 cntvct_el0, both virtual under probesim)
 * into time with the constants of [vvar] (vdso_abi.h), exactly as the model's clock_gettime
 * does, so both give the same nanosecond. Clocks Linux's vDSO does not serve (the CPU-time
 * clocks, bad ids) and clock_mode NONE take the syscall, as lib/vdso/gettimeofday.c's
 * *_fallback(). Freestanding: no libc, no relocations (everything is hidden and PC-relative).
 */
#include "vdso_abi.h"

#define NSEC_PER_SEC 1000000000ull
#define CLOCK_REALTIME 0
#define CLOCK_MONOTONIC 1
#define CLOCK_MONOTONIC_RAW 4
#define CLOCK_REALTIME_COARSE 5
#define CLOCK_MONOTONIC_COARSE 6
#define CLOCK_BOOTTIME 7
#define CLOCK_TAI 11
#define LOW_RES_NSEC 4000000 /* TICK_NSEC at HZ=250: the coarse clocks' resolution */
#define HIGH_RES_NSEC 1      /* hrtimer_resolution */

struct kernel_timespec {
  long long tv_sec, tv_nsec;
};
struct kernel_old_timeval {
  long tv_sec, tv_usec;
};
struct kernel_timezone {
  int tz_minuteswest, tz_dsttime;
};

extern const volatile struct probesim_vdso_data _vdso_data __attribute__((visibility("hidden")));

#if defined(__x86_64__)
#define NR_clock_gettime 228
#define NR_gettimeofday 96
#define NR_clock_getres 229
#define NR_time 201
#define NR_getcpu 309

static inline unsigned long long read_counter(void) {
  unsigned int lo, hi;
  __asm__ volatile("rdtsc" : "=a"(lo), "=d"(hi));
  return ((unsigned long long)hi << 32) | lo;
}

static inline long syscall2(long nr, long a0, long a1) {
  long ret;
  __asm__ volatile("syscall" : "=a"(ret) : "0"(nr), "D"(a0), "S"(a1) : "rcx", "r11", "memory");
  return ret;
}
#elif defined(__aarch64__)
#define NR_clock_gettime 113
#define NR_gettimeofday 169
#define NR_clock_getres 114

static inline unsigned long long read_counter(void) {
  unsigned long long v;
  __asm__ volatile("isb; mrs %0, cntvct_el0" : "=r"(v) : : "memory");
  return v;
}

static inline long syscall2(long nr, long a0, long a1) {
  register long x8 __asm__("x8") = nr;
  register long x0 __asm__("x0") = a0;
  register long x1 __asm__("x1") = a1;
  __asm__ volatile("svc #0" : "+r"(x0) : "r"(x8), "r"(x1) : "memory");
  return x0;
}
#else
#error "probesim's vDSO: x86_64 or aarch64"
#endif

/* Linux's ELFNOTE(Linux, 0, LINUX_VERSION_CODE): the kernel the vDSO belongs to (6.1.0). */
struct linux_note {
  unsigned int namesz, descsz, type;
  char name[8];
  unsigned int version;
};
__attribute__((section(".note.Linux"), aligned(4), used)) static const struct linux_note
    linux_version_note = {6, 4, 0, "Linux", 0x060100};

/* Nanoseconds since boot at counter value cnt: floor(cnt * 1e9 / hz) without 128-bit
 * arithmetic (cnt = q * hz + r, r * 1e9 < 2^64 for hz < 18 GHz), VirtualClock::monotonic_ns. */
static inline unsigned long long counter_ns(unsigned long long cnt, unsigned long long hz) {
  return cnt / hz * NSEC_PER_SEC + cnt % hz * NSEC_PER_SEC / hz;
}

/* Whether the vDSO serves clk (Linux: VDSO_HRES | VDSO_COARSE | VDSO_RAW). */
static inline int vdso_clock(int clk) {
  return clk == CLOCK_REALTIME || clk == CLOCK_MONOTONIC || clk == CLOCK_MONOTONIC_RAW ||
         clk == CLOCK_REALTIME_COARSE || clk == CLOCK_MONOTONIC_COARSE ||
         clk == CLOCK_BOOTTIME || clk == CLOCK_TAI;
}

/* The model's clock_value(): realtime for REALTIME*, TAI; monotonic for the others. */
static inline void do_time(int clk, struct kernel_timespec* ts) {
  const volatile struct probesim_vdso_data* vd = &_vdso_data;
  unsigned long long ns = counter_ns(read_counter(), vd->counter_hz);
  ts->tv_sec = (long long)(ns / NSEC_PER_SEC);
  ts->tv_nsec = (long long)(ns % NSEC_PER_SEC);
  if (clk == CLOCK_REALTIME || clk == CLOCK_REALTIME_COARSE || clk == CLOCK_TAI)
    ts->tv_sec += vd->realtime_offset_sec;
}

static inline int counter_usable(void) {
  return _vdso_data.clock_mode == PROBESIM_VDSO_CLOCKMODE_COUNTER;
}

#if defined(__x86_64__)
#define VDSO_FN(x86, arm64) x86
#else
#define VDSO_FN(x86, arm64) arm64
#endif

int VDSO_FN(__vdso_clock_gettime, __kernel_clock_gettime)(int clk, struct kernel_timespec* ts) {
  if (!vdso_clock(clk) || !counter_usable())
    return (int)syscall2(NR_clock_gettime, clk, (long)ts);
  do_time(clk, ts);
  return 0;
}

int VDSO_FN(__vdso_gettimeofday, __kernel_gettimeofday)(struct kernel_old_timeval* tv,
                                                         struct kernel_timezone* tz) {
  if (!counter_usable()) return (int)syscall2(NR_gettimeofday, (long)tv, (long)tz);
  if (tv) {
    struct kernel_timespec ts;
    do_time(CLOCK_REALTIME, &ts);
    tv->tv_sec = ts.tv_sec;
    tv->tv_usec = ts.tv_nsec / 1000;
  }
  if (tz) {
    tz->tz_minuteswest = _vdso_data.tz_minuteswest;
    tz->tz_dsttime = _vdso_data.tz_dsttime;
  }
  return 0;
}

int VDSO_FN(__vdso_clock_getres, __kernel_clock_getres)(int clk, struct kernel_timespec* res) {
  if (!vdso_clock(clk) || !counter_usable())
    return (int)syscall2(NR_clock_getres, clk, (long)res);
  if (res) {
    int coarse = clk == CLOCK_REALTIME_COARSE || clk == CLOCK_MONOTONIC_COARSE;
    res->tv_sec = 0;
    res->tv_nsec = coarse ? LOW_RES_NSEC : HIGH_RES_NSEC;
  }
  return 0;
}

#if defined(__x86_64__)
long __vdso_time(long* t) {
  if (!counter_usable()) return syscall2(NR_time, (long)t, 0);
  struct kernel_timespec ts;
  do_time(CLOCK_REALTIME, &ts);
  if (t) *t = (long)ts.tv_sec;
  return (long)ts.tv_sec;
}

/* vdso_read_cpunode with RDTSCP (Linux's VGETCPU_RDTSCP): TSC_AUX = node << 12 | cpu
 * (vdso_encode_cpunode), which the model sets for the CPU the task runs on. */
long __vdso_getcpu(unsigned* cpu, unsigned* node, void* unused) {
  (void)unused;
  unsigned int lo, hi, aux;
  __asm__ volatile("rdtscp" : "=a"(lo), "=d"(hi), "=c"(aux));
  (void)lo;
  (void)hi;
  if (cpu) *cpu = aux & 0xfff;
  if (node) *node = aux >> 12;
  return 0;
}

/* The plain names, weak aliases as in arch/x86/entry/vdso/vclock_gettime.c and vgetcpu.c. */
int clock_gettime(int, struct kernel_timespec*)
    __attribute__((weak, alias("__vdso_clock_gettime")));
int gettimeofday(struct kernel_old_timeval*, struct kernel_timezone*)
    __attribute__((weak, alias("__vdso_gettimeofday")));
int clock_getres(int, struct kernel_timespec*) __attribute__((weak, alias("__vdso_clock_getres")));
long time(long*) __attribute__((weak, alias("__vdso_time")));
long getcpu(unsigned*, unsigned*, void*) __attribute__((weak, alias("__vdso_getcpu")));
#endif

#if defined(__aarch64__)
/* arch/arm64/kernel/vdso/sigreturn.S: the return path of a handler installed without
 * SA_RESTORER (glibc's). The CFI describes the signal frame for unwinders; the nop before
 * the label lets those that look up pc - 1 find it. */
__asm__(".text\n"
        ".balign 4\n"
        ".cfi_startproc\n"
        ".cfi_signal_frame\n"
        ".cfi_def_cfa x29, 0\n"
        ".cfi_offset x29, 0 * 8\n"
        ".cfi_offset x30, 1 * 8\n"
        "nop\n"
        ".globl __kernel_rt_sigreturn\n"
        ".type __kernel_rt_sigreturn, %function\n"
        "__kernel_rt_sigreturn:\n"
        "mov x8, #139\n" /* __NR_rt_sigreturn */
        "svc #0\n"
        ".size __kernel_rt_sigreturn, . - __kernel_rt_sigreturn\n"
        ".cfi_endproc\n");
#endif
