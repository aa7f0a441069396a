// atrandom: prints the 16 AT_RANDOM bytes the kernel put in the auxiliary vector. Under
// probesim they come from the seed: the same seed gives the same bytes, another seed others.
#include <sys/auxv.h>

#include "guest_util.h"

int main(void) {
  const unsigned char* bytes = (const unsigned char*)getauxval(AT_RANDOM);
  CHECK(bytes != NULL);
  printf("AT_RANDOM=");
  for (int i = 0; i < 16; i++) printf("%02x", bytes[i]);
  printf("\n");
  exit_success_line();
  return 0;
}
