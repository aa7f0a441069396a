// The syscall table: one row per Linux syscall probesim knows.
//
//   PROBESIM_SYSCALL(name, x86_64_nr, arm64_nr, args, ret)
//     implemented by `int64_t sys_<name>(SyscallContext&, const SyscallArgs&)`
//   PROBESIM_SYSCALL_NOSYS(name, x86_64_nr, arm64_nr, args)
//     not implemented (returns -ENOSYS, counted), with a strace format for its arguments.
// Every other syscall Linux has is named too (syscall_names.cc: strace prints its arguments in
// hex); a row's name must be Linux's name for both numbers (a unit test checks it).
//
// A number of -1 means the syscall does not exist on that arch (arm64 uses the asm-generic
// table: no open/stat/access/dup2/readlink/time/arch_prctl...). Numbers are from
// arch/x86/entry/syscalls/syscall_64.tbl and include/uapi/asm-generic/unistd.h.
//
// `args` is the strace format, one character per argument:
//   d int  l long  u unsigned  x hex  p pointer  s path string
//   b buffer the guest filled, of the next argument's size (write); B buffer the kernel
//   filled, of the return value's size (read), both shown as strings (strace -s)
//   D dirfd (AT_FDCWD)  F open flags  o octal mode  P mmap prot  M mmap flags  S signal
// clone is printed by its own decoder (strace.cc kCustomFormats).
// `ret` is how strace prints a successful result: 'd' decimal, 'x' hex.
// Numbers Linux does not have also return -ENOSYS and are counted as "syscall_<nr>".

// clang-format off
#define PROBESIM_SYSCALLS(X, XN) \
  /* files and directories (emu/syscalls/sys_fs.cc) */ \
  X(read,            0,  63, "dBu",   'd') \
  X(write,           1,  64, "dbu",   'd') \
  X(open,            2,  -1, "sFo",   'd') \
  X(creat,          85,  -1, "so",    'd') \
  X(close,           3,  57, "d",     'd') \
  X(stat,            4,  -1, "sp",    'd') \
  X(fstat,           5,  80, "dp",    'd') \
  X(lstat,           6,  -1, "sp",    'd') \
  X(lseek,           8,  62, "dld",   'd') \
  X(pread64,        17,  67, "dBul",  'd') \
  X(pwrite64,       18,  68, "dbul",  'd') \
  X(readv,          19,  65, "dpd",   'd') \
  X(writev,         20,  66, "dpd",   'd') \
  X(access,         21,  -1, "so",    'd') \
  X(dup,            32,  23, "d",     'd') \
  X(dup2,           33,  -1, "dd",    'd') \
  X(fcntl,          72,  25, "ddx",   'd') \
  X(ftruncate,      77,  46, "dl",    'd') \
  X(getcwd,         79,  17, "su",    'd') \
  X(chdir,          80,  49, "s",     'd') \
  X(fchdir,         81,  50, "d",     'd') \
  X(mkdir,          83,  -1, "so",    'd') \
  X(unlink,         87,  -1, "s",     'd') \
  X(readlink,       89,  -1, "sBu",   'd') \
  X(umask,          95, 166, "o",     'd') \
  X(getdents64,    217,  61, "dpu",   'd') \
  X(openat,        257,  56, "DsFo",  'd') \
  X(mkdirat,       258,  34, "Dso",   'd') \
  X(newfstatat,    262,  79, "Dspx",  'd') \
  X(unlinkat,      263,  35, "Dsx",   'd') \
  X(renameat,      264,  38, "DsDs",  'd') \
  X(readlinkat,    267,  78, "DsBu",  'd') \
  X(faccessat,     269,  48, "Dso",   'd') \
  X(faccessat2,    439, 439, "Dsox",  'd') \
  X(dup3,          292,  24, "ddx",   'd') \
  X(statx,         332, 291, "Dsxxp", 'd') \
  X(ioctl,          16,  29, "dxp",   'd') \
  X(rename,         82,  -1, "ss",    'd') \
  X(link,           86,  -1, "ss",    'd') \
  X(linkat,        265,  37, "DsDsx", 'd') \
  X(rmdir,          84,  -1, "s",     'd') \
  X(fsync,          74,  82, "d",     'd') \
  X(fdatasync,      75,  83, "d",     'd') \
  X(utimensat,     280,  88, "Dspx",  'd') \
  X(fchmod,         91,  52, "do",    'd') \
  X(fchmodat,      268,  53, "Dso",   'd') \
  X(chmod,          90,  -1, "so",    'd') \
  X(symlink,        88,  -1, "ss",    'd') \
  X(symlinkat,     266,  36, "sDs",   'd') \
  X(chown,          92,  -1, "sdd",   'd') \
  X(lchown,         94,  -1, "sdd",   'd') \
  X(fchown,         93,  55, "ddd",   'd') \
  X(fchownat,      260,  54, "Dsddx", 'd') \
  X(statfs,        137,  43, "sp",    'd') \
  X(fstatfs,       138,  44, "dp",    'd') \
  X(sendfile,       40,  71, "ddpu",  'd') \
  X(flock,          73,  32, "dx",    'd') /* sys_lock.cc */ \
  X(memfd_create,  319, 279, "sx",    'd') /* sys_memfd.cc */ \
  /* System V IPC (emu/syscalls/sys_ipc_*.cc, emu/ipc/) */ \
  X(msgget,         68, 186, "xo",    'd') \
  X(msgsnd,         69, 189, "dpux",  'd') \
  X(msgrcv,         70, 188, "dpulx", 'd') \
  X(msgctl,         71, 187, "ddp",   'd') \
  X(semget,         64, 190, "xdo",   'd') \
  X(semop,          65, 193, "dpu",   'd') \
  X(semtimedop,    220, 192, "dpup",  'd') \
  X(semctl,         66, 191, "dddx",  'd') \
  X(shmget,         29, 194, "xux",   'd') \
  X(shmat,          30, 196, "dpx",   'x') \
  X(shmdt,          67, 197, "p",     'd') \
  X(shmctl,         31, 195, "ddp",   'd') \
  /* extended attributes, read side (emu/syscalls/sys_xattr.cc) */ \
  X(getxattr,      191,   8, "ssBu",  'd') \
  X(lgetxattr,     192,   9, "ssBu",  'd') \
  X(fgetxattr,     193,  10, "dsBu",  'd') \
  X(listxattr,     194,  11, "sBu",   'd') \
  X(llistxattr,    195,  12, "sBu",   'd') \
  X(flistxattr,    196,  13, "dBu",   'd') \
  /* memory (emu/syscalls/sys_mm.cc) */ \
  X(mmap,            9, 222, "puPMdx", 'x') \
  X(mprotect,       10, 226, "puP",   'd') \
  X(munmap,         11, 215, "pu",    'd') \
  X(brk,            12, 214, "p",     'x') \
  X(madvise,        28, 233, "pxd",   'd') \
  X(msync,          26, 227, "pux",   'd') \
  X(mincore,        27, 232, "pup",   'd') \
  X(fadvise64,     221, 223, "dlld",  'd') \
  X(membarrier,    324, 283, "dxd",   'd') \
  /* process, identity, limits (emu/syscalls/sys_process.cc) */ \
  X(exit,           60,  93, "d",     'd') \
  X(exit_group,    231,  94, "d",     'd') \
  X(getpid,         39, 172, "",      'd') \
  X(gettid,        186, 178, "",      'd') \
  X(getppid,       110, 173, "",      'd') \
  X(getpgrp,       111,  -1, "",      'd') \
  X(getpgid,       121, 155, "d",     'd') \
  X(setpgid,       109, 154, "dd",    'd') \
  X(getsid,        124, 156, "d",     'd') \
  X(setsid,        112, 157, "",      'd') \
  X(set_tid_address, 218, 96, "p",    'd') \
  X(set_robust_list, 273, 99, "pu",   'd') \
  X(get_robust_list, 274, 100, "dpp", 'd') \
  X(rseq,          334, 293, "pxdx",  'd') \
  X(prlimit64,     302, 261, "ddpp",  'd') \
  X(getrlimit,      97, 163, "dp",    'd') \
  X(setrlimit,     160, 164, "dp",    'd') \
  X(getrusage,      98, 165, "dp",    'd') \
  X(uname,          63, 160, "p",     'd') \
  X(arch_prctl,    158,  -1, "xp",    'd') \
  X(prctl,         157, 167, "dxxxx", 'd') \
  X(rt_sigaction,   13, 134, "Sppu",  'd') \
  X(rt_sigprocmask, 14, 135, "dppu",  'd') \
  X(sigaltstack,   131, 132, "pp",    'd') \
  X(sched_getaffinity, 204, 123, "dup", 'd') \
  X(sched_yield,    24, 124, "",      'd') \
  X(getpriority,   140, 141, "dd",    'd') \
  X(setpriority,   141, 140, "ddd",   'd') \
  X(getcpu,        309, 168, "ppp",   'd') \
  X(sysinfo,        99, 179, "p",     'd') \
  /* user and group ids (emu/syscalls/sys_cred.cc) */ \
  X(getuid,        102, 174, "",      'd') \
  X(geteuid,       107, 175, "",      'd') \
  X(getgid,        104, 176, "",      'd') \
  X(getegid,       108, 177, "",      'd') \
  X(getresuid,     118, 148, "ppp",   'd') \
  X(getresgid,     120, 150, "ppp",   'd') \
  X(setuid,        105, 146, "d",     'd') \
  X(setgid,        106, 144, "d",     'd') \
  X(setreuid,      113, 145, "dd",    'd') \
  X(setregid,      114, 143, "dd",    'd') \
  X(setresuid,     117, 147, "ddd",   'd') \
  X(setresgid,     119, 149, "ddd",   'd') \
  X(setfsuid,      122, 151, "d",     'd') \
  X(setfsgid,      123, 152, "d",     'd') \
  X(getgroups,     115, 158, "dp",    'd') \
  X(setgroups,     116, 159, "dp",    'd') \
  /* threads and futexes (emu/syscalls/sys_thread.cc) */ \
  X(clone,          56, 220, "xppxp", 'd') \
  X(clone3,        435, 435, "pu",    'd') \
  X(futex,         202,  98, "pdupd", 'd') \
  /* processes: fork, exec, wait, pipes (emu/syscalls/sys_fork.cc) */ \
  X(fork,           57,  -1, "",      'd') \
  X(vfork,          58,  -1, "",      'd') \
  X(execve,         59, 221, "spp",   'd') \
  X(wait4,          61, 260, "dpdp",  'd') \
  X(waitid,        247,  95, "ddpdp", 'd') \
  X(pipe,           22,  -1, "p",     'd') \
  X(pipe2,         293,  59, "px",    'd') \
  /* signals (emu/syscalls/sys_signal.cc) */ \
  X(kill,           62, 129, "dS",    'd') \
  X(tgkill,        234, 131, "ddS",   'd') \
  X(tkill,         200, 130, "dS",    'd') \
  X(rt_sigreturn,   15, 139, "",      'd') \
  X(pause,          34,  -1, "",      'd') \
  X(rt_sigsuspend, 130, 133, "pu",    'd') \
  X(rt_sigpending, 127, 136, "pu",    'd') \
  X(rt_sigtimedwait, 128, 137, "pppu", 'd') \
  X(rt_sigqueueinfo, 129, 138, "dSp",  'd') \
  X(rt_tgsigqueueinfo, 297, 240, "ddSp", 'd') \
  /* waiting for fds (emu/syscalls/sys_poll.cc) */ \
  X(poll,            7,  -1, "pud",   'd') \
  X(ppoll,         271,  73, "puppu", 'd') \
  X(select,         23,  -1, "dpppp", 'd') \
  X(pselect6,      270,  72, "dppppp", 'd') \
  /* epoll and eventfd (emu/syscalls/sys_epoll.cc) */ \
  X(epoll_create,  213,  -1, "d",     'd') \
  X(epoll_create1, 291,  20, "x",     'd') \
  X(epoll_ctl,     233,  21, "dddp",  'd') \
  X(epoll_wait,    232,  -1, "dpdd",  'd') \
  X(epoll_pwait,   281,  22, "dpddpu", 'd') \
  X(epoll_pwait2,  441, 441, "dpdppu", 'd') \
  X(eventfd,       284,  -1, "u",     'd') \
  X(eventfd2,      290,  19, "ux",    'd') \
  /* sockets (emu/syscalls/sys_socket*.cc) */ \
  X(socket,         41, 198, "ddd",   'd') \
  X(socketpair,     53, 199, "dddp",  'd') \
  X(bind,           49, 200, "dpu",   'd') \
  X(listen,         50, 201, "dd",    'd') \
  X(accept,         43, 202, "dpp",   'd') \
  X(accept4,       288, 242, "dppx",  'd') \
  X(connect,        42, 203, "dpu",   'd') \
  X(getsockname,    51, 204, "dpp",   'd') \
  X(getpeername,    52, 205, "dpp",   'd') \
  X(sendto,         44, 206, "dbuxpu", 'd') \
  X(recvfrom,       45, 207, "dBuxpp", 'd') \
  X(setsockopt,     54, 208, "dddpu", 'd') \
  X(getsockopt,     55, 209, "dddpp", 'd') \
  X(shutdown,       48, 210, "dd",    'd') \
  X(sendmsg,        46, 211, "dpx",   'd') \
  X(recvmsg,        47, 212, "dpx",   'd') \
  /* time and randomness (emu/syscalls/sys_time.cc) */ \
  X(clock_gettime, 228, 113, "dp",    'd') \
  X(clock_getres,  229, 114, "dp",    'd') \
  X(gettimeofday,   96, 169, "pp",    'd') \
  X(time,          201,  -1, "p",     'd') \
  X(nanosleep,      35, 101, "pp",    'd') \
  X(clock_nanosleep, 230, 115, "dxpp", 'd') \
  X(times,         100, 153, "p",     'd') \
  X(getrandom,     318, 278, "Bux",   'd') \
  /* interval and POSIX timers (emu/syscalls/sys_timer.cc) */ \
  X(alarm,          37,  -1, "u",     'd') \
  X(setitimer,      38, 103, "dpp",   'd') \
  X(getitimer,      36, 102, "dp",    'd') \
  X(timer_create,  222, 107, "dpp",   'd') \
  X(timer_settime, 223, 110, "dxpp",  'd') \
  X(timer_gettime, 224, 108, "dp",    'd') \
  X(timer_getoverrun, 225, 109, "d",  'd') \
  X(timer_delete,  226, 111, "d",     'd') \
  /* known, not implemented yet: -ENOSYS, counted */ \
  XN(mremap,        25, 216, "pxxxp") \
  XN(inotify_init1, 294, 26, "x") \
  XN(io_uring_setup, 425, 425, "up")
// clang-format on
