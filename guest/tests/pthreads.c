// pthreads: a mutex-protected counter, a condvar producer/consumer, join with return values,
// thread-local storage and a barrier. The results are exact whatever the interleaving, so the
// output is the same natively, under qemu and under probesim with any --cpus and seed.
#include <pthread.h>
#include <time.h>

#include "guest_util.h"

enum { kThreads = 4, kIncrements = 20000, kItems = 200 };

static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static long counter;
static __thread long tls_value;

static void* add_many(void* arg) {
  tls_value = (long)arg * 1000;
  for (int i = 0; i < kIncrements; ++i) {
    pthread_mutex_lock(&lock);
    ++counter;
    pthread_mutex_unlock(&lock);
  }
  return (void*)(tls_value + (long)arg);  // each thread sees its own TLS copy
}

static pthread_mutex_t q_lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t q_nonempty = PTHREAD_COND_INITIALIZER;
static pthread_cond_t q_nonfull = PTHREAD_COND_INITIALIZER;
static int queue[8], q_head, q_count;

static void* producer(void* unused) {
  (void)unused;
  for (int i = 1; i <= kItems; ++i) {
    pthread_mutex_lock(&q_lock);
    while (q_count == 8) pthread_cond_wait(&q_nonfull, &q_lock);
    queue[(q_head + q_count++) % 8] = i;
    pthread_cond_signal(&q_nonempty);
    pthread_mutex_unlock(&q_lock);
  }
  return NULL;
}

static void* consumer(void* unused) {
  (void)unused;
  long sum = 0;
  for (int i = 0; i < kItems; ++i) {
    pthread_mutex_lock(&q_lock);
    while (q_count == 0) pthread_cond_wait(&q_nonempty, &q_lock);
    sum += queue[q_head];
    q_head = (q_head + 1) % 8;
    --q_count;
    pthread_cond_signal(&q_nonfull);
    pthread_mutex_unlock(&q_lock);
  }
  return (void*)sum;
}

static pthread_barrier_t barrier;
static int arrived_before[kThreads];
static int arrivals;

static void* barrier_worker(void* arg) {
  __atomic_add_fetch(&arrivals, 1, __ATOMIC_SEQ_CST);
  pthread_barrier_wait(&barrier);
  arrived_before[(long)arg] = __atomic_load_n(&arrivals, __ATOMIC_SEQ_CST);
  return NULL;
}

int main(void) {
  pthread_t t[kThreads];
  for (long i = 0; i < kThreads; ++i) CHECK(pthread_create(&t[i], NULL, add_many, (void*)i) == 0);
  for (long i = 0; i < kThreads; ++i) {
    void* ret;
    CHECK(pthread_join(t[i], &ret) == 0);
    printf("thread %ld returned %ld\n", i, (long)ret);
  }
  printf("mutex counter %ld (expected %d)\n", counter, kThreads * kIncrements);
  CHECK(counter == kThreads * kIncrements);

  pthread_t prod, cons;
  CHECK(pthread_create(&cons, NULL, consumer, NULL) == 0);
  CHECK(pthread_create(&prod, NULL, producer, NULL) == 0);
  void* sum;
  CHECK(pthread_join(prod, NULL) == 0);
  CHECK(pthread_join(cons, &sum) == 0);
  printf("consumed sum %ld (expected %d)\n", (long)sum, kItems * (kItems + 1) / 2);
  CHECK((long)sum == kItems * (kItems + 1) / 2);

  CHECK(pthread_barrier_init(&barrier, NULL, kThreads) == 0);
  for (long i = 0; i < kThreads; ++i)
    CHECK(pthread_create(&t[i], NULL, barrier_worker, (void*)i) == 0);
  for (long i = 0; i < kThreads; ++i) CHECK(pthread_join(t[i], NULL) == 0);
  for (int i = 0; i < kThreads; ++i) CHECK(arrived_before[i] == kThreads);
  printf("barrier: every thread saw %d arrivals\n", kThreads);

  // A timed wait nobody signals times out, and the (virtual) clock moved past the deadline.
  pthread_mutex_lock(&q_lock);
  struct timespec deadline, after;
  CHECK(clock_gettime(CLOCK_REALTIME, &deadline) == 0);
  deadline.tv_nsec += 10 * 1000 * 1000;
  if (deadline.tv_nsec >= 1000000000) {
    deadline.tv_sec += 1;
    deadline.tv_nsec -= 1000000000;
  }
  int rc = pthread_cond_timedwait(&q_nonempty, &q_lock, &deadline);
  pthread_mutex_unlock(&q_lock);
  CHECK(clock_gettime(CLOCK_REALTIME, &after) == 0);
  printf("timed wait: ETIMEDOUT %d, deadline passed %d\n", rc == ETIMEDOUT,
         after.tv_sec > deadline.tv_sec ||
             (after.tv_sec == deadline.tv_sec && after.tv_nsec >= deadline.tv_nsec));
  CHECK(rc == ETIMEDOUT);
  printf("EXIT-SUCCESS\n");
  return 0;
}
