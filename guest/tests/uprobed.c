// uprobed: targets for uprobe tests, one scenario per argument (several may be given):
//   work      calls work() (globals, calls, branches, a loop, recursion: the instruction
//             classes out-of-line stepping must handle) and prints its results
//   fork      forks two children; each of the three processes calls probe_me() once
//   maptwice  maps the page of leaf() from its own executable at two more addresses (as a
//             dlopen would) and calls leaf() through all three mappings
//   longjmp   leaves a probed frame with longjmp, then returns normally from it
//   recurse   fact(6) (nested returns of one function)
//   loop N    calls probe_me() N times (bench/: per-hit costs)
//   usdt      three passes over an SDT probe site guarded by its semaphore, as <sys/sdt.h>'s
//             STAP_PROBE with a semaphore: usdt_site() runs only while someone probes it
// Output is deterministic; the last line is EXIT-SUCCESS.
#include <elf.h>
#include <fcntl.h>
#include <setjmp.h>
#include <sys/auxv.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <unistd.h>

#include "guest_util.h"

#define PROBED __attribute__((noinline, noclone, used))

long counter = 5;        // RIP-relative / adrp data
const long table[4] = {3, 1, 4, 1};

PROBED long leaf(long x) { return x * 7 + 2; }  // position independent: callable anywhere

PROBED long fact(long n) {
  if (n <= 1) return 1;
  long r = fact(n - 1);
  __asm__ volatile("" : "+r"(r));  // a real call per level (no accumulator loop at -O2)
  return n * r;
}

PROBED long work(long x) {
  long acc = counter;                   // load a global
  for (int i = 0; i < 4; i++) {         // loop, conditional branch
    if (x & (1L << i)) acc += table[i]; // test-bit branch, indexed load
    else acc -= leaf(i);                // call
  }
  counter = acc;                        // store a global
  return acc > 0 ? acc : -acc + fact(x & 7);
}

PROBED long probe_me(long who) {
  __asm__ volatile("" ::: "memory");
  return who + 100;
}

static jmp_buf env;

PROBED long jumper(long x) {
  if (x > 0) longjmp(env, (int)x);  // leaves this frame (and its return probe) behind
  return 42;
}

static void scenario_work(void) {
  for (long x = 0; x < 6; x++) printf("work(%ld)=%ld\n", x, work(x));
  printf("counter=%ld\n", counter);
}

static void scenario_fork(void) {
  for (int i = 1; i <= 2; i++) {
    pid_t pid = fork();
    CHECK(pid >= 0);
    if (pid == 0) {
      printf("child %d: probe_me=%ld\n", i, probe_me(i));
      fflush(stdout);
      _exit(0);
    }
    int status = 0;
    CHECK(waitpid(pid, &status, 0) == pid && WIFEXITED(status) && WEXITSTATUS(status) == 0);
  }
  printf("parent: probe_me=%ld\n", probe_me(0));
}

// The file offset of `addr` in the executable, from the program headers (AT_PHDR).
static off_t file_offset_of(uintptr_t addr) {
  const Elf64_Phdr* ph = (const Elf64_Phdr*)getauxval(AT_PHDR);
  size_t n = getauxval(AT_PHNUM);
  for (size_t i = 0; i < n; i++)
    if (ph[i].p_type == PT_LOAD && addr >= ph[i].p_vaddr && addr < ph[i].p_vaddr + ph[i].p_filesz)
      return (off_t)(addr - ph[i].p_vaddr + ph[i].p_offset);
  return -1;
}

static void scenario_maptwice(void) {
  long page = sysconf(_SC_PAGESIZE);
  uintptr_t fn = (uintptr_t)&leaf;
  off_t off = file_offset_of(fn);
  CHECK(off >= 0);
  off_t page_off = off & ~(off_t)(page - 1);
  int fd = open("/proc/self/exe", O_RDONLY);
  CHECK(fd >= 0);
  long sum = leaf(1);
  for (int i = 0; i < 2; i++) {
    char* m = mmap(NULL, 2 * page, PROT_READ | PROT_EXEC, MAP_PRIVATE, fd, page_off);
    CHECK(m != MAP_FAILED);
    long (*copy)(long) = (long (*)(long))(m + (off - page_off));
    sum += copy(i + 2);
  }
  close(fd);
  printf("maptwice: sum=%ld\n", sum);
}

// The semaphore lives in ".probes" (a writable section of the data segment, as sdt.h puts
// it); a uprobe registered with its file offset as ref_ctr_offset raises it.
volatile unsigned short usdt_sema __attribute__((section(".probes"), used));

PROBED long usdt_site(long i) { return i * 10; }

static void scenario_usdt(void) {
  for (long i = 0; i < 3; i++) {
    if (usdt_sema) printf("usdt %ld: semaphore %u, site %ld\n", i, usdt_sema, usdt_site(i));
    else printf("usdt %ld: semaphore 0\n", i);
  }
}

static void scenario_longjmp(void) {
  int v = setjmp(env);
  if (v == 0) jumper(7);
  printf("longjmp: back with %d, then jumper(0)=%ld\n", v, jumper(0));
}

int main(int argc, char** argv) {
  for (int i = 1; i < argc; i++) {
    if (!strcmp(argv[i], "work")) scenario_work();
    else if (!strcmp(argv[i], "fork")) scenario_fork();
    else if (!strcmp(argv[i], "maptwice")) scenario_maptwice();
    else if (!strcmp(argv[i], "longjmp")) scenario_longjmp();
    else if (!strcmp(argv[i], "usdt")) scenario_usdt();
    else if (!strcmp(argv[i], "recurse")) printf("fact(6)=%ld\n", fact(6));
    else if (!strcmp(argv[i], "loop") && i + 1 < argc) {
      long n = atol(argv[++i]), sum = 0;
      for (long k = 0; k < n; k++) sum += probe_me(k);
      printf("loop: sum=%ld\n", sum);
    }
    else CHECK(!"unknown scenario");
    fflush(stdout);
  }
  exit_success_line();
  return 0;
}
