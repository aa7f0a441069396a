/* Shared helpers for the benchmark workloads (guest side, plain C, static glibc).
 * Every workload is a pure function of its arguments: it prints exactly one line
 * "checksum: <16 hex digits>" (plus an informational line), so the harness can check that
 * every runner computed the same thing. No time, no randomness, no environment. */
#ifndef PROBESIM_GUEST_BENCH_COMMON_H
#define PROBESIM_GUEST_BENCH_COMMON_H

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

/* Parses argv[i] as a positive decimal count, or returns `fallback` when absent. Exits 2 on
 * malformed input so a bad harness argument cannot silently change the workload. */
static inline uint64_t bench_arg(int argc, char** argv, int i, uint64_t fallback) {
  if (i >= argc) return fallback;
  char* end = 0;
  unsigned long long v = strtoull(argv[i], &end, 10);
  if (end == argv[i] || *end != '\0' || v == 0) {
    fprintf(stderr, "%s: argument %d must be a positive integer, got '%s'\n", argv[0], i, argv[i]);
    exit(2);
  }
  return (uint64_t)v;
}

/* xorshift64: a fixed, seedable byte source (no host randomness). */
static inline uint64_t bench_xorshift64(uint64_t* s) {
  uint64_t x = *s;
  x ^= x << 13;
  x ^= x >> 7;
  x ^= x << 17;
  return *s = x;
}

static inline void bench_fill(uint8_t* buf, uint64_t n, uint64_t seed) {
  uint64_t s = seed ? seed : 0x9e3779b97f4a7c15ull;
  for (uint64_t i = 0; i < n; i++) buf[i] = (uint8_t)(bench_xorshift64(&s) >> 56);
}

/* FNV-1a 64 over a buffer, folding into `h`. */
static inline uint64_t bench_fnv1a(uint64_t h, const uint8_t* p, uint64_t n) {
  for (uint64_t i = 0; i < n; i++) h = (h ^ p[i]) * 0x100000001b3ull;
  return h;
}

static inline void bench_print_checksum(uint64_t c) {
  printf("checksum: %016llx\n", (unsigned long long)c);
}

#endif
