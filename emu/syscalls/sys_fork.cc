// Processes: fork/vfork (through clone_process), execve, wait4, and pipes.
// Blocking here uses WaitQueues: the task restarts its syscall when woken (pipe readers and
// writers, wait4), except vfork whose parent is woken with the child's pid.
#include <cerrno>
#include <cstring>

#include "emu/machine_state.h"
#include "emu/syscalls/syscall_handlers.h"
#include "emu/vfs/pipe_file.h"
#include "emu/vfs/vfs_abi.h"

namespace probesim::emu {
namespace {

constexpr uint64_t kSigchld = 17;
constexpr uint64_t kCloneVm = 0x100, kCloneVfork = 0x4000;
constexpr int kWnohang = 1;
constexpr size_t kMaxArgStrings = 0x7fffffff / 8;  // MAX_ARG_STRINGS
constexpr size_t kArgMax = 2 << 20;                // the strings' total: 2 MiB (~ARG_MAX)

// A NULL-terminated array of string pointers (argv/envp) from guest memory.
Result<std::vector<std::string>> read_string_array(SyscallContext& ctx, uint64_t addr) {
  std::vector<std::string> out;
  if (addr == 0) return out;  // Linux accepts NULL as an empty array
  size_t total = 0;
  for (size_t i = 0; i < kMaxArgStrings; ++i) {
    uint64_t p;
    if (!ctx.read_user(GuestAddr{addr + i * 8}, &p, 8)) return Error::make("", EFAULT);
    if (p == 0) return out;
    std::string s = PROBESIM_TRY(ctx.mm().strncpy_from_user(GuestAddr{p}, kArgMax));
    total += s.size() + 1;
    if (total > kArgMax) return Error::make("", E2BIG);
    out.push_back(std::move(s));
  }
  return Error::make("", E2BIG);
}

bool child_matches(const Process& child, int self_pgid, int64_t pid) {
  if (pid > 0) return child.pid() == pid;
  if (pid == 0) return child.pgid == self_pgid;
  if (pid < -1) return child.pgid == -pid;
  return true;  // -1: any child
}

}  // namespace

int64_t sys_fork(SyscallContext& ctx, const SyscallArgs&) {
  return clone_process(ctx, kSigchld, 0, 0, 0, 0);
}

int64_t sys_vfork(SyscallContext& ctx, const SyscallArgs&) {
  return clone_process(ctx, kCloneVm | kCloneVfork | kSigchld, 0, 0, 0, 0);
}

int64_t sys_execve(SyscallContext& ctx, const SyscallArgs& a) {
  auto path = ctx.read_path(GuestAddr{a.a[0]});
  if (!path) return -path.error().err;
  auto argv = read_string_array(ctx, a.a[1]);
  if (!argv) return -argv.error().err;
  auto envp = read_string_array(ctx, a.a[2]);
  if (!envp) return -envp.error().err;
  auto r = ctx.machine().prepare_exec(ctx.proc(), path.value(), argv.value(), envp.value());
  if (!r) return -(r.error().err ? r.error().err : ENOEXEC);
  ctx.disposition = SyscallDisposition::NoReturn;  // the run loop swaps in the new image
  return 0;
}

// The wait family's common part: find a matching child with something to report: an exit
// (the zombie is reaped when `consume`), with WUNTRACED/WSTOPPED a group stop, with
// WCONTINUED a continue (each reported once when `consume`). No child: -ECHILD; nothing to
// report: 0 with WNOHANG, else the task blocks until a child changes state.
enum class WaitEvent { Exited, Stopped, Continued };
struct WaitOptions {
  bool nohang, exited, stopped, continued, consume;
};
struct WaitResult {
  int64_t ret;      // child pid, 0 (WNOHANG, nothing yet), -ECHILD, or 0 after blocking
  Process* child;   // the child found, if any
  WaitEvent event = WaitEvent::Exited;
  int sig = 0;      // Stopped: the stop signal
};

WaitResult child_event(SyscallContext& ctx, Process& c, const WaitOptions& o) {
  if (c.exited()) {
    if (!o.exited) return {0, nullptr};
    if (o.consume) {
      c.reaped = true;
      // wait_task_zombie: the parent's cutime/cstime gain the child's and its children's.
      Process& parent = ctx.proc();
      parent.cutime += c.cutime;
      parent.cstime += c.cstime;
      for (const auto& t : c.tasks()) {
        parent.cutime += t->utime;
        parent.cstime += t->stime;
      }
      ctx.machine().release_mm(c);
    }
    return {c.pid(), &c};
  }
  if (o.stopped && c.stop_report) {
    const int sig = c.stop_report;
    if (o.consume) c.stop_report = 0;
    return {c.pid(), &c, WaitEvent::Stopped, sig};
  }
  if (o.continued && c.cont_report) {
    if (o.consume) c.cont_report = false;
    return {c.pid(), &c, WaitEvent::Continued, kSigCont};
  }
  return {0, nullptr};
}

WaitResult find_child(SyscallContext& ctx, int64_t pid, const WaitOptions& o) {
  bool any_child = false;
  for (Process* c : ctx.machine().processes()) {
    if (c->ppid() != ctx.pid() || c->reaped || !child_matches(*c, ctx.proc().pgid, pid)) continue;
    any_child = true;
    if (WaitResult w = child_event(ctx, *c, o); w.child) return w;
  }
  if (!any_child) return {-ECHILD, nullptr};
  if (o.nohang) return {0, nullptr};
  ctx.machine().waitq().add(&ctx.proc(), ctx.task());
  ctx.machine().sched().block(ctx.task(), WaitInfo{WaitInfo::Kind::Queue, 0, 0});
  ctx.disposition = SyscallDisposition::Blocked;  // restarts when a child changes state
  return {0, nullptr};
}

int64_t sys_wait4(SyscallContext& ctx, const SyscallArgs& a) {
  constexpr int kWuntraced = 2, kWcontinued = 8;
  int64_t pid = static_cast<int32_t>(a.a[0]);
  int options = static_cast<int>(a.a[2]);
  if (options & ~(kWnohang | kWuntraced | kWcontinued | 0x40000000 | 0x80000000)) return -EINVAL;
  WaitResult w = find_child(ctx, pid,
                            WaitOptions{(options & kWnohang) != 0, true,
                                        (options & kWuntraced) != 0, (options & kWcontinued) != 0,
                                        true});
  if (!w.child) return w.ret;
  // wait(2) status words: exit as encoded, stopped (sig << 8) | 0x7f, continued 0xffff.
  int32_t status = w.event == WaitEvent::Exited    ? w.child->exit_status()->wait_status()
                   : w.event == WaitEvent::Stopped ? (w.sig << 8) | 0x7f
                                                   : 0xffff;
  if (a.a[1] && !ctx.write_user(GuestAddr{a.a[1]}, &status, sizeof status)) return -EFAULT;
  if (a.a[3]) {
    uint8_t rusage[144] = {};
    if (!ctx.write_user(GuestAddr{a.a[3]}, rusage, sizeof rusage)) return -EFAULT;
  }
  return w.ret;
}

// The siginfo waitid reports for w: CLD_EXITED/KILLED/DUMPED, CLD_STOPPED or CLD_CONTINUED.
void waitid_info(const WaitResult& w, uint8_t (&si)[128]) {
  int32_t code = kCldContinued, status = kSigCont;
  if (w.event == WaitEvent::Exited) {
    const ExitStatus& es = *w.child->exit_status();
    code = !es.signaled ? kCldExited : es.core_dumped ? kCldDumped : kCldKilled;
    status = es.signaled ? es.signo : es.code;
  } else if (w.event == WaitEvent::Stopped) {
    code = kCldStopped;
    status = w.sig;
  }
  const int32_t fields[7] = {kSigchld, 0, code, 0, w.child->pid(), 0, status};
  std::memcpy(si, fields, sizeof fields);  // signo errno code pad | pid uid status
}

// waitid(idtype, id, siginfo, options, rusage): P_ALL/P_PID/P_PGID; at least one of
// WEXITED, WSTOPPED, WCONTINUED.
int64_t sys_waitid(SyscallContext& ctx, const SyscallArgs& a) {
  constexpr int kPAll = 0, kPPid = 1, kPPgid = 2, kWstopped = 2, kWexited = 4, kWcontinued = 8;
  constexpr int kWnowait = 0x1000000;
  int idtype = static_cast<int>(a.a[0]);
  int64_t id = static_cast<int32_t>(a.a[1]);
  int options = static_cast<int>(a.a[3]);
  if (!(options & (kWexited | kWstopped | kWcontinued)) || idtype < kPAll || idtype > kPPgid) {
    return -EINVAL;
  }
  int64_t pid = idtype == kPAll ? -1 : idtype == kPPid ? id : -id;
  if (idtype == kPPgid && id == 0) pid = 0;
  WaitResult w = find_child(
      ctx, pid,
      WaitOptions{(options & kWnohang) != 0, (options & kWexited) != 0,
                  (options & kWstopped) != 0, (options & kWcontinued) != 0,
                  !(options & kWnowait)});
  if (w.ret < 0) return w.ret;
  if (a.a[2]) {
    uint8_t si[128] = {};
    if (w.child) waitid_info(w, si);
    if (!ctx.write_user(GuestAddr{a.a[2]}, si, sizeof si)) return -EFAULT;
  }
  return 0;
}

int64_t sys_pipe2(SyscallContext& ctx, const SyscallArgs& a) {
  uint32_t flags = open_flags_from_guest(ctx.arch(), a.a[1]);
  if (flags & ~(kO_CLOEXEC | kO_NONBLOCK | kO_DIRECT)) return -EINVAL;
  auto pipe = std::make_shared<Pipe>();
  MachineState* m = &ctx.machine();
  pipe->on_change = [m](const Pipe& p, PollMask key) { m->waitq().wake_all(&p, m->sched(), key); };
  InodeRef inode = ctx.vfs().make_pipe_inode();
  uint32_t fl = flags & kO_NONBLOCK;
  auto rd = std::make_shared<PipeFile>(kO_RDONLY | fl, "pipe:[" + std::to_string(inode->i_ino()) + "]",
                                       inode, pipe, false);
  auto wr = std::make_shared<PipeFile>(kO_WRONLY | fl, rd->path(), inode, pipe, true);
  CloseOnExec ce = (flags & kO_CLOEXEC) ? CloseOnExec::Yes : CloseOnExec::No;
  int fds[2];
  fds[0] = ctx.fds().install(rd, ce);
  if (fds[0] < 0) return fds[0];
  fds[1] = ctx.fds().install(wr, ce);
  if (fds[1] < 0) {
    ctx.fds().close(fds[0]);
    return fds[1];
  }
  if (!ctx.write_user(GuestAddr{a.a[0]}, fds, sizeof fds)) {
    ctx.fds().close(fds[0]);
    ctx.fds().close(fds[1]);
    return -EFAULT;
  }
  return 0;
}

int64_t sys_pipe(SyscallContext& ctx, const SyscallArgs& a) {
  SyscallArgs b = a;
  b.a[1] = 0;
  return sys_pipe2(ctx, b);
}

}  // namespace probesim::emu
