// sysv_shm: System V shared memory (ipc/shm.c): segments shared across fork and with a
// process that attaches by id, shm_nattch, SHM_RDONLY (a write is SIGSEGV), SHM_RND and
// alignment, IPC_RMID of an attached segment (it lives on, its key is free), shmdt errors.
#define _GNU_SOURCE
#include <signal.h>
#include <sys/ipc.h>
#include <sys/shm.h>
#include <sys/wait.h>
#include <unistd.h>

#include "guest_util.h"

static int wait_status(pid_t pid) {
  int status;
  CHECK(waitpid(pid, &status, 0) == pid);
  return status;
}

static unsigned long nattch(int id) {
  struct shmid_ds ds;
  CHECK(shmctl(id, IPC_STAT, &ds) == 0);
  return (unsigned long)ds.shm_nattch;
}

int main(void) {
  setvbuf(stdout, NULL, _IONBF, 0);
  const key_t key = 0x5f300000 | (getpid() & 0xffff);  // natively the namespace is shared
  CHECK_ERRNO("shmget size 0", shmget(IPC_PRIVATE, 0, 0600), EINVAL);
  int id = shmget(key, 10000, IPC_CREAT | IPC_EXCL | 0600);
  CHECK(id >= 0);
  CHECK(shmget(key, 5000, 0) == id);
  CHECK_ERRNO("shmget larger than the segment", shmget(key, 20000, 0), EINVAL);
  struct shmid_ds ds;
  CHECK(shmctl(id, IPC_STAT, &ds) == 0);
  printf("IPC_STAT: size %zu, nattch %lu, cpid is me %d, mode %o\n", (size_t)ds.shm_segsz,
         (unsigned long)ds.shm_nattch, ds.shm_cpid == getpid(), ds.shm_perm.mode & 0777);
  char* p = shmat(id, NULL, 0);
  CHECK(p != (void*)-1);
  printf("new segment is zero: %d, nattch %lu\n", all_zero(p, 10000), nattch(id));
  strcpy(p, "from the parent");
  pid_t pid = fork();
  if (pid == 0) {
    printf("child sees \"%s\", nattch %lu\n", p, nattch(id));
    strcpy(p + 8192, "child via fork");
    char* q = shmat(id, NULL, 0);  // a second attachment in the same process
    CHECK(q != (void*)-1 && q != p);
    printf("second attachment sees \"%s\", nattch %lu\n", q + 8192, nattch(id));
    CHECK(shmdt(q) == 0);
    _exit(0);
  }
  CHECK(WIFEXITED(wait_status(pid)));
  printf("parent sees \"%s\", nattch %lu\n", p + 8192, nattch(id));
  // SHM_RDONLY: reading works, a write is SIGSEGV.
  pid = fork();
  if (pid == 0) {
    CHECK(shmdt(p) == 0);
    const char* r = shmat(id, NULL, SHM_RDONLY);
    CHECK(r != (void*)-1);
    printf("read-only attachment reads \"%s\"\n", r);
    ((char*)r)[0] = 'x';
    _exit(0);
  }
  int status = wait_status(pid);
  printf("write to SHM_RDONLY: %s\n", WIFSIGNALED(status) && WTERMSIG(status) == SIGSEGV ? "SIGSEGV" : "no fault");
  // Addresses: SHMLBA alignment unless SHM_RND; shmdt of what is not an attachment.
  CHECK_ERRNO("shmat at an unaligned address", (long)shmat(id, p + 100, 0), EINVAL);
  CHECK_ERRNO("shmat over an existing mapping", (long)shmat(id, p, 0), EINVAL);
  CHECK_ERRNO("shmdt of an unaligned address", shmdt(p + 1), EINVAL);
  CHECK_ERRNO("shmdt of the middle of a segment", shmdt(p + 4096), EINVAL);
  CHECK_ERRNO("shmdt of a stack address", shmdt(&status), EINVAL);
  CHECK_ERRNO("shmat bad id", (long)shmat(-1, NULL, 0), EINVAL);
  // IPC_RMID while attached: the segment stays for its users, the key is free.
  CHECK(shmctl(id, IPC_RMID, NULL) == 0);
  CHECK_ERRNO("shmget of the removed key", shmget(key, 100, 0), ENOENT);
  printf("after IPC_RMID, still attached: \"%s\", nattch %lu, SHM_DEST %d\n", p, nattch(id),
         (shmctl(id, IPC_STAT, &ds) == 0 && (ds.shm_perm.mode & SHM_DEST)) ? 1 : 0);
  int fresh = shmget(key, 100, IPC_CREAT | IPC_EXCL | 0600);
  CHECK(fresh >= 0 && fresh != id);
  CHECK(shmctl(fresh, IPC_RMID, NULL) == 0);
  CHECK(shmdt(p) == 0);
  CHECK_ERRNO("IPC_STAT after the last detach", shmctl(id, IPC_STAT, &ds), EINVAL);
  exit_success_line();
  return 0;
}
