// epoll (fs/eventpoll.c) and eventfd (fs/eventfd.c): event loops' syscalls. The instance is an
// EpollFile (emu/vfs/epoll_file.h); epoll_wait sleeps on it with poll_wait.h's Poll wait.
#include <cerrno>
#include <cstring>
#include <vector>

#include "emu/arch_info.h"
#include "emu/machine_state.h"
#include "emu/syscalls/poll_wait.h"
#include "emu/syscalls/sys_fs_common.h"
#include "emu/syscalls/syscall_handlers.h"
#include "emu/syscalls/user_time.h"
#include "emu/vfs/epoll_file.h"
#include "emu/vfs/eventfd_file.h"
#include "emu/vfs/fd_table.h"
#include "emu/vfs/vfs_abi.h"
#include "emu/virtual_clock.h"

namespace probesim::emu {
namespace {

// O_CLOEXEC and O_NONBLOCK as both ABIs spell them (EPOLL_CLOEXEC, EFD_CLOEXEC, EFD_NONBLOCK).
constexpr uint64_t kCloexec = 02000000;
constexpr uint64_t kNonblock = 04000;
// What may accompany EPOLLEXCLUSIVE (EPOLLEXCLUSIVE_OK_BITS).
constexpr PollMask kExclusiveOkBits =
    kEPOLLIN | kEPOLLOUT | kEPOLLERR | kEPOLLHUP | kEPOLLWAKEUP | kEPOLLET | kEPOLLEXCLUSIVE;
// EP_MAX_EVENTS = INT_MAX / sizeof(struct epoll_event)
constexpr uint64_t kEpMaxEvents = 0x7fffffff / 12;

size_t epoll_event_size(SyscallContext& ctx) {
  return arch_info(ctx.arch()).epoll_data_offset + sizeof(uint64_t);
}

int64_t install_new(SyscallContext& ctx, std::shared_ptr<File> f, uint64_t flags) {
  return ctx.fds().install(std::move(f), (flags & kCloexec) ? CloseOnExec::Yes : CloseOnExec::No);
}

int64_t do_epoll_create(SyscallContext& ctx, uint64_t flags) {
  InodeRef inode = ctx.vfs().make_anon_inode("[eventpoll]", 0600);
  return install_new(ctx, std::make_shared<EpollFile>(kO_RDWR, std::move(inode),
                                                      ctx.machine().poll_hub()),
                     flags);
}

// do_epoll_ctl's checks once the event is read, in Linux's order.
int64_t do_epoll_ctl(SyscallContext& ctx, int epfd, int op, int fd, EpollEvent ev) {
  std::shared_ptr<File> f = fd_file(ctx, epfd, PathFd::Rejected);
  std::shared_ptr<File> tf = fd_file(ctx, fd, PathFd::Rejected);
  if (!f || !tf) return -EBADF;
  if (!tf->can_poll()) return -EPERM;
  auto* ep = dynamic_cast<EpollFile*>(f.get());
  if (f == tf || !ep) return -EINVAL;
  const bool has_event = op != kEPOLL_CTL_DEL;
  if (has_event && (ev.events & kEPOLLEXCLUSIVE)) {
    if (op == kEPOLL_CTL_MOD) return -EINVAL;
    if (op == kEPOLL_CTL_ADD &&
        (dynamic_cast<EpollFile*>(tf.get()) || (ev.events & ~kExclusiveOkBits)))
      return -EINVAL;
  }
  if (op == kEPOLL_CTL_ADD) {
    auto* nested = dynamic_cast<EpollFile*>(tf.get());
    if (nested && nested->reaches(ep)) return -ELOOP;  // ep_loop_check
  }
  return ep->ctl(op, tf, fd, ev);
}

// do_epoll_wait: ready events first, then the timeout, then a signal (ep_poll's order).
int64_t do_epoll_wait(SyscallContext& ctx, int epfd, uint64_t uevents, int64_t maxevents,
                      uint64_t deadline) {
  const size_t size = epoll_event_size(ctx);
  if (maxevents <= 0 || static_cast<uint64_t>(maxevents) > kEpMaxEvents) return -EINVAL;
  if (!ctx.access_ok(GuestAddr{uevents}, static_cast<uint64_t>(maxevents) * size)) return -EFAULT;
  std::shared_ptr<File> f = fd_file(ctx, epfd, PathFd::Rejected);
  if (!f) return -EBADF;
  auto* ep = dynamic_cast<EpollFile*>(f.get());
  if (!ep) return -EINVAL;
  const std::vector<EpollEvent> ready = ep->send_events(static_cast<size_t>(maxevents));
  if (ready.empty()) {
    if (deadline != kKtimeMax && ctx.clock().monotonic_ns() >= deadline) return 0;
    const void* objects[] = {ep};
    return poll_sleep(ctx, objects, deadline);
  }
  const uint64_t off = arch_info(ctx.arch()).epoll_data_offset;
  std::vector<uint8_t> out(ready.size() * size, 0);
  for (size_t i = 0; i < ready.size(); ++i) {
    std::memcpy(&out[i * size], &ready[i].events, sizeof(uint32_t));
    std::memcpy(&out[i * size + off], &ready[i].data, sizeof(uint64_t));
  }
  if (!ctx.write_user(GuestAddr{uevents}, out.data(), out.size())) return -EFAULT;
  return static_cast<int64_t>(ready.size());
}

std::optional<uint64_t> ms_timeout(int64_t ms) {
  if (ms < 0) return std::nullopt;
  return static_cast<uint64_t>(ms) * 1'000'000u;
}

int64_t eventfd_create(SyscallContext& ctx, uint64_t count, uint64_t flags) {
  if (flags & ~(kCloexec | kNonblock | kEFD_SEMAPHORE)) return -EINVAL;
  InodeRef inode = ctx.vfs().make_anon_inode("[eventfd]", 0600);
  const uint32_t f_flags = kO_RDWR | ((flags & kNonblock) ? kO_NONBLOCK : 0);
  return install_new(ctx,
                     std::make_shared<EventFdFile>(f_flags, std::move(inode), count & 0xffffffffu,
                                                   static_cast<uint32_t>(flags),
                                                   ctx.machine().poll_hub()),
                     flags);
}

}  // namespace

int64_t sys_epoll_create(SyscallContext& ctx, const SyscallArgs& a) {
  if (arg_int(a.a[0]) <= 0) return -EINVAL;
  return do_epoll_create(ctx, 0);
}

int64_t sys_epoll_create1(SyscallContext& ctx, const SyscallArgs& a) {
  if (a.a[0] & ~kCloexec) return -EINVAL;
  return do_epoll_create(ctx, a.a[0]);
}

// epoll_ctl(epfd, op, fd, event): the event is read first (EFAULT) unless op is DEL.
int64_t sys_epoll_ctl(SyscallContext& ctx, const SyscallArgs& a) {
  const int op = arg_int(a.a[1]);
  EpollEvent ev;
  if (op != kEPOLL_CTL_DEL) {
    const uint64_t off = arch_info(ctx.arch()).epoll_data_offset;
    uint8_t raw[16];
    if (!ctx.read_user(GuestAddr{a.a[3]}, raw, off + sizeof(uint64_t))) return -EFAULT;
    std::memcpy(&ev.events, raw, sizeof(uint32_t));
    std::memcpy(&ev.data, raw + off, sizeof(uint64_t));
  }
  return do_epoll_ctl(ctx, arg_int(a.a[0]), op, arg_int(a.a[2]), ev);
}

// epoll_wait(epfd, events, maxevents, timeout_ms) (x86-64 only)
int64_t sys_epoll_wait(SyscallContext& ctx, const SyscallArgs& a) {
  const uint64_t deadline = take_poll_deadline(ctx, ms_timeout(arg_int(a.a[3])));
  return do_epoll_wait(ctx, arg_int(a.a[0]), a.a[1], arg_int(a.a[2]), deadline);
}

// epoll_pwait(epfd, events, maxevents, timeout_ms, sigmask, sigsetsize)
int64_t sys_epoll_pwait(SyscallContext& ctx, const SyscallArgs& a) {
  const uint64_t deadline = take_poll_deadline(ctx, ms_timeout(arg_int(a.a[3])));
  if (int64_t err = set_user_sigmask(ctx, a.a[4], a.a[5])) return err;
  return do_epoll_wait(ctx, arg_int(a.a[0]), a.a[1], arg_int(a.a[2]), deadline);
}

// epoll_pwait2(epfd, events, maxevents, timeout timespec (NULL: forever), sigmask, sigsetsize)
int64_t sys_epoll_pwait2(SyscallContext& ctx, const SyscallArgs& a) {
  std::optional<uint64_t> timeout;
  if (a.a[3]) {
    auto ns = read_timespec_ns(ctx, a.a[3]);
    if (!ns) return -ns.error().err;
    timeout = ns.value();
  }
  const uint64_t deadline = take_poll_deadline(ctx, timeout);
  if (int64_t err = set_user_sigmask(ctx, a.a[4], a.a[5])) return err;
  return do_epoll_wait(ctx, arg_int(a.a[0]), a.a[1], arg_int(a.a[2]), deadline);
}

// eventfd2(initval, flags); eventfd(initval) (x86-64 only) has no flags.
int64_t sys_eventfd2(SyscallContext& ctx, const SyscallArgs& a) {
  return eventfd_create(ctx, a.a[0], a.a[1]);
}
int64_t sys_eventfd(SyscallContext& ctx, const SyscallArgs& a) {
  return eventfd_create(ctx, a.a[0], 0);
}

}  // namespace probesim::emu
