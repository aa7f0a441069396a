// brk: the program break and malloc. The break is moved with the raw brk syscall (musl's
// sbrk refuses non-zero increments), before stdio or malloc run, and put back exactly where it
// was before anything else uses the heap. Prints sizes and checksums, never addresses (the
// native break is randomized).
#define _GNU_SOURCE
#include <sys/syscall.h>
#include <unistd.h>

#include "guest_util.h"

#define kKiB 1024ul

struct BrkResults {
  int grew, shrank, regrown_zero, huge_refused, restored;
  uint64_t grown_sum, shrunk_sum;
};

static uintptr_t set_brk(uintptr_t addr) {
  return (uintptr_t)syscall(SYS_brk, addr);
}

// Grow by 1 MiB, shrink to 512 KiB, regrow to 768 KiB (the regrown part must read as zero),
// try an impossible break (refused: brk returns the old break), then restore.
static struct BrkResults exercise_brk(void) {
  struct BrkResults r = {0};
  uintptr_t base = set_brk(0);
  r.grew = set_brk(base + 1024 * kKiB) == base + 1024 * kKiB;
  if (!r.grew) return r;
  fill_pattern((void*)base, 1024 * kKiB, 3);
  r.grown_sum = fnv1a((void*)base, 1024 * kKiB);
  r.shrank = set_brk(base + 512 * kKiB) == base + 512 * kKiB;
  r.shrunk_sum = fnv1a((void*)base, 512 * kKiB);
  if (set_brk(base + 768 * kKiB) == base + 768 * kKiB) {
    r.regrown_zero = all_zero((void*)(base + 512 * kKiB), 256 * kKiB);
  }
  r.huge_refused = set_brk(base + (1ul << 48)) == base + 768 * kKiB;
  r.restored = set_brk(base) == base && set_brk(0) == base;
  return r;
}

static void print_brk(const struct BrkResults* r) {
  printf("brk grow 1 MiB: %d sum=%016llx\n", r->grew, (unsigned long long)r->grown_sum);
  printf("brk shrink to 512 KiB: %d sum=%016llx\n", r->shrank, (unsigned long long)r->shrunk_sum);
  printf("brk regrown pages are zero: %d\n", r->regrown_zero);
  printf("brk beyond the address space refused: %d\n", r->huge_refused);
  printf("brk restored: %d\n", r->restored);
  CHECK(r->grew && r->shrank && r->regrown_zero && r->huge_refused && r->restored);
}

#define kBlocks 300

static size_t block_size(int i) {
  if (i % 50 == 49) return 200 * kKiB + (size_t)i;  // above the mmap threshold
  return 1 + (size_t)(i * i * 37) % 20000;
}

// malloc many sizes, free every other block, reallocate, grow some with realloc (contents
// must survive), check calloc zeroes, free everything.
static void exercise_malloc(void) {
  static unsigned char* blocks[kBlocks];
  uint64_t sum = 0;
  for (int i = 0; i < kBlocks; i++) {
    CHECK((blocks[i] = malloc(block_size(i))) != NULL);
    fill_pattern(blocks[i], block_size(i), (unsigned)i);
    sum ^= fnv1a(blocks[i], block_size(i));
  }
  printf("malloc %d blocks: %016llx\n", kBlocks, (unsigned long long)sum);
  for (int i = 0; i < kBlocks; i += 2) free(blocks[i]);
  for (int i = 0; i < kBlocks; i += 2) {
    CHECK((blocks[i] = calloc(1, block_size(i) + 8)) != NULL);
    CHECK(all_zero(blocks[i], block_size(i) + 8));
  }
  printf("calloc after free returns zeroed memory\n");
  sum = 0;
  for (int i = 1; i < kBlocks; i += 2) {
    size_t old = block_size(i);
    CHECK((blocks[i] = realloc(blocks[i], old * 3)) != NULL);
    sum ^= fnv1a(blocks[i], old);
  }
  printf("realloc keeps contents: %016llx\n", (unsigned long long)sum);
  for (int i = 0; i < kBlocks; i++) free(blocks[i]);
}

int main(void) {
  struct BrkResults r = exercise_brk();  // before any stdio or malloc
  print_brk(&r);
  exercise_malloc();
  exit_success_line();
  return 0;
}
