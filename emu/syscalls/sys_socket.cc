// Socket setup (net/socket.c, net/unix/af_unix.c, net/ipv4/af_inet.c): socket, socketpair,
// bind, listen, accept/accept4, connect, shutdown, getsockname/getpeername, get/setsockopt.
// Data moves in sys_socket_msg.cc; the sockets themselves are emu/net/.
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <vector>

#include "emu/machine_state.h"
#include "emu/net/net_namespace.h"
#include "emu/net/socket_abi.h"
#include "emu/syscalls/sys_fs_common.h"
#include "emu/syscalls/sys_socket_common.h"
#include "emu/syscalls/syscall_handlers.h"
#include "emu/vfs/fd_table.h"
#include "emu/vfs/fs_struct.h"
#include "emu/vfs/vfs_abi.h"

namespace probesim::emu {

std::shared_ptr<Socket> sock_of(SyscallContext& ctx, int fd, int64_t* err) {
  std::shared_ptr<File> f = fd_file(ctx, fd, PathFd::Rejected);
  auto s = std::dynamic_pointer_cast<Socket>(f);
  *err = !f ? -EBADF : !s ? -ENOTSOCK : 0;
  return s;
}

int64_t read_sockaddr(SyscallContext& ctx, const Socket& s, uint64_t uaddr, uint64_t len,
                      SockAddr* out) {
  constexpr uint64_t kSockaddrStorage = 128;
  if (static_cast<int32_t>(len) < 0 || len > kSockaddrStorage) return -EINVAL;
  std::vector<uint8_t> raw(len);
  if (len && !ctx.read_user(GuestAddr{uaddr}, raw.data(), len)) return -EFAULT;
  return decode_sockaddr(s.family(), raw, out);
}

// unix_find_bsd / unix_find_abstract: the key of the socket an address names.
int64_t unix_target_key(SyscallContext& ctx, const SockAddr& a, std::string* key) {
  if (a.abstract()) {
    *key = NetNamespace::unix_abstract_key(a.unix_name);
    return 0;
  }
  Result<KStat> st = ctx.vfs().stat(caller_of(ctx), ctx.fs().cwd, a.unix_name, Follow::Yes);
  if (!st) return neg_errno(st.error());
  if ((st->mode & S_IFMT) != S_IFSOCK) return -ECONNREFUSED;
  *key = NetNamespace::unix_path_key(uint64_t{st->dev.major} << 32 | st->dev.minor, st->ino);
  return 0;
}

int64_t write_sockaddr(SyscallContext& ctx, const SockAddr& a, int family, uint64_t uaddr,
                       uint64_t ulen) {
  if (!uaddr) return 0;
  int32_t len = 0;
  if (!ctx.read_user(GuestAddr{ulen}, &len, sizeof len)) return -EFAULT;
  if (len < 0) return -EINVAL;
  const std::vector<uint8_t> bytes = encode_sockaddr(a, family);
  const size_t n = std::min<size_t>(static_cast<size_t>(len), bytes.size());
  if (n && !ctx.write_user(GuestAddr{uaddr}, bytes.data(), n)) return -EFAULT;
  const int32_t full = static_cast<int32_t>(bytes.size());
  return ctx.write_user(GuestAddr{ulen}, &full, sizeof full) ? 0 : -EFAULT;
}

int64_t sock_wait(SyscallContext& ctx, const Socket& s, bool dontwait) {
  if (dontwait || (s.f_flags() & kO_NONBLOCK)) return -EAGAIN;
  ctx.machine().waitq().add(s.wait_object(), ctx.task());
  ctx.machine().sched().block(ctx.task(), WaitInfo{WaitInfo::Kind::Queue, 0, 0});
  ctx.disposition = SyscallDisposition::Blocked;
  return 0;
}

UCred ucred_of(SyscallContext& ctx) { return UCred{ctx.pid(), 0, 0}; }

namespace {

// __sock_create's and the families' checks: the protocol a (family, type) pair gets.
int64_t check_socket_args(int family, int type, int protocol, int* proto_out) {
  if (type < 0 || type >= 11) return -EINVAL;  // SOCK_MAX
  if (family == kAF_UNIX) {
    if (protocol != 0 && protocol != kAF_UNIX) return -EPROTONOSUPPORT;
    if (type != kSOCK_STREAM && type != kSOCK_DGRAM && type != kSOCK_SEQPACKET)
      return -ESOCKTNOSUPPORT;
    *proto_out = 0;
    return 0;
  }
  if (family != kAF_INET && family != kAF_INET6) return -EAFNOSUPPORT;
  const int want = type == kSOCK_STREAM ? kIPPROTO_TCP : type == kSOCK_DGRAM ? kIPPROTO_UDP : -1;
  if (want < 0) return -ESOCKTNOSUPPORT;
  if (protocol != 0 && protocol != want) return -EPROTONOSUPPORT;
  *proto_out = want;
  return 0;
}

std::shared_ptr<Socket> new_socket(SyscallContext& ctx, int family, int type, int protocol,
                                   uint32_t flags) {
  InodeRef inode = ctx.vfs().make_anon_inode("socket", S_IFSOCK | 0777);
  const uint32_t f_flags = kO_RDWR | ((flags & kSOCK_NONBLOCK) ? kO_NONBLOCK : 0);
  return std::make_shared<Socket>(ctx.machine().net(), ctx.machine().poll_hub(), family, type,
                                  protocol, f_flags, std::move(inode), ucred_of(ctx));
}

CloseOnExec cloexec_of(uint32_t flags) {
  return (flags & kSOCK_CLOEXEC) ? CloseOnExec::Yes : CloseOnExec::No;
}

// unix_bind_bsd: a socket inode at the path (EADDRINUSE if the name exists); a bare family
// autobinds an abstract name ("\0" + 5 hex digits: unix_autobind).
int64_t unix_bind_key(SyscallContext& ctx, Socket& s, SockAddr* a, std::string* key) {
  if (a->unix_name.empty()) {
    for (uint32_t n = 0; n < 0x100000; ++n) {
      char name[8];
      std::snprintf(name, sizeof name, "%05x", n);
      a->unix_name = std::string(1, '\0') + name;
      *key = NetNamespace::unix_abstract_key(a->unix_name);
      if (!ctx.machine().net().taken(*key)) return 0;
    }
    return -ENOSPC;
  }
  if (a->abstract()) {
    *key = NetNamespace::unix_abstract_key(a->unix_name);
    return 0;
  }
  Result<void> made = ctx.vfs().mknod(caller_of(ctx), ctx.fs().cwd, a->unix_name, S_IFSOCK | 0777);
  if (!made) return made.error().err == EEXIST ? -EADDRINUSE : neg_errno(made.error());
  if (s.local().family) {  // bound already: the new name goes again (out_unlink)
    (void)ctx.vfs().unlink(caller_of(ctx), ctx.fs().cwd, a->unix_name);
    return -EINVAL;
  }
  return unix_target_key(ctx, *a, key);
}

}  // namespace

// socket(family, type | SOCK_NONBLOCK | SOCK_CLOEXEC, protocol)
int64_t sys_socket(SyscallContext& ctx, const SyscallArgs& a) {
  const int raw = arg_int(a.a[1]);
  const int type = raw & kSOCK_TYPE_MASK;
  const uint32_t flags = static_cast<uint32_t>(raw) & ~static_cast<uint32_t>(kSOCK_TYPE_MASK);
  if (flags & ~(kSOCK_CLOEXEC | kSOCK_NONBLOCK)) return -EINVAL;
  int proto = 0;
  if (int64_t err = check_socket_args(arg_int(a.a[0]), type, arg_int(a.a[2]), &proto)) return err;
  auto s = new_socket(ctx, arg_int(a.a[0]), type, proto, flags);
  return ctx.fds().install(std::move(s), cloexec_of(flags));
}

// socketpair(family, type, protocol, sv[2]): AF_UNIX only (inet: sock_no_socketpair).
int64_t sys_socketpair(SyscallContext& ctx, const SyscallArgs& a) {
  const int family = arg_int(a.a[0]), raw = arg_int(a.a[1]);
  const int type = raw & kSOCK_TYPE_MASK;
  const uint32_t flags = static_cast<uint32_t>(raw) & ~static_cast<uint32_t>(kSOCK_TYPE_MASK);
  if (flags & ~(kSOCK_CLOEXEC | kSOCK_NONBLOCK)) return -EINVAL;
  int proto = 0;
  if (int64_t err = check_socket_args(family, type, arg_int(a.a[2]), &proto)) return err;
  if (family != kAF_UNIX) return -EOPNOTSUPP;
  auto s0 = new_socket(ctx, family, type, proto, flags);
  auto s1 = new_socket(ctx, family, type, proto, flags);
  Socket::pair(s0, s1);
  int fds[2];
  fds[0] = ctx.fds().install(s0, cloexec_of(flags));
  if (fds[0] < 0) return fds[0];
  fds[1] = ctx.fds().install(s1, cloexec_of(flags));
  if (fds[1] < 0) {
    ctx.fds().close(fds[0]);
    return fds[1];
  }
  if (!ctx.write_user(GuestAddr{a.a[3]}, fds, sizeof fds)) {
    ctx.fds().close(fds[0]);
    ctx.fds().close(fds[1]);
    return -EFAULT;
  }
  return 0;
}

int64_t sys_bind(SyscallContext& ctx, const SyscallArgs& a) {
  int64_t err = 0;
  std::shared_ptr<Socket> s = sock_of(ctx, arg_int(a.a[0]), &err);
  if (!s) return err;
  SockAddr addr;
  std::string key;
  if (s->family() == kAF_UNIX && a.a[2] == sizeof(uint16_t)) {
    uint16_t fam = 0;
    if (!ctx.read_user(GuestAddr{a.a[1]}, &fam, sizeof fam)) return -EFAULT;
    if (fam != kAF_UNIX) return -EINVAL;
    addr.family = kAF_UNIX;  // autobind
  } else if ((err = read_sockaddr(ctx, *s, a.a[1], a.a[2], &addr))) {
    return err;
  }
  if (s->family() == kAF_UNIX) {
    if (s->local().family && addr.unix_name.empty()) return 0;  // unix_autobind: bound already
    if (s->local().family && addr.abstract()) return -EINVAL;    // unix_bind_abstract
    if ((err = unix_bind_key(ctx, *s, &addr, &key))) return err;
  }
  return s->bind(addr, key);
}

int64_t sys_listen(SyscallContext& ctx, const SyscallArgs& a) {
  int64_t err = 0;
  std::shared_ptr<Socket> s = sock_of(ctx, arg_int(a.a[0]), &err);
  return s ? s->listen(arg_int(a.a[1]), ucred_of(ctx)) : err;
}

// accept4(fd, addr, addrlen, flags): the next connection, as a new fd.
int64_t sys_accept4(SyscallContext& ctx, const SyscallArgs& a) {
  const uint32_t flags = static_cast<uint32_t>(a.a[3]);
  if (flags & ~(kSOCK_CLOEXEC | kSOCK_NONBLOCK)) return -EINVAL;
  int64_t err = 0;
  std::shared_ptr<Socket> s = sock_of(ctx, arg_int(a.a[0]), &err);
  if (!s) return err;
  if (s->type() == kSOCK_DGRAM) return -EOPNOTSUPP;
  if (ctx.fds().lowest_free() < 0) return -EMFILE;
  std::shared_ptr<Socket> c = s->accept(&err);
  if (err == File::kWouldBlock) return sock_wait(ctx, *s, false);
  if (!c) return err;
  c->set_f_flags(kO_RDWR | ((flags & kSOCK_NONBLOCK) ? kO_NONBLOCK : 0));
  if (std::optional<SockAddr> peer = c->peer_addr())
    if ((err = write_sockaddr(ctx, *peer, c->family(), a.a[1], a.a[2]))) return err;
  return ctx.fds().install(std::move(c), cloexec_of(flags));
}

int64_t sys_accept(SyscallContext& ctx, const SyscallArgs& a) {
  SyscallArgs b = a;
  b.a[3] = 0;
  return sys_accept4(ctx, b);
}

int64_t sys_connect(SyscallContext& ctx, const SyscallArgs& a) {
  int64_t err = 0;
  std::shared_ptr<Socket> s = sock_of(ctx, arg_int(a.a[0]), &err);
  if (!s) return err;
  SockAddr addr;
  if ((err = read_sockaddr(ctx, *s, a.a[1], a.a[2], &addr))) return err;
  std::string key;
  if (s->family() == kAF_UNIX && (err = unix_target_key(ctx, addr, &key))) return err;
  err = s->connect(addr, key, ucred_of(ctx));
  return err == File::kWouldBlock ? sock_wait(ctx, *s, false) : err;
}

int64_t sys_shutdown(SyscallContext& ctx, const SyscallArgs& a) {
  int64_t err = 0;
  std::shared_ptr<Socket> s = sock_of(ctx, arg_int(a.a[0]), &err);
  return s ? s->shutdown(arg_int(a.a[1])) : err;
}

int64_t sys_getsockname(SyscallContext& ctx, const SyscallArgs& a) {
  int64_t err = 0;
  std::shared_ptr<Socket> s = sock_of(ctx, arg_int(a.a[0]), &err);
  if (!s) return err;
  SockAddr local = s->local();
  if (s->family() != kAF_UNIX) local.family = s->family();
  return write_sockaddr(ctx, local, s->family(), a.a[1], a.a[2]);
}

int64_t sys_getpeername(SyscallContext& ctx, const SyscallArgs& a) {
  int64_t err = 0;
  std::shared_ptr<Socket> s = sock_of(ctx, arg_int(a.a[0]), &err);
  if (!s) return err;
  std::optional<SockAddr> peer = s->peer_addr();
  if (!peer) return -ENOTCONN;
  return write_sockaddr(ctx, *peer, s->family(), a.a[1], a.a[2]);
}

}  // namespace probesim::emu
