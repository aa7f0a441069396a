// priority: nice values (getpriority/setpriority, nice(3)) as Linux keeps them, per thread:
//   - 0 at start; setpriority and nice() raise it; values beyond 19 clamp to 19
//   - a new thread and a fork child inherit it; a thread's own value is its own
//   - PRIO_PGRP of the caller's own process group; /proc/self/stat's priority and nice fields
//   - errors: an unknown pid (ESRCH), an unknown `which` (EINVAL)
// Only raises the nice value (lowering needs CAP_SYS_NICE, so native runs would depend on
// the user running them).
#define _GNU_SOURCE
#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include "guest_util.h"

static int prio(int which, int who) {
  errno = 0;
  int v = getpriority(which, who);
  CHECK(errno == 0);
  return v;
}

// Prints a value and CHECKs it is what Linux gives (so runs without a reference check too).
static void show(const char* what, int got, int want) {
  printf("%s: %d\n", what, got);
  CHECK(got == want);
}

static int self_tid(void) { return (int)syscall(SYS_gettid); }

static void* thread_main(void* arg) {
  (void)arg;
  show("thread inherits", prio(PRIO_PROCESS, 0), 8);
  CHECK(setpriority(PRIO_PROCESS, 0, 12) == 0);
  show("thread's own after setting 12", prio(PRIO_PROCESS, self_tid()), 12);
  return NULL;
}

// Fields 18 (priority) and 19 (nice) of /proc/self/stat.
static void print_stat_fields(void) {
  FILE* f = fopen("/proc/self/stat", "r");
  CHECK(f != NULL);
  char buf[1024];
  CHECK(fgets(buf, sizeof buf, f) != NULL);
  fclose(f);
  char* p = strrchr(buf, ')');  // fields after comm, from field 3
  CHECK(p != NULL);
  long fields[20] = {0};
  p += 2;
  for (int i = 3; i <= 19; ++i) {
    if (i == 3) {
      p = strchr(p, ' ') + 1;  // state
      continue;
    }
    fields[i] = strtol(p, &p, 10);
  }
  printf("/proc/self/stat priority %ld nice %ld\n", fields[18], fields[19]);
  CHECK(fields[18] == 28 && fields[19] == 8);
}

int main(void) {
  CHECK(setpgid(0, 0) == 0);  // a group of its own, for PRIO_PGRP
  show("at start", prio(PRIO_PROCESS, 0), 0);
  CHECK(setpriority(PRIO_PROCESS, 0, 5) == 0);
  show("after setpriority 5", prio(PRIO_PROCESS, 0), 5);
  errno = 0;
  show("nice(3) returns", nice(3), 8);
  CHECK(errno == 0);
  show("by pid", prio(PRIO_PROCESS, getpid()), 8);
  pthread_t t;
  CHECK(pthread_create(&t, NULL, thread_main, NULL) == 0);
  CHECK(pthread_join(t, NULL) == 0);
  show("main unchanged by the thread", prio(PRIO_PROCESS, 0), 8);
  print_stat_fields();
  fflush(stdout);
  pid_t pid = fork();
  CHECK(pid >= 0);
  if (pid == 0) {
    show("fork child inherits", prio(PRIO_PROCESS, 0), 8);
    fflush(stdout);
    _exit(0);
  }
  int status;
  CHECK(waitpid(pid, &status, 0) == pid && WIFEXITED(status));
  show("PRIO_PGRP of its group (the highest priority)", prio(PRIO_PGRP, 0), 8);
  CHECK(setpriority(PRIO_PGRP, 0, 15) == 0);
  show("after PRIO_PGRP 15", prio(PRIO_PROCESS, 0), 15);
  CHECK(setpriority(PRIO_PROCESS, 0, 100) == 0);
  show("setting 100 clamps to", prio(PRIO_PROCESS, 0), 19);
  CHECK_ERRNO("setpriority(no such pid)", setpriority(PRIO_PROCESS, 999999, 19), ESRCH);
  errno = 0;
  CHECK(getpriority(7, 0) == -1);
  printf("getpriority(7): %s\n", errno_name(errno));
  exit_success_line();
  return 0;
}
