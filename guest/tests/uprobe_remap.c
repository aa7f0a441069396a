// Maps the page of its own executable that holds remap_target, unmaps it, and maps the same
// page of a private copy of that file at the same address, over and over: the mapping churn
// of seed 000 (issue 16). A uprobe registration racing with it (probesim --uprobe
// SELF:remap_target@N, run by the kworker) must put its breakpoint only into the executable's
// page; the copy's page must always read as the file does. Run natively it checks the same.
// Usage: uprobe_remap [ITERATIONS]   (default 100)
#include <elf.h>
#include <fcntl.h>
#include <link.h>
#include <sys/auxv.h>
#include <sys/mman.h>
#include <unistd.h>

#include "guest_util.h"

enum { kPage = 4096 };

volatile uint64_t sink;  // keeps the reading loop

__attribute__((noinline)) int remap_target(int x) { return x * 3 + 1; }

// The file offset of addr in this (static) executable, from its program headers.
static long file_offset_of(uintptr_t addr) {
  const ElfW(Phdr)* ph = (const ElfW(Phdr)*)getauxval(AT_PHDR);
  size_t n = getauxval(AT_PHNUM);
  uintptr_t base = 0;
  for (size_t i = 0; i < n; ++i)
    if (ph[i].p_type == PT_PHDR) base = (uintptr_t)ph - ph[i].p_vaddr;
  for (size_t i = 0; i < n; ++i) {
    uintptr_t v = addr - base;
    if (ph[i].p_type == PT_LOAD && v >= ph[i].p_vaddr && v < ph[i].p_vaddr + ph[i].p_filesz)
      return (long)(v - ph[i].p_vaddr + ph[i].p_offset);
  }
  return -1;
}

// A private copy of the page at `off` of the executable, as its own (unlinked) file.
static int copy_page(int self, long off, unsigned char* orig) {
  CHECK(pread(self, orig, kPage, off) == kPage);
  char path[] = "/tmp/uprobe_remap.XXXXXX";
  int fd = mkstemp(path);
  CHECK(fd >= 0);
  CHECK(unlink(path) == 0);
  CHECK(write(fd, orig, kPage) == kPage);
  return fd;
}

int main(int argc, char** argv) {
  int iterations = argc > 1 ? atoi(argv[1]) : 100;
  long target = file_offset_of((uintptr_t)&remap_target);
  CHECK(target >= 0);
  long poff = target & ~(long)(kPage - 1);
  int self = open("/proc/self/exe", O_RDONLY);
  CHECK(self >= 0);
  static unsigned char orig[kPage] __attribute__((aligned(8)));
  int copy = copy_page(self, poff, orig);
  unsigned char* at = mmap(NULL, kPage, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  CHECK(at != MAP_FAILED);
  uint64_t sum = 0;
  for (int i = 0; i < iterations; ++i) {
    const uint64_t* p = mmap(at, kPage, PROT_READ, MAP_PRIVATE | MAP_FIXED, self, poff);
    CHECK((void*)p == at);
    for (int w = 0; w < kPage / 8; ++w) sum += p[w] >> 8;  // reads the page (breakpoints or not)
    CHECK(munmap(at, kPage) == 0);
    const uint64_t* q = mmap(at, kPage, PROT_READ, MAP_PRIVATE | MAP_FIXED, copy, 0);
    CHECK((void*)q == at);
    for (int w = 0; w < kPage / 8; ++w) {
      if (q[w] != ((const uint64_t*)orig)[w]) {
        int b = w * 8;
        while (((const unsigned char*)q)[b] == orig[b]) ++b;
        printf("FAIL iteration %d: the copy's page reads %#x at offset %#x, its file has %#x\n", i,
               ((const unsigned char*)q)[b], b, orig[b]);
        return 1;
      }
    }
    CHECK(munmap(at, kPage) == 0);
  }
  printf("%d remaps, remap_target(4) = %d\n", iterations, remap_target(4));
  sink = sum;
  printf("EXIT-SUCCESS\n");
  return 0;
}
