// A SIGSEGV handler sees the exact PC of the faulting load (the instruction itself, not its
// basic block's start), skips it and resumes: several faults in one block, each one exact.
// probesim arms exact data-fault PCs only for processes that handle SIGSEGV/SIGBUS.
#define _GNU_SOURCE
#include <signal.h>
#include <stdint.h>
#include <ucontext.h>

#include "guest_util.h"

extern char fault_a[], next_a[], fault_b[], next_b[];
static volatile int faults;

#if defined(__x86_64__)
#define PC(uc) ((uc)->uc_mcontext.gregs[REG_RIP])
// Three loads in one block; rax is non-NULL only after the first resumes.
__asm__(".text\n.globl run_faults\nrun_faults:\n"
        "  push %rbx\n  xor %eax, %eax\n  nop\n  nop\n"
        ".globl fault_a\nfault_a: movq (%rax), %rbx\n"
        ".globl next_a\nnext_a: add $8, %rdi\n  nop\n"
        ".globl fault_b\nfault_b: movq 16(%rax), %rbx\n"
        ".globl next_b\nnext_b: pop %rbx\n  ret\n");
#elif defined(__aarch64__)
#define PC(uc) ((uc)->uc_mcontext.pc)
__asm__(".text\n.globl run_faults\nrun_faults:\n"
        "  mov x0, #0\n  nop\n"
        ".globl fault_a\nfault_a: ldr x1, [x0]\n"
        ".globl next_a\nnext_a: add x2, x2, #8\n  nop\n"
        ".globl fault_b\nfault_b: ldr x1, [x0, #16]\n"
        ".globl next_b\nnext_b: ret\n");
#endif

void run_faults(void);

static void handler(int sig, siginfo_t* si, void* ctx) {
  ucontext_t* uc = ctx;
  uintptr_t pc = (uintptr_t)PC(uc);
  int which = pc == (uintptr_t)fault_a ? 1 : pc == (uintptr_t)fault_b ? 2 : 0;
  printf("fault %d: sig %d addr %#lx pc %s\n", ++faults, sig, (unsigned long)si->si_addr,
         which == 1 ? "fault_a" : which == 2 ? "fault_b" : "WRONG");
  CHECK(which != 0);
  PC(uc) = which == 1 ? (uintptr_t)next_a : (uintptr_t)next_b;
}

int main(void) {
  struct sigaction sa = {0};
  sa.sa_sigaction = handler;
  sa.sa_flags = SA_SIGINFO;
  CHECK(sigaction(SIGSEGV, &sa, NULL) == 0);
  run_faults();
  CHECK(faults == 2);
  printf("EXIT-SUCCESS\n");
  return 0;
}
