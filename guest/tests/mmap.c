// mmap: anonymous and file mappings. argv[1] is the fixture directory of tests/e2e/compare.py,
// whose data.bin holds 10000 deterministic bytes (not a page multiple, on purpose).
// Covers: munmap of a mapping's middle, mprotect splitting a mapping, MAP_FIXED over an
// existing mapping, a private file mapping written (the file stays unchanged), shared
// read-only mappings with and without an offset. Prints checksums of contents, never addresses.
#define _GNU_SOURCE
#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "guest_util.h"

static size_t page;

static unsigned char* map_anon(void* hint, size_t len, int extra_flags) {
  void* p =
      mmap(hint, len, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | extra_flags, -1, 0);
  CHECK(p != MAP_FAILED);
  return (unsigned char*)p;
}

// 16 pages; unmap pages [4, 8); the rest keeps its contents; the hole is really gone
// (mprotect there fails with ENOMEM) until MAP_FIXED fills it with zero pages.
static void test_unmap_middle(void) {
  unsigned char* p = map_anon(NULL, 16 * page, 0);
  CHECK(all_zero(p, 16 * page));
  fill_pattern(p, 16 * page, 1);
  printf("anon 16 pages: %016llx\n", (unsigned long long)fnv1a(p, 16 * page));
  CHECK(munmap(p + 4 * page, 4 * page) == 0);
  CHECK_ERRNO("mprotect on the hole", mprotect(p + 5 * page, page, PROT_READ), ENOMEM);
  printf("left part: %016llx right part: %016llx\n", (unsigned long long)fnv1a(p, 4 * page),
         (unsigned long long)fnv1a(p + 8 * page, 8 * page));
  CHECK(map_anon(p + 4 * page, 4 * page, MAP_FIXED) == p + 4 * page);
  CHECK(all_zero(p + 4 * page, 4 * page));
  printf("hole refilled with zeros: %016llx\n", (unsigned long long)fnv1a(p, 16 * page));
  CHECK(munmap(p, 16 * page) == 0);
  CHECK(munmap(p, 16 * page) == 0);  // unmapping nothing is not an error
  printf("unmap middle ok\n");
}

// mprotect of a middle range splits one mapping into three; contents survive each change.
static void test_mprotect_split(void) {
  unsigned char* q = map_anon(NULL, 8 * page, 0);
  fill_pattern(q, 8 * page, 2);
  uint64_t before = fnv1a(q, 8 * page);
  CHECK(mprotect(q + 2 * page, 3 * page, PROT_READ) == 0);
  CHECK(fnv1a(q, 8 * page) == before);
  q[0] = 0xaa;         // still writable: left of the read-only range
  q[7 * page] = 0xbb;  // still writable: right of it
  CHECK(mprotect(q + 2 * page, 3 * page, PROT_READ | PROT_WRITE) == 0);
  q[3 * page] = 0xcc;  // writable again
  CHECK(mprotect(q + 3 * page, page, PROT_NONE) == 0);
  printf("mprotect split: %016llx %016llx\n", (unsigned long long)fnv1a(q, 3 * page),
         (unsigned long long)fnv1a(q + 4 * page, 4 * page));
  // Raw syscall: musl's mprotect() rounds the address down itself.
  CHECK_ERRNO("mprotect unaligned", syscall(SYS_mprotect, q + 1, page, PROT_READ), EINVAL);
  CHECK(munmap(q, 8 * page) == 0);
  printf("mprotect split ok\n");
}

// MAP_FIXED over pages [1, 3) of a 4-page mapping replaces them with fresh zero pages.
static void test_map_fixed_over(void) {
  unsigned char* r = map_anon(NULL, 4 * page, 0);
  memset(r, 'A', 4 * page);
  CHECK(map_anon(r + page, 2 * page, MAP_FIXED) == r + page);
  CHECK(all_zero(r + page, 2 * page));
  CHECK(r[0] == 'A' && r[page - 1] == 'A' && r[3 * page] == 'A' && r[4 * page - 1] == 'A');
  printf("MAP_FIXED over existing: %016llx\n", (unsigned long long)fnv1a(r, 4 * page));
  CHECK(munmap(r, 4 * page) == 0);
}

// Error cases go straight to the kernel: musl's mmap() rejects some of them itself.
static long raw_mmap(size_t len, int flags, int fd, long offset) {
  return syscall(SYS_mmap, NULL, len, PROT_READ, flags, fd, offset);
}

static uint64_t file_checksum(int fd, size_t len, off_t offset) {
  unsigned char* buf = malloc(len);
  CHECK(buf != NULL && pread(fd, buf, len, offset) == (ssize_t)len);
  uint64_t sum = fnv1a(buf, len);
  free(buf);
  return sum;
}

// MAP_PRIVATE file mapping: reads the file, writes stay private, the tail past EOF is zero.
static void test_private_file(int fd, size_t size) {
  size_t mapped = (size + page - 1) / page * page;
  unsigned char* m = mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_PRIVATE, fd, 0);
  CHECK(m != MAP_FAILED);
  uint64_t original = file_checksum(fd, size, 0);
  CHECK(fnv1a(m, size) == original);
  CHECK(all_zero(m + size, mapped - size));
  printf("private file map: %016llx\n", (unsigned long long)original);
  memset(m, 0x55, 100);
  m[size - 1] = 0x66;
  printf("private file map written: %016llx\n", (unsigned long long)fnv1a(m, size));
  CHECK(file_checksum(fd, size, 0) == original);
  printf("file unchanged after private write\n");
  CHECK(munmap(m, size) == 0);
}

// MAP_SHARED read-only mappings at offset 0 and at offset one page.
static void test_shared_read(int fd, size_t size) {
  unsigned char* s = mmap(NULL, size, PROT_READ, MAP_SHARED, fd, 0);
  unsigned char* t = mmap(NULL, size - page, PROT_READ, MAP_SHARED, fd, (off_t)page);
  CHECK(s != MAP_FAILED && t != MAP_FAILED);
  CHECK(fnv1a(s, size) == file_checksum(fd, size, 0));
  CHECK(memcmp(s + page, t, size - page) == 0);
  printf("shared map at offset one page: %016llx\n", (unsigned long long)fnv1a(t, size - page));
  CHECK(munmap(s, size) == 0 && munmap(t, size - page) == 0);
  CHECK_ERRNO("mmap unaligned offset", raw_mmap(page, MAP_SHARED, fd, 1), EINVAL);
}

int main(int argc, char** argv) {
  CHECK(argc == 2);
  page = (size_t)sysconf(_SC_PAGESIZE);
  CHECK(page >= 4096);
  test_unmap_middle();
  test_mprotect_split();
  test_map_fixed_over();

  CHECK(chdir(argv[1]) == 0);
  int fd = open("data.bin", O_RDONLY);
  struct stat st;
  CHECK(fd >= 0 && fstat(fd, &st) == 0 && st.st_size > (off_t)page);
  printf("data.bin size=%ld\n", (long)st.st_size);
  test_private_file(fd, (size_t)st.st_size);
  test_shared_read(fd, (size_t)st.st_size);
  CHECK_ERRNO("mmap length 0", raw_mmap(0, MAP_PRIVATE, fd, 0), EINVAL);
  CHECK_ERRNO("mmap bad fd", raw_mmap(page, MAP_PRIVATE, 99, 0), EBADF);
  CHECK(close(fd) == 0);
  exit_success_line();
  return 0;
}
