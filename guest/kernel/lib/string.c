/* The compiler may emit calls to these for struct initialisation and copies. Built with
 * -fno-tree-loop-distribute-patterns so the loops are not turned back into calls. */
#include "linux/kernel.h"

void *memset(void *s, int c, size_t n) {
  unsigned char *p = s;
  for (size_t i = 0; i < n; i++) p[i] = (unsigned char)c;
  return s;
}

void *memcpy(void *dst, const void *src, size_t n) {
  unsigned char *d = dst;
  const unsigned char *s = src;
  for (size_t i = 0; i < n; i++) d[i] = s[i];
  return dst;
}
