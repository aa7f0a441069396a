#include "emu/net/socket.h"

#include <algorithm>
#include <cerrno>
#include <cstring>

#include "emu/net/net_namespace.h"
#include "emu/vfs/node.h"
#include "emu/vfs/vfs_abi.h"

namespace probesim::emu {
namespace {

std::string socket_name(const InodeRef& inode) {
  return "socket:[" + std::to_string(inode ? inode->i_ino() : 0) + "]";
}

}  // namespace

Socket::Socket(NetNamespace& ns, PollHub& hub, int family, int type, int protocol,
               uint32_t f_flags, InodeRef inode, UCred owner)
    : File(f_flags, socket_name(inode), inode, kSockFsDev),
      ns_(ns),
      hub_(hub),
      family_(family),
      type_(type),
      protocol_(protocol),
      owner_(owner) {}

// unix_release_sock / tcp_close: a connected peer sees the connection end (both directions
// shut; ECONNRESET if we leave unread data, or were never accepted); embryos die with us.
Socket::~Socket() {
  const bool unread = !rcvq_.empty();
  if (std::shared_ptr<Socket> peer = peer_.lock(); peer && connection_based())
    peer->peer_gone(unread);
  accept_q_.clear();  // each embryo's destructor resets its client
  for (auto& w : blocked_senders_)
    if (std::shared_ptr<Socket> s = w.lock()) s->wake(kPollAnyEvent);
}

void Socket::peer_gone(bool reset) {
  shutdown_ = kShutdownMask;
  if (reset) err_ = ECONNRESET;
  wake(kPollAnyEvent);
}

void Socket::wake(PollMask key) const { hub_.wake(this, key); }

void Socket::pair(const std::shared_ptr<Socket>& a, const std::shared_ptr<Socket>& b) {
  a->peer_ = b;
  b->peer_ = a;
  a->had_peer_ = b->had_peer_ = true;
  a->peer_cred_ = b->owner_;
  b->peer_cred_ = a->owner_;
  a->state_ = b->state_ = State::Connected;
}

std::optional<SockAddr> Socket::peer_addr() const {
  if (!had_peer_ || (state_ != State::Connected)) return std::nullopt;
  return peer_addr_;
}

size_t Socket::queued_bytes() const {
  size_t n = 0;
  for (const Skb& s : rcvq_) n += s.data.size() - s.off;
  return n;
}

// ---- names ----

int64_t Socket::inet_autobind() {
  const uint16_t port = ns_.ephemeral_port(type_ == kSOCK_STREAM ? "tcp" : "udp");
  if (port == 0) return -EAGAIN;
  local_ = loopback_of(family_);
  local_.ip = SockAddr{}.ip;  // INADDR_ANY, as inet_autobind leaves it
  local_.family = family_;
  local_.port = port;
  ns_.bind(NetNamespace::inet_key(type_, port), shared_from_this());
  return 0;
}

// unix_bind / inet_bind
int64_t Socket::bind(const SockAddr& a, const std::string& key) {
  if (family_ == kAF_UNIX) {
    if (local_.family) return -EINVAL;
    if (ns_.taken(key)) return -EADDRINUSE;
    local_ = a;
    ns_.bind(key, shared_from_this());
    return 0;
  }
  if (!is_any(a) && !is_loopback(a)) return -EADDRNOTAVAIL;
  if (local_.port) return -EINVAL;
  if (a.port == 0) {
    if (int64_t err = inet_autobind()) return err;
    local_.ip = a.ip;
    return 0;
  }
  const std::string k = NetNamespace::inet_key(type_, a.port);
  if (ns_.taken(k)) return -EADDRINUSE;
  local_ = a;
  ns_.bind(k, shared_from_this());
  return 0;
}

// unix_listen / inet_listen: a stream (or seqpacket) socket; AF_UNIX must be bound, an inet
// socket is bound to an ephemeral port if it is not.
int64_t Socket::listen(int backlog, UCred cred) {
  if (!connection_based()) return -EOPNOTSUPP;
  if (state_ == State::Connected) return -EINVAL;
  if (family_ == kAF_UNIX && !local_.family) return -EINVAL;
  if (family_ != kAF_UNIX && !local_.port)
    if (int64_t err = inet_autobind()) return err;
  backlog_ = std::clamp(backlog, 0, kSomaxconn);
  owner_ = cred;  // init_peercred: what connecting clients see as SO_PEERCRED
  state_ = State::Listening;
  return 0;
}

// ---- connecting ----

int64_t Socket::connect(const SockAddr& a, const std::string& key, UCred cred) {
  if (family_ != kAF_UNIX && !is_loopback(a) && !is_any(a)) return -ENETUNREACH;
  if (family_ != kAF_UNIX && a.port == 0 && connection_based()) return -ECONNREFUSED;
  const std::string k = family_ == kAF_UNIX ? key : NetNamespace::inet_key(type_, a.port);
  std::shared_ptr<Socket> other = ns_.find(k);
  if (connection_based()) {
    if (state_ == State::Connected) return -EISCONN;
    if (state_ == State::Listening) return -EINVAL;
    if (!other || other->state_ != State::Listening) return -ECONNREFUSED;
    if (other->type_ != type_) return -EPROTOTYPE;
    if (family_ != kAF_UNIX && other->family_ == kAF_INET && family_ == kAF_INET6)
      return -ECONNREFUSED;  // an IPv4 listener hears no IPv6 client
    if (family_ != kAF_UNIX && !is_any(other->local_) && other->local_.ip != a.ip)
      return -ECONNREFUSED;
    return connect_stream(other, cred);
  }
  // Datagrams: connect only sets the default destination (and the only source we hear).
  if (family_ == kAF_UNIX) {
    if (!other) return -ECONNREFUSED;
    if (other->type_ != type_) return -EPROTOTYPE;
  } else if (!local_.port) {
    if (int64_t err = inet_autobind()) return err;
  }
  peer_ = other;
  peer_addr_ = family_ == kAF_UNIX ? other->local_ : a;
  had_peer_ = true;
  state_ = State::Connected;
  return 0;
}

// unix_stream_connect: a new socket (the embryo) joins the listener's queue, already
// connected to us; accept hands it out. A full queue (more than backlog) waits.
int64_t Socket::connect_stream(const std::shared_ptr<Socket>& listener, UCred cred) {
  if (listener->accept_q_.size() > static_cast<size_t>(listener->backlog_)) {
    listener->blocked_senders_.push_back(shared_from_this());
    return kWouldBlock;
  }
  if (family_ != kAF_UNIX && !local_.port)
    if (int64_t err = inet_autobind()) return err;
  auto embryo = std::make_shared<Socket>(ns_, hub_, family_, type_, protocol_,
                                         kO_RDWR,
                                         InodeRef::acquire(listener->inode()), listener->owner_);
  owner_ = cred;
  pair(shared_from_this(), embryo);
  embryo->local_ = listener->local_;
  embryo->peer_addr_ = local_;
  peer_addr_ = listener->local_;
  if (family_ != kAF_UNIX) {
    if (is_any(embryo->local_)) embryo->local_.ip = loopback_of(family_).ip;
    if (is_any(local_)) local_.ip = loopback_of(family_).ip;
    embryo->peer_addr_ = local_;
    peer_addr_ = embryo->local_;
  }
  listener->accept_q_.push_back(std::move(embryo));
  listener->wake(kEPOLLIN | kEPOLLRDNORM);
  return 0;
}

std::shared_ptr<Socket> Socket::accept(int64_t* err) {
  if (state_ != State::Listening) {
    *err = -EINVAL;
    return nullptr;
  }
  if (accept_q_.empty()) {
    *err = kWouldBlock;
    return nullptr;
  }
  std::shared_ptr<Socket> s = std::move(accept_q_.front());
  accept_q_.pop_front();
  dequeued();
  *err = 0;
  return s;
}

int64_t Socket::shutdown(int how) {
  if (how < kSHUT_RD || how > kSHUT_RDWR) return -EINVAL;
  if (family_ != kAF_UNIX && state_ != State::Connected) return -ENOTCONN;  // inet_shutdown
  const uint8_t mode = static_cast<uint8_t>(how + 1);  // SHUT_RD -> RCV, SHUT_WR -> SEND
  shutdown_ |= mode;
  wake(kPollAnyEvent);
  std::shared_ptr<Socket> peer = peer_.lock();
  if (peer && connection_based()) {
    // unix_shutdown: what we stop receiving, the peer stops sending, and vice versa.
    uint8_t peer_mode = 0;
    if (mode & kRcvShutdown) peer_mode |= kSendShutdown;
    if (mode & kSendShutdown) peer_mode |= kRcvShutdown;
    peer->shutdown_ |= peer_mode;
    peer->wake(kPollAnyEvent);
  }
  return 0;
}

// ---- data ----

void Socket::enqueue(Skb skb) {
  rcvq_.push_back(std::move(skb));
  wake(kEPOLLIN | kEPOLLRDNORM);
}

// Room was made in our queue: the stream peer may write again, blocked senders retry.
void Socket::dequeued() {
  if (std::shared_ptr<Socket> peer = peer_.lock(); peer && connection_based())
    peer->wake(kEPOLLOUT | kEPOLLWRNORM);
  std::vector<std::weak_ptr<Socket>> waiting;
  waiting.swap(blocked_senders_);
  for (auto& w : waiting)
    if (std::shared_ptr<Socket> s = w.lock()) s->wake(kEPOLLOUT | kEPOLLWRNORM);
}

int64_t Socket::send(SendRequest& req, bool* sigpipe) {
  *sigpipe = false;
  if (err_) return -std::exchange(err_, 0);
  if (state_ == State::Listening) return connection_based() && family_ != kAF_UNIX ? -EPIPE : -ENOTCONN;
  return connection_based() ? send_stream(req, sigpipe) : send_dgram(req);
}

// unix_stream_sendmsg / tcp_sendmsg: into the peer's queue, as much as the send buffer holds.
int64_t Socket::send_stream(SendRequest& req, bool* sigpipe) {
  if (req.to && family_ == kAF_UNIX) return state_ == State::Connected ? -EISCONN : -EOPNOTSUPP;
  if (state_ != State::Connected) return family_ == kAF_UNIX ? -ENOTCONN : -EPIPE;
  std::shared_ptr<Socket> peer = peer_.lock();
  if ((shutdown_ & kSendShutdown) || !peer || (peer->shutdown_ & kRcvShutdown)) {
    *sigpipe = true;
    return -EPIPE;
  }
  if (type_ == kSOCK_SEQPACKET && req.data.size() > static_cast<size_t>(sndbuf) - 32)
    return -EMSGSIZE;
  const size_t used = peer->queued_bytes();
  const size_t room = used >= static_cast<size_t>(sndbuf) ? 0 : sndbuf - used;
  if (room == 0 || (type_ == kSOCK_SEQPACKET && room < req.data.size())) return kWouldBlock;
  const size_t n = std::min(room, req.data.size());
  if (n == 0 && type_ == kSOCK_STREAM) return 0;
  Skb skb;
  skb.data.assign(req.data.begin(), req.data.begin() + static_cast<long>(n));
  skb.fds = std::move(req.fds);
  skb.cred = req.cred;
  skb.from = local_;
  skb.sender = shared_from_this();
  peer->enqueue(std::move(skb));
  return static_cast<int64_t>(n);
}

// The socket a datagram goes to: msg_name's, else the connected peer.
std::shared_ptr<Socket> Socket::find_receiver(const SendRequest& req, int64_t* err) {
  if (!req.to && family_ != kAF_UNIX) {  // udp_sendmsg: the connected address, looked up now
    *err = state_ == State::Connected ? 0 : -EDESTADDRREQ;
    return *err ? nullptr : ns_.find(NetNamespace::inet_key(type_, peer_addr_.port));
  }
  if (!req.to) {
    std::shared_ptr<Socket> peer = peer_.lock();
    if (!peer && had_peer_ && state_ == State::Connected) {
      // unix_dgram_disconnected: the peer died; this send learns it, the next is ENOTCONN.
      state_ = State::Unconnected;
      had_peer_ = false;
      *err = -ECONNREFUSED;
      return nullptr;
    }
    *err = peer ? 0 : -ENOTCONN;
    return peer;
  }
  if (family_ != kAF_UNIX) {
    if (!is_loopback(*req.to) && !is_any(*req.to)) {
      *err = -ENETUNREACH;
      return nullptr;
    }
    *err = 0;
    return ns_.find(NetNamespace::inet_key(type_, req.to->port));
  }
  std::shared_ptr<Socket> other = ns_.find(req.to_key);
  *err = !other ? -ECONNREFUSED : other->type_ != type_ ? -EPROTOTYPE : 0;
  return *err ? nullptr : other;
}

// unix_dgram_sendmsg / udp_sendmsg
int64_t Socket::send_dgram(SendRequest& req) {
  if (shutdown_ & kSendShutdown) return -EPIPE;
  if (family_ != kAF_UNIX && !local_.port)
    if (int64_t err = inet_autobind()) return err;
  int64_t err = 0;
  std::shared_ptr<Socket> other = find_receiver(req, &err);
  if (err) return err;
  if (family_ == kAF_UNIX) {
    if (req.data.size() > static_cast<size_t>(sndbuf) - 32) return -EMSGSIZE;
    // unix_may_send: a receiver connected elsewhere hears only its peer.
    std::shared_ptr<Socket> theirs = other->peer_.lock();
    if (theirs && theirs.get() != this) return -EPERM;
    if (other->shutdown_ & kRcvShutdown) return -EPIPE;
    if (other->rcvq_.size() > kUnixMaxDgramQlen) {
      other->blocked_senders_.push_back(shared_from_this());
      return kWouldBlock;
    }
  } else {
    if (req.data.size() > 65507) return -EMSGSIZE;
    if (!other || (other->family_ == kAF_INET && family_ == kAF_INET6)) {
      // Port unreachable: a connected socket hears of it (ECONNREFUSED on its next call).
      if (!req.to) err_ = ECONNREFUSED;
      return static_cast<int64_t>(req.data.size());
    }
    if (other->queued_bytes() + req.data.size() > static_cast<size_t>(other->rcvbuf))
      return static_cast<int64_t>(req.data.size());  // dropped, as a full UDP queue does
  }
  Skb skb;
  skb.data.assign(req.data.begin(), req.data.end());
  skb.fds = std::move(req.fds);
  skb.cred = req.cred;
  skb.from = local_;
  skb.sender = shared_from_this();
  if (family_ != kAF_UNIX && is_any(skb.from)) skb.from.ip = loopback_of(family_).ip;
  other->enqueue(std::move(skb));
  return static_cast<int64_t>(req.data.size());
}

RecvResult Socket::recv(size_t len, uint32_t flags) {
  RecvResult r;
  if (err_) {
    r.n = -std::exchange(err_, 0);
    return r;
  }
  if (state_ == State::Listening) {
    r.n = -EINVAL;
    return r;
  }
  return type_ == kSOCK_STREAM ? recv_stream(len, flags) : recv_dgram(len, flags);
}

// unix_stream_read_generic / tcp_recvmsg: bytes across queued pieces, stopping after a piece
// that carried fds and, with SO_PASSCRED, where the sender's credentials change.
RecvResult Socket::recv_stream(size_t len, uint32_t flags) {
  RecvResult r;
  if (state_ != State::Connected) {
    r.n = family_ == kAF_UNIX ? -EINVAL : -ENOTCONN;
    return r;
  }
  if (rcvq_.empty()) {
    r.n = (shutdown_ & kRcvShutdown) ? 0 : kWouldBlock;
    return r;
  }
  if (len == 0) return r;
  const bool peek = flags & kMSG_PEEK;
  if ((flags & kMSG_WAITALL) && queued_bytes() < len && !(shutdown_ & kRcvShutdown) &&
      len <= static_cast<size_t>(rcvbuf)) {
    r.n = kWouldBlock;  // all of it or nothing yet (a restarted call must not lose bytes)
    return r;
  }
  std::vector<uint8_t> out;
  size_t i = 0;
  while (out.size() < len && i < rcvq_.size()) {
    Skb& skb = rcvq_[i];
    if (!out.empty() && r.cred && *r.cred != skb.cred) break;
    if (passcred) r.cred = skb.cred;
    const size_t n = std::min(len - out.size(), skb.data.size() - skb.off);
    out.insert(out.end(), skb.data.begin() + static_cast<long>(skb.off),
               skb.data.begin() + static_cast<long>(skb.off + n));
    const bool had_fds = !skb.fds.empty();
    if (had_fds) r.fds = peek ? skb.fds : std::move(skb.fds);
    if (!peek) {
      skb.fds.clear();
      skb.off += n;
      if (skb.off == skb.data.size()) rcvq_.erase(rcvq_.begin() + static_cast<long>(i));
    } else {
      ++i;
    }
    if (had_fds) break;
  }
  if (!peek) dequeued();
  r.n = static_cast<int64_t>(out.size());
  r.full_len = out.size();
  r.from = peer_addr_;
  r.data = std::move(out);
  return r;
}

// unix_dgram_recvmsg / udp_recvmsg (and seqpacket): one message per call; the rest of a long
// one is dropped (MSG_TRUNC), unless peeking.
RecvResult Socket::recv_dgram(size_t len, uint32_t flags) {
  RecvResult r;
  if (type_ == kSOCK_SEQPACKET && state_ != State::Connected) {
    r.n = -ENOTCONN;
    return r;
  }
  if (rcvq_.empty()) {
    r.n = (shutdown_ & kRcvShutdown) ? 0 : kWouldBlock;
    return r;
  }
  const bool peek = flags & kMSG_PEEK;
  Skb& skb = rcvq_.front();
  const size_t n = std::min(len, skb.data.size());
  r.data.assign(skb.data.begin(), skb.data.begin() + static_cast<long>(n));
  r.full_len = skb.data.size();
  if (n < skb.data.size()) r.msg_flags |= kMSG_TRUNC;
  r.from = skb.from;
  // unix_copy_addr reads the sending socket's address as it is now (it may have bound since).
  if (std::shared_ptr<const Socket> sender = skb.sender.lock(); sender && family_ == kAF_UNIX)
    r.from = sender->local();
  if (passcred) r.cred = skb.cred;
  r.fds = peek ? skb.fds : std::move(skb.fds);
  r.n = static_cast<int64_t>(n);
  if (!peek) {
    rcvq_.pop_front();
    dequeued();
  }
  return r;
}

int64_t Socket::read(std::span<uint8_t> out) {
  RecvResult r = recv(out.size(), 0);
  if (r.n > 0) std::copy(r.data.begin(), r.data.end(), out.begin());
  return r.n;
}

int64_t Socket::write(std::span<const uint8_t> in) {
  SendRequest req;
  req.data = in;
  req.cred = owner_;
  bool sigpipe = false;
  return send(req, &sigpipe);  // write() raises SIGPIPE for EPIPE (MachineState::dispatch_syscall)
}

int64_t Socket::ioctl(uint64_t request, uint64_t) {
  constexpr uint64_t kFionread = 0x541b;  // SIOCINQ
  if (request != kFionread) return -ENOTTY;
  if (state_ == State::Listening) return -EINVAL;
  if (type_ == kSOCK_STREAM) return static_cast<int64_t>(queued_bytes());
  return rcvq_.empty() ? 0 : static_cast<int64_t>(rcvq_.front().data.size());
}

// unix_poll / unix_dgram_poll / tcp_poll / udp_poll (datagram_poll).
PollMask Socket::poll() const {
  PollMask mask = 0;
  if (err_) mask |= kEPOLLERR;
  if (shutdown_ == kShutdownMask) mask |= kEPOLLHUP;
  if (shutdown_ & kRcvShutdown) mask |= kEPOLLRDHUP | kEPOLLIN | kEPOLLRDNORM;
  if (state_ == State::Listening) {
    if (!accept_q_.empty()) mask |= kEPOLLIN | kEPOLLRDNORM;
    return family_ == kAF_UNIX ? mask : mask & (kEPOLLIN | kEPOLLRDNORM);
  }
  if (!rcvq_.empty()) mask |= kEPOLLIN | kEPOLLRDNORM;
  if (connection_based() && state_ != State::Connected) mask |= kEPOLLHUP;
  bool writable = true;
  if (std::shared_ptr<Socket> peer = peer_.lock()) {
    if (connection_based())
      writable = peer->queued_bytes() * 4 <= static_cast<size_t>(sndbuf);
    else if (family_ == kAF_UNIX)
      writable = peer->rcvq_.size() <= kUnixMaxDgramQlen;
  }
  // (Shutdown does not matter: unix_writable ignores it, tcp_poll reports OUT after SEND_SHUTDOWN.)
  if (writable) mask |= kEPOLLOUT | kEPOLLWRNORM | kEPOLLWRBAND;
  return mask;
}

}  // namespace probesim::emu
