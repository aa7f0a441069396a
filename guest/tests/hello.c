// hello: prints its arguments and one environment variable, then exits with status argc
// (`hello a b` exits 3). Used by the e2e tests (stdout, stderr and exit status compared), the
// determinism tests, and later by probe tests, which attach to probe_target().
#include "guest_util.h"

// A stable, non-inlined function for uprobe tests to attach to.
__attribute__((noinline, noclone, used)) long probe_target(long x) {
  __asm__ volatile("" ::: "memory");  // keep a real body at -O2
  return x * 3 + 1;
}

int main(int argc, char** argv) {
  printf("hello from %s\n", path_basename(argv[0]));
  printf("argc=%d\n", argc);
  for (int i = 1; i < argc; i++) printf("argv[%d]=%s\n", i, argv[i]);
  const char* value = getenv("HELLO_ENV");
  printf("HELLO_ENV=%s\n", value ? value : "(unset)");
  fprintf(stderr, "hello: this line goes to stderr\n");

  long sum = 0;
  for (long i = 0; i < 10; i++) sum += probe_target(i);
  printf("probe_target sum=%ld\n", sum);

  exit_success_line();
  return argc;
}
