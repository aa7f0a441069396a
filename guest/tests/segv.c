// segv: reads an unmapped address, so the process dies by SIGSEGV (native shell status 139).
// The e2e test checks that probesim exits 139 and names SIGSEGV and kFaultAddr on stderr.
// It prints no EXIT-SUCCESS line: dying is its success.
#include "guest_util.h"

// Unmapped in every flavour: non-PIE images load at 0x400000, heaps and mmaps are elsewhere.
// Keep in sync with tests/e2e/CMakeLists.txt (--fault-addr).
#define kFaultAddr 0xdead0000ul

int main(void) {
  printf("segv: reading 0x%lx\n", kFaultAddr);
  fflush(stdout);
  volatile int* bad = (volatile int*)kFaultAddr;
  int value = *bad;
  printf("FAIL: read %d from an unmapped address\n", value);
  return 1;
}
