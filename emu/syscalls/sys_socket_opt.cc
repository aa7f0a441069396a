// getsockopt/setsockopt (net/core/sock.c sk_getsockopt/sk_setsockopt, and the few TCP/IP
// options event loops set): one table row per option.
#include <algorithm>
#include <cerrno>
#include <cstring>

#include "emu/net/socket_abi.h"
#include "emu/syscalls/sys_fs_common.h"
#include "emu/syscalls/sys_socket_common.h"
#include "emu/syscalls/syscall_handlers.h"

namespace probesim::emu {
namespace {

constexpr int kIPPROTO_IPV6 = 41, kTCP_NODELAY = 1, kIPV6_V6ONLY = 26;

// The value getsockopt reports: an int, or struct bytes (SO_PEERCRED, SO_LINGER).
struct OptValue {
  uint8_t bytes[16] = {};
  size_t size = sizeof(int32_t);
};

OptValue int_value(int32_t v) {
  OptValue o;
  std::memcpy(o.bytes, &v, sizeof v);
  return o;
}

// SO_SNDBUF / SO_RCVBUF: the value doubled (bookkeeping overhead), capped by wmem_max/rmem_max.
int doubled_buf(int32_t v, int minimum) {
  return std::max(std::min(v, kMaxSockBuf) * 2, minimum);
}

struct OptRow {
  int level, name;
  OptValue (*get)(Socket&);
  int64_t (*set)(Socket&, int32_t);  // null: read-only (ENOPROTOOPT on set)
};

int64_t set_flag(bool& flag, int32_t v) {
  flag = v != 0;
  return 0;
}

const OptRow kOptions[] = {
    {kSOL_SOCKET, kSO_TYPE, [](Socket& s) { return int_value(s.type()); }, nullptr},
    {kSOL_SOCKET, kSO_DOMAIN, [](Socket& s) { return int_value(s.family()); }, nullptr},
    {kSOL_SOCKET, kSO_PROTOCOL, [](Socket& s) { return int_value(s.protocol()); }, nullptr},
    {kSOL_SOCKET, kSO_ERROR, [](Socket& s) { return int_value(s.take_error()); }, nullptr},
    {kSOL_SOCKET, kSO_ACCEPTCONN,
     [](Socket& s) { return int_value(s.state() == Socket::State::Listening); }, nullptr},
    {kSOL_SOCKET, kSO_SNDBUF, [](Socket& s) { return int_value(s.sndbuf); },
     [](Socket& s, int32_t v) -> int64_t {
       s.sndbuf = doubled_buf(v, kSockMinSndbuf);
       return 0;
     }},
    {kSOL_SOCKET, kSO_RCVBUF, [](Socket& s) { return int_value(s.rcvbuf); },
     [](Socket& s, int32_t v) -> int64_t {
       s.rcvbuf = doubled_buf(v, kSockMinRcvbuf);
       return 0;
     }},
    {kSOL_SOCKET, kSO_PASSCRED, [](Socket& s) { return int_value(s.passcred); },
     [](Socket& s, int32_t v) { return set_flag(s.passcred, v); }},
    {kSOL_SOCKET, kSO_REUSEADDR, [](Socket& s) { return int_value(s.reuseaddr); },
     [](Socket& s, int32_t v) { return set_flag(s.reuseaddr, v); }},
    {kSOL_SOCKET, kSO_KEEPALIVE, [](Socket& s) { return int_value(s.keepalive); },
     [](Socket& s, int32_t v) { return set_flag(s.keepalive, v); }},
    {kSOL_SOCKET, kSO_PEERCRED,
     [](Socket& s) {
       OptValue o;  // struct ucred; nobody (pid 0, uid/gid -1) when not connected
       UCred c = s.peer_addr() || s.state() == Socket::State::Listening
                     ? s.peer_cred()
                     : UCred{0, ~0u, ~0u};
       std::memcpy(o.bytes, &c, sizeof c);
       o.size = sizeof c;
       return o;
     },
     nullptr},
    {kIPPROTO_TCP, kTCP_NODELAY, [](Socket& s) { return int_value(s.nodelay); },
     [](Socket& s, int32_t v) { return set_flag(s.nodelay, v); }},
    {kIPPROTO_IPV6, kIPV6_V6ONLY, [](Socket& s) { return int_value(s.v6only); },
     [](Socket& s, int32_t v) { return set_flag(s.v6only, v); }},
};

const OptRow* find_option(const Socket& s, int level, int name) {
  if (level == kIPPROTO_TCP && s.protocol() != kIPPROTO_TCP) return nullptr;
  if (level == kIPPROTO_IPV6 && s.family() != kAF_INET6) return nullptr;
  for (const OptRow& r : kOptions)
    if (r.level == level && r.name == name) return &r;
  return nullptr;
}

}  // namespace

// getsockopt(fd, level, name, optval, optlen): min(optlen, size) bytes, then the size.
int64_t sys_getsockopt(SyscallContext& ctx, const SyscallArgs& a) {
  int64_t err = 0;
  std::shared_ptr<Socket> s = sock_of(ctx, arg_int(a.a[0]), &err);
  if (!s) return err;
  int32_t len = 0;
  if (!ctx.read_user(GuestAddr{a.a[4]}, &len, sizeof len)) return -EFAULT;
  if (len < 0) return -EINVAL;
  const OptRow* row = find_option(*s, arg_int(a.a[1]), arg_int(a.a[2]));
  if (!row) return -ENOPROTOOPT;
  const OptValue v = row->get(*s);
  const int32_t n = std::min<int32_t>(len, static_cast<int32_t>(v.size));
  if (n && !ctx.write_user(GuestAddr{a.a[3]}, v.bytes, static_cast<size_t>(n))) return -EFAULT;
  return ctx.write_user(GuestAddr{a.a[4]}, &n, sizeof n) ? 0 : -EFAULT;
}

// setsockopt(fd, level, name, optval, optlen): int options need 4 bytes (EINVAL).
int64_t sys_setsockopt(SyscallContext& ctx, const SyscallArgs& a) {
  int64_t err = 0;
  std::shared_ptr<Socket> s = sock_of(ctx, arg_int(a.a[0]), &err);
  if (!s) return err;
  const OptRow* row = find_option(*s, arg_int(a.a[1]), arg_int(a.a[2]));
  if (!row || !row->set) return -ENOPROTOOPT;
  if (static_cast<int32_t>(a.a[4]) < static_cast<int32_t>(sizeof(int32_t))) return -EINVAL;
  int32_t v = 0;
  if (!ctx.read_user(GuestAddr{a.a[3]}, &v, sizeof v)) return -EFAULT;
  return row->set(*s, v);
}

}  // namespace probesim::emu
