/* Guest program for the loader tests, built static in several flavours by
 * tests/unit/loader/CMakeLists.txt. The tests look up these symbols and check their bytes. */
#include <stdio.h>

int loader_counter = 0x5a5a1234;                 /* .data */
const char loader_greeting[] = "probesim-loader-test"; /* .rodata */
char loader_bss[100000];                          /* .bss */

__attribute__((noinline)) int probe_target(int x) {
  loader_counter += x;
  return x * 2;
}

int main(int argc, char** argv) {
  loader_bss[argc] = 1;
  printf("%s argc=%d argv0=%s\n", loader_greeting, argc, argv[0]);
  return probe_target(argc) + loader_bss[1] == 0 ? 1 : 7;
}
