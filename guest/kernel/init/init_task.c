/* The boot task's kernel stack (Linux: init_thread_union); head code runs start_kernel on it. */
#include "linux/kernel.h"

union thread_union {
  unsigned long stack[THREAD_SIZE / sizeof(unsigned long)];
};

union thread_union init_thread_union __aligned(THREAD_SIZE);
