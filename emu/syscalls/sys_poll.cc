// poll, ppoll, select, pselect6 (fs/select.c): readiness of many fds at once, from each
// File's poll() (f_op->poll), with the sleep of poll_wait.h. Timeouts run on the virtual
// clock; ppoll/pselect6/select write the time left back (poll_select_finish).
#include <algorithm>
#include <cerrno>
#include <vector>

#include "emu/machine_state.h"
#include "emu/syscalls/poll_wait.h"
#include "emu/syscalls/sys_fs_common.h"
#include "emu/syscalls/syscall_handlers.h"
#include "emu/syscalls/user_time.h"
#include "emu/virtual_clock.h"

namespace probesim::emu {
namespace {

constexpr uint64_t kNsPerSec = 1'000'000'000u;

struct PollFd {  // struct pollfd
  int32_t fd;
  int16_t events;
  int16_t revents;
};

struct KTimespec {  // struct __kernel_timespec (and, with usec, struct timeval)
  int64_t sec;
  int64_t nsec;
};

// The file an fd names for polling: fdget (O_PATH fds are not polled: POLLNVAL / EBADF).
std::shared_ptr<File> poll_file(SyscallContext& ctx, int fd) {
  return fd_file(ctx, fd, PathFd::Rejected);
}

// do_pollfd: revents of one entry (0 for a negative fd, POLLNVAL for a closed one).
int16_t do_pollfd(SyscallContext& ctx, const PollFd& p, std::vector<const void*>& objects) {
  if (p.fd < 0) return 0;
  std::shared_ptr<File> f = poll_file(ctx, p.fd);
  if (!f) return static_cast<int16_t>(kEPOLLNVAL);
  objects.push_back(f->wait_object());
  const PollMask filter = static_cast<uint16_t>(p.events) | kPollAlways;
  return static_cast<int16_t>(f->poll() & filter);
}

// do_sys_poll: fds in, revents out; the number of entries with revents, 0 on timeout, -EINTR.
int64_t do_sys_poll(SyscallContext& ctx, uint64_t ufds, uint64_t nfds, uint64_t deadline) {
  if (nfds > ctx.proc().rlimits[Process::kRlimitNofile].cur) return -EINVAL;
  std::vector<PollFd> fds(nfds);
  if (nfds && !ctx.read_user(GuestAddr{ufds}, fds.data(), nfds * sizeof(PollFd))) return -EFAULT;
  std::vector<const void*> objects;
  int64_t count = 0;
  for (PollFd& p : fds) {
    p.revents = do_pollfd(ctx, p, objects);
    if (p.revents) ++count;
  }
  if (count == 0) {
    count = poll_sleep(ctx, objects, deadline);
    if (ctx.disposition == SyscallDisposition::Blocked || count < 0) return count;
  }
  // Every revents is written back (fs/select.c: put_user per entry).
  for (uint64_t i = 0; i < nfds; ++i) {
    const uint64_t at = ufds + i * sizeof(PollFd) + offsetof(PollFd, revents);
    if (!ctx.write_user(GuestAddr{at}, &fds[i].revents, sizeof(int16_t))) return -EFAULT;
  }
  return count;
}

enum class TimeUnit { Timespec, Timeval };

// poll_select_finish: the time left goes back to the user's timespec/timeval, unless the
// timeout was zero; a failing copy is ignored (the call's result stands).
void write_remaining(SyscallContext& ctx, uint64_t uts, uint64_t timeout_ns, uint64_t deadline,
                     TimeUnit unit) {
  if (!uts || timeout_ns == 0 || ctx.disposition == SyscallDisposition::Blocked) return;
  const uint64_t left = poll_remaining_ns(ctx, deadline);
  KTimespec ts{static_cast<int64_t>(left / kNsPerSec), static_cast<int64_t>(left % kNsPerSec)};
  if (unit == TimeUnit::Timeval) ts.nsec /= 1000;
  ctx.write_user(GuestAddr{uts}, &ts, sizeof ts);
}


// Linux's fd_set bit groups (fs/select.c POLLIN_SET, POLLOUT_SET, POLLEX_SET).
constexpr PollMask kPollInSet = kEPOLLRDNORM | kEPOLLRDBAND | kEPOLLIN | kEPOLLHUP | kEPOLLERR;
constexpr PollMask kPollOutSet = kEPOLLWRBAND | kEPOLLWRNORM | kEPOLLOUT | kEPOLLERR;
constexpr PollMask kPollExSet = kEPOLLPRI;
constexpr PollMask kSelectSets[3] = {kPollInSet, kPollOutSet, kPollExSet};

using FdSet = std::vector<uint64_t>;  // n bits, rounded up to longs (FDS_BYTES)

bool fd_isset(const FdSet& s, uint64_t fd) { return !s.empty() && (s[fd / 64] >> (fd % 64)) & 1; }

// core_sys_select: in/out/ex sets of n fds; results replace the sets; the count of set bits.
int64_t core_sys_select(SyscallContext& ctx, int64_t n, const uint64_t uset[3], uint64_t deadline) {
  if (n < 0) return -EINVAL;
  n = std::min<int64_t>(n, static_cast<int64_t>(ctx.proc().rlimits[Process::kRlimitNofile].cur));
  const size_t words = static_cast<size_t>((n + 63) / 64);
  FdSet in[3], res[3];
  for (int k = 0; k < 3; ++k) {
    if (!uset[k]) continue;
    in[k].resize(words);
    if (words && !ctx.read_user(GuestAddr{uset[k]}, in[k].data(), words * 8)) return -EFAULT;
    res[k].assign(words, 0);
  }
  std::vector<const void*> objects;
  int64_t count = 0;
  for (int64_t fd = 0; fd < n; ++fd) {
    const auto u = static_cast<uint64_t>(fd);
    if (!fd_isset(in[0], u) && !fd_isset(in[1], u) && !fd_isset(in[2], u)) continue;
    std::shared_ptr<File> f = poll_file(ctx, static_cast<int>(fd));
    if (!f) return -EBADF;  // max_select_fd
    objects.push_back(f->wait_object());
    const PollMask mask = f->poll();
    for (int k = 0; k < 3; ++k)
      if (fd_isset(in[k], u) && (mask & kSelectSets[k])) {
        res[k][u / 64] |= uint64_t{1} << (u % 64);
        ++count;
      }
  }
  if (count == 0) {
    count = poll_sleep(ctx, objects, deadline);
    if (ctx.disposition == SyscallDisposition::Blocked || count < 0) return count;
  }
  for (int k = 0; k < 3; ++k)
    if (uset[k] && words && !ctx.write_user(GuestAddr{uset[k]}, res[k].data(), words * 8))
      return -EFAULT;
  return count;
}

}  // namespace

// See poll_wait.h.
int64_t set_user_sigmask(SyscallContext& ctx, uint64_t uset, uint64_t size) {
  if (!uset) return 0;
  if (size != sizeof(uint64_t)) return -EINVAL;
  uint64_t set = 0;
  if (!ctx.read_user(GuestAddr{uset}, &set, sizeof set)) return -EFAULT;
  Task& t = ctx.task();
  if (!t.saved_sigmask) t.saved_sigmask = t.sigmask;
  t.sigmask = set & ~kUnblockable;
  return 0;
}

// poll(fds, nfds, timeout_ms): a negative timeout waits forever.
int64_t sys_poll(SyscallContext& ctx, const SyscallArgs& a) {
  const int64_t ms = static_cast<int32_t>(a.a[2]);
  std::optional<uint64_t> timeout;
  if (ms >= 0) timeout = static_cast<uint64_t>(ms) * 1'000'000u;
  const uint64_t deadline = take_poll_deadline(ctx, timeout);
  return do_sys_poll(ctx, a.a[0], a.a[1], deadline);
}

// ppoll(fds, nfds, tmo, sigmask, sigsetsize): tmo NULL waits forever.
int64_t sys_ppoll(SyscallContext& ctx, const SyscallArgs& a) {
  std::optional<uint64_t> timeout;
  if (a.a[2]) {
    auto ns = read_timespec_ns(ctx, a.a[2]);
    if (!ns) return -ns.error().err;
    timeout = ns.value();
  }
  const uint64_t deadline = take_poll_deadline(ctx, timeout);
  if (int64_t err = set_user_sigmask(ctx, a.a[3], a.a[4])) return err;
  const int64_t ret = do_sys_poll(ctx, a.a[0], a.a[1], deadline);
  write_remaining(ctx, a.a[2], timeout.value_or(0), deadline, TimeUnit::Timespec);
  return ret;
}

// select(n, inp, outp, exp, tvp) (x86_64 only): a timeval, normalized (tv_usec may exceed a
// second; negative fields are EINVAL).
int64_t sys_select(SyscallContext& ctx, const SyscallArgs& a) {
  std::optional<uint64_t> timeout;
  uint64_t ns = 0;
  if (a.a[4]) {
    KTimespec tv;
    if (!ctx.read_user(GuestAddr{a.a[4]}, &tv, sizeof tv)) return -EFAULT;
    if (tv.sec < 0 || tv.nsec < 0) return -EINVAL;
    const uint64_t sec = static_cast<uint64_t>(tv.sec) + static_cast<uint64_t>(tv.nsec) / 1'000'000u;
    const uint64_t usec = static_cast<uint64_t>(tv.nsec) % 1'000'000u;
    ns = sec >= kKtimeMax / kNsPerSec ? kKtimeMax : sec * kNsPerSec + usec * 1000u;
    timeout = ns;
  }
  const uint64_t deadline = take_poll_deadline(ctx, timeout);
  const uint64_t sets[3] = {a.a[1], a.a[2], a.a[3]};
  const int64_t ret = core_sys_select(ctx, static_cast<int32_t>(a.a[0]), sets, deadline);
  write_remaining(ctx, a.a[4], ns, deadline, TimeUnit::Timeval);
  return ret;
}

// pselect6(n, inp, outp, exp, tsp, sig): sig points at {const sigset_t* set; size_t size}.
int64_t sys_pselect6(SyscallContext& ctx, const SyscallArgs& a) {
  std::optional<uint64_t> timeout;
  if (a.a[4]) {
    auto ns = read_timespec_ns(ctx, a.a[4]);
    if (!ns) return -ns.error().err;
    timeout = ns.value();
  }
  const uint64_t deadline = take_poll_deadline(ctx, timeout);
  if (a.a[5]) {
    struct { uint64_t set, size; } sig;
    if (!ctx.read_user(GuestAddr{a.a[5]}, &sig, sizeof sig)) return -EFAULT;
    if (int64_t err = set_user_sigmask(ctx, sig.set, sig.size)) return err;
  }
  const uint64_t sets[3] = {a.a[1], a.a[2], a.a[3]};
  const int64_t ret = core_sys_select(ctx, static_cast<int32_t>(a.a[0]), sets, deadline);
  write_remaining(ctx, a.a[4], timeout.value_or(0), deadline, TimeUnit::Timespec);
  return ret;
}

}  // namespace probesim::emu
