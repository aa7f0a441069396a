// Socket data (net/socket.c ____sys_sendmsg / ____sys_recvmsg, net/core/scm.c): sendto,
// recvfrom, sendmsg, recvmsg with iovecs, SCM_RIGHTS and SCM_CREDENTIALS control messages,
// MSG_PEEK / MSG_DONTWAIT / MSG_NOSIGNAL / MSG_TRUNC / MSG_WAITALL / MSG_CMSG_CLOEXEC.
#include <algorithm>
#include <cerrno>
#include <cstring>
#include <vector>

#include "emu/machine_state.h"
#include "emu/net/socket_abi.h"
#include "emu/syscalls/sys_fs_common.h"
#include "emu/syscalls/sys_socket_common.h"
#include "emu/syscalls/syscall_handlers.h"
#include "emu/vfs/fd_table.h"
#include "emu/vfs/vfs_abi.h"

namespace probesim::emu {
namespace {

struct MsgHdr {  // struct user_msghdr (64-bit)
  uint64_t name;
  int32_t namelen;
  int32_t pad;
  uint64_t iov;
  uint64_t iovlen;
  uint64_t control;
  uint64_t controllen;
  uint32_t flags;
  uint32_t pad2;
};
static_assert(sizeof(MsgHdr) == 56);

struct Iovec {
  uint64_t base, len;
};

struct CmsgHdr {  // struct cmsghdr
  uint64_t len;
  int32_t level, type;
};
constexpr size_t kCmsgHdr = sizeof(CmsgHdr);
constexpr size_t kScmMaxFd = 253;
constexpr uint64_t kMaxMsg = 4u << 20;  // bytes gathered from the user per call

size_t cmsg_align(size_t n) { return (n + 7) & ~size_t{7}; }

int64_t read_iov(SyscallContext& ctx, const MsgHdr& m, std::vector<Iovec>* iov) {
  if (m.iovlen > static_cast<uint64_t>(kIovMax)) return -EMSGSIZE;
  iov->resize(m.iovlen);
  if (m.iovlen && !ctx.read_user(GuestAddr{m.iov}, iov->data(), m.iovlen * sizeof(Iovec)))
    return -EFAULT;
  uint64_t total = 0;
  for (const Iovec& v : *iov)
    if (static_cast<int64_t>(v.len) < 0 || __builtin_add_overflow(total, v.len, &total) ||
        static_cast<int64_t>(total) < 0)
      return -EINVAL;
  return 0;
}

int64_t gather(SyscallContext& ctx, const std::vector<Iovec>& iov, std::vector<uint8_t>* out) {
  for (const Iovec& v : iov) {
    const uint64_t n = std::min<uint64_t>(v.len, kMaxMsg - out->size());
    const size_t at = out->size();
    out->resize(at + n);
    if (n && !ctx.read_user(GuestAddr{v.base}, out->data() + at, n)) return -EFAULT;
    if (out->size() >= kMaxMsg) break;
  }
  return 0;
}

// __scm_send: SOL_SOCKET messages (AF_UNIX only), each fd valid, at most SCM_MAX_FD.
int64_t parse_control(SyscallContext& ctx, const Socket& s, const MsgHdr& m, SendRequest* req) {
  if (m.controllen == 0) return 0;
  if (m.controllen > (1u << 20)) return -ENOBUFS;
  std::vector<uint8_t> buf(m.controllen);
  if (!ctx.read_user(GuestAddr{m.control}, buf.data(), buf.size())) return -EFAULT;
  for (size_t off = 0; off + kCmsgHdr <= buf.size();) {
    CmsgHdr h;
    std::memcpy(&h, buf.data() + off, kCmsgHdr);
    if (h.len < kCmsgHdr || h.len > buf.size() - off) return -EINVAL;
    const size_t data_len = h.len - kCmsgHdr;
    const uint8_t* data = buf.data() + off + kCmsgHdr;
    if (h.level == kSOL_SOCKET) {
      if (s.family() != kAF_UNIX) return -EINVAL;
      if (h.type == kSCM_RIGHTS) {
        const size_t n = data_len / sizeof(int32_t);
        if (n == 0 || req->fds.size() + n > kScmMaxFd) return -EINVAL;
        for (size_t i = 0; i < n; ++i) {
          int32_t fd;
          std::memcpy(&fd, data + i * sizeof fd, sizeof fd);
          std::shared_ptr<File> f = fd_file(ctx, fd, PathFd::Allowed);
          if (!f) return -EBADF;
          req->fds.push_back(std::move(f));
        }
      } else if (h.type == kSCM_CREDENTIALS) {
        if (data_len != sizeof(UCred)) return -EINVAL;
        std::memcpy(&req->cred, data, sizeof(UCred));  // root may claim any (CAP_SYS_ADMIN)
      } else {
        return -EINVAL;
      }
    }
    off += cmsg_align(h.len);
  }
  return 0;
}

// ____sys_sendmsg once the iovecs are known: the destination, control messages, the data.
int64_t send_iov(SyscallContext& ctx, int fd, const MsgHdr& m, const std::vector<Iovec>& iov,
                 uint32_t flags) {
  int64_t err = 0;
  std::shared_ptr<Socket> s = sock_of(ctx, fd, &err);
  if (!s) return err;
  SendRequest req;
  req.cred = ucred_of(ctx);
  if (m.name && m.namelen) {
    SockAddr to;
    if ((err = read_sockaddr(ctx, *s, m.name, static_cast<uint32_t>(m.namelen), &to))) return err;
    if (s->family() == kAF_UNIX && !s->connection_based() &&
        (err = unix_target_key(ctx, to, &req.to_key)))
      return err;
    req.to = to;
  }
  if ((err = parse_control(ctx, *s, m, &req))) return err;
  std::vector<uint8_t> data;
  if ((err = gather(ctx, iov, &data))) return err;
  req.data = data;
  bool sigpipe = false;
  const int64_t n = s->send(req, &sigpipe);
  if (n == File::kWouldBlock) return sock_wait(ctx, *s, flags & kMSG_DONTWAIT);
  if (sigpipe && !(flags & kMSG_NOSIGNAL))
    ctx.machine().send_signal(ctx.proc(), &ctx.task(), SigInfo{kSigPipe});
  return n;
}

// ____sys_recvmsg starts msg_namelen at 0: unix_copy_addr fills it only for a named sender,
// tcp_recvmsg never; datagrams (and unix streams) give the sender's address.
std::vector<uint8_t> source_name(const Socket& s, const SockAddr& from) {
  if (s.family() == kAF_UNIX && from.unix_name.empty()) return {};
  if (s.family() != kAF_UNIX && s.type() == kSOCK_STREAM) return {};
  return encode_sockaddr(from, s.family());
}

void scatter(SyscallContext& ctx, const std::vector<Iovec>& iov, const std::vector<uint8_t>& d) {
  size_t done = 0;
  for (const Iovec& v : iov) {
    if (done >= d.size()) break;
    const size_t n = std::min<size_t>(v.len, d.size() - done);
    ctx.write_user(GuestAddr{v.base}, d.data() + done, n);
    done += n;
  }
}

// scm_recv: credentials first (SO_PASSCRED), then the fds as new descriptors (scm_detach_fds);
// what does not fit is MSG_CTRUNC (fds beyond the room are closed). Returns the bytes used.
uint64_t put_control(SyscallContext& ctx, const MsgHdr& m, RecvResult& r, uint32_t flags,
                     uint32_t* msg_flags) {
  std::vector<uint8_t> out;
  auto put = [&](int type, const void* data, size_t len) {
    if (m.controllen < out.size() + kCmsgHdr + len) {
      *msg_flags |= kMSG_CTRUNC;
      return;
    }
    CmsgHdr h{kCmsgHdr + len, kSOL_SOCKET, type};
    const size_t at = out.size();
    out.resize(at + cmsg_align(kCmsgHdr + len), 0);
    std::memcpy(out.data() + at, &h, kCmsgHdr);
    std::memcpy(out.data() + at + kCmsgHdr, data, len);
  };
  if (r.cred) put(kSCM_CREDENTIALS, &*r.cred, sizeof(UCred));
  if (!r.fds.empty()) {
    const size_t room = m.controllen > out.size() + kCmsgHdr
                            ? (m.controllen - out.size() - kCmsgHdr) / sizeof(int32_t) : 0;
    const size_t n = std::min(room, r.fds.size());
    if (n < r.fds.size()) *msg_flags |= kMSG_CTRUNC;
    std::vector<int32_t> fds;
    const CloseOnExec ce = (flags & kMSG_CMSG_CLOEXEC) ? CloseOnExec::Yes : CloseOnExec::No;
    for (size_t i = 0; i < n; ++i) {
      const int fd = ctx.fds().install(r.fds[i], ce);
      if (fd < 0) {
        *msg_flags |= kMSG_CTRUNC;
        break;
      }
      fds.push_back(fd);
    }
    if (!fds.empty()) put(kSCM_RIGHTS, fds.data(), fds.size() * sizeof(int32_t));
  }
  if (!out.empty()) ctx.write_user(GuestAddr{m.control}, out.data(), out.size());
  const size_t used = out.empty() ? 0 : out.size() - (cmsg_align(out.size()) - out.size());
  return std::min<uint64_t>(used, m.controllen);
}

// recvmsg's work; *m is updated (namelen, controllen, flags) for the caller to write back.
int64_t do_recv(SyscallContext& ctx, int fd, MsgHdr* m, uint32_t flags) {
  int64_t err = 0;
  std::shared_ptr<Socket> s = sock_of(ctx, fd, &err);
  if (!s) return err;
  std::vector<Iovec> iov;
  if ((err = read_iov(ctx, *m, &iov))) return err;
  uint64_t len = 0;
  for (const Iovec& v : iov) len += v.len;
  for (const Iovec& v : iov)
    if (v.len && !ctx.access_ok(GuestAddr{v.base}, v.len)) return -EFAULT;
  RecvResult r = s->recv(std::min<uint64_t>(len, kMaxMsg), flags);
  if (r.n == File::kWouldBlock) return sock_wait(ctx, *s, flags & kMSG_DONTWAIT);
  if (r.n < 0) return r.n;
  scatter(ctx, iov, r.data);
  uint32_t msg_flags = r.msg_flags;
  if (m->name) {
    const std::vector<uint8_t> name = source_name(*s, r.from);
    const size_t n = std::min<size_t>(static_cast<size_t>(std::max(m->namelen, 0)), name.size());
    if (n) ctx.write_user(GuestAddr{m->name}, name.data(), n);
    m->namelen = static_cast<int32_t>(name.size());
  }
  m->controllen = m->control ? put_control(ctx, *m, r, flags, &msg_flags) : 0;
  if (!m->control && (!r.fds.empty())) msg_flags |= kMSG_CTRUNC;
  m->flags = msg_flags;
  return (flags & kMSG_TRUNC) ? static_cast<int64_t>(r.full_len) : r.n;
}

}  // namespace

// sendto(fd, buf, len, flags, addr, addrlen) — send() is sendto without an address.
int64_t sys_sendto(SyscallContext& ctx, const SyscallArgs& a) {
  if (static_cast<int64_t>(a.a[2]) < 0) return -EINVAL;
  if (!ctx.access_ok(GuestAddr{a.a[1]}, a.a[2])) return -EFAULT;
  MsgHdr m{};
  m.name = a.a[4];
  m.namelen = m.name ? static_cast<int32_t>(a.a[5]) : 0;
  return send_iov(ctx, arg_int(a.a[0]), m, {Iovec{a.a[1], a.a[2]}}, static_cast<uint32_t>(a.a[3]));
}

int64_t sys_sendmsg(SyscallContext& ctx, const SyscallArgs& a) {
  MsgHdr m;
  if (!ctx.read_user(GuestAddr{a.a[1]}, &m, sizeof m)) return -EFAULT;
  std::vector<Iovec> iov;
  if (int64_t err = read_iov(ctx, m, &iov)) return err;
  return send_iov(ctx, arg_int(a.a[0]), m, iov, static_cast<uint32_t>(a.a[2]));
}

// recvfrom(fd, buf, len, flags, addr, addrlen)
int64_t sys_recvfrom(SyscallContext& ctx, const SyscallArgs& a) {
  int64_t err = 0;
  std::shared_ptr<Socket> s = sock_of(ctx, arg_int(a.a[0]), &err);
  if (!s) return err;
  if (!ctx.access_ok(GuestAddr{a.a[1]}, a.a[2])) return -EFAULT;
  const uint32_t flags = static_cast<uint32_t>(a.a[3]);
  if (a.a[4]) {
    int32_t len = 0;
    if (!ctx.read_user(GuestAddr{a.a[5]}, &len, sizeof len)) return -EFAULT;
    if (len < 0) return -EINVAL;
  }
  RecvResult r = s->recv(std::min<uint64_t>(a.a[2], kMaxMsg), flags);
  if (r.n == File::kWouldBlock) return sock_wait(ctx, *s, flags & kMSG_DONTWAIT);
  if (r.n < 0) return r.n;
  if (!r.data.empty()) ctx.write_user(GuestAddr{a.a[1]}, r.data.data(), r.data.size());
  if (a.a[4]) {  // move_addr_to_user of the source (maybe none: length 0)
    const std::vector<uint8_t> name = source_name(*s, r.from);
    int32_t ulen = 0;
    ctx.read_user(GuestAddr{a.a[5]}, &ulen, sizeof ulen);
    const size_t n = std::min<size_t>(static_cast<size_t>(ulen), name.size());
    if (n && !ctx.write_user(GuestAddr{a.a[4]}, name.data(), n)) return -EFAULT;
    const int32_t full = static_cast<int32_t>(name.size());
    if (!ctx.write_user(GuestAddr{a.a[5]}, &full, sizeof full)) return -EFAULT;
  }
  return (flags & kMSG_TRUNC) ? static_cast<int64_t>(r.full_len) : r.n;
}

int64_t sys_recvmsg(SyscallContext& ctx, const SyscallArgs& a) {
  MsgHdr m;
  if (!ctx.read_user(GuestAddr{a.a[1]}, &m, sizeof m)) return -EFAULT;
  const int64_t n = do_recv(ctx, arg_int(a.a[0]), &m, static_cast<uint32_t>(a.a[2]));
  if (n < 0 || ctx.disposition == SyscallDisposition::Blocked) return n;
  const uint64_t base = a.a[1];
  if (!ctx.write_user(GuestAddr{base + offsetof(MsgHdr, namelen)}, &m.namelen, 4) ||
      !ctx.write_user(GuestAddr{base + offsetof(MsgHdr, controllen)}, &m.controllen, 8) ||
      !ctx.write_user(GuestAddr{base + offsetof(MsgHdr, flags)}, &m.flags, 4))
    return -EFAULT;
  return n;
}

}  // namespace probesim::emu
