// Socket: a socket file (struct socket + struct sock) for AF_UNIX (net/unix/af_unix.c:
// SOCK_STREAM, SOCK_DGRAM, SOCK_SEQPACKET) and loopback AF_INET/AF_INET6 (TCP as a stream,
// UDP as datagrams between sockets of this machine; nothing leaves it). Data moves as Skbs
// from the sender straight into the receiver's queue, as unix sockets do; loopback TCP/UDP
// use the same path (the loopback device delivers at once).
//
// Results: bytes or 0, -errno, or File::kWouldBlock (the caller sleeps on wait_object(), this
// socket, and restarts; every change that may unblock a task wakes the socket it sleeps on).
// Ownership: shared_ptr like every File; peers and bindings are weak. The NetNamespace and
// PollHub outlive every socket.
#pragma once

#include <deque>
#include <memory>
#include <optional>
#include <utility>
#include <vector>

#include "emu/net/sock_addr.h"
#include "emu/net/socket_abi.h"
#include "emu/vfs/file.h"

namespace probesim::emu {

class NetNamespace;
class Socket;

struct UCred {  // struct ucred
  int32_t pid = 0;
  uint32_t uid = 0;
  uint32_t gid = 0;
  bool operator==(const UCred&) const = default;
};

// One message in a receive queue (an sk_buff): a datagram, or a piece of a stream.
struct Skb {
  std::vector<uint8_t> data;
  size_t off = 0;                            // stream: bytes already read
  std::vector<std::shared_ptr<File>> fds;    // SCM_RIGHTS in flight
  UCred cred;                                // the sender's (SCM_CREDENTIALS)
  SockAddr from;                             // the sender's address when it sent
  std::weak_ptr<const Socket> sender;        // AF_UNIX: recvfrom shows its address then
};

struct SendRequest {
  std::span<const uint8_t> data;
  std::optional<SockAddr> to;                // sendto/sendmsg msg_name
  std::string to_key;                        // AF_UNIX: its binding key (NetNamespace)
  std::vector<std::shared_ptr<File>> fds;
  UCred cred;
};

struct RecvResult {
  int64_t n = 0;                             // bytes, -errno or kWouldBlock
  std::vector<uint8_t> data;                 // the bytes (n of them)
  size_t full_len = 0;                       // a datagram's real length (MSG_TRUNC)
  SockAddr from;
  std::vector<std::shared_ptr<File>> fds;
  std::optional<UCred> cred;                 // with SO_PASSCRED
  uint32_t msg_flags = 0;
};

class Socket : public File, public std::enable_shared_from_this<Socket> {
 public:
  enum class State { Unconnected, Listening, Connected };

  Socket(NetNamespace& ns, PollHub& hub, int family, int type, int protocol, uint32_t f_flags,
         InodeRef inode, UCred owner);
  ~Socket() override;

  // A connected pair (socketpair): both ends' peer credentials are the creator's.
  static void pair(const std::shared_ptr<Socket>& a, const std::shared_ptr<Socket>& b);

  // bind: `key` is the binding's name in the namespace (NetNamespace::unix_key for AF_UNIX;
  // empty for inet, whose port is taken here). -EINVAL if bound, -EADDRINUSE if taken.
  int64_t bind(const SockAddr& a, const std::string& key);
  int64_t listen(int backlog, UCred cred);
  int64_t connect(const SockAddr& a, const std::string& key, UCred cred);
  // The next queued connection, or null with *err = -EINVAL (not listening) / kWouldBlock.
  std::shared_ptr<Socket> accept(int64_t* err);
  // *sigpipe: the error is a broken stream (EPIPE), which raises SIGPIPE unless MSG_NOSIGNAL.
  int64_t send(SendRequest& req, bool* sigpipe);
  RecvResult recv(size_t len, uint32_t flags);
  int64_t shutdown(int how);

  int64_t read(std::span<uint8_t> out) override;
  int64_t write(std::span<const uint8_t> in) override;
  int64_t ioctl(uint64_t request, uint64_t arg) override;
  PollMask poll() const override;
  bool can_poll() const override { return true; }

  int family() const { return family_; }
  bool connection_based() const { return type_ != kSOCK_DGRAM; }  // stream or seqpacket
  int type() const { return type_; }
  int protocol() const { return protocol_; }
  State state() const { return state_; }
  const SockAddr& local() const { return local_; }
  // getpeername's address; nullopt when not connected (-ENOTCONN).
  std::optional<SockAddr> peer_addr() const;
  UCred peer_cred() const { return peer_cred_; }
  int take_error() { return std::exchange(err_, 0); }  // SO_ERROR
  int sndbuf = kDefaultSockBuf, rcvbuf = kDefaultSockBuf;  // SO_SNDBUF / SO_RCVBUF
  bool passcred = false, reuseaddr = false, keepalive = false, nodelay = false, v6only = false;

 private:
  int64_t inet_autobind();
  int64_t connect_stream(const std::shared_ptr<Socket>& listener, UCred cred);
  int64_t send_stream(SendRequest& req, bool* sigpipe);
  int64_t send_dgram(SendRequest& req);
  std::shared_ptr<Socket> find_receiver(const SendRequest& req, int64_t* err);
  void enqueue(Skb skb);
  void dequeued();
  size_t queued_bytes() const;
  RecvResult recv_stream(size_t len, uint32_t flags);
  RecvResult recv_dgram(size_t len, uint32_t flags);
  void wake(PollMask key) const;
  void peer_gone(bool reset);

  NetNamespace& ns_;
  PollHub& hub_;
  int family_, type_, protocol_;
  State state_ = State::Unconnected;
  SockAddr local_;
  std::weak_ptr<Socket> peer_;
  SockAddr peer_addr_;
  bool had_peer_ = false;
  UCred owner_, peer_cred_;
  std::deque<Skb> rcvq_;
  std::deque<std::shared_ptr<Socket>> accept_q_;  // embryo connections (listening)
  int backlog_ = 0;
  uint8_t shutdown_ = 0;  // kRcvShutdown | kSendShutdown
  int err_ = 0;           // sk_err: reported once by the next call or SO_ERROR
  std::vector<std::weak_ptr<Socket>> blocked_senders_;  // waiting for room in rcvq_ / accept_q_
};

}  // namespace probesim::emu
