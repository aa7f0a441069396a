// creds: the user and group ids of a process that starts as root, changed with setuid,
// setgid, setre*id, setres*id, setfs*id and setgroups (kernel/sys.c's rules: root may set any
// id; without CAP_SETUID only the real, effective or saved ids are allowed), as getres*id,
// getgroups and /proc/self/status (Uid:, Gid:, Groups:) show them, inherited by fork. On
// x86-64 also what execve makes of them (saved = effective; AT_SECURE when effective != real):
// the aarch64 reference runs under qemu-user without binfmt, where a nested execve cannot work.
// Raw syscall()s for the set calls: the kernel's rules are compared, not libc's.
#define _GNU_SOURCE
#include <grp.h>
#include <sys/auxv.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include "guest_util.h"

static void show_ids(const char* what) {
  uid_t ru, eu, su;
  gid_t rg, eg, sg;
  CHECK(getresuid(&ru, &eu, &su) == 0);
  CHECK(getresgid(&rg, &eg, &sg) == 0);
  CHECK(getuid() == ru && geteuid() == eu && getgid() == rg && getegid() == eg);
  printf("%s: uid %u %u %u gid %u %u %u\n", what, ru, eu, su, rg, eg, sg);
}

// The Uid:, Gid: and Groups: lines of /proc/self/status (they carry the fs ids too).
static void show_status(const char* what) {
  FILE* f = fopen("/proc/self/status", "r");
  CHECK(f != NULL);
  char line[512];
  while (fgets(line, sizeof line, f)) {
    if (strncmp(line, "Uid:", 4) == 0 || strncmp(line, "Gid:", 4) == 0 ||
        strncmp(line, "Groups:", 7) == 0) {
      printf("%s: %s", what, line);
    }
  }
  fclose(f);
}

static void show_groups(const char* what) {
  gid_t list[8];
  int n = getgroups(8, list);
  CHECK(n >= 0);
  printf("%s: %d groups:", what, n);
  for (int i = 0; i < n; i++) printf(" %u", list[i]);
  printf("\n");
}

#define SYS_OK(expr) CHECK(syscall expr == 0)

static void groups_and_gids(void) {
  SYS_OK((SYS_setgroups, 0, NULL));
  show_groups("setgroups 0");
  gid_t three[3] = {9, 3, 5};
  SYS_OK((SYS_setgroups, 3, three));
  show_groups("setgroups 9 3 5");
  CHECK_ERRNO("getgroups into 2 slots", getgroups(2, three), EINVAL);
  gid_t bad[1] = {(gid_t)-1};
  CHECK_ERRNO("setgroups with gid -1", syscall(SYS_setgroups, 1, bad), EINVAL);
  SYS_OK((SYS_setresgid, 10, 11, 12));
  show_ids("setresgid 10 11 12");
  SYS_OK((SYS_setgid, 20));
  show_ids("setgid 20 as root");
  SYS_OK((SYS_setregid, -1, 30));
  show_ids("setregid -1 30");
  printf("setfsgid 40 returns %ld\n", syscall(SYS_setfsgid, 40));
  printf("setfsgid -1 returns %ld\n", syscall(SYS_setfsgid, -1));
  show_status("after setfsgid 40");
  CHECK_ERRNO("setgid -1", syscall(SYS_setgid, -1), EINVAL);
}

static void drop_and_regain(void) {
  SYS_OK((SYS_setresuid, 100, 200, 0));
  show_ids("setresuid 100 200 0");
  show_status("setresuid 100 200 0");
  CHECK_ERRNO("setuid 300 without CAP_SETUID", syscall(SYS_setuid, 300), EPERM);
  CHECK_ERRNO("setgid 5 without CAP_SETGID", syscall(SYS_setgid, 5), EPERM);
  CHECK_ERRNO("setgroups without CAP_SETGID", syscall(SYS_setgroups, 0, NULL), EPERM);
  CHECK_ERRNO("setresuid 7 -1 -1 without CAP_SETUID", syscall(SYS_setresuid, 7, -1, -1), EPERM);
  CHECK_ERRNO("setreuid -1 300 without CAP_SETUID", syscall(SYS_setreuid, -1, 300), EPERM);
  printf("setfsuid 999 returns %ld\n", syscall(SYS_setfsuid, 999));  // refused: no change
  printf("setfsuid 100 returns %ld\n", syscall(SYS_setfsuid, 100));  // the real uid: allowed
  show_status("setfsuid 100");
  SYS_OK((SYS_setreuid, -1, 100));  // effective = real: the saved uid stays
  show_ids("setreuid -1 100");
  SYS_OK((SYS_setuid, 0));  // the saved uid is 0: euid 0 again
  show_ids("setuid 0 with saved 0");
  SYS_OK((SYS_setreuid, 300, -1));  // root sets any real uid; the saved one follows euid
  show_ids("setreuid 300 -1 as root");
  SYS_OK((SYS_setuid, 1000));  // root: all four become 1000
  show_ids("setuid 1000 as root");
  show_status("setuid 1000 as root");
  CHECK_ERRNO("setuid 0 after dropping root", syscall(SYS_setuid, 0), EPERM);
  SYS_OK((SYS_setresuid, -1, -1, -1));
  SYS_OK((SYS_setuid, 1000));
}

static void after_fork(void) {
  pid_t pid = fork();
  CHECK(pid >= 0);
  if (pid == 0) {
    show_ids("child");
    _exit(0);
  }
  int status;
  CHECK(waitpid(pid, &status, 0) == pid && WIFEXITED(status) && WEXITSTATUS(status) == 0);
}

static void exec_self(const char* self) {
#if defined(__x86_64__)
  SYS_OK((SYS_setresuid, 0, 0, 0));
  SYS_OK((SYS_setresuid, 0, 2000, 3000));  // euid 2000 != uid: a secure exec
  pid_t pid = fork();
  CHECK(pid >= 0);
  if (pid == 0) {
    char* args[] = {(char*)self, "exec-child", NULL};
    execv(self, args);
    _exit(99);
  }
  int status;
  CHECK(waitpid(pid, &status, 0) == pid && WIFEXITED(status) && WEXITSTATUS(status) == 0);
  SYS_OK((SYS_setresuid, 0, 0, 0));  // allowed: 0 is the real uid
  show_ids("back to root");
#else
  (void)self;
#endif
}

int main(int argc, char** argv) {
  if (argc > 1 && strcmp(argv[1], "exec-child") == 0) {
    show_ids("after execve");
    printf("AT_SECURE %lu AT_UID %lu AT_EUID %lu\n", getauxval(AT_SECURE), getauxval(AT_UID),
           getauxval(AT_EUID));
    return 0;
  }
  setvbuf(stdout, NULL, _IONBF, 0);  // children print in order, nothing is flushed twice
  CHECK(getuid() == 0 && geteuid() == 0);  // the test starts as root
  show_ids("start");
  CHECK_ERRNO("setuid -1", syscall(SYS_setuid, -1), EINVAL);
  groups_and_gids();
  exec_self(argv[0]);
  drop_and_regain();
  after_fork();
  exit_success_line();
  return 0;
}
