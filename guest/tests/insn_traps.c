// insn_traps: instructions user code may not run, each written into one RWX buffer (so every
// case also rewrites code that already ran) and called with SIGILL/SIGSEGV handlers that
// siglongjmp back. Prints the signal and si_code per case (and for SIGILL where it hit,
// relative to the buffer), as native Linux / qemu-aarch64 give them. Covers the bytes that
// used to abort the host inside Unicorn (far call/jmp through a register, LOCK bts with a
// register operand) and the privileged instructions Unicorn would have run at CPL0 / EL1.
#include <setjmp.h>
#include <signal.h>
#include <sys/mman.h>
#include <unistd.h>

#include "guest_util.h"

struct Case {
  const char* name;
  unsigned char bytes[16];
  size_t len;
};

#if defined(__x86_64__)
enum { kX86 = 1 };
#define RET 0xc3
static const struct Case kCases[] = {
    {"nop", {0x90, RET}, 2},
    {"far call through a register (ff dc)", {0xff, 0xdc, RET}, 3},
    {"far jmp through a register (ff ec)", {0xff, 0xec, RET}, 3},
    {"far call ff d8", {0xff, 0xd8, RET}, 3},
    {"far jmp ff ef", {0xff, 0xef, RET}, 3},
    {"lock bts eax, eax", {0xf0, 0x0f, 0xab, 0xc0, RET}, 5},
    {"lock btc rax, 5 (after a mov)", {0xb8, 1, 0, 0, 0, 0xf0, 0x48, 0x0f, 0xba, 0xf8, 5, RET}, 12},
    {"lock bt ecx, edx", {0x66, 0xf0, 0x0f, 0xa3, 0xd1, RET}, 6},
    {"ud2", {0x0f, 0x0b, RET}, 3},
    {"hlt", {0xf4, RET}, 2},
    {"cli", {0xfa, RET}, 2},
    {"in al, dx", {0xec, RET}, 2},
    {"wrmsr", {0x0f, 0x30, RET}, 3},
    {"mov rax, cr0", {0x0f, 0x20, 0xc0, RET}, 4},
    {"int 0xe9", {0xcd, 0xe9, RET}, 3},
};
#elif defined(__aarch64__)
enum { kX86 = 0 };
#define W(x) (unsigned char)((x) & 0xff), (unsigned char)(((x) >> 8) & 0xff), \
             (unsigned char)(((x) >> 16) & 0xff), (unsigned char)((unsigned)(x) >> 24)
#define RET W(0xd65f03c0u)
static const struct Case kCases[] = {
    {"nop", {W(0xd503201fu), RET}, 8},
    {"wfi", {W(0xd503207fu), RET}, 8},
    {"mrs x0, tpidr_el0", {W(0xd53bd040u), RET}, 8},
    {"mrs x0, midr_el1 (emulated)", {W(0xd5380000u), RET}, 8},
    {"msr sctlr_el1, x0", {W(0xd5181000u), RET}, 8},
    {"mrs x0, sctlr_el1", {W(0xd5381000u), RET}, 8},
    {"msr daifset, #2", {W(0xd50342dfu), RET}, 8},
    {"tlbi vmalle1", {W(0xd508871fu), RET}, 8},
    {"hvc #0", {W(0xd4000002u), RET}, 8},
    {"smc #0", {W(0xd4000003u), RET}, 8},
    {"eret", {W(0xd69f03e0u), RET}, 8},
    {"udf #0", {W(0x00000000u), RET}, 8},
};
#endif

static sigjmp_buf env;
static volatile int got_code;
static void* volatile got_addr;

static void on_signal(int sig, siginfo_t* si, void* uc) {
  (void)uc;
  got_code = si->si_code;
  got_addr = si->si_addr;
  siglongjmp(env, sig);
}

int main(void) {
  struct sigaction sa = {0};
  sa.sa_sigaction = on_signal;
  sa.sa_flags = SA_SIGINFO | SA_NODEFER;
  CHECK(sigaction(SIGILL, &sa, NULL) == 0);
  CHECK(sigaction(SIGSEGV, &sa, NULL) == 0);
  unsigned char* buf =
      mmap(NULL, 4096, PROT_READ | PROT_WRITE | PROT_EXEC, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  CHECK(buf != MAP_FAILED);
  for (size_t i = 0; i < sizeof kCases / sizeof kCases[0]; i++) {
    memcpy(buf, kCases[i].bytes, kCases[i].len);
    __builtin___clear_cache((char*)buf, (char*)buf + kCases[i].len);
    int sig = sigsetjmp(env, 1);
    if (sig == 0) {
      ((void (*)(void))buf)();
      printf("%s: returned\n", kCases[i].name);
    } else if (sig == SIGILL) {
      // arm64 Linux says ILL_ILLOPC, qemu-aarch64 ILL_ILLOPN: si_code is compared on x86 only.
      printf("%s: SIGILL si_code %d at +%ld\n", kCases[i].name, kX86 ? got_code : 0,
             (long)((unsigned char*)got_addr - buf));
    } else {
      printf("%s: SIGSEGV si_code %d si_addr %s\n", kCases[i].name, got_code,
             got_addr ? "set" : "0");
    }
  }
  printf("EXIT-SUCCESS\n");
  return 0;
}
