// Loopback TCP and UDP inside the machine, over IPv4 (127.0.0.1) and IPv6 (::1): a forked
// client and server (bind to port 0, getsockname, listen, connect, accept, send/recv,
// shutdown, getpeername), ECONNREFUSED from a port without a listener, EADDRINUSE, a connected
// UDP socket learning ECONNREFUSED, poll masks, socket options. Argument "unreachable": what a
// machine with only lo says for other addresses (probesim only: the host's network answers
// differently).
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include "guest_util.h"

typedef union {
  struct sockaddr sa;
  struct sockaddr_in in;
  struct sockaddr_in6 in6;
} Addr;

static socklen_t loopback(int family, Addr* a, unsigned port) {
  memset(a, 0, sizeof *a);
  if (family == AF_INET) {
    a->in.sin_family = AF_INET;
    a->in.sin_port = htons(port);
    a->in.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    return sizeof a->in;
  }
  a->in6.sin6_family = AF_INET6;
  a->in6.sin6_port = htons(port);
  a->in6.sin6_addr = in6addr_loopback;
  return sizeof a->in6;
}

static unsigned port_of(const Addr* a) {
  return ntohs(a->sa.sa_family == AF_INET ? a->in.sin_port : a->in6.sin6_port);
}

static int is_loopback(const Addr* a) {
  if (a->sa.sa_family == AF_INET) return a->in.sin_addr.s_addr == htonl(INADDR_LOOPBACK);
  return memcmp(&a->in6.sin6_addr, &in6addr_loopback, 16) == 0;
}

static unsigned local_port(int fd) {
  Addr a;
  socklen_t len = sizeof a;
  CHECK(getsockname(fd, &a.sa, &len) == 0);
  return port_of(&a);
}

static void print_poll(const char* what, int fd) {
  struct pollfd p = {.fd = fd, .events = POLLIN | POLLOUT | POLLRDHUP};
  poll(&p, 1, 0);
  short r = p.revents;
  printf("%s:%s%s%s%s%s\n", what, r & POLLIN ? " IN" : "", r & POLLOUT ? " OUT" : "",
         r & POLLHUP ? " HUP" : "", r & POLLRDHUP ? " RDHUP" : "", r & POLLERR ? " ERR" : "");
}

static void tcp_client(int family, unsigned port) {
  int c = socket(family, SOCK_STREAM, 0);
  Addr a, me, peer;
  socklen_t len = loopback(family, &a, port);
  CHECK(connect(c, &a.sa, len) == 0);
  len = sizeof me;
  CHECK(getsockname(c, &me.sa, &len) == 0);
  CHECK(is_loopback(&me) && port_of(&me) != 0 && port_of(&me) != port);
  len = sizeof peer;
  CHECK(getpeername(c, &peer.sa, &len) == 0);
  CHECK(is_loopback(&peer) && port_of(&peer) == port);
  CHECK(send(c, "hello", 5, 0) == 5);
  char buf[8] = {0};
  CHECK(recv(c, buf, 5, MSG_WAITALL) == 5 && memcmp(buf, "HELLO", 5) == 0);
  CHECK(shutdown(c, SHUT_WR) == 0);
  CHECK(read(c, buf, 1) == 0);
  _exit(0);
}

static void tcp(int family, const char* name) {
  int lfd = socket(family, SOCK_STREAM, 0);
  CHECK(lfd >= 0);
  print_poll("fresh TCP socket", lfd);
  Addr a;
  socklen_t len = loopback(family, &a, 0);
  CHECK(bind(lfd, &a.sa, len) == 0);
  unsigned port = local_port(lfd);
  printf("%s TCP: bound to an ephemeral port: %d\n", name, port >= 1024);
  CHECK(listen(lfd, 8) == 0);
  print_poll("listening, nobody queued", lfd);
  int again = socket(family, SOCK_STREAM, 0);
  len = loopback(family, &a, port);
  CHECK_ERRNO("bind the same port", bind(again, &a.sa, len), EADDRINUSE);
  CHECK_ERRNO("getpeername unconnected", getpeername(again, &a.sa, &len), ENOTCONN);
  int one = 1;
  CHECK(setsockopt(again, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one) == 0);
  int v = 0;
  socklen_t vl = sizeof v;
  CHECK(getsockopt(again, IPPROTO_TCP, TCP_NODELAY, &v, &vl) == 0);
  printf("TCP_NODELAY %d, SO_PROTOCOL %d\n", v, ({
           int p = 0;
           socklen_t pl = sizeof p;
           getsockopt(again, SOL_SOCKET, SO_PROTOCOL, &p, &pl);
           p;
         }));
  close(again);
  pid_t child = fork();
  CHECK(child >= 0);
  if (child == 0) tcp_client(family, port);
  Addr peer;
  len = sizeof peer;
  int c = accept(lfd, &peer.sa, &len);
  CHECK(c >= 0);
  printf("%s TCP: accepted from loopback %d, port differs %d\n", name, is_loopback(&peer),
         port_of(&peer) != port);
  char buf[8] = {0};
  CHECK(recv(c, buf, 5, MSG_WAITALL) == 5);
  printf("%s TCP: server got '%s'\n", name, buf);
  CHECK(send(c, "HELLO", 5, 0) == 5);
  ssize_t n = read(c, buf, sizeof buf);
  printf("%s TCP: read after the client's SHUT_WR: %zd\n", name, n);
  close(c);
  int st;
  CHECK(waitpid(child, &st, 0) == child && WIFEXITED(st) && WEXITSTATUS(st) == 0);
  close(lfd);

  // A bound port without a listener refuses connections.
  int quiet = socket(family, SOCK_STREAM, 0);
  len = loopback(family, &a, 0);
  CHECK(bind(quiet, &a.sa, len) == 0);
  unsigned qport = local_port(quiet);
  int c2 = socket(family, SOCK_STREAM, 0);
  len = loopback(family, &a, qport);
  CHECK_ERRNO("connect to a port without a listener", connect(c2, &a.sa, len), ECONNREFUSED);
  close(c2);
  close(quiet);
}

static void udp(int family, const char* name) {
  int s = socket(family, SOCK_DGRAM, 0), c = socket(family, SOCK_DGRAM, 0);
  Addr a, from;
  socklen_t len = loopback(family, &a, 0);
  CHECK(bind(s, &a.sa, len) == 0);
  unsigned port = local_port(s);
  len = loopback(family, &a, port);
  CHECK(sendto(c, "datagram", 8, 0, &a.sa, len) == 8);
  char buf[16];
  socklen_t flen = sizeof from;
  ssize_t n = recvfrom(s, buf, 4, 0, &from.sa, &flen);
  printf("%s UDP: got %zd, from loopback %d, from the client's port %d\n", name, n,
         is_loopback(&from), port_of(&from) == local_port(c));
  CHECK(sendto(c, "again", 5, 0, &a.sa, len) == 5);
  printf("%s UDP: MSG_TRUNC real length %zd\n", name, recv(s, buf, 1, MSG_TRUNC));
  // Connected to a port nobody has: the send works, the next call learns ECONNREFUSED.
  int gone = socket(family, SOCK_DGRAM, 0);
  len = loopback(family, &a, 0);
  CHECK(bind(gone, &a.sa, len) == 0);
  unsigned gport = local_port(gone);
  close(gone);
  len = loopback(family, &a, gport);
  CHECK(connect(c, &a.sa, len) == 0);
  CHECK(send(c, "x", 1, 0) == 1);
  CHECK_ERRNO("UDP recv after sending to a closed port", recv(c, buf, 1, MSG_DONTWAIT),
              ECONNREFUSED);
  close(c);
  close(s);
}

static void unreachable(void) {
  int c = socket(AF_INET, SOCK_STREAM, 0);
  Addr a = {.in = {.sin_family = AF_INET, .sin_port = htons(80)}};
  a.in.sin_addr.s_addr = htonl(0x0a010203);  // 10.1.2.3
  CHECK_ERRNO("TCP connect to 10.1.2.3", connect(c, &a.sa, sizeof a.in), ENETUNREACH);
  CHECK_ERRNO("bind to 10.1.2.3", bind(c, &a.sa, sizeof a.in), EADDRNOTAVAIL);
  close(c);
  int u = socket(AF_INET6, SOCK_DGRAM, 0);
  struct sockaddr_in6 six = {.sin6_family = AF_INET6, .sin6_port = htons(53)};
  inet_pton(AF_INET6, "2001:db8::1", &six.sin6_addr);
  CHECK_ERRNO("UDP sendto 2001:db8::1", sendto(u, "x", 1, 0, (struct sockaddr*)&six, sizeof six),
              ENETUNREACH);
  close(u);
}

int main(int argc, char** argv) {
  setvbuf(stdout, NULL, _IONBF, 0);
  if (argc > 1 && strcmp(argv[1], "unreachable") == 0) {
    unreachable();
  } else {
    tcp(AF_INET, "IPv4");
    tcp(AF_INET6, "IPv6");
    udp(AF_INET, "IPv4");
    udp(AF_INET6, "IPv6");
    int c = socket(AF_INET, SOCK_STREAM, 0);
    Addr a = {.in = {.sin_family = AF_INET}};
    a.in.sin_addr.s_addr = htonl(0x0a010203);
    CHECK_ERRNO("bind to an address the machine does not have", bind(c, &a.sa, sizeof a.in),
                EADDRNOTAVAIL);
    CHECK_ERRNO("socketpair(AF_INET)", socketpair(AF_INET, SOCK_STREAM, 0, (int[2]){0, 0}),
                EOPNOTSUPP);
    close(c);
  }
  printf("EXIT-SUCCESS\n");
  return 0;
}
