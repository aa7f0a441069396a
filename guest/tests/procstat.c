// procstat: /proc/self/stat's deterministic fields (do_task_stat) agree with what the process
// knows of itself: state, ppid, pgrp, session, num_threads, exit_signal, priority, nice,
// rsslim, the argv and environment bounds; a thread's /proc/self/task/<tid>/stat has its own
// id and exit_signal -1; statm's size is stat's vsize; /proc/stat, /proc/uptime and
// /sys/devices/system/cpu/online parse as Linux's. Prints only "ok" lines.
#define _GNU_SOURCE
#include <dirent.h>
#include <pthread.h>
#include <sched.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include "guest_util.h"

extern char** environ;

enum { kFields = 52 };

// The fields of a stat file, 1-based as proc(5) numbers them; field 2 without its parens.
static int read_stat(const char* path, char f[kFields + 1][64]) {
  FILE* in = fopen(path, "r");
  CHECK(in != NULL);
  char line[2048];
  CHECK(fgets(line, sizeof line, in) != NULL);
  fclose(in);
  char* open = strchr(line, '(');
  char* close = strrchr(line, ')');
  CHECK(open != NULL && close != NULL && close[1] == ' ');
  CHECK(sscanf(line, "%63s", f[1]) == 1);
  snprintf(f[2], 64, "%.*s", (int)(close - open - 1), open + 1);
  int n = 2;
  for (char* tok = strtok(close + 2, " \n"); tok != NULL; tok = strtok(NULL, " \n"))
    if (++n <= kFields) snprintf(f[n], 64, "%s", tok);
  return n;
}

static long num(const char* s) { return strtol(s, NULL, 10); }
static unsigned long unum(const char* s) { return strtoul(s, NULL, 10); }

static void test_self_stat(char** argv) {
  static char f[kFields + 1][64];
  CHECK(read_stat("/proc/self/stat", f) == kFields);
  printf("ok /proc/self/stat has %d fields\n", kFields);
  CHECK(num(f[1]) == getpid() && strcmp(f[3], "R") == 0);
  CHECK(num(f[4]) == getppid() && num(f[5]) == getpgrp() && num(f[6]) == getsid(0));
  printf("ok pid, state R, ppid, pgrp and session are the process's own\n");
  CHECK(num(f[18]) == 20 && num(f[19]) == 0 && num(f[20]) == 1 && num(f[21]) == 0);
  printf("ok priority 20, nice 0, one thread, itrealvalue 0\n");
  struct rlimit rl;
  CHECK(getrlimit(RLIMIT_RSS, &rl) == 0 && unum(f[25]) == (unsigned long)rl.rlim_cur);
  CHECK(num(f[38]) == 17 && num(f[52]) == 0);
  printf("ok rsslim is RLIMIT_RSS, exit_signal SIGCHLD, exit_code 0\n");
  CHECK(environ[0] != NULL);  // compare.py runs it with an environment
  CHECK(unum(f[48]) == (unsigned long)argv[0] && unum(f[50]) == (unsigned long)environ[0]);
  CHECK(unum(f[49]) > unum(f[48]) && unum(f[51]) > unum(f[50]));
  CHECK(unum(f[26]) < unum(f[27]) && unum(f[45]) < unum(f[46]) && unum(f[46]) <= unum(f[47]));
  CHECK(unum(f[28]) > 0 && unum(f[28]) < unum(f[48]));  // startstack: argc, below the strings
  printf("ok arg_start is argv[0], env_start environ[0]; code, data and stack are ordered\n");
  CHECK(unum(f[23]) > 0);
  FILE* statm = fopen("/proc/self/statm", "r");
  unsigned long size = 0;
  CHECK(statm != NULL && fscanf(statm, "%lu", &size) == 1);
  fclose(statm);
  CHECK(size > 0);
  printf("ok vsize and statm's size are positive\n");
}

static pid_t thread_tid;
static volatile int thread_stop;

static void* thread_main(void* unused) {
  (void)unused;
  thread_tid = (pid_t)syscall(SYS_gettid);
  while (!thread_stop) sched_yield();
  return NULL;
}

static void test_thread_stat(void) {
  pthread_t t;
  CHECK(pthread_create(&t, NULL, thread_main, NULL) == 0);
  while (__atomic_load_n(&thread_tid, __ATOMIC_SEQ_CST) == 0) sched_yield();
  static char f[kFields + 1][64];
  CHECK(read_stat("/proc/self/stat", f) == kFields && num(f[20]) == 2);
  printf("ok two threads in the group's stat\n");
  char path[64];
  snprintf(path, sizeof path, "/proc/self/task/%d/stat", (int)thread_tid);
  CHECK(read_stat(path, f) == kFields);
  CHECK(num(f[1]) == thread_tid && num(f[4]) == getppid() && num(f[5]) == getpgrp());
  CHECK(num(f[20]) == 2 && num(f[38]) == -1);
  printf("ok a thread's stat has its tid, its group's ids and exit_signal -1\n");
  DIR* d = opendir("/proc/self/task");
  CHECK(d != NULL);
  int tasks = 0;
  for (struct dirent* e; (e = readdir(d)) != NULL;) tasks += e->d_name[0] != '.';
  closedir(d);
  CHECK(tasks == 2);
  printf("ok /proc/self/task lists both threads\n");
  thread_stop = 1;
  CHECK(pthread_join(t, NULL) == 0);
}

static void test_machine_files(void) {
  FILE* in = fopen("/proc/stat", "r");
  CHECK(in != NULL);
  char line[4096];
  unsigned long long cpu[10], btime = 0, procs = 0;
  CHECK(fgets(line, sizeof line, in) != NULL);
  CHECK(sscanf(line, "cpu  %llu %llu %llu %llu %llu %llu %llu %llu %llu %llu", &cpu[0], &cpu[1],
               &cpu[2], &cpu[3], &cpu[4], &cpu[5], &cpu[6], &cpu[7], &cpu[8], &cpu[9]) == 10);
  while (fgets(line, sizeof line, in) != NULL) {
    sscanf(line, "btime %llu", &btime);
    sscanf(line, "processes %llu", &procs);
  }
  fclose(in);
  CHECK(btime > 0 && btime <= (unsigned long long)time(NULL) && procs >= 1);
  printf("ok /proc/stat has the cpu line, btime before now and processes\n");
  in = fopen("/proc/uptime", "r");
  double up = 0, idle = 0;
  CHECK(in != NULL && fscanf(in, "%lf %lf", &up, &idle) == 2);
  fclose(in);
  struct timespec ts;
  CHECK(clock_gettime(CLOCK_BOOTTIME, &ts) == 0 && up <= ts.tv_sec + 1);
  printf("ok /proc/uptime is at most CLOCK_BOOTTIME\n");
  in = fopen("/sys/devices/system/cpu/online", "r");
  int first = -1, last = -1;
  CHECK(in != NULL && fscanf(in, "%d-%d", &first, &last) >= 1 && first == 0);
  fclose(in);
  cpu_set_t set;
  CHECK(sched_getaffinity(0, sizeof set, &set) == 0);
  CHECK((last < 0 ? 1 : last + 1) >= CPU_COUNT(&set));
  printf("ok /sys/devices/system/cpu/online covers the CPUs of sched_getaffinity\n");
}

int main(int argc, char** argv) {
  (void)argc;
  test_self_stat(argv);
  test_thread_stat();
  test_machine_files();
  printf("EXIT-SUCCESS\n");
  return 0;
}
