// libdyntest.so: the DT_NEEDED library of dynlink (guest/tests/dynlink.c), found through the
// program's DT_RUNPATH $ORIGIN/lib. Exports data, a function LD_PRELOAD can interpose
// (dyn_who), a thread-local counter (initial-exec TLS of a load-time library) and an IFUNC
// whose resolver reads the modelled CPU (CPUID on x86_64, AT_HWCAP on arm64).
#include <stdint.h>

long dyn_counter = 100;
__thread long dyn_tls = 7;

const char* dyn_who(void) { return "libdyntest"; }

long dyn_tls_bump(long by) {
  dyn_tls += by;
  return dyn_tls;
}

// Both variants compute the same result: which one the resolver picks depends on the CPU,
// so the program's output does not.
static long add_plain(long a, long b) { return a + b; }
static long add_swapped(long a, long b) { return b + a; }

typedef long add_fn(long, long);
#if defined(__x86_64__)
static add_fn* resolve_dyn_add(void) {
  __builtin_cpu_init();
  return __builtin_cpu_supports("sse4.2") ? add_swapped : add_plain;
}
#else
static add_fn* resolve_dyn_add(uint64_t hwcap) {
  return (hwcap & (1u << 1)) ? add_swapped : add_plain;  // HWCAP_ASIMD
}
#endif
long dyn_add(long a, long b) __attribute__((ifunc("resolve_dyn_add")));
