// A read at the top of the stack faults: the stack pointer is moved to an unmapped page and
// the next instruction loads from it (x86: `pop` or `ret`, reading [rsp, rsp + 8); arm64: a
// post-indexed `ldr` from sp). Dies by SIGSEGV at 0xdead0000, with no handler installed, so
// probesim must recover the faulting instruction's PC by decoding (tests/python/test_run.py
// checks it against the address printed with `show`). Args: pop|ret [show].
#include <stdint.h>
#include <string.h>

#include "guest_util.h"

extern char fault_pop[], fault_ret[];

#if defined(__x86_64__)
// Each fault site sits behind other instructions of its block, so the block start is not it.
__asm__(".text\n.globl fault_via_pop\nfault_via_pop:\n"
        "  mov $0xdead0000, %rsp\n  nop\n  xor %eax, %eax\n"
        ".globl fault_pop\nfault_pop: pop %rax\n  ud2\n"
        ".globl fault_via_ret\nfault_via_ret:\n"
        "  mov $0xdead0000, %rsp\n  nop\n  xor %eax, %eax\n"
        ".globl fault_ret\nfault_ret: ret\n  ud2\n");
#elif defined(__aarch64__)
__asm__(".text\n.globl fault_via_pop\nfault_via_pop:\n"
        "  mov x9, #0xdead0000\n  mov sp, x9\n  nop\n"
        ".globl fault_pop\nfault_pop: ldr x0, [sp], #16\n  udf #0\n"
        ".globl fault_via_ret\nfault_via_ret:\n"
        "  mov x9, #0xdead0000\n  mov sp, x9\n  nop\n"
        ".globl fault_ret\nfault_ret: ldp x29, x30, [sp], #16\n  ret\n");
#endif

void fault_via_pop(void);
void fault_via_ret(void);

int main(int argc, char** argv) {
  setvbuf(stdout, NULL, _IONBF, 0);
  CHECK(argc >= 2 && (strcmp(argv[1], "pop") == 0 || strcmp(argv[1], "ret") == 0));
  int pop = strcmp(argv[1], "pop") == 0;
  if (argc > 2 && strcmp(argv[2], "show") == 0)
    printf("fault site %#lx\n", (unsigned long)(uintptr_t)(pop ? fault_pop : fault_ret));
  printf("faulting at the top of the stack with %s\n", argv[1]);
  if (pop)
    fault_via_pop();
  else
    fault_via_ret();
  printf("FAIL: still running\n");
  return 1;
}
