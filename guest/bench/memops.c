/* memops: memset/memcpy/memmove-heavy loop through glibc's string routines.
 *   usage: memops [size_bytes=262144] [iterations=400]
 * Each iteration fills a buffer, copies it at a shifting (unaligned) offset and samples the
 * result, so no iteration can be elided; the checksum folds the samples and the final buffer. */
#include <string.h>

#include "bench_common.h"

int main(int argc, char** argv) {
  uint64_t size = bench_arg(argc, argv, 1, 256 << 10);
  uint64_t iters = bench_arg(argc, argv, 2, 400);
  if (size < 64) size = 64;
  uint8_t* a = malloc(size + 64);
  uint8_t* b = malloc(size + 64);
  if (!a || !b) return 1;
  bench_fill(a, size + 64, 7);
  uint64_t h = 0xcbf29ce484222325ull;
  for (uint64_t i = 0; i < iters; i++) {
    uint64_t shift = i % 61;
    memset(a + shift, (int)(i & 0xff), size / 2);
    memcpy(b + (i % 7), a, size);
    memmove(b + 1, b + (i % 13), size / 4);
    uint64_t probe = (i * 2654435761u) % size;
    h = (h ^ b[probe] ^ ((uint64_t)a[size - 1 - probe] << 8)) * 0x100000001b3ull;
  }
  h = bench_fnv1a(h, b, size);
  printf("memops: size=%llu iterations=%llu\n", (unsigned long long)size,
         (unsigned long long)iters);
  bench_print_checksum(h);
  free(a);
  free(b);
  return 0;
}
