// AF_UNIX sockets: socketpair (stream, datagram, seqpacket), a filesystem-named server and an
// abstract-named one with forked clients (bind, listen, accept4, connect, getsockname,
// getpeername), Linux's errors (EADDRINUSE, ENOENT, ECONNREFUSED, EPROTOTYPE, EINVAL, ENOTSOCK,
// EAGAIN), poll masks over a connection's life, EPIPE with and without SIGPIPE, shutdown,
// MSG_PEEK/MSG_DONTWAIT/MSG_TRUNC, SCM_RIGHTS (with MSG_CTRUNC and MSG_CMSG_CLOEXEC),
// SCM_CREDENTIALS with SO_PASSCRED, SO_PEERCRED and the common socket options.
#define _GNU_SOURCE
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stddef.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include "guest_util.h"

static const char* fixture_dir;
static volatile int sigpipes;

static void on_sigpipe(int sig) {
  (void)sig;
  sigpipes++;
}

static void print_poll(const char* what, int fd) {
  struct pollfd p = {.fd = fd, .events = POLLIN | POLLOUT | POLLRDHUP};
  poll(&p, 1, 0);
  short r = p.revents;
  printf("%s:%s%s%s%s%s\n", what, r & POLLIN ? " IN" : "", r & POLLOUT ? " OUT" : "",
         r & POLLHUP ? " HUP" : "", r & POLLRDHUP ? " RDHUP" : "", r & POLLERR ? " ERR" : "");
}

static int opt(int fd, int name) {
  int v = -1;
  socklen_t len = sizeof v;
  CHECK(getsockopt(fd, SOL_SOCKET, name, &v, &len) == 0);
  return v;
}

static void pairs(void) {
  int sv[2];
  CHECK(socketpair(AF_UNIX, SOCK_STREAM, 0, sv) == 0);
  printf("stream pair: SO_TYPE %d SO_DOMAIN %d SO_PROTOCOL %d SO_ACCEPTCONN %d\n",
         opt(sv[0], SO_TYPE), opt(sv[0], SO_DOMAIN), opt(sv[0], SO_PROTOCOL),
         opt(sv[0], SO_ACCEPTCONN));
  struct ucred cr;
  socklen_t len = sizeof cr;
  CHECK(getsockopt(sv[0], SOL_SOCKET, SO_PEERCRED, &cr, &len) == 0);
  printf("SO_PEERCRED: len %u pid is ours %d uid is ours %d\n", len, cr.pid == getpid(),
         cr.uid == getuid());
  struct sockaddr_un sa;
  len = sizeof sa;
  CHECK(getsockname(sv[0], (struct sockaddr*)&sa, &len) == 0);
  printf("unnamed getsockname len %u family %d\n", len, sa.sun_family);
  len = sizeof sa;
  CHECK(getpeername(sv[0], (struct sockaddr*)&sa, &len) == 0);
  printf("unnamed getpeername len %u\n", len);
  print_poll("connected, empty", sv[0]);
  CHECK(write(sv[0], "abc", 3) == 3);
  CHECK(send(sv[0], "def", 3, 0) == 3);
  print_poll("peer with data", sv[1]);
  char buf[16] = {0};
  CHECK(recv(sv[1], buf, 2, MSG_PEEK) == 2);
  printf("peek: %.2s\n", buf);
  ssize_t n = read(sv[1], buf, sizeof buf);
  printf("stream read merges: %zd %.6s\n", n, buf);
  CHECK_ERRNO("recv MSG_DONTWAIT on empty", recv(sv[1], buf, 1, MSG_DONTWAIT), EAGAIN);
  CHECK(shutdown(sv[0], SHUT_WR) == 0);
  print_poll("peer after SHUT_WR", sv[1]);
  printf("read after SHUT_WR: %zd\n", read(sv[1], buf, 1));
  CHECK_ERRNO("send after own SHUT_WR", send(sv[0], "x", 1, MSG_NOSIGNAL), EPIPE);
  CHECK(write(sv[1], "back", 4) == 4);
  CHECK(close(sv[1]) == 0);
  print_poll("peer closed", sv[0]);
  n = read(sv[0], buf, sizeof buf);
  printf("read the rest: %zd, then %zd\n", n, read(sv[0], buf, 1));
  close(sv[0]);

  CHECK(socketpair(AF_UNIX, SOCK_STREAM, 0, sv) == 0);
  close(sv[1]);
  CHECK_ERRNO("send to a closed peer, MSG_NOSIGNAL", send(sv[0], "x", 1, MSG_NOSIGNAL), EPIPE);
  printf("SIGPIPE so far: %d\n", sigpipes);
  CHECK_ERRNO("write to a closed peer", write(sv[0], "x", 1), EPIPE);
  printf("SIGPIPE after write: %d\n", sigpipes);
  close(sv[0]);

  CHECK(socketpair(AF_UNIX, SOCK_DGRAM, 0, sv) == 0);
  CHECK(send(sv[0], "one", 3, 0) == 3);
  CHECK(send(sv[0], "twotwo", 6, 0) == 6);
  n = recv(sv[1], buf, sizeof buf, 0);
  printf("dgram boundaries: %zd %.3s\n", n, buf);
  struct iovec iov = {buf, 3};
  struct msghdr m = {.msg_iov = &iov, .msg_iovlen = 1};
  n = recvmsg(sv[1], &m, 0);
  printf("dgram truncated: %zd flags MSG_TRUNC=%d\n", n, !!(m.msg_flags & MSG_TRUNC));
  CHECK(send(sv[0], "xyz", 3, 0) == 3);
  printf("MSG_TRUNC gives the real length: %zd\n", recv(sv[1], buf, 1, MSG_TRUNC));
  close(sv[0]);
  close(sv[1]);

  CHECK(socketpair(AF_UNIX, SOCK_SEQPACKET, 0, sv) == 0);
  CHECK(send(sv[0], "rec1", 4, 0) == 4);
  CHECK(send(sv[0], "rec22", 5, 0) == 5);
  n = recv(sv[1], buf, sizeof buf, 0);
  printf("seqpacket record: %zd\n", n);
  close(sv[0]);
  n = recv(sv[1], buf, sizeof buf, 0);
  ssize_t n2 = recv(sv[1], buf, 1, 0);
  printf("seqpacket next record after close: %zd, then %zd\n", n, n2);
  close(sv[1]);
}

static void errors(void) {
  int fd = socket(AF_UNIX, SOCK_STREAM, 0);
  CHECK(fd >= 0);
  print_poll("fresh stream socket", fd);
  CHECK_ERRNO("listen unbound", listen(fd, 1), EINVAL);
  CHECK_ERRNO("accept not listening", accept(fd, NULL, NULL), EINVAL);
  struct sockaddr_un sa = {.sun_family = AF_UNIX};
  snprintf(sa.sun_path, sizeof sa.sun_path, "%s/nonexistent.sock", fixture_dir);
  CHECK_ERRNO("connect to a missing path", connect(fd, (struct sockaddr*)&sa, sizeof sa), ENOENT);
  snprintf(sa.sun_path, sizeof sa.sun_path, "%s/hello.txt", fixture_dir);
  CHECK_ERRNO("connect to a regular file", connect(fd, (struct sockaddr*)&sa, sizeof sa),
              ECONNREFUSED);
  CHECK_ERRNO("bad family", socket(12345, SOCK_STREAM, 0), EAFNOSUPPORT);
  CHECK_ERRNO("bad type", socket(AF_UNIX, 9, 0), ESOCKTNOSUPPORT);
  CHECK_ERRNO("bad protocol", socket(AF_UNIX, SOCK_STREAM, 7), EPROTONOSUPPORT);
  CHECK_ERRNO("bind a too short address", bind(fd, (struct sockaddr*)&sa, 1), EINVAL);
  CHECK_ERRNO("not a socket", listen(0, 1), ENOTSOCK);
  CHECK_ERRNO("no such fd", listen(999, 1), EBADF);
  int d = socket(AF_UNIX, SOCK_DGRAM, 0);
  CHECK_ERRNO("listen on dgram", listen(d, 1), EOPNOTSUPP);
  CHECK_ERRNO("send on unconnected dgram", send(d, "x", 1, 0), ENOTCONN);
  CHECK_ERRNO("send on unconnected stream", send(fd, "x", 1, MSG_NOSIGNAL), ENOTCONN);
  int v = 4096;
  CHECK(setsockopt(fd, SOL_SOCKET, SO_SNDBUF, &v, sizeof v) == 0);
  printf("SO_SNDBUF 4096 reads back %d\n", opt(fd, SO_SNDBUF));
  CHECK_ERRNO("setsockopt short", setsockopt(fd, SOL_SOCKET, SO_SNDBUF, &v, 2), EINVAL);
  CHECK_ERRNO("getsockopt unknown", getsockopt(fd, SOL_SOCKET, 9999, &v, &(socklen_t){4}),
              ENOPROTOOPT);
  printf("SO_ERROR: %d\n", opt(fd, SO_ERROR));
  close(d);
  close(fd);
}

static void serve_one(int lfd, const char* what) {
  struct sockaddr_un peer;
  socklen_t len = sizeof peer;
  int c = accept4(lfd, (struct sockaddr*)&peer, &len, SOCK_CLOEXEC);
  CHECK(c >= 0);
  printf("%s: accepted, peer address len %u, FD_CLOEXEC %d\n", what, len,
         fcntl(c, F_GETFD) & FD_CLOEXEC);
  char buf[64] = {0};
  ssize_t n = recv(c, buf, sizeof buf, 0);
  printf("%s: server got %zd '%s'\n", what, n, buf);
  struct ucred cr;
  len = sizeof cr;
  CHECK(getsockopt(c, SOL_SOCKET, SO_PEERCRED, &cr, &len) == 0);
  printf("%s: SO_PEERCRED is the client, not us: %d\n", what, cr.pid != getpid());
  CHECK(send(c, "pong", 4, 0) == 4);
  close(c);
}

static void client(const struct sockaddr_un* sa, socklen_t len) {
  int fd = socket(AF_UNIX, SOCK_STREAM, 0);
  CHECK(fd >= 0);
  CHECK(connect(fd, (const struct sockaddr*)sa, len) == 0);
  CHECK(send(fd, "ping", 5, 0) == 5);
  char buf[8] = {0};
  CHECK(recv(fd, buf, sizeof buf, MSG_WAITALL) == 4);
  CHECK(memcmp(buf, "pong", 4) == 0);
  _exit(0);
}

static void servers(void) {
  int lfd = socket(AF_UNIX, SOCK_STREAM, 0);
  struct sockaddr_un sa = {.sun_family = AF_UNIX};
  snprintf(sa.sun_path, sizeof sa.sun_path, "%s/server.sock", fixture_dir);
  CHECK(bind(lfd, (struct sockaddr*)&sa, sizeof sa) == 0);
  struct stat st;
  CHECK(stat(sa.sun_path, &st) == 0);
  printf("bound path is a socket: %d\n", S_ISSOCK(st.st_mode));
  CHECK_ERRNO("bind again, same path", bind(lfd, (struct sockaddr*)&sa, sizeof sa), EADDRINUSE);
  struct sockaddr_un sa2 = sa;
  snprintf(sa2.sun_path, sizeof sa2.sun_path, "%s/second.sock", fixture_dir);
  CHECK_ERRNO("bind again, new path", bind(lfd, (struct sockaddr*)&sa2, sizeof sa2), EINVAL);
  printf("the new path was removed again: %d\n", stat(sa2.sun_path, &st) == -1 && errno == ENOENT);
  int other = socket(AF_UNIX, SOCK_STREAM, 0);
  CHECK_ERRNO("bind a taken path", bind(other, (struct sockaddr*)&sa, sizeof sa), EADDRINUSE);
  CHECK_ERRNO("connect before listen", connect(other, (struct sockaddr*)&sa, sizeof sa),
              ECONNREFUSED);
  CHECK(listen(lfd, 4) == 0);
  printf("SO_ACCEPTCONN %d\n", opt(lfd, SO_ACCEPTCONN));
  struct sockaddr_un got;
  socklen_t len = sizeof got;
  CHECK(getsockname(lfd, (struct sockaddr*)&got, &len) == 0);
  printf("getsockname len is 2 + path + NUL: %d\n",
         len == offsetof(struct sockaddr_un, sun_path) + strlen(sa.sun_path) + 1);
  int dg = socket(AF_UNIX, SOCK_DGRAM, 0);
  CHECK_ERRNO("dgram connect to a stream listener", connect(dg, (struct sockaddr*)&sa, sizeof sa),
              EPROTOTYPE);
  close(dg);
  int nb = fcntl(lfd, F_GETFL);
  CHECK(fcntl(lfd, F_SETFL, nb | O_NONBLOCK) == 0);
  CHECK_ERRNO("nonblocking accept, none queued", accept(lfd, NULL, NULL), EAGAIN);
  CHECK(fcntl(lfd, F_SETFL, nb) == 0);
  int ep = epoll_create1(0);
  struct epoll_event ev = {.events = EPOLLIN, .data.u64 = 42};
  CHECK(epoll_ctl(ep, EPOLL_CTL_ADD, lfd, &ev) == 0);
  pid_t child = fork();
  CHECK(child >= 0);
  if (child == 0) client(&sa, sizeof sa);
  CHECK(epoll_wait(ep, &ev, 1, -1) == 1);
  printf("epoll: the listener is readable (data %llu)\n", (unsigned long long)ev.data.u64);
  serve_one(lfd, "path");
  int st2;
  CHECK(waitpid(child, &st2, 0) == child && WIFEXITED(st2) && WEXITSTATUS(st2) == 0);
  close(ep);
  close(lfd);
  CHECK_ERRNO("connect after the server closed", connect(other, (struct sockaddr*)&sa, sizeof sa),
              ECONNREFUSED);
  close(other);
  CHECK(unlink(sa.sun_path) == 0);

  // Abstract names: no file, the length gives the name.
  lfd = socket(AF_UNIX, SOCK_STREAM, 0);
  struct sockaddr_un ab = {.sun_family = AF_UNIX};
  const char name[] = "probesim-abstract-test";
  memcpy(ab.sun_path + 1, name, sizeof name - 1);
  socklen_t alen = offsetof(struct sockaddr_un, sun_path) + 1 + sizeof name - 1;
  CHECK(bind(lfd, (struct sockaddr*)&ab, alen) == 0);
  CHECK(listen(lfd, 1) == 0);
  len = sizeof got;
  CHECK(getsockname(lfd, (struct sockaddr*)&got, &len) == 0);
  printf("abstract getsockname: len matches %d, name matches %d\n", len == alen,
         memcmp(got.sun_path, ab.sun_path, alen - 2) == 0);
  other = socket(AF_UNIX, SOCK_STREAM, 0);
  CHECK_ERRNO("abstract name taken", bind(other, (struct sockaddr*)&ab, alen), EADDRINUSE);
  close(other);
  child = fork();
  CHECK(child >= 0);
  if (child == 0) client(&ab, alen);
  serve_one(lfd, "abstract");
  CHECK(waitpid(child, &st2, 0) == child && WIFEXITED(st2) && WEXITSTATUS(st2) == 0);
  close(lfd);
}

static void rights(void) {
  int sv[2], p[2];
  CHECK(socketpair(AF_UNIX, SOCK_STREAM, 0, sv) == 0);
  CHECK(pipe(p) == 0);
  CHECK(write(p[1], "through the pipe", 16) == 16);
  char data = 'R';
  struct iovec iov = {&data, 1};
  union {
    struct cmsghdr h;
    char buf[CMSG_SPACE(2 * sizeof(int))];
  } c;
  memset(&c, 0, sizeof c);
  struct msghdr m = {.msg_iov = &iov, .msg_iovlen = 1, .msg_control = c.buf,
                     .msg_controllen = CMSG_SPACE(2 * sizeof(int))};
  struct cmsghdr* h = CMSG_FIRSTHDR(&m);
  h->cmsg_level = SOL_SOCKET;
  h->cmsg_type = SCM_RIGHTS;
  h->cmsg_len = CMSG_LEN(2 * sizeof(int));
  int two[2] = {p[0], p[0]};
  memcpy(CMSG_DATA(h), two, sizeof two);
  CHECK(sendmsg(sv[0], &m, 0) == 1);
  close(p[0]);
  // Receive with room for one fd only: MSG_CTRUNC, the second is dropped.
  char rdata;
  union {
    struct cmsghdr h;
    char buf[CMSG_SPACE(sizeof(int))];
  } rc;
  iov.iov_base = &rdata;
  struct msghdr r = {.msg_iov = &iov, .msg_iovlen = 1, .msg_control = rc.buf,
                     .msg_controllen = sizeof rc.buf};
  r.msg_controllen = CMSG_LEN(sizeof(int));  // room for one fd: the other is dropped
  CHECK(recvmsg(sv[1], &r, MSG_CMSG_CLOEXEC) == 1);
  struct cmsghdr* rh = CMSG_FIRSTHDR(&r);
  CHECK(rh != NULL && rh->cmsg_type == SCM_RIGHTS);
  int got;
  memcpy(&got, CMSG_DATA(rh), sizeof got);
  printf("SCM_RIGHTS: data %c, cmsg_len %zu, FD_CLOEXEC %d\n", rdata, (size_t)rh->cmsg_len,
         fcntl(got, F_GETFD) & FD_CLOEXEC);
#ifdef __x86_64__  // qemu-user (aarch64's reference) never reports MSG_CTRUNC here
  printf("SCM_RIGHTS: MSG_CTRUNC %d\n", !!(r.msg_flags & MSG_CTRUNC));
#endif
  char buf[32] = {0};
  printf("read through the passed fd: %zd '%s'\n", read(got, buf, sizeof buf), buf);
  close(got);
  int bad[1] = {999};
  h->cmsg_len = CMSG_LEN(sizeof(int));
  memcpy(CMSG_DATA(h), bad, sizeof bad);
  m.msg_controllen = CMSG_SPACE(sizeof(int));
  CHECK_ERRNO("SCM_RIGHTS with a bad fd", sendmsg(sv[0], &m, 0), EBADF);

  // SCM_CREDENTIALS: with SO_PASSCRED the receiver learns the sender.
  int on = 1;
  CHECK(setsockopt(sv[1], SOL_SOCKET, SO_PASSCRED, &on, sizeof on) == 0);
  pid_t child = fork();
  CHECK(child >= 0);
  if (child == 0) {
    CHECK(send(sv[0], "c", 1, 0) == 1);
    _exit(0);
  }
  CHECK(waitpid(child, NULL, 0) == child);
  union {
    struct cmsghdr h;
    char buf[CMSG_SPACE(sizeof(struct ucred))];
  } cc;
  r.msg_control = cc.buf;
  r.msg_controllen = sizeof cc.buf;
  r.msg_flags = 0;
  CHECK(recvmsg(sv[1], &r, 0) == 1);
  rh = CMSG_FIRSTHDR(&r);
  CHECK(rh != NULL);
  struct ucred cr;
  memcpy(&cr, CMSG_DATA(rh), sizeof cr);
  printf("SCM_CREDENTIALS: type %d, pid is the child %d, uid is ours %d\n", rh->cmsg_type,
         cr.pid == child, cr.uid == getuid());
  close(sv[0]);
  close(sv[1]);
  close(p[1]);
}

static void datagrams(void) {
  int srv = socket(AF_UNIX, SOCK_DGRAM, 0), cli = socket(AF_UNIX, SOCK_DGRAM, 0);
  struct sockaddr_un sa = {.sun_family = AF_UNIX}, ca = {.sun_family = AF_UNIX};
  snprintf(sa.sun_path, sizeof sa.sun_path, "%s/dgram.sock", fixture_dir);
  snprintf(ca.sun_path, sizeof ca.sun_path, "%s/client.sock", fixture_dir);
  CHECK(bind(srv, (struct sockaddr*)&sa, sizeof sa) == 0);
  CHECK(sendto(cli, "anon", 4, 0, (struct sockaddr*)&sa, sizeof sa) == 4);
  char buf[16];
  struct sockaddr_un from;
  socklen_t len = sizeof from;
  ssize_t n = recvfrom(srv, buf, sizeof buf, 0, (struct sockaddr*)&from, &len);
  printf("from an unbound sender: %zd bytes, address len %u\n", n, len);
  CHECK(sendto(cli, "early", 5, 0, (struct sockaddr*)&sa, sizeof sa) == 5);
  CHECK(bind(cli, (struct sockaddr*)&ca, sizeof ca) == 0);
  len = sizeof from;
  n = recvfrom(srv, buf, sizeof buf, 0, (struct sockaddr*)&from, &len);
  printf("sent before the sender bound, read after: address is its name now %d\n",
         strcmp(from.sun_path, ca.sun_path) == 0);
  CHECK(sendto(cli, "named", 5, 0, (struct sockaddr*)&sa, sizeof sa) == 5);
  len = sizeof from;
  n = recvfrom(srv, buf, sizeof buf, 0, (struct sockaddr*)&from, &len);
  printf("from a bound sender: %zd bytes, address is it %d\n", n,
         strcmp(from.sun_path, ca.sun_path) == 0);
  // A full receiver queue: a nonblocking sender gets EAGAIN.
  int i = 0;
  while (sendto(cli, "q", 1, MSG_DONTWAIT, (struct sockaddr*)&sa, sizeof sa) == 1) i++;
  printf("queue holds %d datagrams, then %s\n", i, errno_name(errno));
  close(srv);
  CHECK_ERRNO("sendto a closed receiver", sendto(cli, "x", 1, 0, (struct sockaddr*)&sa, sizeof sa),
              ECONNREFUSED);
  close(cli);
  unlink(sa.sun_path);
  unlink(ca.sun_path);
}

int main(int argc, char** argv) {
  setvbuf(stdout, NULL, _IONBF, 0);
  fixture_dir = argc > 1 ? argv[1] : ".";
  signal(SIGPIPE, on_sigpipe);
  pairs();
  errors();
  servers();
  rights();
  datagrams();
  printf("EXIT-SUCCESS\n");
  return 0;
}
