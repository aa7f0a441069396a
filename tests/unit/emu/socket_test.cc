// Sockets inside the machine (emu/net/): address decoding, names, and the data path of a
// connected pair, one rule per TEST_CASE.
#include <doctest/doctest.h>

#include <memory>
#include <vector>

#include "emu/net/net_namespace.h"
#include "emu/net/socket.h"
#include "emu/sched/strategy.h"
#include "emu/scheduler.h"
#include "emu/vfs/vfs_abi.h"
#include "emu/wait_queues.h"

using namespace probesim;
using namespace probesim::emu;

namespace {

struct Fixture {
  Scheduler sched{1, make_strategy(StrategySpec{}, 0, 0), 2'000'000'000, 0};
  WaitQueues q;
  WaitQueueHub hub{q, sched};
  NetNamespace ns;
  std::shared_ptr<Socket> make(int family, int type) {
    return std::make_shared<Socket>(ns, hub, family, type, 0, kO_RDWR, InodeRef(), UCred{7, 0, 0});
  }
};

std::vector<uint8_t> bytes(std::string_view s) { return {s.begin(), s.end()}; }

}  // namespace

TEST_CASE("sockaddr: unix names end at the first NUL, abstract ones keep every byte") {
  SockAddr a;
  CHECK(decode_sockaddr(kAF_UNIX, bytes(std::string("\1\0/tmp/s\0junk", 13)), &a) == 0);
  CHECK(a.unix_name == "/tmp/s");
  CHECK(encode_sockaddr(a, kAF_UNIX).size() == 2 + 6 + 1);
  CHECK(decode_sockaddr(kAF_UNIX, bytes(std::string("\1\0\0ab\0", 6)), &a) == 0);
  CHECK(a.abstract());
  CHECK(a.unix_name.size() == 4);
  CHECK(decode_sockaddr(kAF_UNIX, bytes(std::string("\1\0", 2)), &a) == -EINVAL);
  CHECK(decode_sockaddr(kAF_UNIX, bytes(std::string("\2\0/x", 4)), &a) == -EINVAL);
}

TEST_CASE("sockaddr: inet needs a full sockaddr_in and its family, only loopback is local") {
  SockAddr a;
  const std::string in("\2\0\x1f\x90\x7f\0\0\1\0\0\0\0\0\0\0\0", 16);
  CHECK(decode_sockaddr(kAF_INET, bytes(in), &a) == 0);
  CHECK(a.port == 8080);
  CHECK(is_loopback(a));
  CHECK(decode_sockaddr(kAF_INET, bytes(in.substr(0, 8)), &a) == -EINVAL);
  CHECK(decode_sockaddr(kAF_INET, bytes("\12" + in.substr(1)), &a) == -EAFNOSUPPORT);
  a.ip[0] = 10;
  CHECK_FALSE(is_loopback(a));
  CHECK(encode_sockaddr(loopback_of(kAF_INET6), kAF_INET6).size() == 28);
}

TEST_CASE("net namespace: ephemeral ports are given in order and skip taken ones") {
  Fixture f;
  CHECK(f.ns.ephemeral_port("tcp") == 32768);
  auto s = f.make(kAF_INET, kSOCK_STREAM);
  SockAddr a = loopback_of(kAF_INET);
  a.port = 32769;
  CHECK(s->bind(a, "") == 0);
  CHECK(f.ns.ephemeral_port("tcp") == 32770);
  CHECK(f.ns.ephemeral_port("udp") == 32771);
}

TEST_CASE("unix stream pair: bytes merge, peek keeps them, the peer's close is EOF and EPIPE") {
  Fixture f;
  auto a = f.make(kAF_UNIX, kSOCK_STREAM), b = f.make(kAF_UNIX, kSOCK_STREAM);
  Socket::pair(a, b);
  const std::vector<uint8_t> ab = bytes("ab"), cd = bytes("cd");
  CHECK(a->write(ab) == 2);
  CHECK(a->write(cd) == 2);
  CHECK(b->recv(3, kMSG_PEEK).n == 3);
  RecvResult r = b->recv(8, 0);
  CHECK(r.data == bytes("abcd"));
  CHECK(b->recv(8, 0).n == File::kWouldBlock);
  b.reset();
  CHECK((a->poll() & (kEPOLLHUP | kEPOLLRDHUP | kEPOLLIN)) == (kEPOLLHUP | kEPOLLRDHUP | kEPOLLIN));
  CHECK(a->recv(8, 0).n == 0);
  bool sigpipe = false;
  SendRequest req;
  req.data = ab;
  CHECK(a->send(req, &sigpipe) == -EPIPE);
  CHECK(sigpipe);
}

TEST_CASE("unix datagrams keep boundaries, a full receiver queue makes senders wait") {
  Fixture f;
  auto a = f.make(kAF_UNIX, kSOCK_DGRAM), b = f.make(kAF_UNIX, kSOCK_DGRAM);
  Socket::pair(a, b);
  const std::vector<uint8_t> msg = bytes("hello");
  bool sigpipe = false;
  size_t sent = 0;
  for (;;) {
    SendRequest req;
    req.data = msg;
    if (a->send(req, &sigpipe) != 5) break;
    ++sent;
  }
  CHECK(sent == kUnixMaxDgramQlen + 1);
  RecvResult r = b->recv(2, 0);
  CHECK(r.n == 2);
  CHECK(r.full_len == 5);
  CHECK((r.msg_flags & kMSG_TRUNC) != 0);
}
