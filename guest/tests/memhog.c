// memhog: takes guest memory until the machine's memory limit refuses it, the way Linux's
// strict overcommit does: mmap of anonymous memory fails with ENOMEM, brk stops growing
// (brk returns the old break), and fork of a process whose memory no longer fits twice fails with ENOMEM.
// Every page taken is written, so the host really backs it. Giving memory back makes room.
// Runs only under probesim with a small --limit-mem (tests/e2e: limits mode).
#include <sys/mman.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include "guest_util.h"

enum { kChunk = 16 << 20, kMaxChunks = 4096 };
static char* chunks[kMaxChunks];

// brk(2) itself (musl's sbrk refuses any growth): whether the break moved by len.
static int grow_brk(long len) {
  long cur = syscall(SYS_brk, 0);
  return syscall(SYS_brk, cur + len) == cur + len;
}

static void touch(char* p, size_t len) {
  for (size_t i = 0; i < len; i += 4096) p[i] = (char)i;
}

int main(void) {
  printf("taking memory in %d MiB chunks\n", kChunk >> 20);  // stdio's buffer comes first
  int n = 0, err = 0;
  for (; n < kMaxChunks; ++n) {
    char* p = mmap(NULL, kChunk, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (p == MAP_FAILED) {
      err = errno;
      break;
    }
    touch(p, kChunk);
    chunks[n] = p;
  }
  printf("mmap: %s after some chunks: %s\n", errno_name(err), n > 0 ? "yes" : "no");
  CHECK(err == ENOMEM && n > 0 && n < kMaxChunks);

  // MAP_NORESERVE is charged too (the host backs what the guest writes).
  void* nr = mmap(NULL, kChunk, PROT_READ | PROT_WRITE,
                  MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
  printf("mmap MAP_NORESERVE: %s\n", nr == MAP_FAILED ? errno_name(errno) : "mapped");
  CHECK(nr == MAP_FAILED && errno == ENOMEM);

  // A PROT_NONE reservation costs nothing; making it writable does.
  char* res = mmap(NULL, kChunk, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  CHECK(res != MAP_FAILED);
  CHECK_ERRNO("mprotect of a reservation to read-write", mprotect(res, kChunk, PROT_READ | PROT_WRITE),
              ENOMEM);

  const int grew = grow_brk(kChunk);  // brk reports failure by returning the old break
  printf("brk: %s\n", grew ? "grew" : "unchanged");
  CHECK(!grew);

  pid_t c = fork();
  if (c == 0) _exit(0);
  printf("fork with most memory taken: %s\n", c < 0 ? errno_name(errno) : "forked");
  CHECK(c < 0 && errno == ENOMEM);

  // Give most of it back: everything works again.
  for (int i = 1; i < n; ++i) CHECK(munmap(chunks[i], kChunk) == 0);
  CHECK(mprotect(res, kChunk, PROT_READ | PROT_WRITE) == 0);
  touch(res, kChunk);
  CHECK(grow_brk(1 << 20));
  c = fork();
  CHECK(c >= 0);
  if (c == 0) _exit(7);
  int status;
  CHECK(waitpid(c, &status, 0) == c && WIFEXITED(status) && WEXITSTATUS(status) == 7);
  printf("after munmap: mprotect, brk and fork work again\n");
  exit_success_line();
  return 0;
}
