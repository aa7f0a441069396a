/* Small targets for kprobes/kretprobes that need no user program (Linux: lib/test_kprobes.c).
 * Call them with Machine::kernel_call() / probesim_kernel_call_trampoline. Each shape is one
 * case the out-of-line stepping code must handle. Results are documented so tests can check
 * them without re-deriving the arithmetic. */
#include "linux/kernel.h"
#include "linux/kprobes.h"

unsigned long kprobe_selftest_counter;      /* kprobe_riprel_target's global */
unsigned long kprobe_selftest_div_factor = 3;

/* Straight-line arithmetic: a + 2 * b. */
__visible noinline unsigned long kprobe_target(unsigned long a, unsigned long b) {
  return a + 2 * b;
}

/* a * b + 1 (Linux's test has a second target for multi-probe tests). */
__visible noinline unsigned long kprobe_target2(unsigned long a, unsigned long b) {
  return a * b + 1;
}

/* Recursive: n! for n >= 1 (1 for n == 0); every level is a real call. */
__visible noinline unsigned long kprobe_recursed_target(unsigned long n) {
  if (n <= 1) return 1;
  return n * kprobe_recursed_target(n - 1);
}

/* Reads and writes a global (x86_64: RIP-relative; arm64: adrp-relative): adds a to
 * kprobe_selftest_counter and returns the new value divided by kprobe_selftest_div_factor. */
__visible noinline unsigned long kprobe_riprel_target(unsigned long a) {
  kprobe_selftest_counter += a;
  return kprobe_selftest_counter / kprobe_selftest_div_factor;
}

/* A conditional branch: a > 10 ? a - 10 : a + 100. */
__visible noinline unsigned long kprobe_branch_target(unsigned long a) {
  if (a > 10) return a - 10;
  return a + 100;
}

/* Calls another function: kprobe_target(a, b) + 1. */
__visible noinline unsigned long kprobe_caller_target(unsigned long a, unsigned long b) {
  return kprobe_target(a, b) + 1;
}

/* Six arguments: a + 2b + 3c + 4d + 5e + 6f. */
__visible noinline unsigned long kprobe_six_args_target(unsigned long a, unsigned long b,
                                                        unsigned long c, unsigned long d,
                                                        unsigned long e, unsigned long f) {
  return a + 2 * b + 3 * c + 4 * d + 5 * e + 6 * f;
}

/* Blacklisted by annotation: a + 1. Registering a kprobe here must fail (-EINVAL). */
__visible noinline unsigned long kprobe_nokprobe_target(unsigned long a) { return a + 1; }
NOKPROBE_SYMBOL(kprobe_nokprobe_target)

/* Blacklisted by section (.kprobes.text): a + 2. */
__visible noinline __kprobes unsigned long kprobe_kprobes_text_target(unsigned long a) {
  return a + 2;
}

/* A hot loop for per-hit costs (bench/): calls kprobe_target(i, 1) for i < n; returns the sum
 * of the results, n * (n - 1) / 2 + 2 * n. */
__visible noinline unsigned long kprobe_loop_target(unsigned long n) {
  unsigned long sum = 0;
  for (unsigned long i = 0; i < n; i++) sum += kprobe_target(i, 1);
  return sum;
}

/* A dense switch with different work per case: -O2 compiles it to a jump table (an indirect
 * jmp), so no address of this function can be jump-optimized (optprobes' can_optimize).
 * Returns: 0 -> b + 1, 1 -> b * 3, 2 -> b ^ 0x55, 3 -> b << 4, 4 -> b - 7, 5 -> b / 5,
 * 6 -> b | 0x100, 7 -> b % 7, else 0. */
__visible noinline unsigned long kprobe_switch_target(unsigned long a, unsigned long b) {
  switch (a) {
    case 0: return b + 1;
    case 1: return b * 3;
    case 2: return b ^ 0x55;
    case 3: return b << 4;
    case 4: return b - 7;
    case 5: return b / 5;
    case 6: return b | 0x100;
    case 7: return b % 7;
    default: return 0;
  }
}
