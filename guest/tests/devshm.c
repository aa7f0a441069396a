// devshm: POSIX shared memory and named semaphores across fork, through the tmpfs at /dev/shm
// (glibc's and musl's shm_open and sem_open create, map and link files there). The child
// blocks in sem_wait on a semaphore in a MAP_SHARED file page: a shared futex, keyed by the
// file page, not by the address space.
#define _GNU_SOURCE
#include <fcntl.h>
#include <semaphore.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <sys/wait.h>
#include <unistd.h>

#include "guest_util.h"

// Natively /dev/shm is the host's, shared with concurrent runs: names of our own.
static char SHM_NAME[64], SEM_NAME[64], DONE_NAME[64];

static void wait_child(pid_t pid) {
  int status;
  CHECK(waitpid(pid, &status, 0) == pid);
  CHECK(WIFEXITED(status) && WEXITSTATUS(status) == 0);
}

static void shared_memory(void) {
  shm_unlink(SHM_NAME);
  int fd = shm_open(SHM_NAME, O_CREAT | O_EXCL | O_RDWR, 0600);
  CHECK(fd >= 0);
  CHECK(ftruncate(fd, 8192) == 0);
  struct stat st;
  CHECK(fstat(fd, &st) == 0 && st.st_size == 8192 && S_ISREG(st.st_mode));
  CHECK_ERRNO("shm_open O_EXCL of an existing object", shm_open(SHM_NAME, O_CREAT | O_EXCL | O_RDWR, 0600),
              EEXIST);
  char* p = mmap(NULL, 8192, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
  CHECK(p != MAP_FAILED);
  strcpy(p, "parent");
  pid_t pid = fork();
  if (pid == 0) {
    int cfd = shm_open(SHM_NAME, O_RDWR, 0);
    CHECK(cfd >= 0);
    char* q = mmap(NULL, 8192, PROT_READ | PROT_WRITE, MAP_SHARED, cfd, 0);
    CHECK(q != MAP_FAILED);
    printf("child reads \"%s\" through its own mapping\n", q);
    strcpy(q + 4096, "written by the child");
    _exit(0);
  }
  wait_child(pid);
  printf("parent reads \"%s\"\n", p + 4096);
  struct statfs sf;
  CHECK(fstatfs(fd, &sf) == 0);
  printf("/dev/shm is tmpfs: %s\n", sf.f_type == 0x01021994 ? "yes" : "no");
  CHECK(shm_unlink(SHM_NAME) == 0);
  CHECK_ERRNO("shm_open after shm_unlink", shm_open(SHM_NAME, O_RDWR, 0), ENOENT);
  printf("the mapping outlives the name: \"%s\"\n", p);
  munmap(p, 8192);
  close(fd);
}

static void named_semaphores(void) {
  sem_unlink(SEM_NAME);
  sem_t* s = sem_open(SEM_NAME, O_CREAT | O_EXCL, 0600, 0);
  CHECK(s != SEM_FAILED);
  CHECK_ERRNO("sem_open O_EXCL again", sem_open(SEM_NAME, O_CREAT | O_EXCL, 0600, 0) == SEM_FAILED ? -1 : 0,
              EEXIST);
  sem_t* done = sem_open(DONE_NAME, O_CREAT, 0600, 0);
  CHECK(done != SEM_FAILED);
  pid_t pid = fork();
  if (pid == 0) {
    sem_t* c = sem_open(SEM_NAME, 0);
    CHECK(c != SEM_FAILED);
    CHECK(sem_wait(c) == 0);  // blocks until the parent posts
    printf("child: sem_wait returned\n");
    fflush(stdout);
    CHECK(sem_post(done) == 0);
    _exit(0);
  }
  usleep(100 * 1000);
  printf("parent posts\n");
  fflush(stdout);
  CHECK(sem_post(s) == 0);
  CHECK(sem_wait(done) == 0);
  wait_child(pid);
  int v = -1;
  CHECK(sem_getvalue(s, &v) == 0);
  printf("value after the child's wait: %d\n", v);
  CHECK(sem_trywait(s) == -1 && errno == EAGAIN);
  CHECK(sem_close(s) == 0);
  CHECK(sem_close(done) == 0);
  CHECK(sem_unlink(SEM_NAME) == 0);
  CHECK(sem_unlink(DONE_NAME) == 0);
  CHECK_ERRNO("sem_open after sem_unlink", sem_open(SEM_NAME, 0) == SEM_FAILED ? -1 : 0, ENOENT);
}

int main(void) {
  setvbuf(stdout, NULL, _IONBF, 0);
  snprintf(SHM_NAME, sizeof SHM_NAME, "/probesim-devshm-%d", (int)getpid());
  snprintf(SEM_NAME, sizeof SEM_NAME, "/probesim-devshm-sem-%d", (int)getpid());
  snprintf(DONE_NAME, sizeof DONE_NAME, "/probesim-devshm-done-%d", (int)getpid());
  shared_memory();
  named_semaphores();
  exit_success_line();
  return 0;
}
