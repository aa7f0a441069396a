// Helpers shared by the socket syscalls (sys_socket.cc: setup, names, options;
// sys_socket_msg.cc: data): fd -> Socket, sockaddr in/out, and blocking on a socket.
#pragma once

#include <memory>
#include <string>

#include "emu/net/socket.h"
#include "emu/syscalls/syscall.h"

namespace probesim::emu {

// The socket at fd: null with *err = -EBADF (not open) or -ENOTSOCK.
std::shared_ptr<Socket> sock_of(SyscallContext& ctx, int fd, int64_t* err);

// move_addr_to_kernel + the family's decoding; for AF_UNIX also the binding key a connect or
// send names (a path must exist and be a socket inode: -ENOENT..., -ECONNREFUSED).
int64_t read_sockaddr(SyscallContext& ctx, const Socket& s, uint64_t uaddr, uint64_t len,
                      SockAddr* out);
int64_t unix_target_key(SyscallContext& ctx, const SockAddr& a, std::string* key);

// move_addr_to_user: min(*ulen, size) bytes of the address, then its full size into *ulen.
// A null uaddr writes nothing. -EINVAL for a negative *ulen, -EFAULT.
int64_t write_sockaddr(SyscallContext& ctx, const SockAddr& a, int family, uint64_t uaddr,
                       uint64_t ulen);

// Nothing can move now: -EAGAIN (O_NONBLOCK, MSG_DONTWAIT) or the task sleeps on the socket
// and restarts the call when it changes (SA_RESTART restarts it after a handler).
int64_t sock_wait(SyscallContext& ctx, const Socket& s, bool dontwait);

UCred ucred_of(SyscallContext& ctx);

}  // namespace probesim::emu
