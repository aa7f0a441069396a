/* The targets of Linux's kprobes KUnit suite (lib/test_kprobes.c), with its bodies, for the
 * same tests written on probesim's Python API (tests/python/test_kunit_kprobes.py); called with
 * Machine.kernel_call. Names already taken by kernel/kprobe_selftest.c get a `kunit_` prefix.
 * The suite's function pointers (target, internal_target, ...) are globals here too, so a
 * call through them is a real indirect call that the compiler cannot inline. */
#include "linux/kernel.h"
#include "linux/kprobes.h"

#define div_factor 3

typedef unsigned int u32;

/* __builtin_return_address(0) of the two stack-trace targets, recorded on first call. */
unsigned long target_return_address[2];

__visible noinline u32 kunit_kprobe_target(u32 value) { return value / div_factor; }

__visible noinline u32 kunit_kprobe_target2(u32 value) { return (value / div_factor) + 1; }

/* test_kprobe_missed's target: its handlers call it again (the recursion kprobes count in
 * nmissed). */
__visible noinline u32 kunit_kprobe_recursed_target(u32 value) { return value / div_factor; }

__visible noinline unsigned long kprobe_stacktrace_internal_target(void) {
  if (!target_return_address[0])
    target_return_address[0] = (unsigned long)__builtin_return_address(0);
  return target_return_address[0];
}

unsigned long (*internal_target)(void) = kprobe_stacktrace_internal_target;

__visible noinline unsigned long kprobe_stacktrace_target(void) {
  if (!target_return_address[1])
    target_return_address[1] = (unsigned long)__builtin_return_address(0);
  if (internal_target) internal_target();
  return target_return_address[1];
}

unsigned long (*stacktrace_target)(void) = kprobe_stacktrace_target;

__visible noinline unsigned long kprobe_stacktrace_driver(void) {
  if (stacktrace_target) stacktrace_target();
  /* This is for preventing inlining the function */
  return (unsigned long)__builtin_return_address(0);
}
