// Robust, PI and process-shared futexes (issue 19), through the libc and raw futex(2):
// - a robust mutex whose owner thread exits locked gives EOWNERDEAD (also to a waiter that was
//   blocked), then works after pthread_mutex_consistent; a non-consistent one gives
//   ENOTRECOVERABLE;
// - a process-shared robust mutex in MAP_SHARED memory whose owner process dies locked;
// - PTHREAD_PRIO_INHERIT mutexes under contention (LOCK_PI/UNLOCK_PI), trylock EBUSY, and the
//   raw errors: UNLOCK_PI by a non-owner EPERM, LOCK_PI by the owner EDEADLK, TRYLOCK_PI
//   EAGAIN, LOCK_PI on a dead owner's TID ESRCH, a robust PI owner dying with a waiter;
// - shared (non-private) FUTEX_WAIT/WAKE between processes, FUTEX_WAKE_OP, get_robust_list;
// - WAIT_REQUEUE_PI + CMP_REQUEUE_PI onto a PI futex the waker owns, then UNLOCK_PI hands it
//   over (the word becomes the waiter's TID | FUTEX_WAITERS).
#define _GNU_SOURCE
#include <pthread.h>
#include <stdint.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "guest_util.h"

// include/uapi/linux/futex.h (musl ships no kernel headers).
enum {
  FUTEX_WAIT = 0, FUTEX_WAKE = 1, FUTEX_WAKE_OP = 5, FUTEX_LOCK_PI = 6, FUTEX_UNLOCK_PI = 7,
  FUTEX_TRYLOCK_PI = 8, FUTEX_WAIT_REQUEUE_PI = 11, FUTEX_CMP_REQUEUE_PI = 12,
  FUTEX_PRIVATE_FLAG = 128,
};
#define FUTEX_WAIT_PRIVATE (FUTEX_WAIT | FUTEX_PRIVATE_FLAG)
#define FUTEX_WAKE_OP_PRIVATE (FUTEX_WAKE_OP | FUTEX_PRIVATE_FLAG)
#define FUTEX_LOCK_PI_PRIVATE (FUTEX_LOCK_PI | FUTEX_PRIVATE_FLAG)
#define FUTEX_UNLOCK_PI_PRIVATE (FUTEX_UNLOCK_PI | FUTEX_PRIVATE_FLAG)
#define FUTEX_TRYLOCK_PI_PRIVATE (FUTEX_TRYLOCK_PI | FUTEX_PRIVATE_FLAG)
#define FUTEX_WAIT_REQUEUE_PI_PRIVATE (FUTEX_WAIT_REQUEUE_PI | FUTEX_PRIVATE_FLAG)
#define FUTEX_CMP_REQUEUE_PI_PRIVATE (FUTEX_CMP_REQUEUE_PI | FUTEX_PRIVATE_FLAG)
#define FUTEX_WAITERS 0x80000000u
#define FUTEX_TID_MASK 0x3fffffffu
#define FUTEX_OP_SET 0
#define FUTEX_OP_ADD 1
#define FUTEX_OP_OR 2
#define FUTEX_OP_OPARG_SHIFT 8
#define FUTEX_OP_CMP_EQ 0
#define FUTEX_OP_CMP_GT 4
#define FUTEX_OP(op, oparg, cmp, cmparg) \
  (((op & 0xf) << 28) | ((cmp & 0xf) << 24) | ((oparg & 0xfff) << 12) | (cmparg & 0xfff))

static const char* err_name(int e) {
  switch (e) {
    case 0: return "0";
    case EOWNERDEAD: return "EOWNERDEAD";
    case ENOTRECOVERABLE: return "ENOTRECOVERABLE";
    case EBUSY: return "EBUSY";
    case EDEADLK: return "EDEADLK";
    case ESRCH: return "ESRCH";
    case EPERM: return "EPERM";
    case EAGAIN: return "EAGAIN";
    case EINVAL: return "EINVAL";
    case ETIMEDOUT: return "ETIMEDOUT";
    default: return errno_name(e);
  }
}

static long futex(volatile uint32_t* uaddr, int op, uint32_t val, uintptr_t timeout_or_val2,
                  volatile uint32_t* uaddr2, uint32_t val3) {
  return syscall(SYS_futex, uaddr, op, val, timeout_or_val2, uaddr2, val3);
}

static const char* raw_err(long r) { return r == -1 ? err_name(errno) : "0"; }

static void pause_a_little(void) {
  struct timespec ts = {0, 20 * 1000 * 1000};
  nanosleep(&ts, NULL);
}

// Spins until the robust/PI mutex word says the kernel has a waiter (FUTEX_WAITERS), then
// gives the waiter time to sleep in the kernel.
static void wait_for_waiter(pthread_mutex_t* m) {
  volatile uint32_t* word = (volatile uint32_t*)m;  // __lock is the first int on glibc and musl
  for (int i = 0; i < 100000 && !(*word & FUTEX_WAITERS); i++) sched_yield();
  pause_a_little();
}

static pthread_mutex_t robust;

static void* lock_and_exit(void* arg) {
  pthread_mutex_t* m = arg;
  CHECK(pthread_mutex_lock(m) == 0);
  return NULL;  // exits holding it
}

static void init_mutex(pthread_mutex_t* m, int robust_attr, int protocol, int pshared) {
  pthread_mutexattr_t a;
  pthread_mutexattr_init(&a);
  if (robust_attr) pthread_mutexattr_setrobust(&a, PTHREAD_MUTEX_ROBUST);
  pthread_mutexattr_setprotocol(&a, protocol);
  pthread_mutexattr_setpshared(&a, pshared);
  CHECK(pthread_mutex_init(m, &a) == 0);
  pthread_mutexattr_destroy(&a);
}

static void robust_thread_dies(int protocol, const char* label) {
  init_mutex(&robust, 1, protocol, PTHREAD_PROCESS_PRIVATE);
  pthread_t t;
  CHECK(pthread_create(&t, NULL, lock_and_exit, &robust) == 0);
  CHECK(pthread_join(t, NULL) == 0);
  int r = pthread_mutex_lock(&robust);
  printf("%s: lock after the owner exited: %s\n", label, err_name(r));
  CHECK(r == EOWNERDEAD);
  CHECK(pthread_mutex_consistent(&robust) == 0);
  CHECK(pthread_mutex_unlock(&robust) == 0);
  printf("%s: lock after consistent: %s\n", label, err_name(pthread_mutex_lock(&robust)));
  CHECK(pthread_mutex_unlock(&robust) == 0);
  // Not made consistent: the next owner gets ENOTRECOVERABLE.
  CHECK(pthread_create(&t, NULL, lock_and_exit, &robust) == 0);
  CHECK(pthread_join(t, NULL) == 0);
  CHECK(pthread_mutex_lock(&robust) == EOWNERDEAD);
  CHECK(pthread_mutex_unlock(&robust) == 0);
  printf("%s: lock after an unrecovered death: %s\n", label,
         err_name(pthread_mutex_lock(&robust)));
}

static volatile int holder_release;

static void* hold_until_told_then_exit(void* arg) {
  pthread_mutex_t* m = arg;
  CHECK(pthread_mutex_lock(m) == 0);
  while (!holder_release) sched_yield();
  return NULL;  // exits holding it
}

static int waiter_result = -1;

static void* blocked_waiter(void* arg) {
  waiter_result = pthread_mutex_lock((pthread_mutex_t*)arg);
  if (waiter_result == EOWNERDEAD) pthread_mutex_consistent(arg);
  pthread_mutex_unlock(arg);
  return NULL;
}

// The owner exits while another thread is blocked in the kernel on the mutex.
__attribute__((unused))  // glibc only (see main)
static void robust_waiter_woken(int protocol, const char* label) {
  init_mutex(&robust, 1, protocol, PTHREAD_PROCESS_PRIVATE);
  holder_release = 0;
  pthread_t holder, waiter;
  CHECK(pthread_create(&holder, NULL, hold_until_told_then_exit, &robust) == 0);
  while (pthread_mutex_trylock(&robust) != EBUSY) {  // until the holder has it
    pthread_mutex_unlock(&robust);
    sched_yield();
  }
  CHECK(pthread_create(&waiter, NULL, blocked_waiter, &robust) == 0);
  wait_for_waiter(&robust);
  holder_release = 1;
  CHECK(pthread_join(holder, NULL) == 0);
  CHECK(pthread_join(waiter, NULL) == 0);
  printf("%s: blocked waiter when the owner exited: %s\n", label, err_name(waiter_result));
}

static void pshared_robust_process_dies(void) {
  pthread_mutex_t* m = mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
  CHECK(m != MAP_FAILED);
  init_mutex(m, 1, PTHREAD_PRIO_NONE, PTHREAD_PROCESS_SHARED);
  volatile int* locked = (volatile int*)(m + 1);
  *locked = 0;
  pid_t child = fork();
  if (child == 0) {
    CHECK(pthread_mutex_lock(m) == 0);
    *locked = 1;
    pause_a_little();
    pause_a_little();
    _exit(0);  // dies holding it
  }
  while (!*locked) sched_yield();
  int r = pthread_mutex_lock(m);  // blocks until the child dies
  printf("pshared robust: lock while the owner process died: %s\n", err_name(r));
  CHECK(r == EOWNERDEAD);
  CHECK(pthread_mutex_consistent(m) == 0);
  CHECK(pthread_mutex_unlock(m) == 0);
  int status;
  CHECK(waitpid(child, &status, 0) == child && WIFEXITED(status));
  munmap(m, 4096);
}

static pthread_mutex_t pi_mutex;
static long pi_counter;

static void* pi_worker(void* arg) {
  (void)arg;
  for (int i = 0; i < 2000; i++) {
    CHECK(pthread_mutex_lock(&pi_mutex) == 0);
    long v = pi_counter;
    if (i % 7 == 0) sched_yield();  // contention: others block in FUTEX_LOCK_PI
    pi_counter = v + 1;
    CHECK(pthread_mutex_unlock(&pi_mutex) == 0);
  }
  return NULL;
}

static int trylock_result;

static void* try_pi(void* arg) {
  trylock_result = pthread_mutex_trylock(arg);
  return NULL;
}

static void pi_mutexes(void) {
  init_mutex(&pi_mutex, 0, PTHREAD_PRIO_INHERIT, PTHREAD_PROCESS_PRIVATE);
  pthread_t t[3];
  for (int i = 0; i < 3; i++) CHECK(pthread_create(&t[i], NULL, pi_worker, NULL) == 0);
  for (int i = 0; i < 3; i++) CHECK(pthread_join(t[i], NULL) == 0);
  printf("pi: 3 threads x 2000 increments under a PI mutex: %ld\n", pi_counter);
  CHECK(pi_counter == 6000);
  CHECK(pthread_mutex_lock(&pi_mutex) == 0);
  pthread_t other;
  CHECK(pthread_create(&other, NULL, try_pi, &pi_mutex) == 0);
  CHECK(pthread_join(other, NULL) == 0);
  printf("pi: trylock from another thread while held: %s\n", err_name(trylock_result));
  CHECK(pthread_mutex_unlock(&pi_mutex) == 0);
}

static volatile uint32_t pi_word;
static long unlock_other_result;

static void* unlock_not_mine(void* arg) {
  (void)arg;
  unlock_other_result = futex(&pi_word, FUTEX_UNLOCK_PI_PRIVATE, 0, 0, NULL, 0);
  if (unlock_other_result == -1) unlock_other_result = -errno;
  return NULL;
}

static long dead_tid;

static void* report_tid(void* arg) {
  (void)arg;
  dead_tid = syscall(SYS_gettid);
  return NULL;
}

static void raw_pi_errors(void) {
  pi_word = 0;
  printf("raw: LOCK_PI on 0: %s\n", raw_err(futex(&pi_word, FUTEX_LOCK_PI_PRIVATE, 0, 0, NULL, 0)));
  printf("raw: word is my tid: %d\n", (pid_t)(pi_word & FUTEX_TID_MASK) == (pid_t)syscall(SYS_gettid));
  printf("raw: LOCK_PI again: %s\n", raw_err(futex(&pi_word, FUTEX_LOCK_PI_PRIVATE, 0, 0, NULL, 0)));
  pthread_t t;
  CHECK(pthread_create(&t, NULL, unlock_not_mine, NULL) == 0);
  CHECK(pthread_join(t, NULL) == 0);
  printf("raw: UNLOCK_PI by another thread: %s\n", err_name((int)-unlock_other_result));
  const char* unlocked = raw_err(futex(&pi_word, FUTEX_UNLOCK_PI_PRIVATE, 0, 0, NULL, 0));
  printf("raw: UNLOCK_PI by the owner: %s, word %u\n", unlocked, pi_word);
  CHECK(pthread_create(&t, NULL, report_tid, NULL) == 0);
  CHECK(pthread_join(t, NULL) == 0);
  pi_word = (uint32_t)dead_tid;
  printf("raw: TRYLOCK_PI owned by a dead tid: %s\n",
         raw_err(futex(&pi_word, FUTEX_TRYLOCK_PI_PRIVATE, 0, 0, NULL, 0)));
}

static volatile uint32_t trylock_word;
static long raw_trylock_result;

static void* raw_trylock(void* arg) {
  (void)arg;
  raw_trylock_result = futex(&trylock_word, FUTEX_TRYLOCK_PI_PRIVATE, 0, 0, NULL, 0);
  if (raw_trylock_result == -1) raw_trylock_result = -errno;
  return NULL;
}

static void raw_trylock_held(void) {
  trylock_word = 0;
  CHECK(futex(&trylock_word, FUTEX_LOCK_PI_PRIVATE, 0, 0, NULL, 0) == 0);
  pthread_t t;
  CHECK(pthread_create(&t, NULL, raw_trylock, NULL) == 0);
  CHECK(pthread_join(t, NULL) == 0);
  printf("raw: TRYLOCK_PI held by another thread: %s, waiters bit %d\n",
         err_name((int)-raw_trylock_result), !!(trylock_word & FUTEX_WAITERS));
  CHECK(futex(&trylock_word, FUTEX_UNLOCK_PI_PRIVATE, 0, 0, NULL, 0) == 0);
  printf("raw: word after unlock with no waiter: %u\n", trylock_word);
}

// Shared futexes between processes: a word in MAP_SHARED memory, mapped at different
// addresses would also work; here fork keeps the address.
static void shared_wait_wake(void) {
  volatile uint32_t* w = mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
  CHECK(w != MAP_FAILED);
  w[0] = 0;
  w[1] = 0;
  pid_t child = fork();
  if (child == 0) {
    w[1] = 1;  // "I am about to wait"
    long r = futex(&w[0], FUTEX_WAIT, 0, 0, NULL, 0);
    _exit(r == 0 && w[0] == 7 ? 0 : 1);
  }
  while (!w[1]) sched_yield();
  pause_a_little();
  w[0] = 7;
  long woken = 0;
  // Until the child sleeps in the kernel: unbounded, a loaded host may take longer than any
  // bound to run it there (and the join below would then wait forever).
  while (woken == 0) {
    woken = futex(&w[0], FUTEX_WAKE, 1, 0, NULL, 0);
    if (!woken) sched_yield();
  }
  int status;
  CHECK(waitpid(child, &status, 0) == child);
  printf("shared: FUTEX_WAKE from another process woke %ld, child exit %d\n", woken,
         WEXITSTATUS(status));
  munmap((void*)w, 4096);
}

static volatile uint32_t op_a, op_b;

static void* wait_on(void* arg) {
  volatile uint32_t* w = arg;
  futex(w, FUTEX_WAIT_PRIVATE, 0, 0, NULL, 0);
  return NULL;
}

static void wake_op(void) {
  op_a = 0;
  op_b = 5;
  long r = futex(&op_a, FUTEX_WAKE_OP_PRIVATE, 1, 1, &op_b,
                 FUTEX_OP(FUTEX_OP_ADD, 3, FUTEX_OP_CMP_GT, 4));
  printf("wake_op: no waiters: %ld, b = %u\n", r, op_b);
  r = futex(&op_a, FUTEX_WAKE_OP_PRIVATE, 1, 1, &op_b,
            FUTEX_OP(FUTEX_OP_OR, 4, FUTEX_OP_CMP_EQ, 0) | (FUTEX_OP_OPARG_SHIFT << 28));
  printf("wake_op: OR with oparg shift: %ld, b = 0x%x\n", r, op_b);
  pthread_t t;
  op_b = 0;
  CHECK(pthread_create(&t, NULL, wait_on, (void*)&op_b) == 0);
  long woken = 0;
  while (woken == 0) {  // b += 0, and wake on b while it is 0; unbounded, as above
    woken = futex(&op_a, FUTEX_WAKE_OP_PRIVATE, 1, 1, &op_b,
                  FUTEX_OP(FUTEX_OP_ADD, 0, FUTEX_OP_CMP_EQ, 0));
    if (!woken) sched_yield();
  }
  CHECK(pthread_join(t, NULL) == 0);
  printf("wake_op: woke the waiter on the second word: %ld, b = %u\n", woken, op_b);
}

static void robust_list_query(void) {
  void* head = NULL;
  size_t len = 0;
  long r = syscall(SYS_get_robust_list, 0, &head, &len);
  printf("get_robust_list: %s, len %zu, head set %d\n", raw_err(r), len, head != NULL);
  r = syscall(SYS_get_robust_list, 0x3fffffff, &head, &len);
  printf("get_robust_list of no task: %s\n", raw_err(r));
}

static volatile uint32_t cond_word, pi_lock;
static long requeue_wait_result = -99;
static volatile int requeue_waiter_ready;

static void* requeue_waiter(void* arg) {
  (void)arg;
  requeue_waiter_ready = 1;
  long r = futex(&cond_word, FUTEX_WAIT_REQUEUE_PI_PRIVATE, 0, 0, &pi_lock, 0);
  requeue_wait_result = r == -1 ? -errno : r;
  if (r == 0) {
    int mine = (pi_lock & FUTEX_TID_MASK) == (uint32_t)syscall(SYS_gettid);
    printf("requeue_pi: waiter owns the PI futex %d, waiters bit %d\n", mine,
           !!(pi_lock & FUTEX_WAITERS));
    futex(&pi_lock, FUTEX_UNLOCK_PI_PRIVATE, 0, 0, NULL, 0);
  }
  return NULL;
}

static void requeue_pi(void) {
  cond_word = 0;
  pi_lock = 0;
  CHECK(futex(&pi_lock, FUTEX_LOCK_PI_PRIVATE, 0, 0, NULL, 0) == 0);
  printf("requeue_pi: same futex twice: %s\n",
         raw_err(futex(&cond_word, FUTEX_WAIT_REQUEUE_PI_PRIVATE, 0, 0, &cond_word, 0)));
  printf("requeue_pi: nr_wake 2: %s\n",
         raw_err(futex(&cond_word, FUTEX_CMP_REQUEUE_PI_PRIVATE, 2, 0, &pi_lock, 0)));
  pthread_t t;
  CHECK(pthread_create(&t, NULL, requeue_waiter, NULL) == 0);
  while (!requeue_waiter_ready) sched_yield();
  long moved = 0;
  for (int i = 0; i < 1000 && moved == 0; i++) {  // until the waiter sleeps in the kernel
    pause_a_little();
    moved = futex(&cond_word, FUTEX_CMP_REQUEUE_PI_PRIVATE, 1, 1, &pi_lock, 0);
  }
  printf("requeue_pi: CMP_REQUEUE_PI onto a held PI futex: %ld, waiters bit %d\n", moved,
         !!(pi_lock & FUTEX_WAITERS));
  CHECK(futex(&pi_lock, FUTEX_UNLOCK_PI_PRIVATE, 0, 0, NULL, 0) == 0);
  CHECK(pthread_join(t, NULL) == 0);
  printf("requeue_pi: waiter returned %ld, word after %u\n", requeue_wait_result, pi_lock);
}

int main(void) {
  setvbuf(stdout, NULL, _IONBF, 0);
  robust_thread_dies(PTHREAD_PRIO_NONE, "robust");
  robust_thread_dies(PTHREAD_PRIO_INHERIT, "robust pi");
#ifdef __GLIBC__  // musl 1.2.3 natively sometimes never wakes the blocked waiter here (seen in
                  // this sandbox, not investigated): glibc only
  robust_waiter_woken(PTHREAD_PRIO_NONE, "robust");
  robust_waiter_woken(PTHREAD_PRIO_INHERIT, "robust pi");
#endif
  pshared_robust_process_dies();
  pi_mutexes();
  raw_pi_errors();
  raw_trylock_held();
  shared_wait_wake();
  wake_op();
  robust_list_query();
  requeue_pi();
  puts("EXIT-SUCCESS");
  return 0;
}
