// Threads: clone/clone3 for new threads (CLONE_THREAD; fork-style clones come with process
// creation). Futexes are in sys_futex.cc.
#include <cerrno>

#include "emu/machine_state.h"
#include "emu/syscalls/syscall_handlers.h"
#include "emu/tracefs/trace_events.h"

namespace probesim::emu {
namespace {

constexpr uint64_t kCloneVm = 0x100, kCloneFs = 0x200, kCloneFiles = 0x400, kCloneSighand = 0x800;
constexpr uint64_t kCloneThread = 0x10000, kCloneSettls = 0x80000;
constexpr uint64_t kCloneParentSettid = 0x100000, kCloneChildCleartid = 0x200000;
constexpr uint64_t kCloneChildSettid = 0x1000000;

struct CloneArgs {
  uint64_t flags, stack, parent_tid, child_tid, tls;
};

// A new thread: the parent's registers, returning 0, on its own stack and TLS.
int64_t clone_thread(SyscallContext& ctx, const CloneArgs& c) {
  constexpr uint64_t kNeeded = kCloneVm | kCloneSighand;
  if ((c.flags & kNeeded) != kNeeded) return -EINVAL;  // CLONE_THREAD needs SIGHAND needs VM
  if (!ctx.machine().limits().task_fits()) return -EAGAIN;  // copy_process: max_threads
  Process& p = ctx.proc();
  int tid = ctx.machine().alloc_pid();
  Task& child = p.add_task(tid);
  child.start_ns = ctx.clock().monotonic_ns();
  child.fork_noexec = true;  // copy_process sets PF_FORKNOEXEC
  child.nice = ctx.task().nice;
  std::optional<uint64_t> tls;
  if (c.flags & kCloneSettls) tls = c.tls;
  child.context = ctx.machine().child_context(ctx.task(), child, c.stack, tls);
  if (!child.context) {
    child.state = TaskState::Dead;
    return -ENOMEM;
  }
  if (!ctx.machine().uprobes().uprobe_copy_process(probes::TaskId{static_cast<uint64_t>(ctx.task().tid())},
                                                    probes::TaskId{static_cast<uint64_t>(tid)},
                                                    p.mm(), /*same_mm=*/true)) {
    child.state = TaskState::Dead;  // never ran: not counted, never task_dead
    return -ENOMEM;
  }
  uint32_t tid32 = static_cast<uint32_t>(tid);
  if ((c.flags & kCloneParentSettid) && !ctx.write_user(GuestAddr{c.parent_tid}, &tid32, 4))
    return -EFAULT;
  if ((c.flags & kCloneChildSettid) && !ctx.write_user(GuestAddr{c.child_tid}, &tid32, 4))
    return -EFAULT;
  if (c.flags & kCloneChildCleartid) child.clear_child_tid = GuestAddr{c.child_tid};
  child.sigmask = ctx.task().sigmask;
  ctx.machine().limits().task_created();
  ctx.machine().sched().add(child);
  TraceEvents& te = ctx.machine().trace_events();
  if (te.tp_on(trace_events::Tracepoint::SchedProcessFork)) te.sched_process_fork(ctx.task(), child);
  return tid;
}

}  // namespace

// clone without CLONE_THREAD: a new process (fork, or vfork with CLONE_VFORK). CLONE_VM without
// CLONE_THREAD (vfork, posix_spawn) still gets a copy of the address space: the child may only
// exec or exit before the parent resumes, so a copy behaves the same except for writes the
// child makes to the parent's memory (documented deviation).
int64_t clone_process(SyscallContext& ctx, uint64_t flags, uint64_t stack, uint64_t parent_tid,
                      uint64_t child_tid, uint64_t tls) {
  constexpr uint64_t kCloneVfork = 0x4000;
  if (flags & (kCloneFs | kCloneFiles | kCloneSighand)) return -EINVAL;  // shared tables: no
  std::optional<uint64_t> new_tls;
  if (flags & kCloneSettls) new_tls = tls;
  auto child = ctx.machine().fork_process(ctx.task(), stack, new_tls);
  if (!child) return -(child.error().err ? child.error().err : ENOMEM);  // EAGAIN, ENOMEM
  Process& c = *child.value();
  uint32_t pid32 = static_cast<uint32_t>(c.pid());
  if ((flags & kCloneParentSettid) && !ctx.write_user(GuestAddr{parent_tid}, &pid32, 4))
    return -EFAULT;
  if (flags & kCloneChildSettid) c.mm().copy_to_user(GuestAddr{child_tid}, &pid32, 4);
  if (flags & kCloneChildCleartid) c.main_task().clear_child_tid = GuestAddr{child_tid};
  if (flags & kCloneVfork) {
    c.vfork_parent = &ctx.task();
    // Not interruptible: only the child's exec or exit resumes the parent (with its pid).
    ctx.machine().sched().block(ctx.task(), WaitInfo{WaitInfo::Kind::Queue, 0, 0, false});
    ctx.disposition = SyscallDisposition::Blocked;
  }
  return c.pid();
}

namespace {

int64_t do_clone(SyscallContext& ctx, const CloneArgs& c) {
  if (!(c.flags & kCloneThread))
    return clone_process(ctx, c.flags, c.stack, c.parent_tid, c.child_tid, c.tls);
  return clone_thread(ctx, c);
}

}  // namespace

int64_t sys_clone(SyscallContext& ctx, const SyscallArgs& a) {
  // x86_64: clone(flags, stack, parent_tid, child_tid, tls); arm64: (flags, stack, ptid, tls, ctid)
  bool x86 = ctx.arch() == Arch::X86_64;
  return do_clone(ctx, CloneArgs{a.a[0], a.a[1], a.a[2], x86 ? a.a[3] : a.a[4],
                                 x86 ? a.a[4] : a.a[3]});
}

int64_t sys_clone3(SyscallContext& ctx, const SyscallArgs& a) {
  // struct clone_args: flags, pidfd, child_tid, parent_tid, exit_signal, stack, stack_size, tls...
  constexpr uint64_t kCloneArgsSizeVer0 = 64;
  if (a.a[1] < kCloneArgsSizeVer0) return -EINVAL;
  uint64_t ca[8];
  if (!ctx.read_user(GuestAddr{a.a[0]}, ca, sizeof ca)) return -EFAULT;
  uint64_t stack = ca[5] ? ca[5] + ca[6] : 0;  // clone3 passes the lowest address and the size
  return do_clone(ctx, CloneArgs{ca[0], stack, ca[3], ca[2], ca[7]});
}

}  // namespace probesim::emu
