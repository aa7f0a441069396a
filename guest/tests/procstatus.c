// procstatus: /proc/self/status's memory, signal-queue, CPU and context-switch lines (Linux's
// task_mem, task_sig, task_cpus_allowed, cpuset_task_status_allowed,
// task_context_switch_counts) follow what the process does: VmPeak keeps a mapping's peak
// after munmap, SigQ counts queued signals against RLIMIT_SIGPENDING, a sleep is a voluntary
// switch. Prints only "ok" lines. With "yield": sched_yield with another runnable thread is
// an involuntary switch (probesim only: natively the other thread may have its own CPU).
#define _GNU_SOURCE
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <time.h>
#include <unistd.h>

#include "guest_util.h"

// The value of status line `key` (text after the tab), copied into out.
static void status_value(const char* key, char* out, size_t n) {
  FILE* f = fopen("/proc/self/status", "r");
  CHECK(f != NULL);
  char line[1024];
  size_t klen = strlen(key);
  int found = 0;
  while (!found && fgets(line, sizeof line, f)) {
    if (strncmp(line, key, klen) != 0 || line[klen] != ':') continue;
    const char* v = line + klen + 1;
    while (*v == '\t' || *v == ' ') ++v;
    snprintf(out, n, "%s", v);
    out[strcspn(out, "\n")] = '\0';
    found = 1;
  }
  fclose(f);
  CHECK(found);
}

static unsigned long status_num(const char* key) {
  char v[1024];
  status_value(key, v, sizeof v);
  return strtoul(v, NULL, 10);
}

static void test_vm_lines(void) {
  const unsigned long size0 = status_num("VmSize");
  CHECK(status_num("VmPeak") >= size0);
  void* p = mmap(NULL, 64 << 20, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  CHECK(p != MAP_FAILED);
  const unsigned long size1 = status_num("VmSize");
  CHECK(size1 >= size0 + 65536);
  CHECK(munmap(p, 64 << 20) == 0);
  CHECK(status_num("VmPeak") >= size1 && status_num("VmSize") + 65536 <= size1);
  printf("ok VmPeak keeps a 64 MiB mapping's peak after munmap, VmSize drops\n");
  CHECK(status_num("VmLck") == 0 && status_num("VmPin") == 0);
  printf("ok VmLck and VmPin are 0 kB without mlock\n");
}

static void on_signal(int sig) { (void)sig; }

// SigQ "queued/limit": SIGUSR1 twice is one entry (a legacy signal coalesces), SIGRTMIN twice
// is two; the limit is RLIMIT_SIGPENDING.
static void test_sigq(void) {
  struct rlimit rl;
  CHECK(getrlimit(RLIMIT_SIGPENDING, &rl) == 0);
  char v[64];
  status_value("SigQ", v, sizeof v);
  unsigned long q0 = 0, limit = 0;
  CHECK(sscanf(v, "%lu/%lu", &q0, &limit) == 2 && limit == rl.rlim_cur);
  signal(SIGUSR1, on_signal);
  signal(SIGRTMIN, on_signal);
  sigset_t set, old;
  sigemptyset(&set);
  sigaddset(&set, SIGUSR1);
  sigaddset(&set, SIGRTMIN);
  CHECK(sigprocmask(SIG_BLOCK, &set, &old) == 0);
  CHECK(raise(SIGUSR1) == 0 && raise(SIGUSR1) == 0);
  CHECK(raise(SIGRTMIN) == 0 && raise(SIGRTMIN) == 0);
  CHECK(status_num("SigQ") == q0 + 3);
  CHECK(sigprocmask(SIG_SETMASK, &old, NULL) == 0);  // delivered: the queue empties
  CHECK(status_num("SigQ") == q0);
  printf("ok SigQ counts queued signals (3) against RLIMIT_SIGPENDING\n");
}

static void test_cpus_mems(void) {
  cpu_set_t set;
  CHECK(sched_getaffinity(0, sizeof set, &set) == 0);
  char mask[512], list[64];
  status_value("Cpus_allowed", mask, sizeof mask);
  status_value("Cpus_allowed_list", list, sizeof list);
  int bits = 0;
  for (const char* c = mask; *c; ++c)
    if (*c != ',') bits += __builtin_popcount((unsigned)strtoul((char[]){*c, 0}, NULL, 16));
  CHECK(bits == CPU_COUNT(&set));
  char want[64];
  snprintf(want, sizeof want, bits == 1 ? "0" : "0-%d", bits - 1);
  CHECK(strcmp(list, want) == 0);
  printf("ok Cpus_allowed and Cpus_allowed_list name the CPUs of sched_getaffinity\n");
  status_value("Mems_allowed", mask, sizeof mask);
  status_value("Mems_allowed_list", list, sizeof list);
  CHECK(mask[strlen(mask) - 1] == '1' && strcmp(list, "0") == 0);
  printf("ok Mems_allowed is node 0\n");
}

static void test_voluntary(void) {
  const unsigned long v0 = status_num("voluntary_ctxt_switches");
  struct timespec ts = {0, 1000000};
  CHECK(nanosleep(&ts, NULL) == 0);
  CHECK(status_num("voluntary_ctxt_switches") >= v0 + 1);
  (void)status_num("nonvoluntary_ctxt_switches");
  printf("ok a sleep is a voluntary context switch\n");
}

static volatile int stop_spinning;

static void* spin(void* unused) {
  (void)unused;
  while (!stop_spinning) {
  }
  return NULL;
}

static void test_yield(void) {
  pthread_t t;
  CHECK(pthread_create(&t, NULL, spin, NULL) == 0);
  const unsigned long n0 = status_num("nonvoluntary_ctxt_switches");
  for (int i = 0; i < 5; ++i) sched_yield();
  const unsigned long n1 = status_num("nonvoluntary_ctxt_switches");
  stop_spinning = 1;
  CHECK(pthread_join(t, NULL) == 0);
  CHECK(n1 >= n0 + 5);
  printf("ok sched_yield to a runnable thread is an involuntary context switch\n");
}

int main(int argc, char** argv) {
  if (argc > 1 && strcmp(argv[1], "yield") == 0) {
    test_yield();
  } else {
    test_vm_lines();
    test_sigq();
    test_cpus_mems();
    test_voluntary();
  }
  printf("EXIT-SUCCESS\n");
  return 0;
}
